// The source catalog as JSON, as the snapshot manifest stores it (the
// "catalog" key; see sync/snapshot_manifest.cc for the layout): every field
// of Catalog written, and read back exactly, with each field checked.
// Single-character fields (identity, enabled, constraint_type) are strings of
// that character, "" for none (the C++ value 0).
#pragma once

#include <nlohmann/json.hpp>

#include "schema/catalog.h"
#include "sync/snapshot/json_node.h"

namespace freshet {

// {"schema": ..., "name": ...}
nlohmann::ordered_json NameJson(const QualifiedName& name);
QualifiedName NameFrom(const JsonNode& object);  // throws Error (kUsage)

nlohmann::ordered_json CatalogToJson(const Catalog& catalog);
Catalog CatalogFrom(const JsonNode& object);  // throws Error (kUsage)

}  // namespace freshet
