#include "sync/cli/url_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "copy/error.h"

namespace freshet {

std::string ExpandEnvironment(const std::string& path, const std::string& what) {
  std::string out;
  size_t at = 0;
  while (at < path.size()) {
    size_t open = path.find("${", at);
    if (open == std::string::npos) break;
    size_t close = path.find('}', open + 2);
    if (close == std::string::npos)
      throw Error(ErrorKind::kUsage,
                  fmt::format("{}: url_file '{}' has a ${{ without a closing }}", what, path));
    std::string name = path.substr(open + 2, close - open - 2);
    const char* value = std::getenv(name.c_str());
    if (!value || !*value)
      throw Error(ErrorKind::kUsage,
                  fmt::format("{}: url_file '{}' uses environment variable {}, which is {}", what,
                              path, name, value ? "empty" : "not set"));
    out += path.substr(at, open - at);
    out += value;
    at = close + 1;
  }
  return out + path.substr(at);
}

std::string ReadUrlFile(const std::string& path, const std::string& what) {
  std::string file = ExpandEnvironment(path, what);
  std::ifstream in(file);
  if (!in)
    throw Error(ErrorKind::kUsage,
                fmt::format("{}: cannot read url_file {}: {}", what, file, std::strerror(errno)));
  std::string line;
  std::getline(in, line);
  const char* space = " \t\r\n";
  size_t begin = line.find_first_not_of(space);
  if (begin == std::string::npos)
    throw Error(ErrorKind::kUsage,
                fmt::format("{}: url_file {} is empty (expected the connection URL on its first "
                            "line)",
                            what, file));
  return line.substr(begin, line.find_last_not_of(space) - begin + 1);
}

}  // namespace freshet
