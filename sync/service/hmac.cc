#include "sync/service/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "copy/error.h"

namespace freshet {

std::string HexLower(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes.size());
  for (unsigned char byte : bytes) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0x0f];
  }
  return hex;
}

std::string HmacSha256Hex(std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // OpenSSL wants a non-null key pointer even for an empty key.
  static constexpr unsigned char kEmpty = 0;
  const void* key_data = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
           &size) == nullptr) {
    throw Error("HMAC-SHA256 failed in OpenSSL");
  }
  return HexLower(std::string_view(reinterpret_cast<const char*>(mac), size));
}

}  // namespace freshet
