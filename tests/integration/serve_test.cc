// `freshet serve` end to end: a real service on loopback, real clusters, the
// API as scripts and the dashboard use it. Mid-run actions wait for named
// pause points (tests/integration/sync_helpers.h), never for time.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/serve_helpers.h"

namespace freshet::testing {
namespace {

using ::testing::HasSubstr;

// A plain TCP connection to the service, for what the HTTP client cannot
// do: hold a stream open while the test acts, or stay idle. Reads give up
// after two minutes (SO_RCVTIMEO), which only turns a hang into a failure.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{120, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to the service");
  }
  ~LoopbackSocket() { close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  void Send(const std::string& bytes) {
    if (send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size()))
      throw std::runtime_error("cannot send to the service");
  }
  // Reads until `marker` arrived (or the connection ended); returns what came.
  std::string ReadUntil(const std::string& marker) {
    while (received_.find(marker) == std::string::npos && ReadSome()) {
    }
    return received_;
  }
  // Reads until the service closes the connection; returns what came after
  // the previous reads.
  std::string ReadToEnd() {
    size_t from = received_.size();
    while (ReadSome()) {
    }
    return received_.substr(from);
  }

 private:
  bool ReadSome() {
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    received_.append(buffer, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string received_;
};

// A production database with rows, a development one with the schema and
// other rows, and the config of a service that refreshes one from the other
// and has a token of scope "read".
struct Databases : ServeDatabases {
  Databases() : ServeDatabases({.tokens = {{"reader", "reader-token", "read"}}}) {}

  std::string DevDigest() const {
    return TableDigest(dev, dev_db, "public.orders", {"id", "account_id", "total"}) +
           TableDigest(dev, dev_db, "public.accounts", {"id", "email", "plan"});
  }
};

TEST(Serve, SyncTriggeredThroughTheApiEndsEqualAndServesItsReport) {
  Databases db;
  ServeProcess serve(db.Config(kRefreshJob));
  HttpResult jobs = serve.Get("/v1/jobs");
  ASSERT_EQ(jobs.status, 200) << jobs.body;
  EXPECT_EQ(jobs.Json()["jobs"][0]["name"], "refresh");

  int64_t id = serve.Trigger("refresh");
  ASSERT_GT(id, 0);
  auto [status, events] =
      ReadEvents(serve.port(), fmt::format("/v1/runs/{}/events", id), Bearer(kAdminToken));
  ASSERT_EQ(status, 200);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "end");
  nlohmann::json end = nlohmann::json::parse(events.back().data);
  EXPECT_EQ(end["state"], "succeeded") << end.dump(2) << serve.Stderr();
  EXPECT_EQ(end["exit_status"], 0);
  EXPECT_EQ(end["rows"], 32000);
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());

  HttpResult report = serve.Get(fmt::format("/v1/runs/{}/report", id));
  ASSERT_EQ(report.status, 200) << report.body;
  nlohmann::json json = report.Json();
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["tables"].size(), 2u);
  HttpResult markdown = HttpCall(
      serve.port(), "GET", fmt::format("/v1/runs/{}/report", id),
      {{"Authorization", std::string("Bearer ") + kAdminToken}, {"Accept", "text/markdown"}});
  EXPECT_EQ(markdown.status, 200);
  EXPECT_THAT(markdown.headers["content-type"], HasSubstr("text/markdown"));
  EXPECT_THAT(markdown.body, HasSubstr("public.orders"));

  HttpResult log = serve.Get(fmt::format("/v1/runs/{}/log", id));
  EXPECT_THAT(log.body, HasSubstr("succeeded"));
  HttpResult list = serve.Get("/v1/runs?job=refresh");
  EXPECT_EQ(list.Json()["runs"][0]["id"], id);
  for (const std::string& text :
       std::vector<std::string>{report.body, markdown.body, log.body, list.body, jobs.body,
                                events.back().data, serve.Stderr()})
    EXPECT_THAT(text, ::testing::Not(HasSubstr(Databases::kProdPassword)));
}

}  // namespace
}  // namespace freshet::testing

namespace freshet::testing {
namespace {

TEST(Serve, RefusesRequestsWithoutAValidTokenOrScope) {
  Databases db;
  ServeProcess serve(db.Config(kRefreshJob));
  EXPECT_EQ(HttpCall(serve.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(HttpCall(serve.port(), "GET", "/readyz").status, 200);
  HttpResult none = HttpCall(serve.port(), "GET", "/v1/jobs");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer realm=\"freshet\"");
  EXPECT_EQ(HttpCall(serve.port(), "GET", "/metrics").status, 401);
  EXPECT_EQ(HttpCall(serve.port(), "GET", "/v1/jobs", Bearer("not-the-token")).status, 401);
  EXPECT_EQ(HttpCall(serve.port(), "GET", "/v1/jobs", {{"Authorization", "Basic abc"}}).status,
            401);
  EXPECT_EQ(HttpCall(serve.port(), "POST", "/v1/jobs/refresh/runs").status, 401);

  HttpResult read = HttpCall(serve.port(), "GET", "/v1/jobs", Bearer("reader-token"));
  EXPECT_EQ(read.status, 200) << read.body;
  HttpResult trigger =
      HttpCall(serve.port(), "POST", "/v1/jobs/refresh/runs", Bearer("reader-token"));
  EXPECT_EQ(trigger.status, 403);
  EXPECT_THAT(trigger.Json()["error"].get<std::string>(),
              HasSubstr("token 'reader' has scope 'read'"));
  EXPECT_EQ(serve.Get("/v1/runs").Json()["runs"].size(), 0u) << "a refused trigger ran";
  EXPECT_EQ(db.dev.Psql(db.dev_db, "SELECT count(*) FROM orders"), "1");
}

TEST(Serve, AnswersMalformedRequestsWithAClear4xx) {
  Databases db;
  ServeProcess serve(db.Config(kRefreshJob));
  auto error = [](const HttpResult& result) { return result.Json()["error"].get<std::string>(); };
  HttpResult bad_json = serve.Post("/v1/jobs/refresh/runs", "{\"name\":");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_THAT(error(bad_json), HasSubstr("not JSON"));
  EXPECT_EQ(serve.Post("/v1/jobs/refresh/runs", "[1, 2]").status, 400);
  HttpResult override = serve.Post("/v1/jobs/refresh/runs", R"({"name": "pr-1"})");
  EXPECT_EQ(override.status, 400);
  EXPECT_THAT(error(override), HasSubstr("'name'"));
  HttpResult unknown = serve.Post("/v1/jobs/nightly/runs");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(error(unknown), HasSubstr("no job named 'nightly'"));
  EXPECT_EQ(serve.Get("/v1/runs/abc").status, 400);
  EXPECT_EQ(serve.Get("/v1/runs/-3").status, 400);
  EXPECT_EQ(serve.Get("/v1/runs/999").status, 404);
  EXPECT_EQ(serve.Get("/v1/runs?state=done").status, 400);
  EXPECT_EQ(serve.Get("/v1/runs?limit=%zz").status, 400);
  EXPECT_EQ(serve.Get("/v1/nothing").status, 404);
  HttpResult not_allowed = HttpCall(serve.port(), "DELETE", "/v1/jobs", Bearer(kAdminToken));
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(not_allowed.headers["allow"], "GET");
  // A name that is not UTF-8 is answered, its bad byte replaced (U+FFFD).
  HttpResult latin1 = serve.Post("/v1/jobs/caf%E9/runs");
  EXPECT_EQ(latin1.status, 404) << latin1.body;
  EXPECT_THAT(error(latin1), HasSubstr("no job named 'caf\xEF\xBF\xBD'"));
  for (int attempt = 0; attempt < 10; ++attempt) {  // read by the client every time
    HttpResult big = serve.Post("/v1/jobs/refresh/runs", std::string(70 * 1024, ' '));
    EXPECT_EQ(big.status, 413) << big.body;
    EXPECT_THAT(error(big), HasSubstr("larger than 65536 bytes"));
  }
  std::string garbage = RawExchange(serve.port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_THAT(garbage, HasSubstr("400 Bad Request"));
  EXPECT_EQ(serve.Get("/v1/runs").Json()["runs"].size(), 0u);
  // The service still answers after all of it.
  EXPECT_EQ(serve.Get("/v1/jobs").status, 200);
}

TEST(Serve, CancelMidRunRestoresTheTargetAndEndsCancelled) {
  Databases db;
  std::string before = db.DevDigest();
  std::string constraints = db.DevConstraints();
  PausePoint pause("done copy");
  ServeProcess serve(db.Config(kRefreshJob), pause.Env());
  int64_t id = serve.Trigger("refresh");
  ASSERT_TRUE(pause.WaitUntilPaused(serve.process())) << serve.Stderr();
  EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}", id)).Json()["state"], "running");
  EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}/report", id)).status, 409);
  HttpResult cancel = serve.Post(fmt::format("/v1/runs/{}/cancel", id));
  EXPECT_EQ(cancel.status, 202) << cancel.body;
  nlohmann::json end = serve.WaitForEnd(id);
  EXPECT_EQ(end["state"], "cancelled") << end.dump(2);
  EXPECT_NE(end["exit_status"], 0);
  // Every constraint and index is back; a foreign key that the half-loaded
  // rows violate stays NOT VALID, journaled for the next run.
  EXPECT_EQ(db.DevConstraints(), constraints) << "constraints or indexes not restored";
  EXPECT_EQ(serve.Post(fmt::format("/v1/runs/{}/cancel", id)).status, 409);
  EXPECT_EQ(serve.WaitForEnd(serve.Trigger("refresh"))["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(db.dev, db.dev_db), ::testing::IsEmpty());
}

TEST(Serve, KilledMidRunMarksTheRunFailedAndRepairsItsTargetAtRestart) {
  Databases db;
  std::string constraints = db.DevConstraints();
  PausePoint pause("done copy");
  ServeProcess serve(db.Config(kRefreshJob), pause.Env());
  int64_t id = serve.Trigger("refresh");
  ASSERT_TRUE(pause.WaitUntilPaused(serve.process())) << serve.Stderr();
  EXPECT_EQ(serve.Stop(SIGKILL).signal, SIGKILL);
  EXPECT_NE(db.DevConstraints(), constraints) << "the pause should come with constraints set aside";

  serve.Restart();  // ready only after the repair
  nlohmann::json run = serve.Get(fmt::format("/v1/runs/{}", id)).Json();
  EXPECT_EQ(run["state"], "failed") << run.dump(2);
  EXPECT_EQ(run["exit_status"], 1);
  EXPECT_THAT(run["error"].get<std::string>(), HasSubstr("service stopped during the run"));
  EXPECT_EQ(db.DevConstraints(), constraints);
  EXPECT_THAT(serve.Get(fmt::format("/v1/runs/{}/log", id)).body, HasSubstr("repair: "));

  int64_t again = serve.Trigger("refresh");
  EXPECT_EQ(serve.WaitForEnd(again)["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
  EXPECT_EQ(serve.Get("/v1/runs").Json()["runs"].size(), 2u) << "history lost at restart";
}

constexpr char kTwoJobs[] = R"toml(
[jobs.refresh]
kind = "sync"
from = "prod"
to = "dev"
jobs = 1
[jobs.strict]
kind = "sync"
from = "prod"
to = "dev"
when_busy = "reject"
)toml";

TEST(Serve, RunsTriggeredWhileTheLastRunIsRepairedWaitForTheRepair) {
  Databases db;
  PausePoint copied("done copy");
  ServeProcess serve(db.Config(kRefreshJob), copied.Env());
  int64_t killed = serve.Trigger("refresh");
  ASSERT_TRUE(copied.WaitUntilPaused(serve.process())) << serve.Stderr();
  EXPECT_EQ(serve.Stop(SIGKILL).signal, SIGKILL);

  PausePoint repairing("start ");  // the first task of the journal's repair
  serve.Restart(repairing.Env(), /*until_ready=*/false);
  ASSERT_TRUE(repairing.WaitUntilPaused(serve.process())) << serve.Stderr();
  EXPECT_EQ(HttpCall(serve.port(), "GET", "/readyz").status, 503);
  int64_t waiting = serve.Trigger("refresh");
  EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}", waiting)).Json()["state"], "queued")
      << "a run started on a target still being repaired";
  repairing.Release();
  nlohmann::json end = serve.WaitForEnd(waiting);
  EXPECT_EQ(end["state"], "succeeded") << end.dump(2);
  nlohmann::json repaired = serve.Get(fmt::format("/v1/runs/{}", killed)).Json();
  EXPECT_EQ(repaired["state"], "failed");
  EXPECT_GE(end["started_at"].get<std::string>(), repaired["finished_at"].get<std::string>());
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(db.dev, db.dev_db), ::testing::IsEmpty());
}

// Jobs writing dev by another name: a key=value connection string to the
// same database, and a URL with other parameters.
std::string DevByOtherNames(const Databases& db) {
  return fmt::format(R"toml(
[jobs.by-url]
kind = "sync"
from = "prod"
to = "host=127.0.0.1 port={0} dbname={1} user=postgres"
jobs = 1
[jobs.by-url-strict]
kind = "sync"
from = "prod"
to = "postgresql://postgres@127.0.0.1:{0}/{1}?application_name=other"
when_busy = "reject"
)toml",
                     db.dev.port(), db.dev_db);
}

TEST(Serve, RunsForABusyTargetQueueBehindItOrAreRefused) {
  Databases db;
  PausePoint pause("done copy");
  ServeProcess serve(db.Config(std::string(kTwoJobs) + DevByOtherNames(db)), pause.Env());
  int64_t first = serve.Trigger("refresh");
  ASSERT_TRUE(pause.WaitUntilPaused(serve.process())) << serve.Stderr();
  std::string database = fmt::format("database:127.0.0.1:{}/{}", db.dev.port(), db.dev_db);
  EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}", first)).Json()["targets"],
            nlohmann::json({"target:dev", database}));
  for (const char* job : {"strict", "by-url-strict"}) {
    HttpResult refused = serve.Post(fmt::format("/v1/jobs/{}/runs", job));
    EXPECT_EQ(refused.status, 409) << job;
    EXPECT_THAT(refused.Json()["error"].get<std::string>(),
                HasSubstr(fmt::format("run {} (refresh) is running", first)));
  }
  int64_t second = serve.Trigger("refresh");
  int64_t third = serve.Trigger("by-url");  // same database, named by a connection string
  for (int64_t queued : {second, third})
    EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}", queued)).Json()["state"], "queued");
  pause.Release();
  nlohmann::json first_end = serve.WaitForEnd(first);
  nlohmann::json second_end = serve.WaitForEnd(second);
  nlohmann::json third_end = serve.WaitForEnd(third);
  for (const nlohmann::json& end : {first_end, second_end, third_end})
    EXPECT_EQ(end["state"], "succeeded") << end.dump(2);
  EXPECT_GE(second_end["started_at"].get<std::string>(),
            first_end["finished_at"].get<std::string>());
  EXPECT_GE(third_end["started_at"].get<std::string>(),
            second_end["finished_at"].get<std::string>());
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
}

TEST(Serve, SigtermCancelsRunsPastTheShutdownTimeoutRestoresAndExitsZero) {
  Databases db;
  std::string constraints = db.DevConstraints();
  PausePoint pause("done copy");
  ServeProcess serve(db.Config(kRefreshJob), pause.Env());  // shutdown_timeout = "0s"
  int64_t id = serve.Trigger("refresh");
  ASSERT_TRUE(pause.WaitUntilPaused(serve.process())) << serve.Stderr();
  // A client following the run, and one idle connection: the service ends
  // both and still exits cleanly.
  LoopbackSocket follower(serve.port());
  follower.Send(
      fmt::format("GET /v1/runs/{}/events HTTP/1.1\r\nHost: x\r\nAuthorization: "
                  "Bearer {}\r\n\r\n",
                  id, kAdminToken));
  ASSERT_THAT(follower.ReadUntil("event: run"), HasSubstr("200 OK"));
  LoopbackSocket idle(serve.port());
  RunResult stopped = serve.Stop(SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  std::string rest = follower.ReadToEnd();
  EXPECT_THAT(rest, HasSubstr("event: end")) << "the stream ended before the run did";
  EXPECT_THAT(rest.substr(rest.find("event: end")), HasSubstr(R"("state":"cancelled")"));
  EXPECT_EQ(db.DevConstraints(), constraints);
  serve.Restart();
  EXPECT_EQ(serve.Get(fmt::format("/v1/runs/{}", id)).Json()["state"], "cancelled");
  EXPECT_EQ(serve.WaitForEnd(serve.Trigger("refresh"))["state"], "succeeded");
  EXPECT_THAT(db.Differing(), ::testing::IsEmpty());
  EXPECT_THAT(InvalidConstraintsAndIndexes(db.dev, db.dev_db), ::testing::IsEmpty());
}

TEST(Serve, MetricsAreValidPrometheusTextAndCountRuns) {
  Databases db;
  ServeProcess serve(db.Config(kRefreshJob));
  EXPECT_EQ(serve.WaitForEnd(serve.Trigger("refresh"))["state"], "succeeded");
  HttpResult metrics = serve.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.headers["content-type"], HasSubstr("version=0.0.4"));
  // Parsed by the Prometheus project's own Python parser.
  RunResult parsed = RunCommand(
      {"/usr/bin/python3", "-c",
       "import sys\n"
       "from prometheus_client.parser import text_string_to_metric_families as parse\n"
       "for family in parse(sys.stdin.read()):\n"
       "  for s in family.samples:\n"
       "    print(s.name, ','.join(f'{k}={v}' for k, v in sorted(s.labels.items())), s.value)\n"},
      {}, metrics.body);
  ASSERT_EQ(parsed.exit_code, 0) << parsed.err << metrics.body;
  EXPECT_THAT(parsed.out, HasSubstr("freshet_runs_total job=refresh,state=succeeded 1.0"));
  EXPECT_THAT(parsed.out, HasSubstr("freshet_runs_total job=refresh,state=failed 0.0"));
  EXPECT_THAT(parsed.out, HasSubstr("freshet_rows_moved_total job=refresh 32000.0"));
  EXPECT_THAT(parsed.out, HasSubstr("freshet_runs_in_flight job=refresh,state=running 0.0"));
  EXPECT_THAT(parsed.out, HasSubstr("freshet_run_duration_seconds_count job=refresh 1.0"));
  EXPECT_THAT(parsed.out, HasSubstr("freshet_last_success_timestamp_seconds job=refresh"));
}

}  // namespace
}  // namespace freshet::testing

namespace freshet::testing {
namespace {

// A webhook receiver on loopback: answers 500 to the first `failures`
// deliveries, then 200 and exits; prints its port, then one JSON line per
// delivery (path, headers, body, whether the HMAC signature checks out).
constexpr char kReceiver[] = R"py(
import hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
secret, failures = sys.argv[1].encode(), int(sys.argv[2])
seen = []
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        seen.append(1)
        ok = len(seen) > failures
        print(json.dumps({"path": self.path, "event": self.headers["X-Freshet-Event"],
                          "signed": hmac.compare_digest(expected, self.headers.get("X-Freshet-Signature", "")),
                          "body": json.loads(body), "answer": 200 if ok else 500}), flush=True)
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if ok:
            self.server.done = True
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Hook)
server.done = False
print(server.server_address[1], flush=True)
while not server.done:
    server.handle_request()
)py";

TEST(Serve, WebhookIsSignedAndRetriedUntilTheReceiverTakesIt) {
  Databases db;
  BackgroundProcess receiver =
      StartCommand({"/usr/bin/python3", "-c", kReceiver, "hook-secret-123", "2"});
  std::string port;
  while (port.empty() || port.back() != '\n') {  // the receiver's first line: its port
    if (auto ended = receiver.WaitFor(std::chrono::milliseconds(10)))
      FAIL() << "the receiver exited: " << ended->err;
    port = receiver.Stdout();
  }
  port.pop_back();
  std::string hooks = fmt::format(R"toml(
[service.webhooks.ops]
url = "http://127.0.0.1:{}/freshet?source=ci"
secret_env = "HOOK_SECRET"
attempts = 4
backoff = "20ms"
[service.webhooks.quiet]
url = "http://127.0.0.1:{}/never"
on = ["failed"]
)toml",
                                  port, port);
  ServeProcess serve(db.Config(kRefreshJob, hooks), {{"HOOK_SECRET", "hook-secret-123"}});
  int64_t id = serve.Trigger("refresh");
  EXPECT_EQ(serve.WaitForEnd(id)["state"], "succeeded");
  // The receiver exits once it takes a delivery; the bound only turns a lost
  // delivery into a failure instead of a hang.
  std::optional<RunResult> taken = receiver.WaitFor(std::chrono::minutes(2));
  ASSERT_TRUE(taken) << "no delivery was taken: " << receiver.Stdout() << serve.Stderr();
  RunResult received = *taken;
  std::vector<std::string> lines = Lines(received.out);
  ASSERT_EQ(lines.size(), 4u) << received.out << received.err;  // port + 3 attempts
  for (size_t i = 1; i < lines.size(); ++i) {
    nlohmann::json delivery = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(delivery["path"], "/freshet?source=ci");
    EXPECT_EQ(delivery["event"], "run.succeeded");
    EXPECT_EQ(delivery["signed"], true);
    EXPECT_EQ(delivery["body"]["run"]["id"], id);
    EXPECT_EQ(delivery["body"]["run"]["state"], "succeeded");
    EXPECT_EQ(delivery["answer"], i < 3 ? 500 : 200);
    EXPECT_THAT(lines[i], ::testing::Not(HasSubstr(Databases::kProdPassword)));
  }
  EXPECT_THAT(serve.Stderr(),
              HasSubstr("webhook 'ops': run " + std::to_string(id) + " delivered (attempt 3)"));
  EXPECT_THAT(serve.Stderr(), ::testing::Not(HasSubstr("hook-secret-123")));
  EXPECT_THAT(serve.Stderr(), ::testing::Not(HasSubstr("/never")));
}

}  // namespace
}  // namespace freshet::testing
