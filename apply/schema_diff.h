// Compares two schema descriptions (schema/schema_model.h): what the
// migrations produce (the shadow) against what a database actually has, and
// lists every difference as a DriftItem. Pure functions, thread-safe.
//
// Children of an object that exists on one side only (columns of a missing
// table, grants on it, ...) are not listed separately: the object's own item
// covers them. Grants are compared as apply/grant_diff.h says.
// Indexes are matched by definition (table, method, columns, predicate), so a
// renamed index is one "differs" item naming both names, not two.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "schema/schema_model.h"

namespace freshet {

struct DriftItem {
  // schema, extension, enum, sequence, table, view, column, rls, constraint,
  // index, policy, trigger, function, grant or default-privilege.
  std::string kind;
  // Dotted, unquoted: "public.contacts", "public.contacts.linkedin_url",
  // "public.touch_updated_at()"; for default privileges, what they apply to
  // ("tables in schema public").
  std::string object;
  // "only in <expected label>", "only in <actual label>" or "differs".
  std::string change;
  // For "differs": each differing aspect as "<expected> vs <actual>",
  // "; "-separated ("type text vs character varying(20); nullable vs NOT
  // NULL"; grants: "anon: SELECT vs none"). For "only in": what the object is
  // ("text NOT NULL", the index or constraint definition, ...).
  std::string detail;

  bool operator==(const DriftItem&) const = default;
};

// Every difference between `expected` (the shadow) and `actual` (the compared
// database), ordered by kind (in the order listed for DriftItem::kind, views
// with tables) and then object. Empty when the schemas match. Labels come from
// the models ("shadow" and "compared database" when empty).
std::vector<DriftItem> Diff(const SchemaModel& expected, const SchemaModel& actual);

// pg_get_indexdef text without the index name ("CREATE INDEX ON public.t
// USING btree (a)"), so indexes compare by what they index.
std::string IndexDefinitionWithoutName(const std::string& definition);

// One line per item ("column public.contacts.x: only in app (text)") after a
// count line; "no schema drift\n" when `drift` is empty.
std::string DriftText(const std::vector<DriftItem>& drift);

// [{"kind": ..., "object": ..., "change": ..., "detail": ...}, ...]
nlohmann::json DriftJson(const std::vector<DriftItem>& drift);

}  // namespace freshet
