// After a load, every target sequence a synced column's values come from
// (owned, identity, or named by a DEFAULT, possibly shared by several tables)
// is moved past the source's value and past the rows now in those columns, in
// the sequence's own direction, so the next INSERT on dev does not collide
// with copied rows.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "copy/connection.h"
#include "sync/engine/plan.h"

namespace freshet {

struct SequenceOutcome {
  std::vector<std::string> lines;     // one per sequence, for the log
  std::vector<std::string> warnings;  // sequences that could not be moved far enough
};

// Sets every sequence of `plan`; `source` is any source connection (sequence
// values are read outside of transactions' snapshots by nature).
SequenceOutcome SyncSequences(const Plan& plan, Connection& source, Connection& target);

// The source's last_value of a sequence, or none (never used, unreadable).
using SequenceValues = std::function<std::optional<std::string>(const QualifiedName& sequence)>;

// The same with values from elsewhere (a snapshot's manifest).
SequenceOutcome SyncSequences(const Plan& plan, const SequenceValues& source_value,
                              Connection& target);

}  // namespace freshet
