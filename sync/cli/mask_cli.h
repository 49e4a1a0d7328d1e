// `freshet mask check`: the columns a run would copy that look personal and
// have no [mask] rule (names, types and a sample of the source's content),
// and what the rules mask. Exit status 0 when every such column has a rule
// or `keep`, 3 (the plan-error status) when some have none.
#pragma once

#include "sync/cli/sync_options.h"

namespace freshet {

// Prints the findings to stdout; throws Error on connection or config
// problems. `args.to` empty: the source is planned against itself.
int RunMaskCheck(SyncArguments args);

}  // namespace freshet
