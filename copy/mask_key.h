// The secret every masking transformer is keyed by, and the keyed hash they
// draw from. The key never leaves this type: no printing, no comparison
// operators, no accessor for its bytes. Pure (OpenSSL for the primitive).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace freshet {

class MaskKey {
 public:
  // Derives the key from a secret (FRESHET_MASK_KEY, a key file's content;
  // surrounding whitespace ignored). Throws Error when the secret is shorter
  // than 16 bytes, without quoting it.
  static MaskKey FromSecret(std::string_view secret);
  // A random key for throwaway targets (--mask-key-ephemeral).
  static MaskKey Ephemeral();

  // 16 hex digits of a keyed hash of a fixed label: tells two runs' keys
  // apart in a manifest without revealing anything of the key.
  std::string Fingerprint() const;

 private:
  friend class KeyedHash;
  std::array<uint8_t, 32> bytes_{};
};

// A pseudo-random function of (key, domain, value): the same inputs always
// give the same output, different keys or domains unrelated outputs. The
// domain separates rules ("email", "first_name/en"), never tables or columns,
// so equal values mask equally wherever they are. Thread-safe after
// construction (each call uses its own state).
class KeyedHash {
 public:
  KeyedHash(const MaskKey& key, std::string_view domain);
  std::array<uint8_t, 16> Of(std::string_view value) const;
  uint64_t U64(std::string_view value) const;  // the first 8 bytes of Of()
  // A uniformly distributed number in [0, n), n > 0.
  uint64_t Below(std::string_view value, uint64_t n) const;

 private:
  // Two pre-keyed SipHash-2-4 contexts (first and second half of subkey_),
  // duplicated per call so that const calls share no mutable state.
  struct Contexts;
  // Further blocks after Of() for Below's rare rejections: a PRF of
  // (counter, value) under the second half of subkey_.
  std::array<uint8_t, 16> More(uint64_t counter, std::string_view value) const;

  std::array<uint8_t, 32> subkey_{};  // derived from the key and the domain
  std::shared_ptr<const Contexts> contexts_;
};

}  // namespace freshet
