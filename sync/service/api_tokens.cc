#include "sync/service/api_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "copy/error.h"

namespace freshet {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// The token of "Bearer <token>", or empty when the header is not that.
std::string_view BearerToken(std::string_view header) {
  header = Trim(header);
  size_t space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !EqualsIgnoringCase(header.substr(0, space), "bearer")) {
    return {};
  }
  std::string_view token = Trim(header.substr(space));
  for (char c : token) {
    if (IsSpace(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return {};
  }
  return token;
}

}  // namespace

Scope ParseScope(std::string_view text) {
  if (text == "read") return Scope::kRead;
  if (text == "trigger") return Scope::kTrigger;
  if (text == "admin") return Scope::kAdmin;
  throw Error(ErrorKind::kUsage,
              "unknown token scope \"" + std::string(text) + "\" (read, trigger or admin)");
}

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "read";
    case Scope::kTrigger:
      return "trigger";
    case Scope::kAdmin:
      return "admin";
  }
  return "unknown";
}

bool Allows(Scope granted, Scope needed) {
  return static_cast<int>(granted) >= static_cast<int>(needed);
}

Sha256Digest ParseTokenHash(std::string_view hex, std::string_view what) {
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  Sha256Digest digest{};
  bool valid = hex.size() == 2 * digest.size();
  for (size_t i = 0; valid && i < digest.size(); ++i) {
    int high = HexDigit(hex[2 * i]);
    int low = HexDigit(hex[2 * i + 1]);
    valid = high >= 0 && low >= 0;
    digest[i] = static_cast<unsigned char>(high * 16 + low);
  }
  if (!valid) {
    throw Error(ErrorKind::kUsage,
                std::string(what) +
                    ": expected the token's SHA-256 as 64 hex digits, optionally prefixed "
                    "\"sha256:\" (printf %s \"$TOKEN\" | sha256sum), not the token itself");
  }
  return digest;
}

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    throw Error("SHA-256 failed in OpenSSL");
  }
  return digest;
}

void TokenSet::Add(ApiToken token) {
  if (token.name.empty()) throw Error(ErrorKind::kUsage, "an API token needs a name");
  for (const ApiToken& other : tokens_) {
    if (other.name == token.name) {
      throw Error(ErrorKind::kUsage, "API token \"" + token.name + "\" is defined twice");
    }
    if (other.sha256 == token.sha256) {
      throw Error(ErrorKind::kUsage, "API tokens \"" + other.name + "\" and \"" + token.name +
                                         "\" have the same hash");
    }
  }
  tokens_.push_back(std::move(token));
}

std::optional<ApiToken> TokenSet::Authenticate(std::string_view authorization_header) const {
  std::string_view presented = BearerToken(authorization_header);
  if (presented.empty()) return std::nullopt;
  const Sha256Digest hash = Sha256(presented);
  // Every stored hash is compared, whatever matched before: the time taken
  // does not tell which token (if any) is close.
  size_t match = tokens_.size();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    bool equal = CRYPTO_memcmp(hash.data(), tokens_[i].sha256.data(), hash.size()) == 0;
    match = equal ? i : match;
  }
  if (match == tokens_.size()) return std::nullopt;
  return tokens_[match];
}

}  // namespace freshet
