// Big-endian integers as COPY binary and PostgreSQL's send functions write
// them, for building rows and values by hand in tests.
#pragma once

#include <cstdint>
#include <string>

namespace freshet::testing {

inline std::string Int16(int value) {
  return {static_cast<char>((value >> 8) & 0xff), static_cast<char>(value & 0xff)};
}

inline std::string Int32(int64_t value) {
  auto u = static_cast<uint32_t>(value);
  return {static_cast<char>(u >> 24), static_cast<char>((u >> 16) & 0xff),
          static_cast<char>((u >> 8) & 0xff), static_cast<char>(u & 0xff)};
}

}  // namespace freshet::testing
