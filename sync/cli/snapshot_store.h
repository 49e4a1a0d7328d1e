// A directory of successive snapshots, as the service's snapshot-capture job
// keeps it and its snapshot-restore and preview jobs read it:
//
//   /var/lib/freshet/snapshots/
//     20261206T020000Z-run41/   one complete capture per run (manifest.json inside)
//     20261213T020000Z-run57/
//     latest -> 20261213T020000Z-run57
//
// A capture goes into a new directory (RunCapture writes it under a temporary
// name and renames it when complete), then `latest` is switched to it in one
// rename, then all but the newest `keep` captures are removed. A reader holds
// a shared lock on the capture it reads (SnapshotReadLock), and removal skips
// captures so held, so a slow restore never loses its files to a capture that
// finished meanwhile. The locks are flock(2) locks: across processes too.
//
// Thread-safety: the functions may be called from any thread; two captures
// into one directory at once are the caller's to prevent (the service's
// target keys do).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace freshet {

inline constexpr const char* kLatestSnapshotLink = "latest";

// The directory a capture of run `run_id` at `now` goes in:
// ROOT/20261206T020000Z-run41. Creates ROOT (and its parents) when missing.
// Throws Error (kRuntime) naming ROOT when it cannot be created.
std::filesystem::path NewCaptureDirectory(const std::filesystem::path& root, int64_t run_id,
                                          std::chrono::system_clock::time_point now);

// Points ROOT/latest at `capture` (a directory in ROOT), replacing the old
// link in one rename. Throws Error (kRuntime) when it cannot.
void PublishLatest(const std::filesystem::path& root, const std::filesystem::path& capture);

// Removes the captures in ROOT beyond the newest `keep` (by name, which is by
// time), never the one `latest` points to nor one a reader holds. Returns the
// names removed; problems (a capture that cannot be removed) are returned as
// lines starting with "problem: ".
std::vector<std::string> PruneCaptures(const std::filesystem::path& root, int keep);

// The snapshot to restore from `dir`: `dir` itself when it holds a manifest,
// else what `dir/latest` points to. Throws Error (kUsage) saying which when
// there is neither ("no snapshot in DIR yet: ...").
std::filesystem::path ResolveSnapshot(const std::filesystem::path& dir);

// A shared lock on one capture while it is read. Movable, not copyable.
class SnapshotReadLock {
 public:
  // Locks `snapshot` (a directory holding a manifest). Throws Error (kUsage)
  // when its manifest cannot be opened.
  explicit SnapshotReadLock(const std::filesystem::path& snapshot);
  ~SnapshotReadLock();
  SnapshotReadLock(SnapshotReadLock&& other) noexcept;
  SnapshotReadLock& operator=(SnapshotReadLock&&) = delete;
  SnapshotReadLock(const SnapshotReadLock&) = delete;
  SnapshotReadLock& operator=(const SnapshotReadLock&) = delete;

 private:
  int fd_ = -1;
};

// ResolveSnapshot(dir), locked for reading: resolved again when a capture
// removed it between the two (a capture's pruning only removes captures that
// are no longer `latest`).
struct LockedSnapshot {
  std::filesystem::path path;
  SnapshotReadLock lock;
};
LockedSnapshot LockSnapshot(const std::filesystem::path& dir);

}  // namespace freshet
