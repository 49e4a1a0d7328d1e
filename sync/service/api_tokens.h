// Bearer tokens of the HTTP API of `freshet serve`. The config holds only the
// SHA-256 of each token, with a name (for logs) and a scope; a request's
// "Authorization: Bearer <token>" is hashed and compared in constant time
// against every stored hash.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace freshet {

// What a token may do. Ordered: admin implies trigger implies read.
enum class Scope { kRead, kTrigger, kAdmin };

using Sha256Digest = std::array<unsigned char, 32>;

struct ApiToken {
  std::string name;
  Sha256Digest sha256{};
  Scope scope = Scope::kRead;
};

// "read", "trigger" or "admin"; anything else throws Error(kUsage).
Scope ParseScope(std::string_view text);
std::string_view ScopeName(Scope scope);

// Whether a token of scope `granted` may do what needs `needed`.
bool Allows(Scope granted, Scope needed);

// A SHA-256 written as 64 hex digits (either case), optionally prefixed
// "sha256:". Anything else throws Error(kUsage) naming `what` (such as
// "token \"ci\" in [serve]"), never the value itself: it may be a secret pasted
// in the wrong place.
Sha256Digest ParseTokenHash(std::string_view hex, std::string_view what);

Sha256Digest Sha256(std::string_view data);

// The tokens the API accepts. Fill it at start-up, then share it read-only:
// Authenticate is const and safe to call from any thread once Add is done.
class TokenSet {
 public:
  // Throws Error(kUsage) for an empty name, or a name or hash already added.
  void Add(ApiToken token);

  // From an Authorization header value, "Bearer <token>" (scheme in any case,
  // then one or more spaces): the token whose hash matches, or nullopt when
  // none does or the header is empty or malformed. Compares against every
  // stored hash with CRYPTO_memcmp, with no early exit.
  std::optional<ApiToken> Authenticate(std::string_view authorization_header) const;

  bool empty() const { return tokens_.empty(); }
  size_t size() const { return tokens_.size(); }

 private:
  std::vector<ApiToken> tokens_;
};

}  // namespace freshet
