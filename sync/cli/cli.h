// The command line: parses arguments and freshet.toml, runs the command, and
// renders reports. Returns the process exit status (see ErrorKind).
#pragma once

namespace freshet {

int RunCli(int argc, char** argv);

}  // namespace freshet
