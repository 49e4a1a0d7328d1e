#include "copy/pooler_check.h"

#include <fmt/format.h>

#include <mutex>
#include <set>

#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"

namespace freshet {
namespace {

constexpr std::string_view kSupabasePoolerHost = ".pooler.supabase.com";
constexpr std::string_view kBackendSql = "SELECT pg_catalog.pg_backend_pid()";

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

// The probe: `first` reads its backend, lets the pooler have the session back
// between transactions (if it takes it), `second` opens a transaction, which
// pins a backend under any pooler, then `first` asks again.
void Probe(const std::string& url, std::string_view label, const ConnInfo& info) {
  Connection first = Connection::Open(url, std::string(label));
  std::string before = first.Exec(kBackendSql).Get(0, 0);
  Connection second = Connection::Open(url, std::string(label));
  second.Exec("BEGIN");
  std::string held = second.Exec(kBackendSql).Get(0, 0);
  std::string after = first.Exec(kBackendSql).Get(0, 0);
  second.Exec("ROLLBACK");
  if (held == before)
    throw TransactionPooling(label, info,
                             "a second connection's transaction ran on the first connection's "
                             "server session");
  if (after != before)
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
