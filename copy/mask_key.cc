// The masking key and its keyed hash, on OpenSSL.
//
// Derivation: the key is HMAC-SHA256(label, secret) (HKDF-Extract with a
// fixed salt), each domain's subkey HMAC-SHA256(key, label || domain). The
// per-value PRF is SipHash-2-4 with 128-bit output: it is a standard keyed
// PRF, and through EVP_MAC it measured ~6x faster than HMAC-SHA256 on short
// values (a duplicated SipHash context is a small memcpy, an HMAC one copies
// two digest states through the provider layer).
#include "copy/mask_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "copy/error.h"

namespace freshet {
namespace {

constexpr std::string_view kKeyLabel = "freshet/mask-key/v1";
constexpr std::string_view kSubkeyLabel = "freshet/keyed-hash/v1";
constexpr std::string_view kFingerprintLabel = "freshet/mask-key-fingerprint/v1";

std::array<uint8_t, 32> HmacSha256(const void* key, size_t key_size, std::string_view data) {
  std::array<uint8_t, 32> out{};
  size_t out_size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key, key_size,
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                out.size(), &out_size) == nullptr ||
      out_size != out.size()) {
    throw Error("mask key: HMAC-SHA256 failed in OpenSSL");
  }
  return out;
}

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
  void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};
using MacContext = std::unique_ptr<EVP_MAC_CTX, MacDeleter>;

// A SipHash context keyed with 16 bytes and set to a 16-byte output.
MacContext SipHashContext(const uint8_t* key) {
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "SIPHASH", nullptr));
  if (!mac) throw Error("mask key: OpenSSL has no SIPHASH MAC");
  MacContext context(EVP_MAC_CTX_new(mac.get()));
  size_t size = 16;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                         OSSL_PARAM_construct_end()};
  if (!context || EVP_MAC_init(context.get(), key, 16, params) != 1) {
    throw Error("mask key: cannot set up SipHash in OpenSSL");
  }
  return context;
}

// Runs a copy of the pre-keyed `prototype` over `prefix` then `value`.
std::array<uint8_t, 16> Mac(const EVP_MAC_CTX* prototype, std::string_view prefix,
                            std::string_view value) {
  // EVP_MAC_CTX_dup only reads its source, so concurrent callers are safe.
  MacContext context(EVP_MAC_CTX_dup(prototype));
  std::array<uint8_t, 16> out{};
  size_t out_size = 0;
  if (!context ||
      EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(prefix.data()),
                     prefix.size()) != 1 ||
      EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(value.data()),
                     value.size()) != 1 ||
      EVP_MAC_final(context.get(), out.data(), &out_size, out.size()) != 1 ||
      out_size != out.size()) {
    throw Error("keyed hash: SipHash failed in OpenSSL");
  }
  return out;
}

uint64_t LoadLittleEndian64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

MaskKey MaskKey::FromSecret(std::string_view secret) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t first = secret.find_first_not_of(kSpace);
  secret = first == std::string_view::npos
               ? std::string_view()
               : secret.substr(first, secret.find_last_not_of(kSpace) - first + 1);
  if (secret.size() < 16) {
    throw Error(ErrorKind::kUsage, "mask key: the secret is too short (" +
                                       std::to_string(secret.size()) +
                                       " bytes after trimming whitespace; at least 16 are needed)");
  }
  MaskKey key;
  key.bytes_ = HmacSha256(kKeyLabel.data(), kKeyLabel.size(), secret);
  return key;
}

MaskKey MaskKey::Ephemeral() {
  MaskKey key;
  if (RAND_bytes(key.bytes_.data(), static_cast<int>(key.bytes_.size())) != 1) {
    throw Error("mask key: OpenSSL could not generate random bytes for an ephemeral key");
  }
  return key;
}

std::string MaskKey::Fingerprint() const {
  auto digest = HmacSha256(bytes_.data(), bytes_.size(), kFingerprintLabel);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

struct KeyedHash::Contexts {
  MacContext first;   // Of()
  MacContext second;  // More()
};

KeyedHash::KeyedHash(const MaskKey& key, std::string_view domain) {
  std::string info(kSubkeyLabel);
  info += '\0';  // the label never runs into the domain
  info += domain;
  subkey_ = HmacSha256(key.bytes_.data(), key.bytes_.size(), info);
  auto contexts = std::make_shared<Contexts>();
  contexts->first = SipHashContext(subkey_.data());
  contexts->second = SipHashContext(subkey_.data() + 16);
  contexts_ = std::move(contexts);
}

std::array<uint8_t, 16> KeyedHash::Of(std::string_view value) const {
  return Mac(contexts_->first.get(), {}, value);
}

std::array<uint8_t, 16> KeyedHash::More(uint64_t counter, std::string_view value) const {
  char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>(counter >> (8 * i));
  return Mac(contexts_->second.get(), std::string_view(prefix, 8), value);
}

uint64_t KeyedHash::U64(std::string_view value) const {
  return LoadLittleEndian64(Of(value).data());
}

uint64_t KeyedHash::Below(std::string_view value, uint64_t n) const {
  if (n == 0) throw Error("keyed hash: Below() needs a positive bound");
  // Lemire's multiply-and-reject: the high word of x*n is uniform in [0, n)
  // once the few x whose low word falls under 2^64 mod n are rejected. Each
  // 64-bit word is rejected with probability < n/2^64, so More() is rare.
  auto block = Of(value);
  for (uint64_t counter = 1;; ++counter) {
    for (int half = 0; half < 2; ++half) {
      unsigned __int128 product =
          static_cast<unsigned __int128>(LoadLittleEndian64(block.data() + 8 * half)) * n;
      uint64_t low = static_cast<uint64_t>(product);
      if (low >= n || low >= (0 - n) % n) return static_cast<uint64_t>(product >> 64);
    }
    block = More(counter, value);
  }
}

}  // namespace freshet
