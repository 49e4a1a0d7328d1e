// The run store shared by several `freshet serve` replicas: a PostgreSQL
// database ([service] store = "postgres://..."), schema freshet_service,
// created on first use. Claiming and cancelling a queued run are single
// conditional UPDATEs, so each run is claimed once whichever replica asks;
// a scheduled run is unique per job and cron time. Every change is also
// announced with NOTIFY on channel `freshet_service` ("queued 12",
// "running 12", "live 12", "cancel 12", "finished 12"), which
// sync/service/replica_link.h listens to.
//
// Thread-safe: one connection, serialized by a mutex, opened again when the
// server dropped it.
#pragma once

#include <memory>
#include <string>

#include "sync/service/run_store.h"

namespace freshet {

inline constexpr std::string_view kStoreChannel = "freshet_service";

// `replica` names this process in `claimed_by`. Throws Error naming the
// database (never its password) when it cannot connect or holds a newer
// schema.
std::unique_ptr<RunStore> OpenPostgresRunStore(const std::string& conninfo, std::string replica);

// The [service] store setting names PostgreSQL when it is a postgres:// or
// postgresql:// URL or a key=value connection string; otherwise a SQLite file.
bool IsPostgresStore(const std::string& setting);

}  // namespace freshet
