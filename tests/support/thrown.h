// The Error a piece of test code throws, for tests that check its kind and
// message and then go on.
#pragma once

#include <functional>
#include <optional>

#include "copy/error.h"

namespace freshet::testing {

// The Error thrown by `body`, or nullopt when it returns normally.
inline std::optional<Error> Thrown(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& error) {
    return error;
  }
  return std::nullopt;
}

}  // namespace freshet::testing
