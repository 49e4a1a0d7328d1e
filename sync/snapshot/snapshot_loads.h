// A snapshot's files as the rows of a load into one or more targets
// (sync/engine/target_run.h): each target planned against the manifest's
// catalog, each file decompressed once into every target of a wave that takes
// it the same way, each target's rows checked against the manifest's digests.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "copy/copy_file.h"
#include "copy/mask_codec.h"
#include "sync/engine/target_run.h"
#include "sync/snapshot/snapshot_manifest.h"
#include "sync/snapshot/snapshot_restore.h"

namespace freshet {

class SnapshotLoads final : public LoadSource {
 public:
  // Reads the manifest; throws Error (kUsage) when it cannot.
  SnapshotLoads(const RestoreOptions& options, const RunLog& log);

  std::string Describe() const override;
  std::string Command() const override { return "snapshot restore"; }
  std::string Rerun() const override { return "the restore"; }
  void Check(std::stop_token stop) override;
  std::string ResumeKey() const override;
  void PlanTarget(TargetRun& target, const Catalog& target_catalog, std::stop_token stop,
                  const RunLog& log) override;
  void ThrowIfRefused(const TargetRun& target) const override;
  std::vector<Progress::Item> ScheduleLoads(std::vector<TargetRun>& targets) override;
  void AddLoads(LoadRun& run, TaskGraph& graph) override;
  int Workers() const override;
  std::chrono::steady_clock::time_point LastLoad() const override;
  SequenceOutcome Sequences(TargetRun& target) override;
  void Verify(TargetRun& target, std::stop_token stop) override;
  // Records on the target that its restored tables hold the source as of the
  // capture (when the manifest has the capture's horizon).
  void Loaded(TargetRun& target) override;

 private:
  // How one snapshot table goes into one target.
  struct TableRoute {
    size_t plan_index = 0;
    const SnapshotTable* snapshot = nullptr;
    std::optional<std::vector<bool>> keep;  // none: every column of the files
    std::string column_list;                // " (a, b)"
    // Masking while restoring an unmasked snapshot: one entry per field sent
    // (after `keep`), nullopt passing it through; empty: no masking.
    std::vector<std::optional<ColumnMasker>> masks;
    std::string mask_signature;  // tells routes masking alike (one key per run)

    // Whether the rows sent differ from the files' (their digest too).
    bool rewrites() const { return keep.has_value() || !masks.empty(); }
  };
  // What the restore keeps per target, beside its TargetRun.
  struct TargetFiles {
    size_t resource = 0;                         // the target's server, among the run's
    int rank = 0;                                // restored after targets of lower rank
    std::map<QualifiedName, TableRoute> routes;  // by table name
    std::vector<RowDigest> projected;            // per plan table: rows sent, when projected
    std::vector<std::pair<QualifiedName, size_t>> writes;  // relation -> task
    std::map<QualifiedName, std::vector<size_t>> table_tasks;
    std::vector<size_t> all_tasks;
    // Per snapshot table: file tasks left for this target, and the first start.
    std::vector<size_t> files_left;
    std::vector<std::optional<std::chrono::steady_clock::time_point>> first_start;
  };
  // One task: a file into the targets of a wave that take it with the same
  // statement and projection.
  struct FileJob {
    size_t table = 0;  // in the manifest
    const SnapshotFile* file = nullptr;
    std::string sql;
    std::vector<size_t> targets;
    int rank = 0;
  };

  // A relation a rule of the target reads, staged as a temporary table of
  // the target by TrialLoad.
  struct TrialStage {
    QualifiedName relation;
    bool with_partitions = false;
    std::string temp;  // "pg_temp.freshet_trial_1"
    std::vector<const SnapshotFile*> files;
    const SnapshotTable* snapshot = nullptr;
    bool loaded = false;
  };

  TargetFiles& FilesOf(size_t target);
  // Rows of the snapshot the target's rules would refuse, found before
  // anything is written (snapshot_trial.cc): where the target has rules the
  // captured source did not promise (TargetRulesToCheck) or columns naming
  // objects, the relations those read are loaded into temporary tables of
  // the target's column types, in a transaction rolled back at the end. A
  // row the target's types refuse (an enum label, a domain, a narrower type,
  // a missing object) fails that load; the other rules are counted there as
  // a sync counts them on the source. Both become plan errors.
  void TrialLoad(TargetRun& target, const Catalog& target_catalog, std::stop_token stop,
                 const RunLog& log);
  bool FindStageFiles(TrialStage& stage) const;
  void LoadStage(Connection& trial, TargetRun& target, const Catalog& target_catalog,
                 TrialStage& stage, std::stop_token stop);
  void RouteTables(TargetRun& target, const Catalog& target_catalog);
  // Whether this restore masks: the config has [mask] rules (and, once
  // Check passed, a key) and the snapshot was captured without masking.
  bool MasksInStream() const;
  // Each route's masks in the stream, from the plan's (PlanMasks): the
  // rules a sync runs in the SELECT become NULL or constant fields, or plan
  // errors (sql, constants of other types, tables stored as text).
  void PlanStreamMasks(TargetRun& target, const Catalog& target_catalog);
  void ScheduleTargets(std::vector<TargetRun>& targets);
  void PlanJobs(const std::vector<TargetRun>& targets);
  std::vector<size_t> Gate(size_t target, const QualifiedName& relation) const;
  void RunJob(LoadRun& run, const FileJob& job, WorkerSession& session, std::stop_token stop);
  std::vector<RestoreTarget> OpenOuts(LoadRun& run, const FileJob& job, WorkerSession& session,
                                      std::vector<size_t>& live);
  void CommitOuts(LoadRun& run, const FileJob& job, std::vector<RestoreTarget>& outs,
                  const std::vector<size_t>& live, const RowDigest& projected);
  void Account(LoadRun& run, const FileJob& job, const std::vector<RestoreTarget>& outs,
               const std::vector<size_t>& live, const RowDigest& projected,
               std::chrono::steady_clock::time_point started);

  const RestoreOptions& options_;
  RunLog log_;
  SnapshotManifest manifest_;
  std::vector<TargetFiles> files_;  // per target
  std::vector<FileJob> jobs_;
  size_t servers_ = 1;
  int waves_ = 1;
  std::vector<size_t> tasks_left_;  // per snapshot table: file tasks not done
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point last_load_;
  std::map<size_t, Catalog> target_catalogs_;  // by target index, for Loaded
};

}  // namespace freshet
