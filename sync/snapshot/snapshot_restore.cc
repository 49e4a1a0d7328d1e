#include "sync/snapshot/snapshot_restore.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "copy/conninfo.h"
#include "copy/copy_file.h"
#include "schema/type_limits.h"
#include "sync/engine/journal.h"
#include "sync/engine/parallel.h"
#include "sync/engine/progress.h"
#include "sync/engine/restore_tasks.h"
#include "sync/engine/run_steps.h"
#include "sync/engine/sequences.h"
#include "sync/engine/source_snapshot.h"
#include "sync/engine/task_graph.h"
#include "sync/engine/test_hooks.h"
#include "sync/snapshot/snapshot_fit_check.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

const char* FormatOption(StreamFormat format) {
  return format == StreamFormat::kBinary ? "(FORMAT binary)" : "(FORMAT text)";
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

// How one snapshot table goes into one target.
struct TableRoute {
  size_t plan_index = 0;
  const SnapshotTable* snapshot = nullptr;
  std::optional<std::vector<bool>> keep;  // none: every column of the files
  std::string column_list;                // " (a, b)"
};

struct TargetRun {
  SnapshotTarget endpoint;
  std::string server;   // the database server's identity
  size_t resource = 0;  // this target's server, among the run's
  int rank = 0;         // restored after targets of lower rank
  RunReport* report = nullptr;
  std::optional<Connection> control;
  std::unique_ptr<CancelOnStop> cancel_control;  // a stop cancels its queries
  std::unique_ptr<Journal> journal;
  Plan plan;
  std::map<QualifiedName, TableRoute> routes;  // by table name
  std::vector<RowDigest> projected;            // per plan table: rows sent, when projected
  std::vector<std::pair<QualifiedName, size_t>> writes;  // relation -> task
  std::map<QualifiedName, std::vector<size_t>> table_tasks;
  std::vector<size_t> all_tasks;
  std::unique_ptr<RestoreTasks> rebuild;
  // Per snapshot table: file tasks left for this target, and the first start.
  std::vector<size_t> files_left;
  std::vector<std::optional<std::chrono::steady_clock::time_point>> first_start;
  // Targets fail alone: the first failure is kept, the target's remaining
  // work is skipped and its COPYs under way (`copying`) are cancelled.
  std::optional<Error> failure;
  std::vector<Connection*> copying;
  // Resuming a restore of this snapshot that died: the files it loaded
  // (path -> digest of the rows sent) are not loaded again.
  bool resume = false;
  std::map<std::string, std::string> loaded;
};

// A snapshot's identity in the target's record of loaded files.
std::string SnapshotKey(const SnapshotManifest& manifest) {
  return fmt::format("{} {} {}", manifest.created_at, manifest.snapshot_time, manifest.source);
}

// Opens the target's journal and decides how the run starts: when a restore
// of this snapshot died (its set-aside still journaled, some files recorded
// as loaded), it resumes with the files not loaded; otherwise whatever an
// interrupted run left is put back first.
void StartTarget(const SnapshotManifest& manifest, int jobs, TargetRun& run, const RunLog& log) {
  run.journal = std::make_unique<Journal>(*run.control, NewRunId());
  size_t files = 0;
  for (const auto& table : manifest.tables) files += table.files.size();
  std::map<std::string, std::string> loaded = run.journal->RestoredFiles(SnapshotKey(manifest));
  if (!loaded.empty() && run.journal->HasSetAsideEntries()) {
    run.resume = true;
    run.loaded = std::move(loaded);
    log.Warn(
        "{}: resuming a restore of this snapshot that was interrupted: {} of {} files "
        "are already loaded",
        run.report->target, run.loaded.size(), files);
    run.report->warnings.push_back(
        fmt::format("resumed an interrupted restore: {} of {} files were already loaded",
                    run.loaded.size(), files));
    return;
  }
  if (run.journal->HasEntries()) {
    log.Warn("{}: an earlier run was interrupted; restoring what it set aside first",
             run.report->target);
    RecordRestore(run.journal->Restore(run.endpoint.url, jobs), *run.report,
                  RestoreCause::kInterruptedRun, log);
  }
}

const Column* FindColumn(const Catalog& catalog, const QualifiedName& table,
                         const std::string& column) {
  const Table* found = catalog.Find(table);
  return found ? found->FindColumn(column) : nullptr;
}

// Plans one target against the snapshot; problems become plan errors.
void PlanTarget(const fs::path& dir, const SnapshotManifest& manifest,
                const Catalog& target_catalog, const PlanOptions& options, int jobs, TargetRun& run,
                std::stop_token stop, const RunLog& log) {
  PlanOptions no_chunks = options;
  no_chunks.chunk_bytes = -1;  // the files are the streams
  // By default a restore covers what was captured, platform tables included.
  if (no_chunks.includes.empty())
    for (const auto& table : manifest.tables) no_chunks.includes.push_back(table.name.Quoted());
  run.plan = BuildPlan(manifest.catalog, target_catalog, no_chunks);
  for (size_t t = 0; t < run.plan.tables.size(); ++t) {
    const PlannedTable& table = run.plan.tables[t];
    const SnapshotTable* snapshot = manifest.Find(table.name);
    if (!snapshot) {
      run.plan.errors.push_back(fmt::format("{} is in the snapshot's catalog but was not captured",
                                            table.name.Display()));
      continue;
    }
    TableRoute route{t, snapshot, std::nullopt, ""};
    std::vector<bool> keep;
    std::vector<std::string> kept;
    for (const auto& column : snapshot->columns) {
      bool shared = std::find(table.mapping.columns.begin(), table.mapping.columns.end(), column) !=
                    table.mapping.columns.end();
      keep.push_back(shared);
      if (!shared) continue;
      kept.push_back(column);
      if (snapshot->format != StreamFormat::kBinary) continue;
      const Column* from = FindColumn(manifest.catalog, table.name, column);
      const Column* to = FindColumn(target_catalog, table.name, column);
      if (from && to && TypeWithoutModifiers(from->type) != TypeWithoutModifiers(to->type))
        run.plan.errors.push_back(fmt::format(
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
        run.plan.errors.push_back(fmt::format("snapshot file {} ({}) has no place in {}", file.path,
                                              file.relation.Display(), table.name.Display()));
    }
    run.routes[table.name] = std::move(route);
  }
  run.projected.resize(run.plan.tables.size());
  if (!run.plan.ok()) return;
  for (const auto& [name, route] : run.routes) {
    auto narrowed =
        NarrowedColumns(manifest.catalog, target_catalog, run.plan.tables[route.plan_index]);
    for (auto& error : CheckSnapshotFits(dir, *route.snapshot, narrowed, jobs, stop, log))
      run.plan.errors.push_back(std::move(error));
  }
}

// Sets each run's resource (its server) and rank (its turn), and returns the
// number of servers: see TargetOrder.
size_t ScheduleTargets(TargetOrder order, std::vector<TargetRun>& runs) {
  std::vector<std::string> servers;
  std::vector<int> targets_on;  // per server: targets scheduled so far
  for (size_t i = 0; i < runs.size(); ++i) {
    TargetRun& run = runs[i];
    auto found = std::find(servers.begin(), servers.end(), run.server);
    run.resource = static_cast<size_t>(found - servers.begin());
    if (found == servers.end()) {
      servers.push_back(run.server);
      targets_on.push_back(0);
    }
    switch (order) {
      case TargetOrder::kAuto:
        run.rank = targets_on[run.resource]++;
        break;
      case TargetOrder::kTogether:
        run.rank = 0;
        break;
      case TargetOrder::kInTurn:
        run.rank = static_cast<int>(i);
        run.resource = 0;  // one pool of workers for all
        break;
    }
  }
  return order == TargetOrder::kInTurn ? 1 : servers.size();
}

QualifiedName TargetRelation(const PlannedTable& table, const SnapshotFile& file) {
  for (const auto& unit : table.units)
    if (unit.source == file.relation) return unit.target;
  return table.units.empty() ? table.name : table.units.front().target;
}

void VerifyTarget(TargetRun& run, int jobs, std::stop_token stop) {
  std::vector<const TableRoute*> routes;
  for (const auto& [name, route] : run.routes) routes.push_back(&route);
  std::vector<std::optional<RowDigest>> found(routes.size());
  auto errors = ParallelFor(
      routes.size(), jobs,
      [&] {
        Connection target = OpenTarget(run.endpoint.url);
        PinReadSettings(target);
        return target;
      },
      [&](Connection& target, size_t i) {
        const TableRoute& route = *routes[i];
        const PlannedTable& table = run.plan.tables[route.plan_index];
        std::string columns = route.column_list.empty()
                                  ? ""
                                  : route.column_list.substr(2, route.column_list.size() - 3);
        std::string sql = fmt::format("COPY (SELECT {} FROM {}{}) TO STDOUT {}", columns,
                                      table.target_kind == TableKind::kTable ? "ONLY " : "",
                                      table.name.Quoted(), FormatOption(route.snapshot->format));
        found[i] = DigestCopy(target, sql, route.snapshot->format, table.name.Display(), stop);
      });
  for (size_t i = 0; i < routes.size(); ++i) {
    const TableRoute& route = *routes[i];
    if (errors[i]) throw Error(ExceptionMessage(errors[i]));
    RowDigest expected = route.keep ? run.projected[route.plan_index] : route.snapshot->digest;
    TableVerification verification{{expected.rows(), expected.ToString()},
                                   {found[i]->rows(), found[i]->ToString()}};
    run.report->tables[route.plan_index].verification = verification;
  }
  run.report->verified = true;
  auto mismatched = run.report->Mismatched();
  if (!mismatched.empty())
    throw Error(ErrorKind::kMismatch,
                fmt::format("verification failed on {}: {} differ from the snapshot",
                            run.report->target, fmt::join(mismatched, ", ")));
}

// After a failed load: the target's journal puts back what was set aside;
// what it cannot is left for `repair`. If the failure cut the control
// connection (and the run's lock with it), over a new one, locked again.
void PutBackAfterFailure(TargetRun& run, int jobs, const RunLog& log) {
  try {
    bool alive = true;
    try {
      run.control->Exec("SELECT 1");
    } catch (const Error&) {
      alive = false;
    }
    if (!alive) {
      run.journal.reset();
      run.control.emplace(OpenTarget(run.endpoint.url));
      LockTarget(*run.control);
      run.journal = std::make_unique<Journal>(*run.control, NewRunId());
    }
    RecordRestore(run.journal->Restore(run.endpoint.url, jobs), *run.report,
                  RestoreCause::kThisRunFailed, log);
  } catch (const Error& error) {
    log.Error("could not restore {} after the failure ({}); run `freshet repair`",
              run.report->target, error.what());
  }
  run.report->warnings.push_back(
      "the target's restored tables were truncated and are only partly loaded: rerun the "
      "restore");
}

// After the run: each failed target's report says why; one Error sums up.
void ThrowIfTargetsFailed(std::vector<TargetRun>& runs) {
  std::vector<std::string> failed;
  std::optional<ErrorKind> kind;
  std::string only;
  for (auto& run : runs) {
    if (!run.failure) continue;
    run.report->ok = false;
    run.report->error = run.failure->what();
    if (!kind) kind = run.failure->kind();
    only = run.failure->what();
    failed.push_back(fmt::format("{}: {}", run.report->target, run.failure->what()));
  }
  if (failed.empty()) return;
  if (runs.size() == 1) throw TargetsFailed(*kind, only);
  throw TargetsFailed(*kind, fmt::format("the restore failed on {} of {} targets (the others are "
                                         "restored):\n  - {}",
                                         failed.size(), runs.size(), fmt::join(failed, "\n  - ")));
}

}  // namespace

void RunRestore(const RestoreOptions& options, std::vector<RunReport>& reports,
                std::stop_token stop) {
  const RunLog log(options.observer ? *options.observer : DefaultObserver());
  auto started = std::chrono::steady_clock::now();
  if (options.targets.empty()) throw Error(ErrorKind::kUsage, "no target: pass --to URL");
  SnapshotManifest manifest = ReadManifest(options.dir);
  std::string source = fmt::format("snapshot {} ({} at {})", options.dir.string(), manifest.source,
                                   manifest.snapshot_time);

  // 1. Nothing is written anywhere until the snapshot and every target check out.
  std::vector<TargetRun> runs(options.targets.size());
  reports.assign(options.targets.size(), RunReport{});
  for (size_t i = 0; i < runs.size(); ++i) {
    ConnInfo info = ConnInfo::Parse(options.targets[i].url);
    reports[i].command = "snapshot restore";
    reports[i].started_at = NowIso();
    reports[i].source = source;
    reports[i].target = info.Describe();
    for (size_t j = 0; j < i; ++j)
      if (reports[j].target == reports[i].target)
        throw Error(ErrorKind::kUsage, fmt::format("{} is named twice", reports[i].target));
    CheckTargetAllowed(info, options.targets[i].safety);
    runs[i].endpoint = options.targets[i];
    runs[i].report = &reports[i];
  }
  CheckFiles(options.dir, manifest, options.jobs, stop);
  ThrowIfStopped(stop, "snapshot restore");
  for (auto& run : runs) {
    run.control.emplace(OpenTarget(run.endpoint.url));
    run.cancel_control = std::make_unique<CancelOnStop>(*run.control, stop);
    LockTarget(*run.control);
    run.server = RunningServerKey(*run.control);
    StartTarget(manifest, options.jobs, run, log);
    Catalog target_catalog = ReadCatalog(*run.control);
    for (const auto& [table, name] : run.journal->PendingValidations())
      for (auto& fk : target_catalog.foreign_keys)
        if (fk.table == table && fk.name == name) fk.validated = true;
    PlanTarget(options.dir, manifest, target_catalog, options.plan, options.jobs, run, stop, log);
    FillPlanReport(run.plan, *run.report);
    for (const auto& [name, route] : run.routes)  // the files' format, whatever sync would use
      run.report->tables[route.plan_index].format =
          route.snapshot->format == StreamFormat::kBinary ? "binary" : "text";
    run.report->command = "snapshot restore";
    run.report->strategy = run.plan.strategy == LoadStrategy::kBulk ? "bulk" : "ordered";
    run.report->indexes_rebuilt = run.plan.indexes.size();
    if (!run.plan.ok())
      throw Error(ErrorKind::kPlan,
                  fmt::format("the snapshot cannot be restored into {} (nothing was written):\n  - "
                              "{}",
                              run.report->target, fmt::join(run.plan.errors, "\n  - ")));
  }

  ThrowIfStopped(stop, "snapshot restore");  // nothing written yet
  // 2. Set aside and truncate on every target, then one graph: each file
  //    decompressed once into every target that takes it the same way, and
  //    each target's rebuild following its own loads.
  for (auto& run : runs) {
    if (run.resume) {  // set aside and truncated by the run that died
      for (const auto& [name, route] : run.routes)
        for (const auto& file : route.snapshot->files)
          if (auto found = run.loaded.find(file.path); found != run.loaded.end())
            run.projected[route.plan_index].Merge(RowDigest::Parse(found->second));
      continue;
    }
    PrepareTarget(*run.control, *run.journal, run.plan, options.lock_timeout, run.endpoint.url,
                  log);
  }
  const std::string snapshot_key = SnapshotKey(manifest);
  std::optional<Progress> progress;  // made once the tasks are known
  std::mutex mutex;
  TaskGraph graph;
  // Per snapshot table: file tasks left, and when its first one started.
  std::vector<size_t> tasks_left(manifest.tables.size(), 0);
  auto last_load = std::chrono::steady_clock::now();
  const std::chrono::milliseconds unit_delay = TestUnitDelay();
  // Records target i's first failure and stops its COPYs under way.
  auto mark_failed = [&](size_t i, const Error& error) {
    std::lock_guard lock(mutex);
    TargetRun& run = runs[i];
    if (run.failure) return;
    run.failure = error;
    log.Error("{}; the rest of the restore into {} is skipped, the other targets go on",
              error.what(), run.report->target);
    for (Connection* connection : run.copying) connection->Cancel();
  };
  // Adds the file tasks for `members_wanted` (targets).
  auto add_file_tasks = [&](const std::vector<size_t>& members_wanted) {
    for (size_t s = 0; s < manifest.tables.size(); ++s) {
      const SnapshotTable& snapshot_table = manifest.tables[s];
      for (const SnapshotFile& file : snapshot_table.files) {
        // Targets taking this file with the same statement and projection share a task.
        std::map<std::pair<std::string, std::vector<bool>>, std::vector<size_t>> groups;
        for (size_t i : members_wanted) {
          auto route = runs[i].routes.find(snapshot_table.name);
          if (route == runs[i].routes.end() || runs[i].loaded.count(file.path)) continue;
          const PlannedTable& table = runs[i].plan.tables[route->second.plan_index];
          std::string sql =
              fmt::format("COPY {}{} FROM STDIN {}", TargetRelation(table, file).Quoted(),
                          route->second.column_list, FormatOption(snapshot_table.format));
          groups[{sql, route->second.keep.value_or(std::vector<bool>{})}].push_back(i);
        }
        for (const auto& [key, members] : groups) {
          Task task;
          task.name = fmt::format("restore {} ({})", snapshot_table.name.Display(), file.path);
          task.weight = static_cast<double>(file.file.raw_bytes) + 1;
          task.fatal = true;
          std::string sql = key.first;
          std::vector<size_t> targets = members;
          ++tasks_left[s];
          for (size_t i : targets) ++runs[i].files_left[s];
          task.run = [&, s, sql, targets](WorkerSession& session, std::stop_token token) {
            if (progress->MarkStarted(s))
              log.observer().TableStarted(manifest.tables[s].name.Display());
            auto started_at = std::chrono::steady_clock::now();
            // The targets that have not failed, registered for cancellation.
            std::vector<size_t> live;
            std::vector<RestoreTarget> outs;
            for (size_t i : targets) {
              {
                std::lock_guard lock(mutex);
                if (runs[i].failure) continue;
              }
              Connection* connection = nullptr;
              try {
                connection = &session.Target(i);
              } catch (const Error& error) {
                mark_failed(i, error);
                continue;
              }
              // The COPY and the record of the file commit together.
              try {
                connection->Exec("BEGIN");
              } catch (const Error& error) {
                mark_failed(i, error);
                continue;
              }
              std::lock_guard lock(mutex);
              if (runs[i].failure) continue;
              runs[i].copying.push_back(connection);
              live.push_back(i);
              outs.push_back({connection, sql});
            }
            auto roll_back = [](Connection& connection) {
              try {
                connection.Exec("ROLLBACK");
              } catch (const Error&) {  // a dead connection has nothing to roll back
              }
            };
            auto unregister = [&] {
              std::lock_guard lock(mutex);
              for (size_t k = 0; k < live.size(); ++k)
                std::erase(runs[live[k]].copying, outs[k].connection);
            };
            const TableRoute& route = runs[targets.front()].routes.at(snapshot_table.name);
            RowDigest projected;
            StreamCounters pieces;  // progress advances by whole files, in rows
            try {
              if (!outs.empty()) {
                SnapshotFileReader reader = SnapshotFileReader::Open(options.dir / file.path);
                RestoreCopy(reader, snapshot_table.format, route.keep, outs,
                            fmt::format("{} ({})", snapshot_table.name.Display(), file.path),
                            &pieces, token, route.keep ? &projected : nullptr,
                            OnTargetFailure::kDropTarget);
              }
            } catch (...) {
              unregister();
              for (const RestoreTarget& out : outs) roll_back(*out.connection);
              throw;
            }
            unregister();
            for (size_t k = 0; k < live.size(); ++k) {
              if (outs[k].failure) {
                roll_back(*outs[k].connection);
                mark_failed(live[k], *outs[k].failure);
                continue;
              }
              try {
                RecordRestoredFile(*outs[k].connection, snapshot_key, file.path,
                                   (route.keep ? projected : file.digest).ToString());
                outs[k].connection->Exec("COMMIT");
              } catch (const Error& error) {
                roll_back(*outs[k].connection);
                outs[k].failure = error;
                mark_failed(live[k], error);
              }
            }
            if (unit_delay.count() > 0) std::this_thread::sleep_for(unit_delay);
            progress->Counters(s).messages += file.rows;
            progress->Counters(s).bytes += file.file.raw_bytes;
            std::lock_guard lock(mutex);
            auto now = std::chrono::steady_clock::now();
            last_load = now;
            if (--tasks_left[s] == 0) {
              progress->MarkDone(s);
              log.observer().TableDone(snapshot_table.name.Display(),
                                       progress->Counters(s).messages.load(),
                                       progress->Counters(s).bytes.load());
            }
            for (size_t k = 0; k < live.size(); ++k) {
              if (outs[k].failure) continue;
              TargetRun& run = runs[live[k]];
              size_t t = run.routes.at(snapshot_table.name).plan_index;
              if (!run.first_start[s]) run.first_start[s] = started_at;
              run.report->tables[t].rows += outs[k].rows;
              run.report->tables[t].bytes += file.file.raw_bytes;
              run.projected[t].Merge(projected);
              if (--run.files_left[s] == 0)
                run.report->tables[t].seconds =
                    std::chrono::duration<double>(now - *run.first_start[s]).count();
            }
          };
          for (size_t i : targets)
            if (std::find(task.resources.begin(), task.resources.end(), runs[i].resource) ==
                task.resources.end())
              task.resources.push_back(runs[i].resource);
          size_t id = graph.Add(std::move(task));
          for (size_t i : members) {
            const PlannedTable& table =
                runs[i].plan.tables[runs[i].routes.at(snapshot_table.name).plan_index];
            runs[i].writes.push_back({TargetRelation(table, file), id});
            runs[i].table_tasks[table.name].push_back(id);
            runs[i].all_tasks.push_back(id);
          }
        }
      }
    }
  };
  auto add_rebuild_tasks = [&](size_t i) {
    TargetRun& run = runs[i];
    run.rebuild = std::make_unique<RestoreTasks>(run.journal->Entries(), *run.control, i);
    run.rebuild->AddTo(graph, [&run](const QualifiedName& relation) {
      std::vector<size_t> out;
      for (const auto& [target, id] : run.writes)
        if (target == relation) out.push_back(id);
      if (!out.empty()) return out;
      auto table = run.table_tasks.find(relation);
      return table != run.table_tasks.end() ? table->second : run.all_tasks;
    });
  };
  for (auto& run : runs) {
    run.files_left.assign(manifest.tables.size(), 0);
    run.first_start.assign(manifest.tables.size(), std::nullopt);
  }
  // Waves of targets by rank: a wave's targets (on different servers, unless
  // TargetOrder::kTogether) share each file's task; later waves rank after.
  size_t servers = ScheduleTargets(options.order, runs);
  int waves = 0;
  for (const auto& run : runs) waves = std::max(waves, run.rank + 1);
  for (int rank = 0; rank < waves; ++rank) {
    size_t first = graph.size();
    std::vector<size_t> members;
    for (size_t i = 0; i < runs.size(); ++i)
      if (runs[i].rank == rank) members.push_back(i);
    add_file_tasks(members);
    for (size_t i : members) {
      size_t rebuild = graph.size();
      add_rebuild_tasks(i);
      graph.SetResources(rebuild, {runs[i].resource});
      // A failed target's journal puts back what is left, after the run.
      graph.CheckBefore(rebuild, [&, i] {
        std::lock_guard lock(mutex);
        if (runs[i].failure) throw Error("skipped: the restore into this target failed");
      });
    }
    graph.SetRank(first, rank);
  }
  graph.LimitPerResource(options.jobs);
  // Progress counts rows sent: a file restored by k tasks sends its rows k times.
  std::vector<Progress::Item> items;
  for (size_t s = 0; s < manifest.tables.size(); ++s) {
    const SnapshotTable& table = manifest.tables[s];
    int64_t sends = table.files.empty() ? 0 : tasks_left[s] / table.files.size();
    int64_t raw_bytes = 0;
    for (const auto& file : table.files) raw_bytes += static_cast<int64_t>(file.file.raw_bytes);
    items.push_back(
        {table.name.Display(), static_cast<int64_t>(table.rows) * sends, raw_bytes * sends});
  }
  progress.emplace(std::move(items), options.interactive_progress, std::chrono::seconds(10), log);
  log.Info("restoring {} tables from {} into {} target(s){}, {} jobs per server",
           manifest.tables.size(), options.dir.string(), runs.size(),
           runs.size() == 1 ? ""
           : waves == 1     ? fmt::format(" on {} server(s), all at once", servers)
           : servers == 1   ? " in turn"
                            : fmt::format(" on {} servers, in {} turns", servers, waves),
           options.jobs);
  std::vector<TaskOutcome> outcomes;
  try {
    progress->Start();
    outcomes = graph.Run(
        options.jobs * static_cast<int>(servers), {},
        [&](size_t which) { return OpenRebuildTarget(runs.at(which).endpoint.url); }, stop, log);
    progress->Stop();
  } catch (...) {
    progress->Stop();
    for (auto& run : runs) PutBackAfterFailure(run, options.jobs, log);
    throw;
  }

  double rebuild_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_load).count();
  for (auto& report : reports) report.rebuild_seconds = rebuild_seconds;

  // 3. Per target: a failed one gets back from its journal what was set
  //    aside; the others, what the rebuild could not do, sequences and
  //    verification, each on its own.
  std::map<QualifiedName, std::optional<int64_t>> sequences;
  for (const auto& sequence : manifest.sequences) sequences[sequence.name] = sequence.last_value;
  for (auto& run : runs) {
    if (run.failure) {
      PutBackAfterFailure(run, options.jobs, log);
    } else {
      try {
        RestoreOutcome restored = run.rebuild->Outcome(outcomes);
        for (const auto& problem : restored.problems) run.report->warnings.push_back(problem);
        if (!restored.problems.empty())
          throw Error(fmt::format(
              "{}: the data is loaded but constraints could not all be restored:\n  - {}",
              run.report->target, fmt::join(restored.problems, "\n  - ")));
        RecordSequences(SyncSequences(
                            run.plan,
                            [&](const QualifiedName& name) -> std::optional<std::string> {
                              auto found = sequences.find(name);
                              if (found == sequences.end() || !found->second) return std::nullopt;
                              return std::to_string(*found->second);
                            },
                            *run.control),
                        *run.report, log);
        if (options.verify) VerifyTarget(run, options.jobs, stop);
        run.journal->ClearRestoredFiles();  // restored whole: nothing to resume
      } catch (const Error& error) {
        run.failure = error;
      }
    }
    run.report->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  ThrowIfTargetsFailed(runs);
}

std::vector<std::string> VerifySnapshot(const fs::path& dir, int jobs) {
  SnapshotManifest manifest = ReadManifest(dir);
  std::vector<std::pair<const SnapshotTable*, const SnapshotFile*>> files;
  for (const auto& table : manifest.tables)
    for (const auto& file : table.files) files.push_back({&table, &file});
  return ForEachParallel(files.size(), jobs, [&](size_t i) {
    const auto& [table, file] = files[i];
    fs::path path = dir / file->path;
    if (!fs::exists(path)) throw Error(fmt::format("{}: missing", file->path));
    FileDigest bytes = DigestFileBytes(path);
    if (bytes.compressed_bytes != file->file.compressed_bytes ||
        bytes.file_xxh3 != file->file.file_xxh3)
      throw Error(fmt::format("{}: {} bytes with checksum {}, the manifest says {} bytes with {}",
                              file->path, bytes.compressed_bytes, bytes.file_xxh3,
                              file->file.compressed_bytes, file->file.file_xxh3));
    SnapshotFileReader reader = SnapshotFileReader::Open(path);
    CopyRowReader rows(table->format, file->path);
    RowDigest digest;
    std::string piece;
    while (reader.Read(piece)) rows.Feed(piece, [&](std::string_view row) { digest.Add(row); });
    rows.Finish();
    FileDigest stream = reader.digest();
    if (stream.raw_bytes != file->file.raw_bytes || stream.raw_xxh3 != file->file.raw_xxh3)
      throw Error(fmt::format("{}: the decompressed stream differs from the manifest", file->path));
    if (!(digest == file->digest))
      throw Error(fmt::format("{}: rows {} differ from the manifest's {}", file->path,
                              digest.ToString(), file->digest.ToString()));
  });
}

}  // namespace freshet
