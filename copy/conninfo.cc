#include "copy/conninfo.h"

#include <libpq-fe.h>

#include <cctype>
#include <memory>
#include <regex>
#include <sstream>

#include "copy/error.h"

namespace freshet {
namespace {

struct ConnOptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

std::string Get(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

std::vector<std::string> SplitHosts(const std::string& hosts) {
  std::vector<std::string> out;
  std::stringstream in(hosts);
  std::string host;
  while (std::getline(in, host, ',')) out.push_back(host);
  return out;
}

bool IsLocalHost(const std::string& host) {
  if (host.empty() || host.front() == '/' || host.front() == '@') return true;
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  return host.rfind("127.", 0) == 0;
}

}  // namespace

ConnInfo ConnInfo::Parse(const std::string& conninfo) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConnOptionsDeleter> parsed(
      PQconninfoParse(conninfo.c_str(), &error));
  if (!parsed) {
    std::string message = error ? error : "out of memory";
    if (error) PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    // libpq quotes the part it could not parse, which may be the password
    // ("invalid percent-encoded token: \"S3cr%zz\""): a quoted part is left
    // out unless it is a keyword ("no_such_option") or one character ("=").
    std::string kept;
    std::smatch quoted;
    std::regex pattern("\"([^\"]*)\"");
    std::string rest = message;
    while (std::regex_search(rest, quoted, pattern)) {
      bool plain =
          quoted[1].length() <= 1 || std::regex_match(quoted[1].str(), std::regex("[a-z_]+"));
      kept += quoted.prefix().str() + (plain ? quoted[0].str() : "\"(hidden)\"");
      rest = quoted.suffix().str();
    }
    message = kept + rest;
    throw Error("malformed connection string: " + RedactSecrets(message));
  }
  ConnInfo info;
  for (PQconninfoOption* option = parsed.get(); option->keyword; ++option) {
    if (option->val && *option->val) info.values[option->keyword] = option->val;
  }
  // Fill what libpq would take from the environment, for Describe/IsLocal.
  std::unique_ptr<PQconninfoOption, ConnOptionsDeleter> defaults(PQconndefaults());
  for (PQconninfoOption* option = defaults ? defaults.get() : nullptr; option && option->keyword;
       ++option) {
    if (option->val && *option->val && !info.values.count(option->keyword))
      info.values[option->keyword] = option->val;
  }
  return info;
}

std::string ConnInfo::Describe() const {
  std::string host = Get(values, "host");
  if (host.empty()) host = Get(values, "hostaddr");
  if (host.empty()) host = "local socket";
  std::string out;
  std::string user = Get(values, "user");
  if (!user.empty()) out += user + "@";
  out += host;
  std::string port = Get(values, "port");
  if (!port.empty()) out += ":" + port;
  std::string dbname = Get(values, "dbname");
  if (!dbname.empty()) out += "/" + dbname;
  return out;
}

bool ConnInfo::IsLocal() const {
  std::string hostaddr = Get(values, "hostaddr");
  if (!hostaddr.empty()) {
    for (const auto& host : SplitHosts(hostaddr))
      if (!IsLocalHost(host)) return false;
    return true;
  }
  for (const auto& host : SplitHosts(Get(values, "host")))
    if (!IsLocalHost(host)) return false;
  return true;
}

std::string PercentEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string RedactSecrets(std::string text) {
  static const std::regex kUrlPassword(R"(([a-z]+://[^:/@\s]*):[^@\s]*@)", std::regex::icase);
  static const std::regex kKeyPassword(R"((password\s*=\s*)('([^'\\]|\\.)*'|\S+))",
                                       std::regex::icase);
  text = std::regex_replace(text, kUrlPassword, "$1:***@");
  text = std::regex_replace(text, kKeyPassword, "$1***");
  return text;
}

}  // namespace freshet
