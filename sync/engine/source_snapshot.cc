#include "sync/engine/source_snapshot.h"

#include "copy/identifiers.h"
#include "copy/pooler_check.h"

namespace freshet {

void PinSyncSettings(Connection& connection) { connection.Exec("SET row_security = off"); }

void PinReadSettings(Connection& connection) {
  PinSyncSettings(connection);
  connection.Exec("SET search_path = pg_catalog");
}

// The pooler check runs first, in the initializer list, so a transaction-mode
// pooler is refused before the snapshot is exported.
static Connection OpenControl(const std::string& url) {
  RequireSessionPerConnection(url, "source");
  return Connection::Open(url, "source");
}

SourceSnapshot::SourceSnapshot(const std::string& url) : url_(url), control_(OpenControl(url)) {
  PinReadSettings(control_);
  control_.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  snapshot_id_ = control_.Exec("SELECT pg_catalog.pg_export_snapshot()").Get(0, 0);
}

Connection SourceSnapshot::OpenWorker() const {
  Connection worker = Connection::Open(url_, "source");
  PinReadSettings(worker);
  worker.Exec("SET application_name = 'freshet worker'");
  worker.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  worker.Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot_id_));
  return worker;
}

void SourceSnapshot::Finish() { control_.Exec("COMMIT"); }

}  // namespace freshet
