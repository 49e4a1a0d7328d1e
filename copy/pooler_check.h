// Connection poolers in transaction mode (PgBouncer `pool_mode = transaction`,
// Supavisor's port 6543) give each transaction whichever server session is
// free, so session settings, session advisory locks and anything held between
// transactions are lost or land on another client's session. freshet needs
// one server session per connection for the whole run: the run lock, the
// pinned settings, the applier's lock. This check refuses such endpoints
// before anything is read or written; session mode (Supavisor's port 5432,
// PgBouncer `pool_mode = session`) and direct connections pass.
#pragma once

#include <string>
#include <string_view>

namespace freshet {

// Throws a usage Error naming `label` and the endpoint (never its password)
// when `url` reaches PostgreSQL through a pooler that does not keep one
// server session per client connection. Known transaction-mode addresses
// (Supabase's *.pooler.supabase.com:6543) are refused without connecting;
// otherwise two probe connections show it: while one holds a transaction
// open, the other's next statement must still run on its own server backend,
// and the open transaction must not have been given that backend. A URL that
// passed once is not probed again in this process. Thread-safe.
void RequireSessionPerConnection(const std::string& url, std::string_view label);

}  // namespace freshet
