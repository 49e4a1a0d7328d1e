#include "sync/service/rate_limit.h"

#include <algorithm>

namespace freshet {

RateLimiter::RateLimiter(double per_second, double burst, Clock clock)
    : per_second_(per_second), burst_(std::max(1.0, burst)), clock_(std::move(clock)) {}

bool RateLimiter::Allow(const std::string& client) {
  auto now = clock_();
  if (buckets_.size() > 10000) {  // forget idle clients: memory stays bounded
    std::erase_if(buckets_, [&](const auto& entry) {
      return now - entry.second.at > std::chrono::minutes(1);
    });
  }
  auto [it, added] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& bucket = it->second;
  double elapsed = std::chrono::duration<double>(now - bucket.at).count();
  bucket.tokens = std::min(burst_, bucket.tokens + elapsed * per_second_);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace freshet
