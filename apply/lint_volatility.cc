// The names behind `adding-field-with-default`. A name is looked up when
// the call is unqualified or qualified with pg_catalog, or with `extensions`
// or `public` (where Supabase and most projects install uuid-ossp and
// pgcrypto); Supabase's auth helpers in `auth`. Any other call is of unknown
// volatility.
#include "apply/lint_volatility.h"

#include <set>

#include "apply/lint_tree.h"

namespace freshet::lint_internal {
namespace {

using nlohmann::json;

// VOLATILE in pg_proc (PostgreSQL 15-18, uuid-ossp, pgcrypto).
const std::set<std::string>& KnownVolatile() {
  static const std::set<std::string> kNames = {
      "random",
      "random_normal",
      "setseed",
      "gen_random_uuid",
      "uuidv4",
      "uuidv7",
      "uuid_generate_v1",
      "uuid_generate_v1mc",
      "uuid_generate_v4",
      "gen_random_bytes",
      "gen_salt",
      "clock_timestamp",
      "timeofday",
      "nextval",
      "setval",
      "currval",
      "lastval",
      "txid_current",
      "pg_current_xact_id",
      "txid_current_if_assigned",
      "pg_current_xact_id_if_assigned",
  };
  return kNames;
}

// STABLE or IMMUTABLE built-ins seen in column defaults.
const std::set<std::string>& KnownNonVolatile() {
  static const std::set<std::string> kNames = {
      "now",
      "transaction_timestamp",
      "statement_timestamp",
      "current_setting",
      "timezone",
      "date_trunc",
      "date_part",
      "extract",
      "make_date",
      "make_interval",
      "make_timestamp",
      "make_timestamptz",
      "to_timestamp",
      "to_date",
      "to_char",
      "to_jsonb",
      "to_json",
      "jsonb_build_object",
      "jsonb_build_array",
      "json_build_object",
      "json_build_array",
      "array_fill",
      "lower",
      "upper",
      "concat",
      "concat_ws",
      "md5",
      "length",
      "substr",
      "substring",
      "replace",
      "btrim",
      "trim",
      "ltrim",
      "rtrim",
      "left",
      "right",
      "abs",
      "round",
      "floor",
      "ceil",
      "inet_client_addr",
      "uuid_nil",
      "uuid_ns_url",
      "uuid_ns_dns",
      "uuid_generate_v3",
      "uuid_generate_v5",
      "digest",
      "encode",
      "decode",
      "int4range",
      "tstzrange",
      "daterange",
      "numrange",
      "array_to_string",
      "string_to_array",
  };
  return kNames;
}

// Supabase's auth helpers: `language sql stable`.
const std::set<std::string>& KnownStableAuth() {
  static const std::set<std::string> kNames = {"uid", "role", "email", "jwt"};
  return kNames;
}

DefaultCost CostOfCall(const json& funcname) {
  const json& names = Items(funcname);
  if (names.empty()) return DefaultCost::kPossiblyRewrites;
  std::string name = Str(Get(names.back(), "String"), "sval");
  std::string schema = names.size() > 1 ? Str(Get(names[names.size() - 2], "String"), "sval") : "";
  if (schema == "auth")
    return KnownStableAuth().count(name) ? DefaultCost::kInstant : DefaultCost::kPossiblyRewrites;
  bool known_schema =
      schema.empty() || schema == "pg_catalog" || schema == "extensions" || schema == "public";
  if (!known_schema) return DefaultCost::kPossiblyRewrites;
  if (KnownVolatile().count(name)) return DefaultCost::kRewrite;
  if (KnownNonVolatile().count(name)) return DefaultCost::kInstant;
  return DefaultCost::kPossiblyRewrites;
}

}  // namespace

DefaultVerdict ClassifyDefault(const json& expression) {
  DefaultVerdict verdict;
  Walk(expression, [&](const std::string& type, const json& body) {
    if (type != "FuncCall" || verdict.cost == DefaultCost::kRewrite) return;
    DefaultCost cost = CostOfCall(Get(body, "funcname"));
    if (cost == DefaultCost::kInstant) return;
    if (cost == DefaultCost::kPossiblyRewrites && verdict.cost != DefaultCost::kInstant) return;
    verdict.cost = cost;
    verdict.function = JoinNames(Get(body, "funcname"));
  });
  return verdict;
}

}  // namespace freshet::lint_internal
