// Reading the big-endian (network order) integers of COPY binary streams and
// PostgreSQL's binary send formats. `p` must point at enough bytes; callers
// check lengths first.
#pragma once

#include <cstdint>

namespace freshet {

inline uint16_t ReadUint16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline int16_t ReadInt16(const char* p) { return static_cast<int16_t>(ReadUint16(p)); }

inline uint32_t ReadUint32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}
inline int32_t ReadInt32(const char* p) { return static_cast<int32_t>(ReadUint32(p)); }

}  // namespace freshet
