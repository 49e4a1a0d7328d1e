#include "sync/cli/snapshot_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <regex>
#include <utility>

#include "copy/error.h"
#include "sync/snapshot/snapshot_manifest.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

// The names NewCaptureDirectory gives; nothing else in ROOT is ever removed.
bool IsCaptureName(const std::string& name) {
  static const std::regex kPattern("^[0-9]{8}T[0-9]{6}Z-run[0-9]+$");
  return std::regex_match(name, kPattern);
}

// An open manifest, closed on scope exit.
class ManifestHandle {
 public:
  explicit ManifestHandle(const fs::path& snapshot)
      : fd_(::open((snapshot / kManifestFileName).c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~ManifestHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  ManifestHandle(const ManifestHandle&) = delete;
  ManifestHandle& operator=(const ManifestHandle&) = delete;
  int fd() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

fs::path NewCaptureDirectory(const fs::path& root, int64_t run_id,
                             std::chrono::system_clock::time_point now) {
  std::error_code error;
  fs::create_directories(root, error);
  if (error)
    throw Error(ErrorKind::kRuntime, fmt::format("cannot create the snapshot directory {}: {}",
                                                 root.string(), error.message()));
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  return root / fmt::format("{}-run{}", stamp, run_id);
}

void PublishLatest(const fs::path& root, const fs::path& capture) {
  fs::path link = root / kLatestSnapshotLink;
  fs::path temporary = root / fmt::format(".{}.{}", kLatestSnapshotLink, ::getpid());
  std::error_code error;
  fs::remove(temporary, error);
  fs::create_directory_symlink(capture.filename(), temporary, error);
  if (!error) fs::rename(temporary, link, error);
  if (error) {
    fs::remove(temporary, error);
    throw Error(ErrorKind::kRuntime, fmt::format("cannot point {} at {}: {}", link.string(),
                                                 capture.filename().string(), error.message()));
  }
}

std::vector<std::string> PruneCaptures(const fs::path& root, int keep) {
  std::error_code error;
  fs::path latest = fs::read_symlink(root / kLatestSnapshotLink, error);
  std::vector<std::string> captures;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, error)) {
    std::string name = entry.path().filename().string();
    if (IsCaptureName(name) && entry.is_directory() && !entry.is_symlink())
      captures.push_back(name);
  }
  std::sort(captures.begin(), captures.end(), std::greater<>());
  std::vector<std::string> lines;
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < captures.size(); ++i) {
    const std::string& name = captures[i];
    if (name == latest.filename().string()) continue;
    ManifestHandle manifest(root / name);
    if (manifest.fd() >= 0 && ::flock(manifest.fd(), LOCK_EX | LOCK_NB) != 0) continue;  // read
    fs::remove_all(root / name, error);
    if (error)
      lines.push_back(fmt::format("problem: cannot remove {}: {}", name, error.message()));
    else
      lines.push_back(name);
  }
  return lines;
}

fs::path ResolveSnapshot(const fs::path& dir) {
  std::error_code error;
  if (fs::exists(dir / kManifestFileName, error)) return dir;
  fs::path latest = dir / kLatestSnapshotLink;
  if (fs::exists(latest / kManifestFileName, error)) {
    fs::path target = fs::read_symlink(latest, error);
    if (error) return latest;  // a plain directory named latest
    return target.is_absolute() ? target : dir / target;
  }
  if (!fs::is_directory(dir, error))
    throw Error(ErrorKind::kUsage,
                fmt::format("no snapshot in {}: the directory does not exist (run the "
                            "snapshot-capture job first)",
                            dir.string()));
  throw Error(ErrorKind::kUsage,
              fmt::format("no snapshot in {} yet: it has neither {} nor a `{}` link to a "
                          "capture (run the snapshot-capture job first)",
                          dir.string(), kManifestFileName, kLatestSnapshotLink));
}

SnapshotReadLock::SnapshotReadLock(const fs::path& snapshot) {
  ManifestHandle manifest(snapshot);
  if (manifest.fd() < 0)
    throw Error(ErrorKind::kUsage,
                fmt::format("cannot open {}: {}", (snapshot / kManifestFileName).string(),
                            std::strerror(errno)));
  while (::flock(manifest.fd(), LOCK_SH) != 0 && errno == EINTR) {
  }
  // Removed while we waited for the lock: the caller resolves `latest` again.
  struct stat status {};
  if (::fstat(manifest.fd(), &status) != 0 || status.st_nlink == 0)
    throw Error(ErrorKind::kRuntime,
                fmt::format("snapshot {} was removed as it was about to be read; try again",
                            snapshot.string()));
  fd_ = manifest.Release();
}

SnapshotReadLock::~SnapshotReadLock() {
  if (fd_ >= 0) ::close(fd_);
}

SnapshotReadLock::SnapshotReadLock(SnapshotReadLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

LockedSnapshot LockSnapshot(const fs::path& dir) {
  for (int attempt = 1;; ++attempt) {
    fs::path path = ResolveSnapshot(dir);
    try {
      return {path, SnapshotReadLock(path)};
    } catch (const Error& error) {
      if (attempt >= 3 || error.kind() != ErrorKind::kRuntime) throw;
    }
  }
}

}  // namespace freshet
