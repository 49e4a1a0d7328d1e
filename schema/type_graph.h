// What a column's type is made of, followed through a catalog's types:
// domains to their base, arrays to their element, composites to their
// attributes. Answers the questions a copy between two servers asks of a
// type: can its values travel in binary COPY, do they name server-local
// objects (reg*), and does a composite type mean the same on both sides.
// Pure; types missing from the catalog (old snapshot manifests) give no
// answer rather than a wrong one.
#pragma once

#include <string>
#include <vector>

#include "schema/catalog.h"

namespace freshet {

// A type seen through its domains and, for arrays, its element's domains.
struct ResolvedType {
  std::string base;  // the type under every domain (the element's, for arrays)
  bool array = false;
  bool known = false;  // every type on the way was in the catalog
  // Domains whose constraints apply to the whole value, outermost first.
  std::vector<const TypeInfo*> value_domains;
  // For arrays: domains whose constraints apply to each element.
  std::vector<const TypeInfo*> element_domains;
};

ResolvedType Resolve(const Catalog& catalog, const std::string& type_name);

// Why values of `type_name` cannot travel in binary COPY between two servers
// ("type aclitem has no binary form", "type regclass names objects by OID",
// "type public.pair is a composite"), or empty when they can or when the
// catalog does not know the type.
std::string BinaryObstacle(const Catalog& catalog, const std::string& type_name);

// The reg* type ("regclass") whose OIDs the values of `type_name` hold,
// directly or as array elements, through domains; empty if none.
std::string ObjectNameType(const Catalog& catalog, const std::string& type_name);

// True for the names of the reg* types and arrays of them, from the type text
// alone: "regclass", "regprocedure[]" (for catalogs without types).
bool IsObjectNameTypeText(const std::string& type_text);

// The first difference between a composite type as the source has it and as
// the target has it, for values of `source_type` loaded into `target_type`
// (composites reached through domains, arrays and attributes, at any depth),
// as a sentence naming the type and both attribute lists; empty when they
// agree or are not both composites. COPY assigns attributes by position, so
// any difference in names or order would put values in the wrong attribute.
std::string CompositeDifference(const Catalog& source, const std::string& source_type,
                                const Catalog& target, const std::string& target_type);

}  // namespace freshet
