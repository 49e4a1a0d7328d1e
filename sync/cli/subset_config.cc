#include "sync/cli/subset_config.h"

#include <algorithm>
#include <array>
#include <utility>

namespace freshet {
namespace {

constexpr std::array<std::string_view, 6> kKeys = {"root",     "where",           "percent",
                                                   "children", "children_except", "limits"};

QualifiedName TableName(const TomlReader& reader, const toml::node& node, std::string_view text,
                        const std::string& path) {
  std::optional<QualifiedName> name = ParseTableName(text);
  if (!name)
    reader.Fail(node.source(),
                fmt::format("'{}' must name a table as \"schema.table\", not \"{}\"", path, text));
  return *name;
}

}  // namespace

std::optional<QualifiedName> ParseTableName(std::string_view text) {
  std::vector<std::string> parts = SplitDottedName(text);
  if (parts.size() == 1) return QualifiedName{"public", std::move(parts[0])};
  if (parts.size() == 2) return QualifiedName{std::move(parts[0]), std::move(parts[1])};
  return std::nullopt;
}

std::optional<ForeignKeyName> ParseForeignKeyName(std::string_view text) {
  std::vector<std::string> parts = SplitDottedName(text);
  if (parts.size() != 3) return std::nullopt;  // the schema is needed
  return ForeignKeyName{QualifiedName{std::move(parts[0]), std::move(parts[1])},
                        std::move(parts[2])};
}

void ReadSubsetSection(const TomlReader& reader, const toml::node& node, SubsetSettings& subset) {
  const toml::table& table = reader.Table(node, "subset");
  reader.CheckKeys(table, "subset", kKeys);
  if (const toml::node* root = table.get("root"))
    subset.root =
        TableName(reader, *root, reader.NonEmptyString(*root, "subset.root"), "subset.root");
  if (const toml::node* where = table.get("where"))
    subset.where = reader.NonEmptyString(*where, "subset.where");
  if (const toml::node* percent = table.get("percent")) {
    double value = percent->is_integer()
                       ? static_cast<double>(percent->as_integer()->get())
                       : reader.Value<double>(*percent, "subset.percent", "a number").get();
    if (!(value > 0 && value <= 100))
      reader.Fail(percent->source(), "'subset.percent' must be more than 0 and at most 100");
    subset.percent = value;
  }
  if (const toml::node* children = table.get("children"))
    subset.children = reader.Value<bool>(*children, "subset.children", "a boolean").get();
  if (const toml::node* except = table.get("children_except")) {
    for (const std::string& text : reader.Strings(*except, "subset.children_except")) {
      std::optional<ForeignKeyName> name = ParseForeignKeyName(text);
      if (!name)
        reader.Fail(
            except->source(),
            fmt::format("'subset.children_except' must name foreign keys as "
                        "\"schema.table.column\" or \"schema.table.constraint\", not \"{}\"",
                        text));
      subset.children_except.push_back(std::move(*name));
    }
  }
  if (const toml::node* limits = table.get("limits")) {
    Positioned<std::pair<QualifiedName, int64_t>> read;
    for (const auto& [key, value] : reader.Table(*limits, "subset.limits")) {
      std::string path = "subset.limits." + PathPart(key.str());
      int64_t limit = reader.Value<int64_t>(value, path, "an integer").get();
      if (limit < 0) reader.Fail(value.source(), fmt::format("'{}' must not be negative", path));
      read.emplace_back(value.source().begin,
                        std::pair(TableName(reader, value, key.str(), path), limit));
    }
    AppendInFileOrder(read, subset.limits);
  }
  if (!subset.root && (subset.percent || !subset.where.empty()))
    reader.Fail(node.source(), "[subset] where and percent need a root = \"schema.table\"");
  if (!subset.any())
    reader.Fail(node.source(), "[subset] needs a root = \"schema.table\" or limits");
}

}  // namespace freshet
