// A small pool for database work that parallelizes across connections: up to
// `jobs` threads, each opening its own connection, take items in order until
// none are left. Used for index rebuilds, constraint validation and
// verification.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "copy/connection.h"

namespace freshet {

// Runs `work(connection, i)` for every i in [0, count). Returns one entry per
// item: null when it succeeded, else what it threw (an item whose thread could
// not connect gets the connection error). Never throws itself.
std::vector<std::exception_ptr> ParallelFor(size_t count, int jobs,
                                            const std::function<Connection()>& open,
                                            const std::function<void(Connection&, size_t)>& work);

// Runs `work(i)` for every i in [0, count) on up to `jobs` threads, without
// connections. Returns what failed, one message per item, sorted.
std::vector<std::string> ForEachParallel(size_t count, int jobs,
                                         const std::function<void(size_t)>& work);

// The message of a stored exception, for reports.
std::string ExceptionMessage(const std::exception_ptr& error);

}  // namespace freshet
