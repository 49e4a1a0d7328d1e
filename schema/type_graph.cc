#include "schema/type_graph.h"

#include <fmt/format.h>

#include <regex>
#include <set>

namespace freshet {
namespace {

constexpr int kMaxDepth = 64;  // domains over domains, composites in composites

std::string AttributeList(const TypeInfo& type) {
  std::string out = "(";
  for (size_t i = 0; i < type.attributes.size(); ++i)
    out += (i ? ", " : "") + QuoteIdent(type.attributes[i].first) + " " + type.attributes[i].second;
  return out + ")";
}

// The composite difference below `source_type`/`target_type`, memoized by
// pairs already compared (recursive composites cannot exist, but shared
// attributes are compared once).
std::string Difference(const Catalog& source, const std::string& source_type, const Catalog& target,
                       const std::string& target_type,
                       std::set<std::pair<std::string, std::string>>& seen, int depth) {
  if (depth > kMaxDepth || !seen.insert({source_type, target_type}).second) return {};
  ResolvedType from = Resolve(source, source_type);
  ResolvedType to = Resolve(target, target_type);
  if (!from.known || !to.known) return {};
  const TypeInfo* s = source.FindType(from.base);
  const TypeInfo* t = target.FindType(to.base);
  if (!s || !t || s->kind != 'c' || t->kind != 'c') return {};
  if (s->attributes != t->attributes)
    return fmt::format(
        "composite type {} has attributes {} on the source but {} on the target, and COPY "
        "assigns attributes by position",
        t->name, AttributeList(*s), AttributeList(*t));
  for (const auto& [name, type] : t->attributes) {
    // Attribute types carry modifiers; the catalog keys types without them.
    auto key = [](const Catalog& catalog, const std::string& text) {
      if (catalog.FindType(text)) return text;
      static const std::regex modifier(R"(\([^)]*\))");
      return std::regex_replace(text, modifier, "");
    };
    std::string inner =
        Difference(source, key(source, type), target, key(target, type), seen, depth + 1);
    if (!inner.empty()) return inner;
  }
  return {};
}

}  // namespace

ResolvedType Resolve(const Catalog& catalog, const std::string& type_name) {
  ResolvedType resolved;
  std::string name = type_name;
  const TypeInfo* type = catalog.FindType(name);
  int depth = 0;
  while (type && type->kind == 'd' && depth++ < kMaxDepth) {
    resolved.value_domains.push_back(type);
    name = type->domain_base_id;
    type = catalog.FindType(name);
  }
  if (type && !type->element.empty()) {
    resolved.array = true;
    name = type->element;
    type = catalog.FindType(name);
    while (type && type->kind == 'd' && depth++ < kMaxDepth) {
      resolved.element_domains.push_back(type);
      name = type->domain_base_id;
      type = catalog.FindType(name);
    }
  }
  resolved.base = name;
  resolved.known = type != nullptr;
  return resolved;
}

std::string BinaryObstacle(const Catalog& catalog, const std::string& type_name) {
  std::string name = type_name;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    const TypeInfo* type = catalog.FindType(name);
    if (!type) return {};
    if (!type->binary_io) return fmt::format("type {} has no binary form", type->name);
    if (type->names_objects)
      return fmt::format("type {} names objects by OID, which differ between servers", type->name);
    if (type->kind == 'd') {
      name = type->domain_base_id;
      continue;
    }
    if (!type->element.empty()) {
      // Binary arrays carry their element type's OID, which only built-in
      // types share between servers (arrays of enums or domains do not).
      const TypeInfo* element = catalog.FindType(type->element);
      if (element && !element->built_in)
        return fmt::format("type {} is an array of a type that is not built in", type->name);
      name = type->element;
      continue;
    }
    if (type->kind == 'e') return {};  // binary enums are their labels
    if (type->kind == 'c') return fmt::format("type {} is a composite", type->name);
    if (type->kind == 'p') return fmt::format("type {} is a pseudo-type", type->name);
    if (!type->built_in)
      return fmt::format("type {} is not built in (its binary form may differ)", type->name);
    if (type->kind == 'r' && !type->range_subtype.empty()) {
      name = type->range_subtype;
      continue;
    }
    return {};
  }
  return {};
}

std::string ObjectNameType(const Catalog& catalog, const std::string& type_name) {
  ResolvedType resolved = Resolve(catalog, type_name);
  const TypeInfo* base = catalog.FindType(resolved.base);
  return base && base->names_objects ? base->name : std::string();
}

bool IsObjectNameTypeText(const std::string& type_text) {
  static const std::regex reg(
      R"(^reg(class|type|proc|procedure|oper|operator|role|namespace|config|dictionary|collation)(\[\])*$)");
  return std::regex_match(type_text, reg);
}

std::string CompositeDifference(const Catalog& source, const std::string& source_type,
                                const Catalog& target, const std::string& target_type) {
  std::set<std::pair<std::string, std::string>> seen;
  return Difference(source, source_type, target, target_type, seen, 0);
}

}  // namespace freshet
