// Reading freshet.toml with toml++: the checks every section shares (types,
// unknown keys with a near-miss hint, durations, one-of words), each failing
// with Error(kUsage) naming the file, the line and the dotted key path. Values
// are never echoed (a URL may hold a password). The sections themselves are
// read in config.cc and service_config.cc.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "copy/error.h"

namespace freshet {

std::string_view TypeName(toml::node_type type);
// A key as written in a dotted path: bare when it can be, else quoted.
std::string PathPart(std::string_view key);
size_t EditDistance(std::string_view a, std::string_view b);

// Entries read from a TOML table with the position of their key: toml++
// keeps a table's keys sorted, so they are put back in the order the file
// gives them and appended to `out`.
template <typename T>
using Positioned = std::vector<std::pair<toml::source_position, T>>;
template <typename T>
void AppendInFileOrder(Positioned<T>& read, std::vector<T>& out) {
  std::stable_sort(read.begin(), read.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
  });
  for (auto& entry : read) out.push_back(std::move(entry.second));
}
// PostgreSQL-style duration: a number with an optional unit (us, ms, s, min, h, d).
bool IsDuration(std::string_view text);

class TomlReader {
 public:
  explicit TomlReader(std::string origin) : origin_(std::move(origin)) {}
  virtual ~TomlReader() = default;

  // A hint for an unknown top-level key (" (did you mean to put it under
  // [sync]?)"), or "".
  virtual std::string TopLevelHint(std::string_view /*key*/) const { return {}; }

  [[noreturn]] void Fail(const toml::source_region& where, const std::string& message) const {
    if (where.begin.line > 0)
      throw Error(ErrorKind::kUsage, fmt::format("{}:{}: {}", origin_, where.begin.line, message));
    throw Error(ErrorKind::kUsage, fmt::format("{}: {}", origin_, message));
  }

  void CheckKeys(const toml::table& table, const std::string& path,
                 std::span<const std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      std::string_view name = key.str();
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
      std::string full = path.empty() ? PathPart(name) : path + "." + PathPart(name);
      std::string hint;
      for (std::string_view candidate : allowed)
        if (EditDistance(name, candidate) <= 2 && name.size() > 2)
          hint = fmt::format(" (did you mean '{}'?)", candidate);
      if (path.empty() && !TopLevelHint(name).empty()) hint = TopLevelHint(name);
      const toml::source_region& where = key.source().begin.line > 0 ? key.source() : node.source();
      Fail(where, fmt::format("unknown key '{}'{}; expected one of: {}", full, hint,
                              fmt::join(allowed, ", ")));
    }
  }

  template <typename T>
  const toml::value<T>& Value(const toml::node& node, const std::string& path,
                              std::string_view expected) const {
    const toml::value<T>* value = node.as<T>();
    if (!value)
      Fail(node.source(),
           fmt::format("'{}' must be {}, not {}", path, expected, TypeName(node.type())));
    return *value;
  }

  const toml::table& Table(const toml::node& node, const std::string& path) const {
    const toml::table* table = node.as_table();
    if (!table)
      Fail(node.source(), fmt::format("'{}' must be a table, not {}", path, TypeName(node.type())));
    return *table;
  }

  std::string NonEmptyString(const toml::node& node, const std::string& path) const {
    const std::string& text = Value<std::string>(node, path, "a string").get();
    if (text.empty()) Fail(node.source(), fmt::format("'{}' must not be empty", path));
    return text;
  }

  std::vector<std::string> Strings(const toml::node& node, const std::string& path) const {
    const toml::array* array = node.as_array();
    if (!array)
      Fail(node.source(),
           fmt::format("'{}' must be an array of strings, not {}", path, TypeName(node.type())));
    std::vector<std::string> out;
    for (size_t i = 0; i < array->size(); ++i)
      out.push_back(NonEmptyString(*array->get(i), fmt::format("{}[{}]", path, i)));
    return out;
  }

  // "freshet.toml:12: ", or "freshet.toml: " when the line is unknown.
  std::string Where(const toml::source_region& where) const {
    return where.begin.line > 0 ? fmt::format("{}:{}: ", origin_, where.begin.line)
                                : origin_ + ": ";
  }

  std::string Duration(const toml::node& node, const std::string& path) const {
    std::string value = NonEmptyString(node, path);
    if (!IsDuration(value))
      Fail(node.source(),
           fmt::format("'{}' must be a duration such as \"30s\", \"500ms\" or \"2min\"", path));
    return value;
  }

  std::string OneOf(const toml::node& node, const std::string& path,
                    std::initializer_list<std::string_view> words) const {
    std::string value = NonEmptyString(node, path);
    if (std::find(words.begin(), words.end(), value) == words.end())
      Fail(node.source(), fmt::format("'{}' must be one of {}", path, fmt::join(words, ", ")));
    return value;
  }

 protected:
  std::string origin_;
};

}  // namespace freshet
