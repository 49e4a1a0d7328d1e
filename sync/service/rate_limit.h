// Requests per client address: a token bucket each (`per_second` refill,
// `burst` capacity). Over the limit the API answers 429. The clock is
// injected so tests step it. Not thread-safe: the I/O thread owns it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace freshet {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  RateLimiter(double per_second, double burst, Clock clock = std::chrono::steady_clock::now);
  // Takes one token for `client`; false when it has none left.
  bool Allow(const std::string& client);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  double per_second_;
  double burst_;
  Clock clock_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace freshet
