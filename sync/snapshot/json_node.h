// A checked reader of parsed JSON documents (nlohmann::json): one value and
// its path in the document ("tables[3].rows"), whose accessors check the JSON
// type and throw Error (kUsage) naming the document's origin and the path.
// Used to read the snapshot manifest, where every field matters.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "copy/error.h"

namespace freshet {

// Holds pointers: the document and the origin string must outlive it.
class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, std::string path, const std::string& origin)
      : value_(&value), path_(std::move(path)), origin_(&origin) {}

  const std::string& path() const { return path_; }
  bool IsNull() const { return value_->is_null(); }

  [[noreturn]] void Fail(const std::string& problem) const {
    if (path_.empty()) throw Error(ErrorKind::kUsage, fmt::format("{}: {}", *origin_, problem));
    throw Error(ErrorKind::kUsage, fmt::format("{}: field {}: {}", *origin_, path_, problem));
  }

  // The member `key` of this object; throws when it is absent.
  JsonNode Field(const char* key) const {
    if (!value_->is_object()) Fail(Expected("an object"));
    std::string path = path_.empty() ? std::string(key) : path_ + "." + key;
    auto member = value_->find(key);
    if (member == value_->end()) JsonNode(*value_, std::move(path), *origin_).Fail("missing");
    return JsonNode(*member, std::move(path), *origin_);
  }

  // Whether the object has member `key` (for fields later versions added).
  bool Has(const char* key) const {
    if (!value_->is_object()) Fail(Expected("an object"));
    return value_->contains(key);
  }

  std::vector<JsonNode> Elements() const {
    if (!value_->is_array()) Fail(Expected("an array"));
    std::vector<JsonNode> elements;
    elements.reserve(value_->size());
    for (size_t i = 0; i < value_->size(); ++i)
      elements.emplace_back((*value_)[i], fmt::format("{}[{}]", path_, i), *origin_);
    return elements;
  }

  std::string String() const {
    if (!value_->is_string()) Fail(Expected("a string"));
    return value_->get<std::string>();
  }

  bool Bool() const {
    if (!value_->is_boolean()) Fail(Expected("true or false"));
    return value_->get<bool>();
  }

  uint64_t Unsigned() const {
    if (!value_->is_number_unsigned()) Fail(Expected("an unsigned integer"));
    return value_->get<uint64_t>();
  }

  int64_t Integer() const {
    if (!value_->is_number_integer()) Fail(Expected("an integer"));
    if (value_->is_number_unsigned() &&
        value_->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      Fail(Expected("a signed 64-bit integer"));
    return value_->get<int64_t>();
  }

  int Int() const {
    if (!value_->is_number_integer()) Fail(Expected("an integer"));
    int64_t value = Integer();
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
      Fail(Expected("a 32-bit integer"));
    return static_cast<int>(value);
  }

  // A single-character catalog field: "" is 0.
  char Char() const {
    std::string text = String();
    if (text.size() > 1) Fail(Expected("a string of at most one character"));
    return text.empty() ? 0 : text[0];
  }

  std::vector<std::string> Strings() const {
    std::vector<std::string> out;
    for (const JsonNode& element : Elements()) out.push_back(element.String());
    return out;
  }

 private:
  std::string Expected(const std::string& what) const {
    return fmt::format("expected {}, found {}", what, Found());
  }

  std::string Found() const {
    switch (value_->type()) {
      case nlohmann::json::value_t::string:
        return "a string";
      case nlohmann::json::value_t::array:
        return "an array";
      case nlohmann::json::value_t::object:
        return "an object";
      default:  // null, true, false, numbers: their text says it
        return value_->dump();
    }
  }

  const nlohmann::json* value_;
  std::string path_;
  const std::string* origin_;
};

}  // namespace freshet
