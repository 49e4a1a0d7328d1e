// LocalCluster: initdb + pg_ctl in a temporary directory, run as `postgres`
// when this process is root. Child processes get everything prepared before
// fork, so the child only makes async-signal-safe calls.
#include "apply/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "copy/connection.h"
#include "copy/conninfo.h"
#include "copy/error.h"
#include "copy/identifiers.h"

extern char** environ;

namespace freshet {
namespace {

constexpr const char* kDefaultPgBin = "/usr/lib/postgresql/15/bin";
constexpr int kStartAttempts = 5;
constexpr size_t kMaxSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr const char* kSwitchFailed = "freshet: cannot switch to the OS user postgres\n";

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw Error(ErrorKind::kRuntime, what + ": " + std::strerror(errno));
}

bool HasServerPrograms(const std::string& dir) {
  for (const char* program : {"initdb", "pg_ctl", "postgres"})
    if (access((dir + "/" + program).c_str(), X_OK) != 0) return false;
  return true;
}

std::string PgConfigBinDir() {
  FILE* pipe = popen("pg_config --bindir 2>/dev/null", "r");
  if (!pipe) return "";
  std::string out;
  char buffer[512];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string LastLines(const std::string& text, int lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int seen = 0; pos > 0; --pos)
    if (text[pos - 1] == '\n' && ++seen == lines) break;
  return text.substr(pos);
}

// A postgresql.conf string literal.
std::string ConfString(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int FreeLoopbackPort() {
  int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) ThrowErrno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bool ok = bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  int saved = errno;
  close(sock);
  errno = saved;
  if (!ok) ThrowErrno("finding a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

std::string LocalCluster::FindBinDir() {
  if (const char* env = std::getenv("FRESHET_PG_BIN"); env && *env) {
    if (HasServerPrograms(env)) return env;
    throw Error(ErrorKind::kRuntime, std::string("FRESHET_PG_BIN=") + env +
                                         " does not hold initdb, pg_ctl and postgres");
  }
  if (std::string dir = PgConfigBinDir(); !dir.empty() && HasServerPrograms(dir)) return dir;
  if (HasServerPrograms(kDefaultPgBin)) return kDefaultPgBin;
  throw Error(ErrorKind::kRuntime,
              "cannot find the PostgreSQL server programs (initdb, pg_ctl, postgres) for a local "
              "shadow database: install the PostgreSQL server, set FRESHET_PG_BIN to their "
              "directory, or pass --shadow-url with an empty database");
}

LocalCluster::LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {
  bin_dir_ = options_.bin_dir.empty() ? FindBinDir() : options_.bin_dir;
  if (!HasServerPrograms(bin_dir_))
    throw Error(ErrorKind::kRuntime, bin_dir_ + " does not hold initdb, pg_ctl and postgres");
  creator_pid_ = getpid();
  if (geteuid() == 0) {
    passwd entry{}, *found = nullptr;
    std::vector<char> buffer(16384);
    getpwnam_r("postgres", &entry, buffer.data(), buffer.size(), &found);
    if (!found)
      throw Error(ErrorKind::kRuntime,
                  "running as root, but PostgreSQL refuses to run as root and there is no OS "
                  "user 'postgres' to run the local " +
                      options_.purpose + " server as: run freshet as another user " +
                      options_.hint);
    owner_uid_ = found->pw_uid;
    owner_gid_ = found->pw_gid;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/freshet-" + options_.purpose + "-XXXXXX";
  if (!mkdtemp(pattern.data())) ThrowErrno("cannot create a directory like " + pattern);
  dir_ = pattern;
  try {
    if (owner_uid_ && chown(dir_.c_str(), *owner_uid_, owner_gid_) != 0)
      ThrowErrno("cannot give " + dir_ + " to the OS user postgres");
    StartWatchdog();
    Initialize();
    Start();
  } catch (...) {
    Teardown();
    throw;
  }
}

LocalCluster::~LocalCluster() { Teardown(); }

pid_t LocalCluster::Spawn(const std::vector<std::string>& argv, int stdin_fd,
                          bool new_session) const {
  int log = open(SetupLog().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) ThrowErrno("cannot open " + SetupLog());
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  for (auto& arg : args) arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);
  std::string banner = "$";
  for (const auto& arg : argv) banner += " " + arg;
  banner += "\n";
  (void)!write(log, banner.data(), banner.size());
  const char* cwd = dir_.c_str();
  std::string chdir_failed = "freshet: cannot enter " + dir_ + " as the cluster's owner\n";
  std::optional<uid_t> uid = owner_uid_;
  gid_t gid = owner_gid_;
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigset_t no_signals;
  sigemptyset(&no_signals);

  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    ThrowErrno("fork");
  }
  if (pid == 0) {
    for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD})
      sigaction(signal, &default_action, nullptr);
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    if (new_session) setsid();
    if (dup2(stdin_fd, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(126);
#ifdef CLOSE_RANGE_CLOEXEC
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // descriptors other code leaked
#endif
    if (uid && (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(*uid) != 0)) {
      (void)!write(2, kSwitchFailed, std::strlen(kSwitchFailed));
      _exit(126);
    }
    if (chdir(cwd) != 0) {
      (void)!write(2, chdir_failed.data(), chdir_failed.size());
      _exit(126);
    }
    execve(arg_pointers[0], arg_pointers.data(), environ);
    _exit(127);
  }
  close(log);
  return pid;
}

int LocalCluster::Run(const std::vector<std::string>& argv) const {
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) ThrowErrno("cannot open /dev/null");
  pid_t pid;
  try {
    pid = Spawn(argv, null, false);
  } catch (...) {
    close(null);
    throw;
  }
  close(null);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) ThrowErrno("waitpid " + argv[0]);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// Waits for "done" on stdin; when the pipe closes without it (this process
// died), stops the server and removes the directory (unless kept).
void LocalCluster::StartWatchdog() {
  static constexpr const char* kScript =
      "IFS= read -r line || true\n"
      "[ \"$line\" = done ] && exit 0\n"
      "\"$1/pg_ctl\" -D \"$2/data\" stop -m immediate -w -t 60 >/dev/null 2>&1\n"
      "[ \"$3\" = 1 ] || rm -rf \"$2\"\n";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) ThrowErrno("pipe2");
  try {
    // $0 names the watchdog in ps; $1..$3 are the script's arguments.
    watchdog_pid_ = Spawn({"/bin/sh", "-c", kScript, "freshet-" + options_.purpose + "-watchdog",
                           bin_dir_, dir_, options_.keep ? "1" : "0"},
                          fds[0], true);
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  close(fds[0]);
  watchdog_fd_ = fds[1];
}

std::string LocalCluster::Failure(const std::string& what, int status) const {
  auto tail = [](const std::string& path) {
    std::string text = LastLines(ReadFile(path), 20);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  };
  std::string text = what + " (exit " + std::to_string(status) + ")";
  std::string setup = tail(SetupLog()), server = tail(ServerLog());
  if (!setup.empty()) text += "\n--- setup log (tail) ---\n" + setup;
  if (!server.empty()) text += "\n--- server log (tail) ---\n" + server;
  if (owner_uid_ && (status == 126 || setup.find("Permission denied") != std::string::npos))
    text +=
        "\n(running as root, PostgreSQL runs as the OS user postgres, which must be able "
        "to reach " +
        dir_ + ": set TMPDIR to a directory such as /tmp)";
  return options_.hint.empty() ? text : text + "\n" + options_.hint;
}

void LocalCluster::Initialize() {
  int status = Run({bin_dir_ + "/initdb", "-D", DataDir(), "-U", "postgres", "--auth=trust", "-E",
                    "UTF8", "--no-locale", "--no-sync"});
  if (status != 0)
    throw Error(ErrorKind::kRuntime, Failure("cannot create the local " + options_.purpose +
                                                 " cluster: initdb failed in " + dir_,
                                             status));
  // Appending keeps the file's owner (postgres) even when we are root.
  std::ofstream conf(DataDir() + "/postgresql.conf", std::ios::app);
  bool socket_fits = dir_.size() + std::strlen("/.s.PGSQL.65535") <= kMaxSocketPath;
  conf << "\n# freshet: a throwaway server (" << options_.purpose << ")\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = " << ConfString(socket_fits ? dir_ : "") << "\n"
       << "fsync = off\n"
       << "synchronous_commit = off\n"
       << "full_page_writes = off\n"
       << "max_connections = 20\n"
       << "logging_collector = off\n";
  for (const std::string& line : options_.settings) conf << line << "\n";
  conf.close();
  if (!conf) throw Error(ErrorKind::kRuntime, "cannot write " + DataDir() + "/postgresql.conf");
}

void LocalCluster::Start() {
  for (int attempt = 1;; ++attempt) {
    port_ = FreeLoopbackPort();
    {
      std::ofstream conf(DataDir() + "/postgresql.conf", std::ios::app);
      conf << "port = " << port_ << "\n";  // the last setting wins on retries
    }
    size_t log_before = ReadFile(ServerLog()).size();
    int status =
        Run({bin_dir_ + "/pg_ctl", "-D", DataDir(), "-l", ServerLog(), "-w", "-t", "60", "start"});
    if (status == 0) return;
    std::string log = ReadFile(ServerLog());
    std::string attempt_log = log.size() > log_before ? log.substr(log_before) : "";
    // Another process took the port between FreePort and bind: pick another.
    bool port_taken = attempt_log.find("could not bind") != std::string::npos ||
                      attempt_log.find("Address already in use") != std::string::npos;
    if (port_taken && attempt < kStartAttempts) {
      Run({bin_dir_ + "/pg_ctl", "-D", DataDir(), "stop", "-m", "immediate", "-w"});
      continue;
    }
    throw Error(ErrorKind::kRuntime,
                Failure("cannot start the local " + options_.purpose + " server in " + dir_ +
                            " on port " + std::to_string(port_),
                        status));
  }
}

void LocalCluster::Teardown() noexcept {
  // A forked child that exits must not stop its parent's server.
  if (dir_.empty() || getpid() != creator_pid_) return;
  try {
    if (std::filesystem::exists(DataDir() + "/postmaster.pid"))
      Run({bin_dir_ + "/pg_ctl", "-D", DataDir(), "stop", "-m", "immediate", "-w", "-t", "60"});
  } catch (...) {
    // Never throw from a destructor; removing the directory still helps.
  }
  if (!options_.keep) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  if (watchdog_fd_ >= 0) {
    (void)!write(watchdog_fd_, "done\n", 5);
    close(watchdog_fd_);
    watchdog_fd_ = -1;
  }
  if (watchdog_pid_ > 0) {
    while (waitpid(watchdog_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    watchdog_pid_ = -1;
  }
  dir_.clear();
}

std::string LocalCluster::Url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + PercentEncode(db);
}

void LocalCluster::CreateDatabase(const std::string& name) {
  Connection connection = Connection::Open(Url("postgres"), options_.purpose);
  connection.Exec("CREATE DATABASE " + QuoteIdent(name));
}

}  // namespace freshet
