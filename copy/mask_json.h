// Masking values inside JSON documents by path, on the document's text: one
// pass that copies everything through except the string and number values
// found at the paths, which their maskers replace. No tree is built. Pure;
// thread-safe after construction.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "copy/mask_transformers.h"

namespace freshet {

struct JsonPathMaskers {
  // "$.contact.email", "$.items[*].phone", "$['a key'].x", "$.list[0]",
  // "$..email" (any depth), "$.a.*" (every member), "[*]" (every element or
  // member). An object or array found at a path has every string and number
  // beneath it masked; where paths overlap, the first listed wins.
  std::string path;
  std::shared_ptr<const ValueMasker> text;  // strings: kText values
  // Numbers: kNumeric values (the number's text); null: numbers are masked
  // by `text` as their text and written back as strings.
  std::shared_ptr<const ValueMasker> number;
};

class JsonPathMasker {
 public:
  // Throws Error naming a path that does not parse (or more than 256 steps
  // in all).
  explicit JsonPathMasker(std::vector<JsonPathMaskers> paths);

  // The document with the values at the paths masked; JSON null stays null,
  // true/false stay as they are; a masker returning false writes null.
  // Throws Error on text that is not JSON or nests deeper than 512 levels
  // (naming the byte offset, never quoting the document).
  std::string Mask(std::string_view json) const;

 private:
  struct Automaton;  // the paths compiled into one matcher (mask_json.cc)
  class Walk;        // one pass over one document (mask_json.cc)
  std::shared_ptr<const Automaton> automaton_;  // immutable, shared by copies
};

}  // namespace freshet
