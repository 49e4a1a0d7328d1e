// Signing the bodies of webhook calls, so that a receiver holding the shared
// key can check that a notification came from this `freshet serve`.
#pragma once

#include <string>
#include <string_view>

namespace freshet {

// HMAC-SHA256 of `body` under `key`, as 64 lowercase hex digits (what GitHub
// style receivers expect after "sha256=").
std::string HmacSha256Hex(std::string_view key, std::string_view body);

// `bytes` as lowercase hex digits.
std::string HexLower(std::string_view bytes);

}  // namespace freshet
