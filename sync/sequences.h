// After a load, owned and identity sequences on the target are set to the
// source's value and at least the column's max, so the next INSERT on dev does
// not collide with copied rows.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "sync/plan.h"

namespace freshet {

// Sets every sequence of `plan`; `source` is any source connection (sequence
// values are read outside of transactions' snapshots by nature). Returns one
// line per sequence for the log.
std::vector<std::string> SyncSequences(const Plan& plan, Connection& source, Connection& target);

// The source's last_value of a sequence, or none (never used, unreadable).
using SequenceValues = std::function<std::optional<std::string>(const QualifiedName& sequence)>;

// The same with values from elsewhere (a snapshot's manifest).
std::vector<std::string> SyncSequences(const Plan& plan, const SequenceValues& source_value,
                                       Connection& target);

}  // namespace freshet
