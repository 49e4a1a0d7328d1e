// `freshet serve`: reads [service] and [jobs] from the config, checks every
// job, collects the API tokens (the config's hashed ones, and
// FRESHET_API_TOKEN as one admin token), and runs the service
// (sync/service/service.h) until SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace freshet {

struct ServeArguments {
  std::string listen;  // ADDRESS:PORT; overrides [service] listen
  std::string store;   // overrides [service] store
};

CLI::App* AddServeCommand(CLI::App& app, ServeArguments& args);
// Returns the exit status; throws Error when the service cannot start.
int RunServe(const ServeArguments& args, const std::string& config_path);

}  // namespace freshet
