#include "copy/connection.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <vector>

#include "copy/conninfo.h"
#include "copy/copy_protocol.h"
#include "copy/socket_wait.h"

namespace freshet {
namespace {

// Settings that change what COPY and text output look like, or could abort a
// long stream, pinned so both sides speak the same dialect.
constexpr std::string_view kPinnedSettings =
    "SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 3; SET client_encoding = 'UTF8'; SET bytea_output = 'hex'; "
    "SET standard_conforming_strings = on; SET statement_timeout = 0; "
    "SET idle_in_transaction_session_timeout = 0; SET lock_timeout = 0; "
    "SET application_name = 'freshet'";

// A connection that hangs is worse than one that fails: give up connecting
// after 10 s, probe idle connections every 30 s (a COPY waiting on a slow
// side is idle on the other), and drop one whose sent data stays
// unacknowledged for 60 s (a cut network). Each can be set in the
// connection string (connect_timeout also by PGCONNECT_TIMEOUT).
struct ConnectionDefault {
  const char* keyword;
  const char* value;
  const char* environment;
};
constexpr ConnectionDefault kConnectionDefaults[] = {
    {"connect_timeout", "10", "PGCONNECT_TIMEOUT"},
    {"keepalives", "1", nullptr},
    {"keepalives_idle", "30", nullptr},
    {"keepalives_interval", "10", nullptr},
    {"keepalives_count", "3", nullptr},
    {"tcp_user_timeout", "60000", nullptr},
};

std::string Trimmed(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string_view Result::Text(int row, int column) const {
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          PQgetlength(result_.get(), row, column));
}

std::optional<std::string> Result::GetOptional(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Get(row, column);
}

int64_t Result::GetInt(int row, int column) const {
  std::string_view text = Text(row, column);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size())
    throw Error(fmt::format("expected an integer in column {}, got '{}'",
                            PQfname(result_.get(), column), text));
  return value;
}

double Result::GetDouble(int row, int column) const { return std::stod(Get(row, column)); }

std::vector<std::string> Result::GetTextArray(int row, int column) const {
  // Parses the array output format: {a,"b c","d\"e"}.
  std::vector<std::string> out;
  if (IsNull(row, column)) return out;
  std::string_view text = Text(row, column);
  if (text.size() < 2) return out;
  std::string current;
  bool quoted = false, in_element = false;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\\' && i + 2 < text.size()) {
        current.push_back(text[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        current.push_back(c);
      }
    } else if (c == '"') {
      quoted = in_element = true;
    } else if (c == ',') {
      out.push_back(std::move(current));
      current.clear();
      in_element = false;
    } else {
      current.push_back(c);
      in_element = true;
    }
  }
  if (in_element || !out.empty()) out.push_back(std::move(current));
  return out;
}

uint64_t Result::AffectedRows() const {
  const char* tuples = PQcmdTuples(result_.get());
  return tuples && *tuples ? std::stoull(tuples) : 0;
}

Connection Connection::Open(const std::string& conninfo, std::string label) {
  ConnInfo info = ConnInfo::Parse(conninfo);
  Connection connection;
  connection.label_ = std::move(label);
  connection.description_ = connection.label_ + " " + info.Describe();
  // Defaults come before dbname: the connection string (or the PG*
  // variable of the same setting) overrides them.
  std::vector<const char*> keywords, values;
  for (const auto& setting : kConnectionDefaults) {
    if (setting.environment && std::getenv(setting.environment)) continue;
    keywords.push_back(setting.keyword);
    values.push_back(setting.value);
  }
  keywords.insert(keywords.end(), {"dbname", "fallback_application_name", nullptr});
  values.insert(values.end(), {conninfo.c_str(), "freshet", nullptr});
  connection.conn_.reset(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (!connection.conn_ || PQstatus(connection.conn_.get()) != CONNECTION_OK) {
    std::string message = connection.conn_ ? Trimmed(PQerrorMessage(connection.conn_.get()))
                                           : std::string("out of memory");
    throw Error(
        fmt::format("cannot connect to {}: {}", connection.description_, RedactSecrets(message)));
  }
  connection.cancel_.reset(PQgetCancel(connection.conn_.get()));
  connection.Exec(kPinnedSettings);
  return connection;
}

Error Connection::MakeError(const PGresult* result, std::string_view context) const {
  std::string message;
  std::string sqlstate;
  if (result) {
    message = Trimmed(PQresultErrorMessage(result));
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state) sqlstate = state;
  }
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_.get()));
  std::string text = fmt::format("{}: {}", description_, RedactSecrets(message));
  if (!context.empty()) text += fmt::format(" (while running: {})", Abbreviate(context));
  return Error(text, sqlstate);
}

Result Connection::Exec(std::string_view sql) {
  std::string statement(sql);
  if (!PQsendQuery(conn_.get(), statement.c_str())) throw MakeError(nullptr, sql);
  return AwaitResult(sql);
}

Result Connection::Exec(std::string_view sql, const Params& params) {
  std::string statement(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  if (!PQsendQueryParams(conn_.get(), statement.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0))
    throw MakeError(nullptr, sql);
  return AwaitResult(sql);
}

// Waits for every result of what was sent, on the socket, so a stop bound to
// the connection cancels the statement from this thread. Keeps the last
// result, or the first that failed (as PQexec does), and throws for that.
Result Connection::AwaitResult(std::string_view sql) {
  std::optional<StopWaker> waker;
  if (stop_.stop_possible()) waker.emplace(stop_);
  bool cancelled = false;
  Result kept;
  bool failed = false;
  bool copied = false;
  for (;;) {
    copy_internal::WaitForResult(*this, waker ? &*waker : nullptr, &cancelled);
    Result result(PQgetResult(conn_.get()));
    if (!result.get()) break;
    ExecStatusType status = result.Status();
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
      // Exec has no stream to give a COPY: end it; its result follows.
      copied = true;
      if (status == PGRES_COPY_IN) PQputCopyEnd(conn_.get(), "COPY is not run by Exec");
      if (status == PGRES_COPY_OUT)
        copy_internal::DropCopyOut(*this, waker ? &*waker : nullptr, &cancelled);
      continue;
    }
    if (failed) continue;
    failed = status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK;
    kept = std::move(result);
  }
  if (copied && !failed)
    throw Error(fmt::format("{}: a COPY cannot run here (while running: {})", description_,
                            Abbreviate(sql)));
  if (!kept.get() || failed) throw MakeError(kept.get(), sql);
  return kept;
}

std::stop_token Connection::BindStop(std::stop_token stop) {
  std::stop_token previous = std::move(stop_);
  stop_ = std::move(stop);
  return previous;
}

void ThrowIfStopped(std::stop_token stop, std::string_view what) {
  if (stop.stop_requested()) throw Error(fmt::format("{}: cancelled", what));
}

void Connection::Cancel() {
  if (!cancel_) return;
  char buffer[256];
  PQcancel(cancel_.get(), buffer, sizeof buffer);
}

}  // namespace freshet
