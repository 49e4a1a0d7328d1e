// Masking values inside JSON documents by path (mask_json.h).
//
// The paths are compiled once into one small automaton whose states read
// "path p has matched its first k steps"; the states live at a location of the
// document are a bit set, so matching a member or element costs a few bit
// operations and never re-reads a path. The document is read once, validated
// as it goes (RFC 8259), and copied to the output in runs: only the bytes of a
// masked value are rewritten, so a document no path touches costs a scan and
// one copy.
#include "copy/mask_json.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "copy/error.h"

namespace freshet {
namespace {

// Deeper documents get an Error rather than a stack overflow.
constexpr int kMaxDepth = 512;
// Bounds the bit set so it needs no heap; far beyond any real column's paths.
constexpr size_t kMaxStates = 256;

// A set of automaton states: bit s is state s.
class StateSet {
 public:
  void Set(size_t s) { words_[s / 64] |= uint64_t{1} << (s % 64); }
  bool Empty() const { return (words_[0] | words_[1] | words_[2] | words_[3]) == 0; }
  StateSet operator&(const StateSet& other) const {
    StateSet r;
    for (size_t i = 0; i < kWords; ++i) r.words_[i] = words_[i] & other.words_[i];
    return r;
  }
  // The lowest state in the set; the set must not be empty.
  size_t Lowest() const {
    size_t i = 0;
    while (words_[i] == 0) ++i;
    return i * 64 + std::countr_zero(words_[i]);
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < kWords; ++i) {
      for (uint64_t w = words_[i]; w != 0; w &= w - 1) f(i * 64 + std::countr_zero(w));
    }
  }
  // States 0 .. n-1.
  static StateSet Below(size_t n) {
    StateSet r;
    for (size_t s = 0; s < n; ++s) r.Set(s);
    return r;
  }

 private:
  static constexpr size_t kWords = 4;
  static_assert(kWords * 64 == kMaxStates);
  std::array<uint64_t, kWords> words_{};
};

enum class StepKind {
  kMember,     // .name, ['name']: the member of that name
  kAnyMember,  // .*: every member of an object
  kAnyChild,   // [*]: every element of an array or member of an object
  kIndex,      // [N]: element N of an array
};

struct Step {
  StepKind kind = StepKind::kMember;
  bool recursive = false;  // written after "..": at any depth below
  std::string name;
  uint64_t index = 0;
};

// Parses one path; throws an Error naming the path and the position.
class PathParser {
 public:
  explicit PathParser(std::string_view path) : path_(path) {}

  std::vector<Step> Parse() {
    if (!Eat('$')) Fail("a path starts with '$'");
    std::vector<Step> steps;
    while (pos_ < path_.size()) {
      Step step;
      if (Eat('.')) {
        step.recursive = Eat('.');
        if (Eat('*')) {
          step.kind = step.recursive ? StepKind::kAnyChild : StepKind::kAnyMember;
        } else if (step.recursive && Peek() == '[') {
          Bracket(step);
        } else {
          DotName(step);
        }
      } else if (Peek() == '[') {
        Bracket(step);
      } else {
        Fail("expected '.' or '['");
      }
      steps.push_back(std::move(step));
    }
    return steps;
  }

 private:
  static bool IsNameByte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c >= 0x80;
  }

  void DotName(Step& step) {
    size_t start = pos_;
    while (pos_ < path_.size() && IsNameByte(path_[pos_])) ++pos_;
    if (pos_ == start) Fail("expected a name, '*' or a bracket");
    step.kind = StepKind::kMember;
    step.name = path_.substr(start, pos_ - start);
  }

  // [*], [N], ['name'] or ["name"], with \' \" and \\ inside the quotes.
  void Bracket(Step& step) {
    ++pos_;  // '['
    char c = Peek();
    if (Eat('*')) {
      step.kind = StepKind::kAnyChild;
    } else if (c >= '0' && c <= '9') {
      step.kind = StepKind::kIndex;
      if (Eat('0')) return Close();
      for (size_t digits = 0; Peek() >= '0' && Peek() <= '9'; ++digits, ++pos_) {
        if (digits == 9) Fail("array index too large");
        step.index = step.index * 10 + (path_[pos_] - '0');
      }
    } else if (c == '\'' || c == '"') {
      ++pos_;
      step.kind = StepKind::kMember;
      for (;;) {
        if (pos_ >= path_.size()) Fail("unterminated quoted name");
        char d = path_[pos_++];
        if (d == c) break;
        if (d == '\\') {
          char e = Peek();
          if (e != '\'' && e != '"' && e != '\\') Fail("expected \\', \\\" or \\\\");
          d = e;
          ++pos_;
        }
        step.name += d;
      }
    } else {
      Fail("expected '*', an index or a quoted name after '['");
    }
    Close();
  }

  void Close() {
    if (!Eat(']')) Fail("expected ']'");
  }
  char Peek() const { return pos_ < path_.size() ? path_[pos_] : '\0'; }
  bool Eat(char c) {
    if (pos_ >= path_.size() || path_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  [[noreturn]] void Fail(const char* what) const {
    throw Error(ErrorKind::kUsage, "JSON path \"" + std::string(path_) + "\" at position " +
                                       std::to_string(pos_) + ": " + what);
  }

  std::string_view path_;
  size_t pos_ = 0;
};

// Bytes a string may hold as they are: printable ASCII but the quote and
// backslash (the rest is escapes, control characters or UTF-8).
constexpr std::array<bool, 256> kPlainBytes = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// The short escapes: \" stands for ", \n for a newline and so on.
constexpr std::string_view kEscapeLetters = "\"\\/bfnrt";
constexpr std::string_view kEscapedChars = "\"\\/\b\f\n\r\t";

// Whether the 8 bytes at p are all kPlainBytes, tested at once (SWAR): a
// byte-at-a-time scan of strings is most of the cost of a document.
bool AllPlain(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
  uint64_t v;
  std::memcpy(&v, p, 8);
  auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x; };
  uint64_t special = has_zero(v ^ (kOnes * '"')) | has_zero(v ^ (kOnes * '\\')) |
                     ((v - kOnes * 0x20) & ~v) | v;  // "  \  below 0x20  from 0x80
  return (special & kHighs) == 0;
}

// The length of the valid UTF-8 sequence at s[i], or 0 (overlong forms,
// surrogates and code points past U+10FFFF are not valid).
size_t Utf8Length(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> unsigned { return i + k < s.size() ? uint8_t(s[i + k]) : 0; };
  auto cont = [&](size_t k) { return (at(k) & 0xC0) == 0x80; };
  unsigned c = at(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// The four hex digits at s[i] as a number, or -1.
int Hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    char c = s[k];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// `text` as a JSON string. A masker's output that is not UTF-8 (e.g. cut in
// the middle of a character) gets U+FFFD for each bad byte, so the document
// stays one PostgreSQL accepts.
void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < text.size();) {
    auto c = uint8_t(text[i]);
    if (kPlainBytes[c]) {
      ++i;
      continue;
    }
    size_t len = c < 0x80 ? 0 : Utf8Length(text, i);
    if (len > 0) {
      i += len;
      continue;
    }
    out.append(text, run, i - run);
    if (size_t e = kEscapedChars.find(char(c)); e != std::string_view::npos) {
      out += '\\';
      out += kEscapeLetters[e];
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += "\xEF\xBF\xBD";
    }
    run = ++i;
  }
  out.append(text, run, text.size() - run);
  out += '"';
}

// The length of the JSON number at s[i], or 0 when there is none.
size_t NumberLength(std::string_view s, size_t i) {
  size_t start = i;
  auto digit = [&] { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  auto digits = [&] {
    if (!digit()) return false;
    while (digit()) ++i;
    return true;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return 0;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return 0;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return 0;
  }
  return i - start;
}

bool IsJsonNumber(std::string_view s) { return !s.empty() && NumberLength(s, 0) == s.size(); }

}  // namespace

struct JsonPathMasker::Automaton {
  struct State {
    Step step;           // the next step to match; unused in a final state
    bool final = false;  // the path has matched all its steps
    size_t path = 0;     // index into `maskers`
  };
  std::vector<JsonPathMaskers> maskers;
  std::vector<State> states;     // path after path, so lower states are earlier paths
  std::vector<StateSet> before;  // per path: the states of the paths listed before it
  StateSet start;                // every path's first state
  StateSet finals;               // every path's last state
  StateSet named;                // states whose step compares a member's name

  // The states at a child (member `name` or element `index`) of a location
  // in `from`; `name` need only be set when `from` has a named state.
  StateSet Advance(const StateSet& from, bool member, std::string_view name, uint64_t index) const {
    StateSet next;
    from.ForEach([&](size_t s) {
      const Step& step = states[s].step;
      bool hit = step.kind == StepKind::kAnyChild ||
                 (member ? step.kind == StepKind::kAnyMember ||
                               (step.kind == StepKind::kMember && name == step.name)
                         : step.kind == StepKind::kIndex && index == step.index);
      if (hit) next.Set(s + 1);
      if (step.recursive) next.Set(s);
    });
    return next;
  }
};

JsonPathMasker::JsonPathMasker(std::vector<JsonPathMaskers> paths) {
  auto automaton = std::make_shared<Automaton>();
  auto& states = automaton->states;
  for (size_t p = 0; p < paths.size(); ++p) {
    std::vector<Step> steps = PathParser(paths[p].path).Parse();
    if (states.size() + steps.size() + 1 > kMaxStates) {
      throw Error(ErrorKind::kUsage, "JSON paths: more than " + std::to_string(kMaxStates) +
                                         " steps in all at \"" + paths[p].path + "\"");
    }
    automaton->before.push_back(StateSet::Below(states.size()));
    automaton->start.Set(states.size());
    for (Step& step : steps) {
      if (step.kind == StepKind::kMember) automaton->named.Set(states.size());
      states.push_back({std::move(step), false, p});
    }
    automaton->finals.Set(states.size());
    states.push_back({Step{}, true, p});
  }
  automaton->maskers = std::move(paths);
  automaton_ = std::move(automaton);
}

// One document's pass: a recursive descent that validates as it reads and
// copies the input to `out_` lazily, up to each value it rewrites.
class JsonPathMasker::Walk {
 public:
  Walk(const Automaton& automaton, std::string_view json) : a_(automaton), in_(json) {}

  std::string Run() {
    out_.reserve(in_.size() + 16);
    SkipSpace();
    Value(&a_.start, kNoPath, 0);
    SkipSpace();
    if (pos_ != in_.size()) Fail("characters after the value");
    out_.append(in_, copied_, in_.size() - copied_);
    return std::move(out_);
  }

 private:
  static constexpr size_t kNoPath = SIZE_MAX;

  // The value at pos_, at a location where `states` are live (null: none,
  // the common case, which then costs no set operations), beneath a value
  // matched by path `masking` (or kNoPath).
  void Value(const StateSet* states, size_t masking, int depth) {
    if (states == nullptr) return Dispatch(nullptr, masking, depth);
    StateSet hits = *states & a_.finals;
    // States are numbered path after path, so the lowest is the first listed.
    if (!hits.Empty()) masking = a_.states[hits.Lowest()].path;
    // Beneath a match only earlier paths can still take a value over.
    StateSet live = masking == kNoPath ? *states : *states & a_.before[masking];
    Dispatch(live.Empty() ? nullptr : &live, masking, depth);
  }

  void Dispatch(const StateSet* live, size_t masking, int depth) {
    char c = Peek();
    if (c == '{') return Object(live, masking, depth + 1);
    if (c == '[') return Array(live, masking, depth + 1);
    if (c == '"') return masking == kNoPath ? void(ScanString()) : MaskString(masking);
    if (c == '-' || (c >= '0' && c <= '9')) return MaskNumber(masking);
    if (!EatLiteral("true") && !EatLiteral("false") && !EatLiteral("null")) {
      Fail("expected a value");
    }
  }

  void Object(const StateSet* live, size_t masking, int depth) {
    CheckDepth(depth);
    ++pos_;
    SkipSpace();
    if (Eat('}')) return;
    const bool names = live != nullptr && !(*live & a_.named).Empty();
    for (;;) {
      if (Peek() != '"') Fail("expected a member name");
      size_t key = pos_ + 1;
      bool escaped = ScanString();
      StateSet child;
      if (live != nullptr) {
        std::string_view name;
        if (names) name = escaped ? Decode(key, pos_ - 1, key_) : in_.substr(key, pos_ - 1 - key);
        child = a_.Advance(*live, true, name, 0);
      }
      SkipSpace();
      if (!Eat(':')) Fail("expected ':'");
      SkipSpace();
      Value(live != nullptr && !child.Empty() ? &child : nullptr, masking, depth);
      SkipSpace();
      if (Eat('}')) return;
      if (!Eat(',')) Fail("expected ',' or '}'");
      SkipSpace();
    }
  }

  void Array(const StateSet* live, size_t masking, int depth) {
    CheckDepth(depth);
    ++pos_;
    SkipSpace();
    if (Eat(']')) return;
    for (uint64_t index = 0;; ++index) {
      StateSet child;
      if (live != nullptr) child = a_.Advance(*live, false, {}, index);
      Value(live != nullptr && !child.Empty() ? &child : nullptr, masking, depth);
      SkipSpace();
      if (Eat(']')) return;
      if (!Eat(',')) Fail("expected ',' or ']'");
      SkipSpace();
    }
  }

  void MaskString(size_t masking) {
    size_t start = pos_;
    bool escaped = ScanString();
    const ValueMasker* masker = a_.maskers[masking].text.get();
    if (masker == nullptr) return;
    Reset(ValueKind::kText);
    if (escaped) {
      Decode(start + 1, pos_ - 1, value_.text);
    } else {
      value_.text.assign(in_, start + 1, pos_ - 1 - start - 1);
    }
    bool keep = masker->Mask(value_);
    Replace(start);
    if (keep) {
      AppendJsonString(out_, value_.text);
    } else {
      out_.append("null");
    }
  }

  // Without a number masker a number goes through the text masker and
  // comes back a string, since text maskers make text.
  void MaskNumber(size_t masking) {
    size_t start = pos_;
    size_t len = NumberLength(in_, pos_);
    if (len == 0) Fail("bad number");
    pos_ += len;
    if (masking == kNoPath) return;
    const JsonPathMaskers& maskers = a_.maskers[masking];
    const ValueMasker* masker = maskers.number ? maskers.number.get() : maskers.text.get();
    if (masker == nullptr) return;
    Reset(maskers.number ? ValueKind::kNumeric : ValueKind::kText);
    value_.text.assign(in_, start, len);
    bool keep = masker->Mask(value_);
    Replace(start);
    if (!keep) {
      out_.append("null");
    } else if (maskers.number && IsJsonNumber(value_.text)) {
      out_.append(value_.text);
    } else {
      AppendJsonString(out_, value_.text);
    }
  }

  void Reset(ValueKind kind) {
    value_.kind = kind;
    value_.text.clear();
    value_.integer = 0;
    value_.bytes = {};
  }

  // Copies the input up to `start` (the value being rewritten) and skips the
  // value's original text, which ends at pos_.
  void Replace(size_t start) {
    out_.append(in_, copied_, start - copied_);
    copied_ = pos_;
  }

  // Validates the string at pos_ (its opening quote) and moves past it;
  // true when it has escapes.
  bool ScanString() {
    ++pos_;
    bool escaped = false;
    for (;;) {
      while (pos_ + 8 <= in_.size() && AllPlain(in_.data() + pos_)) pos_ += 8;
      while (pos_ < in_.size() && kPlainBytes[uint8_t(in_[pos_])]) ++pos_;
      if (pos_ >= in_.size()) Fail("unterminated string");
      auto c = uint8_t(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return escaped;
      }
      if (c == '\\') {
        escaped = true;
        ScanEscape();
      } else if (c < 0x20) {
        Fail("control character in a string");
      } else {
        size_t len = Utf8Length(in_, pos_);
        if (len == 0) Fail("invalid UTF-8 in a string");
        pos_ += len;
      }
    }
  }

  void ScanEscape() {
    char c = pos_ + 1 < in_.size() ? in_[pos_ + 1] : '\0';
    if (c != 'u') {
      if (kEscapeLetters.find(c) == std::string_view::npos) {
        Fail("bad escape in a string");
      }
      pos_ += 2;
      return;
    }
    int unit = Hex4(in_, pos_ + 2);
    if (unit < 0) Fail("bad \\u escape");
    if (unit >= 0xDC00 && unit <= 0xDFFF) Fail("unpaired surrogate in a \\u escape");
    pos_ += 6;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      int low = in_.substr(pos_, 2) == "\\u" ? Hex4(in_, pos_ + 2) : -1;
      if (low < 0xDC00 || low > 0xDFFF) Fail("unpaired surrogate in a \\u escape");
      pos_ += 6;
    }
  }

  // The UTF-8 text of the validated string content in_[begin, end), into
  // `dest` (cleared first).
  std::string_view Decode(size_t begin, size_t end, std::string& dest) const {
    dest.clear();
    for (size_t i = begin; i < end;) {
      size_t slash = in_.substr(0, end).find('\\', i);
      if (slash == std::string_view::npos) slash = end;
      dest.append(in_, i, slash - i);
      if (slash == end) break;
      char c = in_[slash + 1];
      i = slash + 2;
      if (c != 'u') {
        dest += kEscapedChars[kEscapeLetters.find(c)];
        continue;
      }
      auto cp = uint32_t(Hex4(in_, i));
      i += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (uint32_t(Hex4(in_, i + 2)) - 0xDC00);
        i += 6;
      }
      AppendUtf8(dest, cp);
    }
    return dest;
  }

  void CheckDepth(int depth) const {
    if (depth > kMaxDepth) {
      throw Error("JSON at byte " + std::to_string(pos_) + " nests deeper than " +
                  std::to_string(kMaxDepth) + " levels");
    }
  }

  bool EatLiteral(std::string_view literal) {
    if (in_.compare(pos_, literal.size(), literal) != 0) return false;
    pos_ += literal.size();
    return true;
  }
  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' || in_[pos_] == '\t')) {
      ++pos_;
    }
  }
  char Peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  bool Eat(char c) {
    if (pos_ >= in_.size() || in_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  // The message names the byte offset and what was wrong, never the text.
  [[noreturn]] void Fail(const char* what) const {
    if (pos_ >= in_.size()) what = "the document ends early";
    throw Error("malformed JSON at byte " + std::to_string(pos_) + ": " + what);
  }

  const Automaton& a_;
  std::string_view in_;
  size_t pos_ = 0;
  size_t copied_ = 0;  // in_[0, copied_) is in out_ already
  std::string out_;
  MaskValue value_;  // reused for every masked value
  std::string key_;  // a member name with escapes, decoded
};

std::string JsonPathMasker::Mask(std::string_view json) const {
  return Walk(*automaton_, json).Run();
}

}  // namespace freshet
