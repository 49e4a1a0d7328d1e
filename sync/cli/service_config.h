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
// The preview keys of [targets.NAME] (url_template, url_template_env,
// url_template_file, name_pattern, maintenance_db) into `out`.
void ReadTargetTemplate(const TomlReader& reader, const toml::table& table, const std::string& path,
                        Endpoint& out);

// Checks a preview URL template: a postgres:// URL with one `{name}`, in its
// database name. Throws Error (kUsage) starting with `what`, never echoing
// the template (it may hold a password).
void CheckUrlTemplate(const std::string& url_template, const std::string& what);

// "30s", "2min", "1.5h", "30d" in seconds (a bare number is seconds); nullopt
// when it is not a duration.
std::optional<double> DurationSeconds(std::string_view text);

}  // namespace freshet
