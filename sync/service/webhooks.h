// Notifications when runs end: a POST to each configured webhook, with a
// JSON body (or Slack's {"text": ...}), signed with HMAC-SHA256 when the
// webhook has a secret (header X-Freshet-Signature: sha256=<hex> over the
// body), retried with exponential backoff when the receiver fails or cannot
// be reached. Deliveries run on a thread of their own, never on the I/O
// thread; a slow receiver delays only other deliveries.
//
// URLs and secrets never reach a log: a webhook is named by its config name.
//
// Thread-safety: Notify may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sync/service/job.h"

namespace freshet {

struct Webhook {
  std::string name;
  std::string url;     // http:// or https://
  std::string secret;  // HMAC key; empty: unsigned
  bool slack = false;  // body {"text": "..."} for Slack-compatible receivers
  std::vector<std::string> states{"succeeded", "failed", "cancelled"};  // which endings
  std::vector<std::string> jobs;                                        // empty: every job
  int attempts = 5;                         // the first try and the retries
  std::chrono::milliseconds backoff{1000};  // before the first retry; doubles each time
};

// The body a webhook receives for `run` (pure).
std::string WebhookBody(const Webhook& hook, const RunRecord& run);

// POSTs `body` to `url` (http or https, certificates checked) and returns the
// HTTP status; throws Error with a message that does not contain the URL.
using WebhookPost =
    std::function<int(const std::string& url, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers)>;
int PostOverHttp(const std::string& url, const std::string& body,
                 const std::vector<std::pair<std::string, std::string>>& headers);

class WebhookSender {
 public:
  explicit WebhookSender(std::vector<Webhook> hooks, WebhookPost post = PostOverHttp);
  // Stops: deliveries still waiting to be retried are dropped (logged).
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues a delivery of `run`'s end to each webhook that wants it.
  void Notify(const RunRecord& run);

 private:
  struct Delivery {
    const Webhook* hook;
    std::string body;
    std::string event;
    int64_t run_id;
    int attempt = 1;
    std::chrono::steady_clock::time_point due;
  };
  void Loop(std::stop_token stop);
  bool Deliver(Delivery& delivery);

  std::vector<Webhook> hooks_;
  WebhookPost post_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<Delivery> queue_;
  uint64_t notified_ = 0;  // bumped by Notify: a wait for a retry wakes
  std::jthread thread_;
};

}  // namespace freshet
