#include "sync/snapshot/snapshot_loads.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <tuple>

#include "schema/type_graph.h"
#include "sync/engine/incremental_run.h"
#include "sync/engine/journal.h"
#include "sync/engine/parallel.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/test_hooks.h"
#include "sync/snapshot/restore_masks.h"
#include "sync/snapshot/snapshot_fit_check.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* FormatOption(StreamFormat format) {
  return format == StreamFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)";
}

const Column* FindColumn(const Catalog& catalog, const QualifiedName& table,
                         const std::string& column) {
  const Table* found = catalog.Find(table);
  return found ? found->FindColumn(column) : nullptr;
}

QualifiedName TargetRelation(const PlannedTable& table, const SnapshotFile& file) {
  for (const auto& unit : table.units)
    if (unit.source == file.relation) return unit.target;
  return table.units.empty() ? table.name : table.units.front().target;
}

// Whether binary COPY values of `from` read as `to`: the same type, modifiers
// aside, or the same base type under domains (a domain's receive function is
// its base's, then its constraints: a value breaking them fails the trial
// load). Not for arrays, whose binary form names the element type.
bool SameBinaryValues(const Catalog& from_catalog, const Column& from, const Catalog& to_catalog,
                      const Column& to) {
  if (TypeWithoutModifiers(from.type) == TypeWithoutModifiers(to.type)) return true;
  auto is_array = [](const std::string& type_id) {
    return type_id.size() > 2 && type_id.compare(type_id.size() - 2, 2, "[]") == 0;
  };
  ResolvedType source = Resolve(from_catalog, from.type_id);
  ResolvedType target = Resolve(to_catalog, to.type_id);
  return !source.array && !target.array && !is_array(from.type_id) && !is_array(to.type_id) &&
         !is_array(source.base) && source.base == target.base;
}

void RollBack(Connection& connection) {
  try {
    connection.Exec("ROLLBACK");
  } catch (const Error&) {  // a dead connection has nothing to roll back
  }
}

// Every file present with the size and checksum the manifest records: cheap
// (no decompression), and done before any target is touched.
void CheckFiles(const fs::path& dir, const SnapshotManifest& manifest, int jobs,
                std::stop_token stop) {
  std::vector<const SnapshotFile*> files;
  for (const auto& table : manifest.tables)
    for (const auto& file : table.files) files.push_back(&file);
  auto problems = ForEachParallel(files.size(), jobs, [&](size_t i) {
    ThrowIfStopped(stop, "checking the snapshot's files");
    const SnapshotFile& file = *files[i];
    fs::path path = dir / file.path;
    if (!fs::exists(path)) throw Error(fmt::format("{}: missing", file.path));
    FileDigest digest = DigestFileBytes(path);
    if (digest.compressed_bytes != file.file.compressed_bytes)
      throw Error(fmt::format("{}: {} bytes, the manifest says {} (truncated or replaced)",
                              file.path, digest.compressed_bytes, file.file.compressed_bytes));
    if (digest.file_xxh3 != file.file.file_xxh3)
      throw Error(fmt::format("{}: checksum {} differs from the manifest's {} (corrupt)", file.path,
                              digest.file_xxh3, file.file.file_xxh3));
  });
  if (!problems.empty())
    throw Error(ErrorKind::kUsage,
                fmt::format("snapshot {} is damaged; nothing was written to any target:\n  - {}",
                            dir.string(), fmt::join(problems, "\n  - ")));
}

}  // namespace

SnapshotLoads::SnapshotLoads(const RestoreOptions& options, const RunLog& log)
    : options_(options),
      log_(log),
      manifest_(ReadManifest(options.dir)),
      last_load_(Clock::now()) {}

std::string SnapshotLoads::Describe() const {
  return fmt::format("snapshot {} ({} at {})", options_.dir.string(), manifest_.source,
                     manifest_.snapshot_time);
}

void SnapshotLoads::Check(std::stop_token stop) {
  if (!options_.required_rules.empty() && !manifest_.masking && !options_.plan.masks.any())
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to restore: the config has [mask] rules, and snapshot {} was "
                            "captured without masking; capture it again with the rules",
                            options_.dir.string()));
  if (!options_.required_rules.empty() && manifest_.masking &&
      manifest_.masking->rules != options_.required_rules)
    throw Error(
        ErrorKind::kRefused,
        fmt::format("refusing to restore: snapshot {} was masked by other [mask] rules "
                    "(rule set {}, the config's is {}); capture it again with the current "
                    "rules",
                    options_.dir.string(), manifest_.masking->rules, options_.required_rules));
  if (MasksInStream() && !options_.plan.masks.key)
    throw Error(
        ErrorKind::kRefused,
        fmt::format(
            "refusing to restore: snapshot {} was captured without masking, and "
            "masking it while restoring with the config's [mask] rules needs a "
            "key{}; set FRESHET_MASK_KEY (or [mask] key_file or key_env), or pass "
            "--mask-key-ephemeral for a throwaway target",
            options_.dir.string(),
            options_.mask_key_problem.empty() ? "" : " (" + options_.mask_key_problem + ")"));
  CheckFiles(options_.dir, manifest_, options_.jobs, stop);
  if (MasksInStream())
    log_.Info(
        "snapshot {} was captured without masking: its rows are masked while they are restored, "
        "by the config's [mask] rules",
        options_.dir.string());
}

bool SnapshotLoads::MasksInStream() const {
  return options_.plan.masks.any() && !manifest_.masking;
}

// A snapshot's identity in the target's record of loaded files, with what
// masks it while restoring (rule set and key fingerprints): files loaded
// unmasked, or masked another way, are never resumed as masked ones.
std::string SnapshotLoads::ResumeKey() const {
  std::string key =
      fmt::format("{} {} {}", manifest_.created_at, manifest_.snapshot_time, manifest_.source);
  if (MasksInStream())
    key += fmt::format(" masked {} {}", RuleSetFingerprint(options_.plan.masks.rules),
                       options_.plan.masks.key ? options_.plan.masks.key->Fingerprint() : "");
  return key;
}

SnapshotLoads::TargetFiles& SnapshotLoads::FilesOf(size_t target) {
  if (files_.size() <= target) files_.resize(target + 1);
  return files_[target];
}

// Plans one target against the snapshot; problems become plan errors.
void SnapshotLoads::PlanTarget(TargetRun& target, const Catalog& target_catalog,
                               std::stop_token stop, const RunLog& log) {
  PlanOptions no_chunks = options_.plan;
  no_chunks.chunk_bytes = -1;  // the files are the streams
  // By default a restore covers what was captured, platform tables included.
  if (no_chunks.includes.empty())
    for (const auto& table : manifest_.tables) no_chunks.includes.push_back(table.name.Quoted());
  // A masked snapshot's rows are masked already (Check refused other rules).
  if (!MasksInStream()) no_chunks.masks = {};
  target.plan = BuildPlan(manifest_.catalog, target_catalog, no_chunks);
  target_catalogs_[target.index] = target_catalog;
  RouteTables(target, target_catalog);
  if (MasksInStream()) PlanStreamMasks(target, target_catalog);
  TargetFiles& files = FilesOf(target.index);
  if (target.plan.ok())
    for (const auto& [name, route] : files.routes) {
      auto narrowed =
          NarrowedColumns(manifest_.catalog, target_catalog, target.plan.tables[route.plan_index]);
      for (auto& error :
           CheckSnapshotFits(options_.dir, *route.snapshot, narrowed, options_.jobs, stop, log))
        target.plan.errors.push_back(std::move(error));
    }
  if (target.plan.ok()) TrialLoad(target, target_catalog, stop, log);
  FillPlanReport(target.plan, *target.report);
  target.report->masked_columns.clear();  // a restore masks every column in its stream
  for (const auto& table : target.plan.tables)
    for (const auto& mask : table.masks)
      target.report->masked_columns.push_back(fmt::format("{}.{}: rule {}, in the stream ({})",
                                                          table.name.Display(), mask.column,
                                                          mask.rule.rule, mask.origin));
  for (const auto& [name, route] : files.routes)  // the files' format, whatever sync would use
    target.report->tables[route.plan_index].format =
        route.snapshot->format == StreamFormat::kBinary ? "binary" : "text";
  if (!target.resume) return;
  size_t total = 0;
  for (const auto& table : manifest_.tables) total += table.files.size();
  log.Warn(
      "{}: resuming a restore of this snapshot that was interrupted: {} of {} files "
      "are already loaded",
      target.report->target, target.loaded.size(), total);
  target.report->warnings.push_back(
      fmt::format("resumed an interrupted restore: {} of {} files were already loaded",
                  target.loaded.size(), total));
  for (const auto& [name, route] : files.routes)
    for (const auto& file : route.snapshot->files)
      if (auto found = target.loaded.find(file.path); found != target.loaded.end())
        files.projected[route.plan_index].Merge(RowDigest::Parse(found->second));
}

// Which snapshot table goes into which planned table, with which columns.
void SnapshotLoads::RouteTables(TargetRun& target, const Catalog& target_catalog) {
  TargetFiles& files = FilesOf(target.index);
  Plan& plan = target.plan;
  for (size_t t = 0; t < plan.tables.size(); ++t) {
    const PlannedTable& table = plan.tables[t];
    const SnapshotTable* snapshot = manifest_.Find(table.name);
    if (!snapshot) {
      plan.errors.push_back(fmt::format("{} is in the snapshot's catalog but was not captured",
                                        table.name.Display()));
      continue;
    }
    TableRoute route;
    route.plan_index = t;
    route.snapshot = snapshot;
    std::vector<bool> keep;
    std::vector<std::string> kept;
    for (const auto& column : snapshot->columns) {
      bool shared = std::find(table.mapping.columns.begin(), table.mapping.columns.end(), column) !=
                    table.mapping.columns.end();
      keep.push_back(shared);
      if (!shared) continue;
      kept.push_back(column);
      if (snapshot->format != StreamFormat::kBinary) continue;
      const Column* from = FindColumn(manifest_.catalog, table.name, column);
      const Column* to = FindColumn(target_catalog, table.name, column);
      if (from && to && !SameBinaryValues(manifest_.catalog, *from, target_catalog, *to))
        plan.errors.push_back(fmt::format(
            "column {} of {} is {} in the snapshot but {} on the target: a snapshot stores "
            "binary COPY data, which restores only into the same type, modifiers aside "
            "(capture again after the migration, or sync from the source)",
            column, table.name.Display(), from->type, to->type));
    }
    if (std::find(keep.begin(), keep.end(), false) != keep.end()) route.keep = keep;
    if (!kept.empty()) route.column_list = " (" + QuoteIdentList(kept) + ")";
    for (const auto& file : snapshot->files) {
      bool mapped = table.units.size() == 1;
      for (const auto& unit : table.units) mapped = mapped || unit.source == file.relation;
      if (!mapped)
        plan.errors.push_back(fmt::format("snapshot file {} ({}) has no place in {}", file.path,
                                          file.relation.Display(), table.name.Display()));
    }
    files.routes[table.name] = std::move(route);
  }
  files.projected.resize(plan.tables.size());
}

void SnapshotLoads::PlanStreamMasks(TargetRun& target, const Catalog& target_catalog) {
  Plan& plan = target.plan;
  for (auto& [name, route] : FilesOf(target.index).routes) {
    const PlannedTable& table = plan.tables[route.plan_index];
    if (table.masks.empty()) continue;
    if (route.snapshot->format != StreamFormat::kBinary) {
      plan.errors.push_back(fmt::format(
          "table {} has masked columns and snapshot {} holds it in the text COPY format; masking "
          "while restoring needs the binary format: {}",
          table.name.Display(), options_.dir.string(), kCaptureMasked));
      continue;
    }
    std::optional<StreamMasks> masks = PlanRestoreMasks(
        manifest_.catalog, target_catalog, table, route.snapshot->columns, route.keep, plan.errors);
    if (!masks) continue;
    route.masks = std::move(masks->fields);
    route.mask_signature = std::move(masks->signature);
  }
}

void SnapshotLoads::ThrowIfRefused(const TargetRun& target) const {
  bool masked_snapshot = manifest_.masking && !manifest_.masking->columns.empty();
  if (target.safety.masked_target && !masked_snapshot && !MasksInStream())
    throw Error(ErrorKind::kRefused,
                fmt::format("refusing to restore into {}: it is marked masked = true and snapshot "
                            "{} holds unmasked data (a restore masks it only with [mask] rules in "
                            "the config)",
                            target.report->target, options_.dir.string()));
  if (!target.plan.ok())
    throw Error(
        ErrorKind::kPlan,
        fmt::format("the snapshot cannot be restored into {} (nothing was written):\n  - {}",
                    target.report->target, fmt::join(target.plan.errors, "\n  - ")));
}

// Sets each target's resource (its server) and rank (its turn): see
// TargetOrder.
void SnapshotLoads::ScheduleTargets(std::vector<TargetRun>& targets) {
  std::vector<std::string> servers;
  std::vector<int> targets_on;  // per server: targets scheduled so far
  for (size_t i = 0; i < targets.size(); ++i) {
    TargetFiles& files = FilesOf(i);
    auto found = std::find(servers.begin(), servers.end(), targets[i].server);
    files.resource = static_cast<size_t>(found - servers.begin());
    if (found == servers.end()) {
      servers.push_back(targets[i].server);
      targets_on.push_back(0);
    }
    switch (options_.order) {
      case TargetOrder::kAuto:
        files.rank = targets_on[files.resource]++;
        break;
      case TargetOrder::kTogether:
        files.rank = 0;
        break;
      case TargetOrder::kInTurn:
        files.rank = static_cast<int>(i);
        files.resource = 0;  // one pool of workers for all
        break;
    }
    waves_ = std::max(waves_, files.rank + 1);
  }
  servers_ = options_.order == TargetOrder::kInTurn ? 1 : servers.size();
}

// The file tasks, wave by wave: a wave's targets taking a file with the same
// statement and projection share its task.
void SnapshotLoads::PlanJobs(const std::vector<TargetRun>& targets) {
  tasks_left_.assign(manifest_.tables.size(), 0);
  for (size_t i = 0; i < targets.size(); ++i) {
    FilesOf(i).files_left.assign(manifest_.tables.size(), 0);
    FilesOf(i).first_start.assign(manifest_.tables.size(), std::nullopt);
  }
  for (int rank = 0; rank < waves_; ++rank)
    for (size_t s = 0; s < manifest_.tables.size(); ++s) {
      const SnapshotTable& snapshot_table = manifest_.tables[s];
      for (const SnapshotFile& file : snapshot_table.files) {
        // By statement, projection and masking: one stream of rows per task.
        std::map<std::tuple<std::string, std::vector<bool>, std::string>, std::vector<size_t>>
            groups;
        for (size_t i = 0; i < targets.size(); ++i) {
          const TargetFiles& files = files_[i];
          auto route = files.routes.find(snapshot_table.name);
          if (files.rank != rank || route == files.routes.end() ||
              targets[i].loaded.count(file.path))
            continue;
          const PlannedTable& table = targets[i].plan.tables[route->second.plan_index];
          std::string sql =
              fmt::format("COPY {}{} FROM STDIN {}", TargetRelation(table, file).Quoted(),
                          route->second.column_list, FormatOption(snapshot_table.format));
          groups[{sql, route->second.keep.value_or(std::vector<bool>{}),
                  route->second.mask_signature}]
              .push_back(i);
        }
        for (auto& [key, members] : groups) {
          jobs_.push_back({s, &file, std::get<0>(key), members, rank});
          ++tasks_left_[s];
          for (size_t i : members) ++files_[i].files_left[s];
        }
      }
    }
}

std::vector<Progress::Item> SnapshotLoads::ScheduleLoads(std::vector<TargetRun>& targets) {
  ScheduleTargets(targets);
  PlanJobs(targets);
  std::vector<Progress::Item> items;
  for (size_t s = 0; s < manifest_.tables.size(); ++s) {
    const SnapshotTable& table = manifest_.tables[s];
    // Progress counts rows sent: a file restored by k tasks sends its rows k times.
    int64_t sends = table.files.empty() || tasks_left_.empty()
                        ? 0
                        : static_cast<int64_t>(tasks_left_[s] / table.files.size());
    int64_t raw_bytes = 0;
    for (const auto& file : table.files) raw_bytes += static_cast<int64_t>(file.file.raw_bytes);
    items.push_back(
        {table.name.Display(), static_cast<int64_t>(table.rows) * sends, raw_bytes * sends});
  }
  return items;
}

std::vector<size_t> SnapshotLoads::Gate(size_t target, const QualifiedName& relation) const {
  const TargetFiles& files = files_[target];
  std::vector<size_t> out;
  for (const auto& [written, id] : files.writes)
    if (written == relation) out.push_back(id);
  if (!out.empty()) return out;
  auto table = files.table_tasks.find(relation);
  return table != files.table_tasks.end() ? table->second : files.all_tasks;
}

int SnapshotLoads::Workers() const { return options_.jobs * static_cast<int>(servers_); }

Clock::time_point SnapshotLoads::LastLoad() const {
  std::lock_guard lock(mutex_);
  return last_load_;
}

void SnapshotLoads::AddLoads(LoadRun& run, TaskGraph& graph) {
  std::vector<TargetRun>& targets = run.targets();
  const std::chrono::milliseconds unit_delay = TestUnitDelay();
  // Waves of targets by rank: later waves rank after.
  for (int rank = 0; rank < waves_; ++rank) {
    size_t first = graph.size();
    for (const FileJob& job : jobs_) {
      if (job.rank != rank) continue;
      Task task;
      task.name = fmt::format("restore {} ({})", manifest_.tables[job.table].name.Display(),
                              job.file->path);
      task.weight = static_cast<double>(job.file->file.raw_bytes) + 1;
      task.fatal = true;
      task.run = [this, &run, &job, unit_delay](WorkerSession& session, std::stop_token stop) {
        RunJob(run, job, session, stop);
        if (unit_delay.count() > 0) std::this_thread::sleep_for(unit_delay);
      };
      for (size_t i : job.targets)
        if (std::find(task.resources.begin(), task.resources.end(), files_[i].resource) ==
            task.resources.end())
          task.resources.push_back(files_[i].resource);
      size_t id = graph.Add(std::move(task));
      for (size_t i : job.targets) {
        TargetFiles& files = files_[i];
        const PlannedTable& table =
            targets[i].plan.tables[files.routes.at(manifest_.tables[job.table].name).plan_index];
        files.writes.push_back({TargetRelation(table, *job.file), id});
        files.table_tasks[table.name].push_back(id);
        files.all_tasks.push_back(id);
      }
    }
    for (size_t i = 0; i < targets.size(); ++i)
      if (files_[i].rank == rank)
        run.AddRebuild(
            i, graph, [this, i](const QualifiedName& relation) { return Gate(i, relation); },
            files_[i].resource);
    graph.SetRank(first, rank);
  }
  graph.LimitPerResource(options_.jobs);
  log_.Info("restoring {} tables from {} into {} target(s){}, {} jobs per server",
            manifest_.tables.size(), options_.dir.string(), targets.size(),
            targets.size() == 1 ? ""
            : waves_ == 1       ? fmt::format(" on {} server(s), all at once", servers_)
            : servers_ == 1     ? " in turn"
                                : fmt::format(" on {} servers, in {} turns", servers_, waves_),
            options_.jobs);
}

// One file into its targets. A target's failure is its own (LoadRun::
// MarkFailed); a failure of the file itself stops the run.
void SnapshotLoads::RunJob(LoadRun& run, const FileJob& job, WorkerSession& session,
                           std::stop_token stop) {
  const SnapshotTable& snapshot_table = manifest_.tables[job.table];
  if (run.progress().MarkStarted(job.table))
    log_.observer().TableStarted(snapshot_table.name.Display());
  auto started = Clock::now();
  std::vector<size_t> live;  // the targets that have not failed, registered for cancellation
  std::vector<RestoreTarget> outs = OpenOuts(run, job, session, live);
  auto unregister = [&] {
    for (size_t k = 0; k < live.size(); ++k) run.EndCopy(live[k], outs[k].connection);
  };
  const TableRoute& route = files_[job.targets.front()].routes.at(snapshot_table.name);
  RowDigest projected;
  StreamCounters pieces;  // progress advances by whole files, in rows
  try {
    if (!outs.empty()) {
      SnapshotFileReader reader = SnapshotFileReader::Open(options_.dir / job.file->path);
      std::optional<MaskRows> masker;  // one per stream: it is not thread-safe
      if (!route.masks.empty()) masker.emplace(StreamFormat::kBinary, route.masks);
      RestoreCopy(reader, snapshot_table.format, route.keep, outs,
                  fmt::format("{} ({})", snapshot_table.name.Display(), job.file->path), &pieces,
                  stop, route.rewrites() ? &projected : nullptr, OnTargetFailure::kDropTarget,
                  masker ? std::vector<RowTransform*>{&*masker} : std::vector<RowTransform*>{});
    }
  } catch (...) {
    unregister();
    for (const RestoreTarget& out : outs) RollBack(*out.connection);
    throw;
  }
  unregister();
  CommitOuts(run, job, outs, live, route.rewrites() ? projected : job.file->digest);
  Account(run, job, outs, live, projected, started);
}

// Each live target of `job` in a transaction, its COPY registered: the COPY
// and the record of the file commit together.
std::vector<RestoreTarget> SnapshotLoads::OpenOuts(LoadRun& run, const FileJob& job,
                                                   WorkerSession& session,
                                                   std::vector<size_t>& live) {
  std::vector<RestoreTarget> outs;
  for (size_t i : job.targets) {
    if (run.Failed(i)) continue;
    Connection* connection = nullptr;
    try {
      connection = &session.Target(i);
      connection->Exec("BEGIN");
    } catch (const Error& error) {
      run.MarkFailed(i, error);
      continue;
    }
    if (!run.StartCopy(i, connection)) {
      RollBack(*connection);
      continue;
    }
    live.push_back(i);
    outs.push_back({connection, job.sql});
  }
  return outs;
}

// Commits each target's COPY with the record of the file (its rows' digest,
// for a resumed run's verification); a target that failed rolls back.
void SnapshotLoads::CommitOuts(LoadRun& run, const FileJob& job, std::vector<RestoreTarget>& outs,
                               const std::vector<size_t>& live, const RowDigest& sent) {
  for (size_t k = 0; k < live.size(); ++k) {
    if (outs[k].failure) {
      RollBack(*outs[k].connection);
      run.MarkFailed(live[k], *outs[k].failure);
      continue;
    }
    try {
      RecordRestoredFile(*outs[k].connection, ResumeKey(), job.file->path, sent.ToString());
      outs[k].connection->Exec("COMMIT");
    } catch (const Error& error) {
      RollBack(*outs[k].connection);
      outs[k].failure = error;
      run.MarkFailed(live[k], error);
    }
  }
}

// Progress, the table's end, and each target's report.
void SnapshotLoads::Account(LoadRun& run, const FileJob& job,
                            const std::vector<RestoreTarget>& outs, const std::vector<size_t>& live,
                            const RowDigest& projected, Clock::time_point started) {
  const SnapshotTable& snapshot_table = manifest_.tables[job.table];
  Progress& progress = run.progress();
  progress.Counters(job.table).messages += job.file->rows;
  progress.Counters(job.table).bytes += job.file->file.raw_bytes;
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  last_load_ = now;
  if (--tasks_left_[job.table] == 0) {
    progress.MarkDone(job.table);
    log_.observer().TableDone(snapshot_table.name.Display(),
                              progress.Counters(job.table).messages.load(),
                              progress.Counters(job.table).bytes.load());
  }
  for (size_t k = 0; k < live.size(); ++k) {
    if (outs[k].failure) continue;
    TargetFiles& files = files_[live[k]];
    RunReport& report = *run.targets()[live[k]].report;
    size_t t = files.routes.at(snapshot_table.name).plan_index;
    if (!files.first_start[job.table]) files.first_start[job.table] = started;
    report.tables[t].rows += outs[k].rows;
    report.tables[t].bytes += job.file->file.raw_bytes;
    files.projected[t].Merge(projected);
    if (--files.files_left[job.table] == 0)
      report.tables[t].seconds =
          std::chrono::duration<double>(now - *files.first_start[job.table]).count();
  }
}

SequenceOutcome SnapshotLoads::Sequences(TargetRun& target) {
  return SyncSequences(
      target.plan,
      [&](const QualifiedName& name) -> std::optional<std::string> {
        for (const auto& sequence : manifest_.sequences)
          if (sequence.name == name && sequence.last_value)
            return std::to_string(*sequence.last_value);
        return std::nullopt;
      },
      *target.control);
}

// Each restored table's rows against the manifest's digest (or, when
// projected or masked, the digest of the rows sent).
void SnapshotLoads::Verify(TargetRun& target, std::stop_token stop) {
  const TargetFiles& files = files_[target.index];
  std::vector<const TableRoute*> routes;
  for (const auto& [name, route] : files.routes) routes.push_back(&route);
  std::vector<std::optional<RowDigest>> found(routes.size());
  auto errors = ParallelFor(
      routes.size(), options_.jobs,
      [&] {
        Connection connection = OpenTarget(target.url);
        PinReadSettings(connection);
        return connection;
      },
      [&](Connection& connection, size_t i) {
        const TableRoute& route = *routes[i];
        const PlannedTable& table = target.plan.tables[route.plan_index];
        std::string columns = route.column_list.empty()
                                  ? ""
                                  : route.column_list.substr(2, route.column_list.size() - 3);
        std::string sql = fmt::format("COPY (SELECT {} FROM {}{}) TO STDOUT {}", columns,
                                      table.target_kind == TableKind::kTable ? "ONLY " : "",
                                      table.name.Quoted(), FormatOption(route.snapshot->format));
        found[i] = DigestCopy(connection, sql, route.snapshot->format, table.name.Display(), stop);
      });
  RunReport& report = *target.report;
  for (size_t i = 0; i < routes.size(); ++i) {
    const TableRoute& route = *routes[i];
    if (errors[i]) throw Error(ExceptionMessage(errors[i]));
    RowDigest expected =
        route.rewrites() ? files.projected[route.plan_index] : route.snapshot->digest;
    report.tables[route.plan_index].verification = {{expected.rows(), expected.ToString()},
                                                    {found[i]->rows(), found[i]->ToString()}};
  }
  report.verified = true;
  auto mismatched = report.Mismatched();
  if (!mismatched.empty())
    throw Error(ErrorKind::kMismatch,
                fmt::format("verification failed on {}: {} differ from the snapshot", report.target,
                            fmt::join(mismatched, ", ")));
}

}  // namespace freshet

namespace freshet {

void SnapshotLoads::Loaded(TargetRun& target) {
  if (manifest_.source_xmin.empty()) return;  // captured before freshet recorded it
  if (!manifest_.subset.empty()) return;      // a subset is no base for incremental runs
  // Captured masked: the rows are masked but this plan does not say how, so
  // a state recorded now would let an unmasked incremental run add original
  // rows to them. None is recorded: the next incremental run refreshes whole.
  if (manifest_.masking) return;
  Plan modes = target.plan;
  ChooseModes(modes, manifest_.catalog, target_catalogs_.at(target.index), {}, {});
  if (auto problem = RecordFullLoad(*target.control, manifest_.catalog, manifest_.source,
                                    {std::stoull(manifest_.source_xmin), manifest_.source_snapshot},
                                    modes, NewRunId()))
    target.report->warnings.push_back(*problem);
}

}  // namespace freshet
