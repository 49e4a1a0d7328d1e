// A description of a database's schema, read from its catalogs, for comparing
// two databases (the shadow built from the migrations and a real one): the
// applier's drift check (Diff in apply/schema_diff.h) compares two of them.
//
// Covered: schemas, extensions (name and schema), tables (kind, partitioning,
// row-level security), views and materialized views (definition), columns
// (type, nullability, default, generation, identity, collation), indexes (by
// definition), constraints, policies, triggers, functions and procedures (full
// definition), enum types (labels in order), sequences (options), and the
// privileges granted on schemas, relations, sequences, columns and functions,
// and default privileges. Left out: the system schemas (pg_catalog,
// information_schema, pg_toast*, pg_temp*), freshet's `_freshet` and the
// Supabase CLI's `supabase_migrations` history schemas, every object owned by
// an extension, owners, comments, column order, domains and composite types,
// and data (sequence values).
//
// Grants leave out the object's owner as grantee (its owner's rights: owners
// differ by design between a shadow and a real database) and the grantor;
// roles are kept by name, whether or not they exist on the other side.
//
// Definitions are read with search_path = pg_catalog, so every user object in
// them is schema-qualified the same way on both sides. Relations, columns and
// triggers are built from the same rows as the sync's Catalog
// (schema/relation_rows.h), so the two never disagree on those.
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace freshet {

class Connection;

struct ColumnModel {
  std::string type;  // format_type: "text", "character varying(20)", "public.deal_stage"
  bool not_null = false;
  std::optional<std::string> default_expr;    // pg_get_expr of the default
  std::optional<std::string> generated_expr;  // GENERATED ALWAYS AS (...) STORED
  std::string identity;                       // "", "always" or "by default"
  std::string collation;                      // only when not the type's default
};

struct PolicyModel {
  std::string permissive = "PERMISSIVE";  // or "RESTRICTIVE"
  std::string command = "ALL";            // ALL, SELECT, INSERT, UPDATE, DELETE
  std::string roles = "public";           // sorted, ", "-separated
  std::optional<std::string> using_expr;
  std::optional<std::string> check_expr;
};

struct TriggerModel {
  std::string definition;     // pg_get_triggerdef
  std::string enabled = "O";  // pg_trigger.tgenabled: O, D, R, A
};

// A table, partitioned table, foreign table, view or materialized view.
struct TableModel {
  std::string kind = "table";  // see RelationKindName
  bool row_security = false;
  bool force_row_security = false;
  std::string partition_of;                        // parent, for a partition
  std::string partition_bound;                     // FOR VALUES ..., for a partition
  std::string partition_key;                       // RANGE (...), for a partitioned table
  std::string definition;                          // pg_get_viewdef, for views
  std::map<std::string, ColumnModel> columns;      // by name; none for views and partitions
  std::map<std::string, std::string> indexes;      // name -> pg_get_indexdef
  std::map<std::string, std::string> constraints;  // name -> pg_get_constraintdef
  std::map<std::string, PolicyModel> policies;     // by name
  std::map<std::string, TriggerModel> triggers;    // by name
};

struct FunctionModel {
  std::string kind = "function";  // function, procedure, aggregate, window function
  std::string result;             // pg_get_function_result
  std::string definition;         // pg_get_functiondef; empty for aggregates
};

struct SequenceModel {
  std::string type = "bigint";
  std::string start = "1", increment = "1", min, max, cache = "1";
  bool cycle = false;
};

// What one grantee holds on one object: privilege name as GRANT spells it
// ("SELECT", "USAGE", "EXECUTE", ...) -> whether WITH GRANT OPTION. A grantee
// holding all of a table's privileges with one grant option holds {"ALL":
// ...} instead, with or without PostgreSQL 17's MAINTAIN (which GRANT ALL
// gives on 17 and an upgrade to 17 does not add), so servers of different
// versions compare.
using Privileges = std::map<std::string, bool>;

// Grantee -> privileges; the grantee is "PUBLIC" or a role name, quoted as an
// identifier when it needs to be. Grants to the object's owner are left out.
using Grants = std::map<std::string, Privileges>;

// An ALTER DEFAULT PRIVILEGES entry: which objects it is for.
struct DefaultPrivilegeKey {
  // FOR ROLE, quoted when it needs to be; empty for the role the model was
  // read as (the shadow's: the role the migrations ran as).
  std::string role;
  std::string schema;       // IN SCHEMA; empty for all schemas
  std::string object_type;  // "tables", "sequences", "functions", "types", "schemas"

  auto operator<=>(const DefaultPrivilegeKey&) const = default;
};

struct SchemaModel {
  // Names this side in drift reports ("shadow", a database name).
  std::string label;
  int server_version = 0;  // PQserverVersion, 0 for hand-built models

  std::set<std::string> schemas;
  std::map<std::string, std::string> extensions;          // name -> schema
  std::map<std::string, TableModel> tables;               // "schema.name"
  std::map<std::string, FunctionModel> functions;         // "schema.name(identity args)"
  std::map<std::string, std::vector<std::string>> enums;  // "schema.name" -> labels
  std::map<std::string, SequenceModel> sequences;         // "schema.name"

  // Grants on the objects above; an object without any has no entry.
  std::map<std::string, Grants> schema_grants;    // schema name
  std::map<std::string, Grants> relation_grants;  // "schema.name": tables, views, sequences
  std::map<std::string, std::map<std::string, Grants>> column_grants;  // "schema.table" -> column
  std::map<std::string, Grants> function_grants;                       // as in `functions`
  // An entry for all schemas replaces the built-in defaults (PUBLIC may
  // EXECUTE functions and use types); one in a schema adds to them.
  std::map<DefaultPrivilegeKey, Grants> default_privileges;
};

// Reads the model of the database `connection` is connected to, in one
// read-only repeatable-read transaction. Throws Error on failure.
SchemaModel ReadSchemaModel(Connection& connection, std::string label);

// Connects to `url`, reads its model and disconnects.
SchemaModel ReadSchemaModel(const std::string& url, std::string label);

// Replaces the privileges of each grantee holding all of a table's (INSERT,
// SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, with one grant
// option) by {"ALL": that option}, dropping MAINTAIN: GRANT ALL gives it on
// PostgreSQL 17 and later, a table upgraded to 17 keeps its ACL without it,
// and the shadow may run an older server.
void FoldAllTablePrivileges(Grants& grants);

// "table", "partitioned table", "foreign table", "view", "materialized view"
// for a pg_class relkind (r, p, f, v, m); the relkind itself otherwise.
std::string RelationKindName(const std::string& relkind);

}  // namespace freshet
