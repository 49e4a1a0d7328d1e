// Connection URLs kept in files: systemd's LoadCredential= puts them under
// $CREDENTIALS_DIRECTORY, Kubernetes mounts Secrets as files. The config
// names the file (`url_file = "${CREDENTIALS_DIRECTORY}/prod-url"`), so the
// URL and its password are in neither the config nor the command line.
#pragma once

#include <string>

namespace freshet {

// `path` with every ${NAME} replaced by that environment variable; throws a
// usage Error naming `what` and the variable when it is unset or empty, or
// when a ${ is not closed.
std::string ExpandEnvironment(const std::string& path, const std::string& what);

// The first line of the file at ExpandEnvironment(path), without surrounding
// whitespace; throws a usage Error naming `what` and the file when it cannot
// be read or holds no URL. The URL itself is never part of an error.
std::string ReadUrlFile(const std::string& path, const std::string& what);

}  // namespace freshet
