// [service] and [jobs.NAME] of freshet.toml, for `freshet serve`. Read by
// Config::Parse (config.cc) through these functions; every error names the
// file, the line and the key, never a value.
#pragma once

#include <toml++/toml.h>

#include "sync/cli/config.h"
#include "sync/cli/toml_reader.h"

namespace freshet {

void ReadServiceSection(const TomlReader& reader, const toml::node& node, ServiceConfig& out);
void ReadJobsSection(const TomlReader& reader, const toml::node& node, std::vector<JobSpec>& out);

// "30s", "2min", "1.5h", "30d" in seconds (a bare number is seconds); nullopt
// when it is not a duration.
std::optional<double> DurationSeconds(std::string_view text);

}  // namespace freshet
