#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "copy/conninfo.h"
#include "copy/identifiers.h"

#ifndef FRESHET_SOURCE_DIR
#error "FRESHET_SOURCE_DIR must be defined (see tests/CMakeLists.txt)"
#endif
#ifndef FRESHET_BINARY
#error "FRESHET_BINARY must be defined (see tests/CMakeLists.txt)"
#endif

extern char** environ;

namespace freshet::testing {
namespace {

constexpr const char* kDefaultPgBin = "/usr/lib/postgresql/15/bin";

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string Trim(std::string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

bool KeepClusters() {
  const char* keep = std::getenv("FRESHET_KEEP_CLUSTERS");
  return keep && std::string_view(keep) == "1";
}

// An anonymous in-memory file (close-on-exec) to hand a child as a std stream.
int MemoryFile(const char* name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) ThrowErrno("memfd_create");
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buffer[65536];
  for (off_t offset = 0;;) {
    ssize_t n = pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("reading child output");
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return out;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("writing child input");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Finds `name` in the colon-separated `path` unless it already has a slash.
std::string FindProgram(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("cannot find program '" + name + "' in PATH=" + path);
}

struct SpawnSpec {
  std::vector<std::string> argv;
  Environment env;
  int stdin_fd = -1;  // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string cwd;  // empty: inherit
};

// fork + execve. Everything the child needs is prepared before fork, so the
// child only makes async-signal-safe calls (the test process may have
// threads). Exec failures come back through a close-on-exec pipe.
pid_t Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) throw std::runtime_error("Spawn: empty argv");
  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string_view::npos)
      merged[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  }
  for (const auto& [key, value] : spec.env) merged[key] = value;
  auto path = merged.find("PATH");
  std::string program = FindProgram(
      spec.argv[0], path != merged.end() ? path->second : "/usr/local/bin:/usr/bin:/bin");

  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp, argv;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  Fd dev_null(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (dev_null.get() < 0) ThrowErrno("open /dev/null");
  int in = spec.stdin_fd >= 0 ? spec.stdin_fd : dev_null.get();
  int out = spec.stdout_fd >= 0 ? spec.stdout_fd : dev_null.get();
  int err = spec.stderr_fd >= 0 ? spec.stderr_fd : dev_null.get();
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) ThrowErrno("pipe2");
  Fd report_read(report[0]), report_write(report[1]);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigset_t no_signals;
  sigemptyset(&no_signals);
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();

  pid_t pid = fork();
  if (pid < 0) ThrowErrno("fork");
  if (pid == 0) {
    // Child: step numbers say what failed, for the parent's message.
    auto fail = [&](int step) {
      int data[2] = {step, errno};
      (void)!write(report_write.get(), data, sizeof data);
      _exit(127);
    };
    for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD})
      sigaction(signal, &default_action, nullptr);
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) fail(1);
#ifdef CLOSE_RANGE_CLOEXEC
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // descriptors other code leaked
#endif
    if (cwd && chdir(cwd) != 0) fail(2);
    execve(program.c_str(), argv.data(), envp.data());
    fail(3);
  }
  report_write.Reset();
  int data[2];
  ssize_t n;
  do {
    n = read(report_read.get(), data, sizeof data);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof data)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    static constexpr const char* kSteps[] = {"", "redirect stdio for", "chdir for", "execute"};
    throw std::runtime_error(std::string("cannot ") + kSteps[data[0]] + " " + program + ": " +
                             std::strerror(data[1]));
  }
  return pid;
}

int WaitPid(pid_t pid, int flags) {
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, flags);
    if (done == pid) return status;
    if (done == 0) return -1;  // WNOHANG and still running
    if (errno != EINTR) ThrowErrno("waitpid");
  }
}

void DecodeStatus(int status, RunResult& result) {
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_code = 128 + result.signal;
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string LastLines(std::string_view text, int lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int seen = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
  }
  return std::string(text.substr(pos));
}

std::string Describe(const RunResult& result) {
  std::string text = "exit " + std::to_string(result.exit_code);
  if (!Trim(result.err).empty()) text += ": " + Trim(result.err);
  if (!Trim(result.out).empty()) text += "\n" + Trim(result.out);
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------
// Child processes.

RunResult RunCommand(const std::vector<std::string>& argv, const Environment& env,
                     std::string_view input) {
  Fd in(input.empty() ? -1 : MemoryFile("freshet-stdin"));
  if (in.get() >= 0) {
    WriteAll(in.get(), input);
    if (lseek(in.get(), 0, SEEK_SET) != 0) ThrowErrno("lseek");
  }
  Fd out(MemoryFile("freshet-stdout")), err(MemoryFile("freshet-stderr"));
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.stdin_fd = in.get();
  spec.stdout_fd = out.get();
  spec.stderr_fd = err.get();
  pid_t pid = Spawn(spec);
  RunResult result;
  DecodeStatus(WaitPid(pid, 0), result);
  result.out = ReadAll(out.get());
  result.err = ReadAll(err.get());
  return result;
}

BackgroundProcess BackgroundProcess::Start(const std::vector<std::string>& argv,
                                           const Environment& env) {
  Fd out(MemoryFile("freshet-stdout")), err(MemoryFile("freshet-stderr"));
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.stdout_fd = out.get();
  spec.stderr_fd = err.get();
  BackgroundProcess process;
  process.pid_ = Spawn(spec);
  process.out_fd_ = out.Release();
  process.err_fd_ = err.Release();
  return process;
}

BackgroundProcess StartCommand(const std::vector<std::string>& argv, const Environment& env) {
  return BackgroundProcess::Start(argv, env);
}

BackgroundProcess::BackgroundProcess(BackgroundProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)) {}

BackgroundProcess& BackgroundProcess::operator=(BackgroundProcess&& other) noexcept {
  if (this != &other) {
    Close();
    pid_ = std::exchange(other.pid_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
  }
  return *this;
}

BackgroundProcess::~BackgroundProcess() { Close(); }

void BackgroundProcess::Close() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
  out_fd_ = err_fd_ = -1;
}

void BackgroundProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

RunResult BackgroundProcess::Finish(int status) {
  pid_ = -1;
  RunResult result;
  DecodeStatus(status, result);
  result.out = Stdout();
  result.err = Stderr();
  return result;
}

RunResult BackgroundProcess::Wait() {
  if (pid_ <= 0) throw std::runtime_error("BackgroundProcess::Wait: no child running");
  return Finish(WaitPid(pid_, 0));
}

std::optional<RunResult> BackgroundProcess::WaitFor(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::runtime_error("BackgroundProcess::WaitFor: no child running");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = WaitPid(pid_, WNOHANG);
    if (status != -1) return Finish(status);
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string BackgroundProcess::Stdout() const { return out_fd_ >= 0 ? ReadAll(out_fd_) : ""; }
std::string BackgroundProcess::Stderr() const { return err_fd_ >= 0 ? ReadAll(err_fd_) : ""; }

// ---------------------------------------------------------------------------
// PgCluster.

// The server is a LocalCluster, the same one `freshet migrate shadow` starts;
// the fixture adds its settings, psql helpers and FRESHET_KEEP_CLUSTERS.
PgCluster::PgCluster(std::vector<std::string> extra_settings) {
  const char* bin = std::getenv("FRESHET_PG_BIN");
  bin_dir_ = bin && *bin ? bin : kDefaultPgBin;
  for (const char* program : {"initdb", "pg_ctl", "postgres", "psql"}) {
    if (access((bin_dir_ + "/" + program).c_str(), X_OK) != 0)
      throw std::runtime_error("PostgreSQL program " + bin_dir_ + "/" + program +
                               " not found or not executable (set FRESHET_PG_BIN)");
  }
  LocalClusterOptions options;
  options.purpose = "pg";
  options.bin_dir = bin_dir_;
  options.settings = {"max_connections = 100", "shared_buffers = 128MB",
                      "log_line_prefix = '%m [%p] %q%u@%d '"};
  options.settings.insert(options.settings.end(), extra_settings.begin(), extra_settings.end());
  options.keep = KeepClusters();
  options.hint = "(FRESHET_KEEP_CLUSTERS=1 keeps the directory)";
  cluster_ = std::make_unique<LocalCluster>(std::move(options));
  dir_ = cluster_->dir();
  port_ = cluster_->port();
}

PgCluster::~PgCluster() {
  if (KeepClusters() && cluster_)
    std::fprintf(stderr, "FRESHET_KEEP_CLUSTERS=1: kept cluster %s (port %d)\n", dir_.c_str(),
                 port_);
}

std::string PgCluster::Url(const std::string& db, const std::string& user) const {
  return "postgresql://" + PercentEncode(user) + "@127.0.0.1:" + std::to_string(port_) + "/" +
         PercentEncode(db);
}

std::string PgCluster::Psql(const std::string& db, const std::string& sql) const {
  RunResult result = RunCommand(
      {bin_dir_ + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", Url(db)}, {},
      sql);
  if (result.exit_code != 0)
    throw std::runtime_error("psql on " + Url(db) + " failed (" + Describe(result) + ")");
  return Trim(result.out);
}

void PgCluster::RunScript(const std::string& db, const std::string& path) const {
  RunResult result = RunCommand(
      {bin_dir_ + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", Url(db), "-f", path});
  if (result.exit_code != 0)
    throw std::runtime_error("psql -f " + path + " on " + Url(db) + " failed (" + Describe(result) +
                             ")");
}

void PgCluster::CreateDatabase(const std::string& name) {
  Psql("postgres", "CREATE DATABASE " + QuoteIdent(name));
}

void PgCluster::DropDatabase(const std::string& name) {
  Psql("postgres", "DROP DATABASE IF EXISTS " + QuoteIdent(name) + " WITH (FORCE)");
}

std::string PgCluster::CreateUniqueDatabase(std::string_view hint) {
  static std::atomic<int> counter{0};
  auto sanitize = [](std::string_view text, size_t max) {
    std::string out;
    for (unsigned char c : text.substr(0, max))
      out += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
    return out;
  };
  std::string name = "db";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
    name = sanitize(std::string(info->test_suite_name()) + "_" + info->name(), 40);
  if (!hint.empty()) name += "_" + sanitize(hint, 10);
  name += "_" + std::to_string(++counter);  // at most 63 bytes, PostgreSQL's limit
  CreateDatabase(name);
  return name;
}

std::string PgCluster::LogTail(int lines) const { return LastLines(ReadFile(log_path()), lines); }

// ---------------------------------------------------------------------------
// Shared clusters, workload, binaries.

PgCluster& SharedClusters::Source() {
  static PgCluster cluster;
  return cluster;
}

PgCluster& SharedClusters::Target() {
  static PgCluster cluster;
  return cluster;
}

std::string WorkloadDir() {
  const char* env = std::getenv("FRESHET_WORKLOAD");
  std::filesystem::path dir =
      env && *env ? std::filesystem::path(env)
                  : std::filesystem::path(FRESHET_SOURCE_DIR) / ".." / "shared" / "workload";
  return std::filesystem::weakly_canonical(std::filesystem::absolute(dir)).string();
}

void LoadWorkload(const PgCluster& prod, const std::string& prod_db, const PgCluster& dev,
                  const std::string& dev_db, double scale) {
  std::string script = WorkloadDir() + "/load.sh";
  if (access(script.c_str(), X_OK) != 0)
    throw std::runtime_error("workload script " + script +
                             " not found or not executable (set FRESHET_WORKLOAD)");
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof text, scale);
  if (ec != std::errc()) throw std::runtime_error("cannot format workload scale");
  const char* path = std::getenv("PATH");
  Environment env{{"PATH", prod.bin_dir() + ":" + (path ? path : "/usr/local/bin:/usr/bin:/bin")}};
  RunResult result =
      RunCommand({script, prod.Url(prod_db), dev.Url(dev_db), std::string(text, end)}, env);
  if (result.exit_code != 0)
    throw std::runtime_error("workload load.sh failed (" + Describe(result) + ")");
}

std::string FreshetBinary() {
  const char* env = std::getenv("FRESHET_BINARY_PATH");
  return env && *env ? env : FRESHET_BINARY;
}

}  // namespace freshet::testing
