// The masking rules on text: hash, email, the dictionary rules (names,
// cities, streets, companies), phone, ip, redact, regexp and choice. Keyed
// rules hash under a domain of the rule's name and output-changing
// parameters only (see mask_transformers.cc).
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include "copy/mask_dictionaries.h"
#include "copy/mask_rules_internal.h"

namespace freshet::mask_rules {

namespace {

uint64_t LittleEndian64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// RFC 4648 base32 in lowercase: 26 characters for 128 bits.
std::string Base32(const std::array<uint8_t, 16>& bytes) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    for (bits += 8; bits >= 5; bits -= 5) out += kAlphabet[(buffer >> (bits - 5)) & 31];
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

}  // namespace

// ----------------------------------------------------------- hash and email

std::unique_ptr<ValueMasker> MakeHash(const Build& b) {
  // 32 hex digits; a column narrower than that gets a prefix, which no
  // longer keeps values distinct.
  return Masker([hash = KeyedHash(b.key, "hash"), max = b.limits.max_chars](MaskValue& value) {
    value.text = Hex(hash.Of(value.text));
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeEmail(const Build& b) {
  static constexpr std::string_view kReserved[] = {"example.com", "example.org", "example.net"};
  size_t max = b.limits.max_chars;
  // A full address is 26 + 1 + 11 = 38 characters; a narrower column gets a
  // shorter local part (fewer hash bits, so distinctness is no longer
  // promised), and one under 13 cannot hold "x@example.com" at all.
  if (max != 0 && max < 13 && !b.rule.keep_domain) {
    throw b.Fail("the column holds " + std::to_string(max) +
                 " characters; a masked address needs at least 13");
  }
  return Masker(
      [hash = KeyedHash(b.key, "email"), max, keep_domain = b.rule.keep_domain](MaskValue& value) {
        auto digest = hash.Of(value.text);  // of the whole address, so distinct stays distinct
        std::string local = Base32(digest);
        std::string domain(kReserved[LittleEndian64(digest.data()) % 3]);
        size_t at = value.text.rfind('@');
        if (keep_domain && at != std::string::npos && at + 1 < value.text.size()) {
          std::string own = value.text.substr(at + 1);
          if (max == 0 || CountChars(own) + 2 <= max) domain = std::move(own);
        }
        if (max != 0) {
          size_t room = max - std::min(max, CountChars(domain) + 1);
          local.resize(std::min(local.size(), std::max<size_t>(room, 1)));
        }
        value.text = local + "@" + domain;
        FitChars(value.text, max);
        return true;
      });
}

// --------------------------------------------------------- dictionary rules

namespace {

// A word list cut to the entries that fit the column; all of it (to be
// truncated) when none does.
std::vector<std::string_view> Fitting(std::span<const std::string_view> words, size_t max) {
  std::vector<std::string_view> out;
  for (std::string_view word : words) {
    if (FitsChars(word, max)) out.push_back(word);
  }
  if (out.empty()) out.assign(words.begin(), words.end());
  return out;
}

// The first of `candidates` that fits `max`, else the last one cut.
std::string FirstFitting(std::initializer_list<std::string> candidates, size_t max) {
  for (const std::string& candidate : candidates) {
    if (FitsChars(candidate, max)) return candidate;
  }
  std::string last = *(candidates.end() - 1);
  FitChars(last, max);
  return last;
}

const MaskDictionary& DictionaryOf(const Build& b) {
  try {
    return MaskDictionaryFor(b.rule.locale);
  } catch (const Error& e) {
    throw b.Fail(e.what());
  }
}

}  // namespace

std::unique_ptr<ValueMasker> MakeDictionaryWord(const Build& b) {
  const MaskDictionary& dictionary = DictionaryOf(b);
  std::span<const std::string_view> list = b.rule.rule == "first_name"  ? dictionary.first_names
                                           : b.rule.rule == "last_name" ? dictionary.last_names
                                                                        : dictionary.cities;
  std::string domain = b.rule.rule + "/" + std::string(dictionary.locale);
  return Masker([hash = KeyedHash(b.key, domain), words = Fitting(list, b.limits.max_chars),
                 max = b.limits.max_chars](MaskValue& value) {
    value.text = words[hash.Below(value.text, words.size())];
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeFullName(const Build& b) {
  const MaskDictionary& d = DictionaryOf(b);
  return Masker([hash = KeyedHash(b.key, "full_name/" + std::string(d.locale)), &d,
                 max = b.limits.max_chars](MaskValue& value) {
    uint64_t pick = hash.Below(value.text, d.first_names.size() * d.last_names.size());
    std::string first(d.first_names[pick / d.last_names.size()]);
    std::string last(d.last_names[pick % d.last_names.size()]);
    std::string initial = first.substr(0, BytesOfFirstChars(first, 1)) + ". ";
    value.text = FirstFitting({first + " " + last, initial + last, last}, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeStreetAddress(const Build& b) {
  const MaskDictionary& d = DictionaryOf(b);
  return Masker([hash = KeyedHash(b.key, "street_address/" + std::string(d.locale)), &d,
                 max = b.limits.max_chars](MaskValue& value) {
    uint64_t names = d.street_names.size(), types = d.street_types.size();
    uint64_t pick = hash.Below(value.text, 999 * names * types);  // numbers 1..999
    int number = static_cast<int>(pick / (names * types)) + 1;
    value.text = FormatStreetAddress(d, number, d.street_names[pick / types % names],
                                     d.street_types[pick % types]);
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeCompany(const Build& b) {
  const MaskDictionary& d = DictionaryOf(b);
  return Masker([hash = KeyedHash(b.key, "company/" + std::string(d.locale)), &d,
                 max = b.limits.max_chars](MaskValue& value) {
    uint64_t trades = d.company_trades.size(), suffixes = d.company_suffixes.size();
    uint64_t pick = hash.Below(value.text, d.company_words.size() * trades * suffixes);
    std::string word(d.company_words[pick / (trades * suffixes)]);
    std::string trade = word + " " + std::string(d.company_trades[pick / suffixes % trades]);
    std::string full = trade + " " + std::string(d.company_suffixes[pick % suffixes]);
    value.text = FirstFitting({full, trade, word}, max);
    return true;
  });
}

// ------------------------------------------------------------- phone and ip

std::unique_ptr<ValueMasker> MakePhone(const Build& b) {
  return Masker([hash = KeyedHash(b.key, "phone")](MaskValue& value) {
    // Keyed by the digits (and a leading '+') alone, so one number written
    // with different separators masks to the same digits.
    std::string digits;
    bool plus = false;
    for (char c : value.text) {
      if (c >= '0' && c <= '9') digits += c;
      if (c == '+' && digits.empty()) plus = true;
    }
    std::string input = (plus ? "+" : "") + digits;
    std::string keyed;  // 8 digits from each 64-bit word (bias under 1e-11)
    for (int block = 0; keyed.size() < digits.size(); ++block) {
      auto bytes = hash.Of(block == 0 ? input : input + "#" + std::to_string(block));
      for (int half = 0; half < 2; ++half) {
        char eight[9];
        std::snprintf(eight, sizeof eight, "%08u",
                      static_cast<unsigned>(LittleEndian64(bytes.data() + 8 * half) % 100000000));
        keyed += eight;
      }
    }
    size_t index = 0;
    for (char& c : value.text) {
      if (c < '0' || c > '9') continue;
      if (!(plus && index == 0)) c = keyed[index];  // after '+', the country code's first digit
      ++index;
    }
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeIp(const Build& b) {
  return Masker([hash = KeyedHash(b.key, "ip"), cidr = b.limits.cidr, rule = b.rule.rule,
                 max = b.limits.max_chars](MaskValue& value) {
    size_t slash = value.text.find('/');
    std::string address = value.text.substr(0, slash);
    std::string suffix = slash == std::string::npos ? "" : value.text.substr(slash);
    uint8_t in[16] = {}, out[16] = {};
    int family = inet_pton(AF_INET, address.c_str(), in) == 1    ? AF_INET
                 : inet_pton(AF_INET6, address.c_str(), in) == 1 ? AF_INET6
                                                                 : 0;
    if (family == 0) throw ValueError(rule, "a value is not an IP address");
    int bytes = family == AF_INET ? 4 : 16;
    int prefix = bytes * 8;
    if (!suffix.empty()) {
      auto [end, error] = std::from_chars(suffix.data() + 1, suffix.data() + suffix.size(), prefix);
      if (error != std::errc() || end != suffix.data() + suffix.size() || prefix > bytes * 8) {
        throw ValueError(rule, "a value has a bad prefix length");
      }
    }
    auto digest = hash.Of(std::string_view(reinterpret_cast<char*>(in), bytes));
    if (family == AF_INET) {
      // A unicast, non-loopback first octet: 1..223 without 127.
      int first = 1 + static_cast<int>(LittleEndian64(digest.data()) % 222);
      out[0] = static_cast<uint8_t>(first >= 127 ? first + 1 : first);
      std::memcpy(out + 1, digest.data() + 8, 3);
    } else {
      const uint8_t documentation[4] = {0x20, 0x01, 0x0d, 0xb8};  // 2001:db8::/32
      std::memcpy(out, documentation, 4);
      std::memcpy(out + 4, digest.data(), 12);
    }
    if (cidr) {
      for (int bit = prefix; bit < bytes * 8; ++bit) out[bit / 8] &= ~(0x80 >> (bit % 8));
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, out, text, sizeof text);
    value.text = text + suffix;
    FitChars(value.text, max);
    return true;
  });
}

// ---------------------------------------------- redact, regexp and choice

std::unique_ptr<ValueMasker> MakeRedact(const Build& b) {
  const MaskRule& r = b.rule;
  if (r.keep_first < 0 || r.keep_last < 0) throw b.Fail("keep_first and keep_last must be >= 0");
  if (CountChars(r.mask_char) != 1) throw b.Fail("mask_char must be exactly one character");
  return Masker([keep_first = size_t(r.keep_first), keep_last = size_t(r.keep_last),
                 keep_length = r.keep_length, mask = r.mask_char,
                 max = b.limits.max_chars](MaskValue& value) {
    size_t chars = CountChars(value.text);
    // A value no longer than the ends it would keep is masked whole.
    bool whole = keep_first + keep_last >= chars;
    size_t first = whole ? 0 : BytesOfFirstChars(value.text, keep_first);
    size_t last = whole ? value.text.size() : BytesOfFirstChars(value.text, chars - keep_last);
    size_t run = keep_length ? chars - (whole ? 0 : keep_first + keep_last) : 8;
    std::string out = value.text.substr(0, first);
    for (size_t i = 0; i < run; ++i) out += mask;
    out += value.text.substr(last);
    if (!FitsChars(out, max) && !whole) {  // a fixed run too long for the column: shorten it
      size_t room = max > keep_first + keep_last ? max - keep_first - keep_last : 0;
      out = value.text.substr(0, first);
      for (size_t i = 0; i < std::min(room, run); ++i) out += mask;
      out += value.text.substr(last);
    }
    FitChars(out, max);
    value.text = std::move(out);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeRegexp(const Build& b) {
  if (b.rule.pattern.empty()) throw b.Fail("pattern is missing");
  std::shared_ptr<const std::regex> pattern;
  try {
    pattern = std::make_shared<const std::regex>(b.rule.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw b.Fail(std::string("the pattern does not compile: ") + e.what());
  }
  return Masker([pattern, replacement = b.rule.replacement, rule = b.rule.rule,
                 max = b.limits.max_chars](MaskValue& value) {
    try {
      value.text = std::regex_replace(value.text, *pattern, replacement);
    } catch (const std::regex_error& e) {  // e.g. too complex for a long value
      throw ValueError(rule, std::string("the pattern failed on a value: ") + e.what());
    }
    FitChars(value.text, max);
    return true;
  });
}

std::unique_ptr<ValueMasker> MakeChoice(const Build& b) {
  const auto& choices = b.rule.choices;
  if (choices.empty()) throw b.Fail("choices must list at least one value");
  std::string domain = "choice";
  for (size_t i = 0; i < choices.size(); ++i) {
    if (!FitsChars(choices[i], b.limits.max_chars)) {
      throw b.Fail("choice #" + std::to_string(i + 1) + " is longer than the column's " +
                   std::to_string(b.limits.max_chars) + " characters");
    }
    domain += '\x1f' + choices[i];
  }
  return Masker([hash = KeyedHash(b.key, domain), choices](MaskValue& value) {
    value.text = choices[hash.Below(value.text, choices.size())];
    return true;
  });
}

}  // namespace freshet::mask_rules
