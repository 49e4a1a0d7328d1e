// The linter's rule and profile catalogue (ids, default severities, one-line
// summaries the README table mirrors) and how a rule's severity is resolved.
#include <fmt/format.h>

#include <algorithm>

#include "apply/lint.h"
#include "copy/error.h"

namespace freshet {

const std::vector<LintRule>& LintRules() {
  static const std::vector<LintRule> kRules = {
      {"migration-name", Severity::kError,
       "Under a strict naming profile (strict, datetime, sequential), a .sql file whose name "
       "does not fit it (or a Prisma migration directory without migration.sql) stops `up` "
       "and `shadow`; rename it. Its content is still checked."},
      {"skipped-file", Severity::kWarning,
       "Under the default naming profile, a .sql file that does not match "
       "<digits>_<name>.sql is not a migration: neither the Supabase CLI nor freshet applies "
       "it; rename it if it should be one (seed.sql is skipped without a warning). Its "
       "content is still checked."},
      {"duplicate-version", Severity::kError,
       "Several files share one version, so their order is undefined and only one can be "
       "recorded; give each migration its own version."},
      {"syntax-error", Severity::kError,
       "The file does not parse with PostgreSQL 15's parser, so it cannot be applied; fix the "
       "SQL. Always an error (severity overrides are ignored)."},
      {"drop-table", Severity::kError,
       "DROP TABLE deletes the table and its data irreversibly and breaks code still using it; "
       "stop using the table in code first, then drop it in a later migration."},
      {"drop-schema", Severity::kError,
       "DROP SCHEMA deletes a schema (with CASCADE, everything in it); drop its objects "
       "explicitly once nothing uses them."},
      {"drop-database", Severity::kError,
       "DROP DATABASE deletes a whole database and cannot run in a migration's transaction; do "
       "it by hand."},
      {"cascade", Severity::kError,
       "CASCADE (DROP, TRUNCATE, ALTER TABLE DROP COLUMN/CONSTRAINT) silently drops or empties "
       "dependent objects; name them explicitly instead."},
      {"truncate", Severity::kError,
       "TRUNCATE deletes every row at once; delete only the rows that must go, or back up "
       "first."},
      {"delete-without-where", Severity::kError,
       "DELETE without WHERE deletes every row of an existing table; add a WHERE clause."},
      {"update-without-where", Severity::kError,
       "UPDATE without WHERE rewrites and locks every row of an existing table; add a WHERE "
       "clause and backfill large tables in batches."},
      {"drop-column", Severity::kError,
       "DROP COLUMN removes data and breaks code still reading the column; deploy code that "
       "stops using it first, then drop it in a later migration."},
      {"alter-column-type", Severity::kWarning,
       "ALTER COLUMN ... TYPE usually rewrites the table under an ACCESS EXCLUSIVE lock and can "
       "break clients; add a new column, backfill, switch over."},
      {"set-not-null", Severity::kWarning,
       "SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock; add a CHECK (col IS NOT "
       "NULL) NOT VALID constraint, validate it later, then SET NOT NULL."},
      {"add-column-not-null-without-default", Severity::kError,
       "ADD COLUMN ... NOT NULL without DEFAULT fails on a table with rows and breaks inserts "
       "of deployed code; add a DEFAULT or backfill a nullable column first. Tables created "
       "earlier in the same file are exempt."},
      {"adding-field-with-default", Severity::kWarning,
       "ADD COLUMN on an existing table with a volatile DEFAULT (random(), gen_random_uuid(), "
       "clock_timestamp(), nextval(), a serial or identity column, or a function freshet does "
       "not know to be stable) or a GENERATED ... STORED column rewrites the whole table under "
       "an ACCESS EXCLUSIVE lock; add the column without it, backfill in batches, then set the "
       "default. Constants and stable built-ins such as now() are instant."},
      {"constraint-not-valid", Severity::kWarning,
       "Adding a FOREIGN KEY or CHECK constraint to an existing table validates every row "
       "under a write-blocking lock; add it NOT VALID and VALIDATE CONSTRAINT in a later "
       "migration."},
      {"adding-foreign-key-constraint", Severity::kWarning,
       "A REFERENCES clause inside ADD COLUMN on an existing table cannot be NOT VALID: it "
       "scans the table and locks the referenced one; add the column, then ADD CONSTRAINT ... "
       "FOREIGN KEY ... NOT VALID, and VALIDATE it in a later migration."},
      {"adding-check-constraint", Severity::kWarning,
       "A CHECK inside ADD COLUMN on an existing table cannot be NOT VALID: it scans every row "
       "under the ACCESS EXCLUSIVE lock of the ADD COLUMN; add the column, then ADD CONSTRAINT "
       "... CHECK ... NOT VALID, and VALIDATE it in a later migration."},
      {"validate-in-same-transaction", Severity::kWarning,
       "VALIDATE CONSTRAINT in the file that added the constraint NOT VALID runs in the same "
       "transaction, so the ADD's strong lock is held through the whole validation scan; "
       "validate in a later migration."},
      {"create-index-not-concurrently", Severity::kWarning,
       "CREATE INDEX without CONCURRENTLY on an existing table blocks writes for the whole "
       "build; use CREATE INDEX CONCURRENTLY in a `-- freshet:no-transaction` file."},
      {"require-concurrent-index-deletion", Severity::kWarning,
       "DROP INDEX without CONCURRENTLY (of an index not created in the same file) takes an "
       "ACCESS EXCLUSIVE lock on its table; use DROP INDEX CONCURRENTLY alone in a file."},
      {"concurrently-in-transaction", Severity::kError,
       "CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY beside other statements fail "
       "inside the transaction freshet wraps the file in; put the statement alone in its file "
       "(then it runs outside a transaction)."},
      {"no-transaction-single-statement", Severity::kError,
       "A `-- freshet:no-transaction` file with several statements can be left half applied; "
       "keep one statement per no-transaction file."},
      {"rename", Severity::kWarning,
       "Renaming a table or column breaks deployed code and API clients at once; add the new "
       "name alongside, migrate code, then remove the old name later."},
      {"policy-on-existing-table", Severity::kWarning,
       "CREATE/ALTER/DROP POLICY takes an ACCESS EXCLUSIVE lock on an existing table (busy "
       "ones such as storage.objects queue every request behind it); keep these statements in "
       "short files with a lock_timeout. Reported once per table and file."},
      {"transaction-control", Severity::kError,
       "BEGIN/COMMIT/ROLLBACK/SAVEPOINT inside a file break the transaction freshet wraps each "
       "file in; remove them. A plain BEGIN as the first statement and COMMIT (or END) as the "
       "last, with no other transaction control, is accepted: freshet runs the file atomically "
       "anyway."},
      {"missing-lock-timeout", Severity::kOff,
       "A strong lock on an existing table (ALTER TABLE, CREATE INDEX, DROP TABLE, TRUNCATE, "
       "VACUUM FULL, CLUSTER, REINDEX, CREATE TRIGGER) without an earlier `SET lock_timeout` "
       "in the file; reported once per file. Off by default because `freshet migrate up` sets "
       "lock_timeout before every file; turn it on when another tool applies the files."},
      {"rls-not-enabled", Severity::kWarning,
       "A table created in an API schema (default: public) that no migration, up to the last, "
       "enables ROW LEVEL SECURITY on is readable and writable through the Data API with the "
       "anon key; enable RLS and add policies. Reported at the table's CREATE."},
      {"missing-grants", Severity::kOff,
       "A table created in an API schema that the migrations never grant to every role of "
       "[lint] grant_roles (a GRANT on it, GRANT ... ON ALL TABLES IN SCHEMA after it, or "
       "default privileges before it); a warning once grant_roles is set."},
      {"security-definer-view", Severity::kWarning,
       "A view in an API schema left without `security_invoker = true` runs with its owner's "
       "rights, bypassing the callers' RLS (Supabase's advisor calls it a security definer "
       "view); create it `WITH (security_invoker = true)`. Judged after the last file."},
      {"drop-view", Severity::kWarning,
       "DROP VIEW in an API schema (not re-created later in the same file) breaks the Data API "
       "clients that read it; stop using it in clients first."},
      {"alter-role-set", Severity::kWarning,
       "ALTER ROLE/USER ... SET changes every future session of that role (in every database "
       "unless IN DATABASE), lives outside the schema, and is not what a shadow or dev "
       "database reproduces; configure roles outside migrations, or ignore deliberately."},
      {"identifier-too-long", Severity::kError,
       "PostgreSQL silently truncates names longer than 63 bytes, so the object gets another "
       "name than the one written (and two long names can collide); shorten it."},
      {"non-idempotent-ddl", Severity::kOff,
       "(profile `idempotent`) CREATE without IF NOT EXISTS / OR REPLACE, DROP without IF "
       "EXISTS, ADD COLUMN without IF NOT EXISTS: the file fails when run twice."},
      {"not-additive", Severity::kOff,
       "(profile `additive-only`) DROP TABLE/VIEW/TYPE/FUNCTION/SCHEMA/COLUMN, ALTER COLUMN "
       "TYPE, RENAME, and UPDATE/DELETE/TRUNCATE of existing tables: changes that remove or "
       "rewrite what deployed code relies on."},
  };
  return kRules;
}

const std::vector<LintProfile>& LintProfiles() {
  static const std::vector<LintProfile> kProfiles = {
      {"idempotent", "non-idempotent-ddl", Severity::kWarning,
       "every file can be run twice: IF NOT EXISTS, IF EXISTS, OR REPLACE"},
      {"additive-only", "not-additive", Severity::kError,
       "migrations only add: no drops, type changes, renames or data rewrites"},
  };
  return kProfiles;
}

Severity EffectiveSeverity(const std::string& rule, const LintOptions& options) {
  if (rule == "syntax-error") return Severity::kError;
  auto configured = options.severity.find(rule);
  if (configured != options.severity.end()) return configured->second;
  Severity severity = Severity::kError;  // an id missing from the catalogue is a bug: show it
  for (const auto& known : LintRules())
    if (known.id == rule) severity = known.default_severity;
  if (rule == "missing-grants" && !options.grant_roles.empty()) severity = Severity::kWarning;
  for (const auto& profile : LintProfiles())
    if (profile.rule == rule &&
        std::count(options.profiles.begin(), options.profiles.end(), profile.name))
      severity = profile.severity;
  return severity;
}

Severity ParseSeverity(const std::string& text) {
  if (text == "error") return Severity::kError;
  if (text == "warning") return Severity::kWarning;
  if (text == "off") return Severity::kOff;
  throw Error(ErrorKind::kUsage,
              fmt::format("unknown lint severity '{}': use error, warning or off", text));
}

std::string SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kOff:
      return "off";
  }
  return "off";
}

}  // namespace freshet
