// freshet.toml: named sources and targets (URLs inline or from environment
// variables), per-target safety flags, and sync defaults. Command-line flags
// override it. Parsing is pure apart from reading the file and getenv.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sync/cli/mask_config.h"
#include "sync/cli/subset_config.h"
#include "sync/engine/incremental_mode.h"
#include "sync/service/api_tokens.h"
#include "sync/service/job.h"
#include "sync/service/webhooks.h"

namespace freshet {

struct Endpoint {
  std::string name;
  std::optional<std::string> url;      // inline URL
  std::optional<std::string> url_env;  // or: environment variable holding it
  // or: a file whose first line is the URL (systemd's LoadCredential=, a
  // mounted Kubernetes Secret); ${VAR} in the path is taken from the environment.
  std::optional<std::string> url_file;
  bool protected_target = false;  // `protected = true`: never written
  bool allow_writes = false;      // `allow_writes = true`: remote writes allowed
  bool incremental = false;       // targets: `incremental = true`: sync incrementally
  bool masked = false;            // targets: `masked = true`: refuse runs without [mask] rules
  std::string role = "endpoint";  // "source" or "target": names it in errors
  // targets only: a preview template instead of one URL, one database per
  // preview name (sync/cli/preview_jobs.h): the URL with `{name}` in its
  // database name, inline, from an environment variable or from a file as
  // url/url_env/url_file; names must match `name_pattern`; databases are
  // created and dropped through `maintenance_db` on the same server.
  std::optional<std::string> url_template, url_template_env, url_template_file;
  std::string name_pattern = "^[a-z0-9][a-z0-9-]{0,40}$";
  std::string maintenance_db = "postgres";
  bool IsTemplate() const { return url_template || url_template_env || url_template_file; }

  // The URL, from `url`, the environment variable or the file; throws Error
  // naming the endpoint and the variable or file when none gives one (or when
  // the endpoint is a template). Never logs the URL.
  std::string ResolveUrl() const;
  // A template target's URL template, read as ResolveUrl reads a URL; throws
  // Error (kUsage) when it has no `{name}` in its database name.
  std::string ResolveUrlTemplate() const;
};

// [service]: how `freshet serve` runs (sync/cli/service_config.cc).
struct ServiceConfig {
  std::optional<std::string> listen;  // "127.0.0.1:7432"
  // The run store: a SQLite file or a PostgreSQL connection string, given
  // as such, as the name of an environment variable holding it, or as a
  // file whose first line it is (the ways to keep a password out of the
  // config).
  std::optional<std::string> store;
  std::optional<std::string> store_env;
  std::optional<std::string> store_file;
  std::optional<int> max_running;
  std::optional<double> shutdown_timeout_seconds;
  std::optional<double> retention_seconds;
  std::optional<int64_t> max_request_bytes;
  std::optional<double> rate_limit;  // requests per second per client
  // TLS: a PEM certificate chain and its private key, both or neither;
  // ${NAME} in the paths is taken from the environment.
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::vector<ApiToken> tokens;  // [service.tokens.NAME] sha256 = "...", scope = "..."
  // [service.webhooks.NAME]: url or url_env, secret_env, format, on, jobs,
  // attempts, backoff. URLs and secrets given by variable name (url_env,
  // secret_env) are read from the environment at start-up.
  struct WebhookConfig {
    Webhook hook;  // url empty when url_env is set
    std::optional<std::string> url_env;
    std::optional<std::string> secret_env;
  };
  std::vector<WebhookConfig> webhooks;
};

struct Config {
  std::map<std::string, Endpoint> sources;
  std::map<std::string, Endpoint> targets;
  // [sync] defaults
  std::optional<std::string> from;  // source name or URL
  std::optional<std::string> to;    // target name or URL
  std::optional<int> jobs;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::optional<std::string> fk_outside;  // "error" | "not-valid"
  std::optional<std::string> lock_timeout;
  std::optional<bool> incremental;      // sync only what changed (sync --incremental)
  std::optional<DeletePolicy> deletes;  // incremental: rows gone from the source
  // [tables."schema.table"]: per-table incremental settings; keys may be `*`
  // patterns. In file order (the order of the section headers or keys).
  std::vector<std::pair<std::string, TableSyncSettings>> tables;
  // [migrate] defaults
  std::optional<std::string> migrations_dir;
  std::optional<std::string> migrate_db;  // target name or URL for `migrate up/status/repair`
  std::optional<std::string> migrate_lock_timeout;
  std::optional<std::string> migrate_statement_timeout;
  std::optional<std::string> migrate_layout;  // "supabase" | "prisma"
  std::optional<std::string> migrate_naming;  // "supabase" | "strict" | "datetime" | "sequential"

  // [lint]
  std::vector<std::string> api_schemas;           // empty: the linter's default (public)
  std::map<std::string, std::string> lint_rules;  // rule id -> "error" | "warning" | "off"
  std::vector<std::string> lint_profiles;         // "idempotent", "additive-only" (checked by lint)
  std::vector<std::string> lint_grant_roles;      // roles new API tables must be granted to

  // [mask]: masking rules and where their key comes from (mask_config.h).
  MaskConfig mask;
  // [subset]: part of the source, references whole (subset_config.h).
  SubsetSettings subset;

  // [service] and [jobs.NAME] (`freshet serve`); jobs in file order.
  ServiceConfig service;
  std::vector<JobSpec> service_jobs;

  // Reads and validates `path`; throws Error naming the file, the line and the
  // problem (unknown key, wrong type, endpoint with more or fewer than one of url/url_env/url_file,
  // a malformed table pattern or mode).
  static Config Load(const std::string& path);
  static Config Parse(const std::string& text, const std::string& origin);
};

// `value` is either a name in `endpoints` or a connection string. Returns the
// endpoint (an ad-hoc one, named "command line", for a connection string).
Endpoint ResolveEndpoint(const std::map<std::string, Endpoint>& endpoints,
                         const std::string& value);

}  // namespace freshet
