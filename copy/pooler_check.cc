#include "copy/pooler_check.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "copy/conninfo.h"
#include "copy/error.h"

namespace freshet {
namespace {

constexpr std::string_view kSupabasePoolerHost = ".pooler.supabase.com";
// A server session: its backend's pid on that server (a load balancer may put
// two sessions with one pid on different servers).
constexpr std::string_view kBackendSql =
    "SELECT pg_catalog.pg_backend_pid() || ' ' || coalesce(pg_catalog.inet_server_addr()::text, "
    "'') || ' ' || pg_catalog.pg_postmaster_start_time()";

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

Error TransactionPooling(std::string_view label, const ConnInfo& info, std::string_view why) {
  return Error(ErrorKind::kUsage,
               fmt::format("{} {} is a connection pooler in transaction mode ({}): freshet needs "
                           "one server session per connection (its run lock, settings and "
                           "snapshot live in the session). Connect directly, or through the "
                           "pooler's session mode (Supavisor: port 5432; PgBouncer: pool_mode = "
                           "session)",
                           label, info.Describe(), why));
}

bool KnownTransactionPooler(const ConnInfo& info) {
  auto host = info.values.find("host");
  auto port = info.values.find("port");
  return host != info.values.end() && port != info.values.end() && port->second == "6543" &&
         EndsWith(host->second, kSupabasePoolerHost);
}

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

std::string LastError(PGconn* conn) {
  std::string message = conn ? PQerrorMessage(conn) : "out of memory";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return RedactSecrets(message);
}

[[noreturn]] void Fail(std::string_view label, const ConnInfo& info, PGconn* conn) {
  throw Error(fmt::format("{} {}: {}", label, info.Describe(), LastError(conn)));
}

// A plain libpq connection: Connection::Open would run its settings at once,
// and under a full session pool that would wait for a server session.
Conn Connect(const std::string& url, std::string_view label, const ConnInfo& info) {
  const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {url.c_str(), "freshet", nullptr};
  Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1), PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)  // worded as Connection::Open words it
    throw Error(
        fmt::format("cannot connect to {} {}: {}", label, info.Describe(), LastError(conn.get())));
  return conn;
}

// `sql` on `conn` (the last result's first value), or nullopt when no answer
// arrived within `limit`: under a pooler, the query is waiting for a free
// server session. The connection is then unusable.
std::optional<std::string> AnswerWithin(PGconn* conn, const std::string& sql,
                                        std::chrono::milliseconds limit, std::string_view label,
                                        const ConnInfo& info) {
  if (!PQsendQuery(conn, sql.c_str())) Fail(label, info, conn);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (PQisBusy(conn)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd socket = {PQsocket(conn), POLLIN, 0};
    if (poll(&socket, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      throw Error(fmt::format("{} {}: waiting for the server: {}", label, info.Describe(),
                              std::strerror(errno)));
    if (!PQconsumeInput(conn)) Fail(label, info, conn);
  }
  std::string value;
  bool failed = false;
  while (PGresult* raw = PQgetResult(conn)) {
    std::unique_ptr<PGresult, decltype(&PQclear)> result(raw, PQclear);
    ExecStatusType status = PQresultStatus(raw);
    failed = failed || (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK);
    if (status == PGRES_TUPLES_OK && PQntuples(raw) > 0) value = PQgetvalue(raw, 0, 0);
  }
  if (failed) Fail(label, info, conn);
  return value;
}

// The probe. `first` reads its server session, giving the pooler the chance
// to take it back between transactions; `second` opens a transaction, which
// pins a session under any pooler; then `first` asks again. Under
// transaction pooling `second` is given `first`'s session (always when the
// pool has one idle session), or `first` now runs on another one, or, with
// every session busy, waits: each proves it. A `second` that cannot get a
// session at all means the pool is full of sessions that stay pinned, which
// is session pooling (a pool of one, say): it passes.
void Probe(const std::string& url, std::string_view label, const ConnInfo& info) {
  constexpr std::chrono::seconds kLimit{5};
  const std::string backend(kBackendSql);
  Conn first = Connect(url, label, info);
  std::optional<std::string> before = AnswerWithin(first.get(), backend, kLimit, label, info);
  if (!before) return;  // no session free for anyone: nothing can be told
  Conn second = Connect(url, label, info);
  std::optional<std::string> held =
      AnswerWithin(second.get(), "BEGIN; " + backend, kLimit, label, info);
  if (!held) return;
  if (*held == *before)
    throw TransactionPooling(label, info,
                             "a second connection's transaction ran on the first connection's "
                             "server session");
  std::optional<std::string> after = AnswerWithin(first.get(), backend, kLimit, label, info);
  if (!after)
    throw TransactionPooling(label, info,
                             "a connection lost its server session to another connection's "
                             "transaction");
  if (*after != *before)
    throw TransactionPooling(label, info,
                             "one connection's statements ran on different server sessions");
}

}  // namespace

void RequireSessionPerConnection(const std::string& url, std::string_view label) {
  static std::mutex mutex;
  static std::set<std::string> passed;
  {
    std::lock_guard lock(mutex);
    if (passed.count(url)) return;
  }
  ConnInfo info = ConnInfo::Parse(url);
  if (KnownTransactionPooler(info))
    throw TransactionPooling(label, info, "Supabase's transaction-mode port 6543");
  Probe(url, label, info);
  std::lock_guard lock(mutex);
  passed.insert(url);
}

}  // namespace freshet
