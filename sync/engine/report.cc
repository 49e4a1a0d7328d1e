#include "sync/engine/report.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "copy/error.h"
#include "copy/markdown.h"

namespace freshet {
namespace {

// "1234567" -> "1,234,567".
std::string Grouped(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Megabytes(uint64_t bytes) {
  return fmt::format("{:.1f}", static_cast<double>(bytes) / 1e6);
}

std::string Decimal(double value) { return fmt::format("{:.1f}", value); }

double Rate(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

std::string VerifyCell(const TableReport& table) {
  if (!table.verification) return "-";
  return table.verification->equal() ? "equal" : "DIFFERS";
}

std::string DeferredCell(const TableReport& table) {
  if (table.deferred_constraints.empty()) return "-";
  return fmt::format("{}", fmt::join(table.deferred_constraints, ", "));
}

// The per-table grid shared by the text and Markdown renderings: a header row,
// then one row per table. `right[i]` says whether column i is numeric.
struct Grid {
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right;
};

Grid TableGrid(const RunReport& report) {
  Grid grid;
  std::vector<std::string> header = {"table", "rows", "MB", "seconds", "MB/s", "format"};
  grid.right = {false, true, true, true, true, false};
  if (report.verified) {
    header.push_back("verify");
    grid.right.push_back(false);
  }
  header.push_back("deferred constraints");
  grid.right.push_back(false);
  grid.rows.push_back(std::move(header));
  for (const TableReport& table : report.tables) {
    std::vector<std::string> row = {table.table,
                                    Grouped(table.rows),
                                    Megabytes(table.bytes),
                                    Decimal(table.seconds),
                                    Decimal(table.MegabytesPerSecond()),
                                    table.format.empty() ? "-" : table.format};
    if (report.verified) row.push_back(VerifyCell(table));
    row.push_back(DeferredCell(table));
    grid.rows.push_back(std::move(row));
  }
  return grid;
}

// Incremental runs: the mode and what the merge did, then the reason (last,
// as it varies most).
Grid IncrementalGrid(const RunReport& report) {
  Grid grid;
  std::vector<std::string> header = {"table",     "mode", "inserted",    "updated", "deleted",
                                     "unchanged", "MB",   "compared MB", "seconds"};
  grid.right = {false, false, true, true, true, true, true, true, true};
  if (report.verified) {
    header.push_back("verify");
    grid.right.push_back(false);
  }
  header.push_back("why");
  grid.right.push_back(false);
  grid.rows.push_back(std::move(header));
  for (const TableReport& table : report.tables) {
    std::vector<std::string> row = {table.table,
                                    table.mode.empty() ? "-" : table.mode,
                                    Grouped(table.inserted),
                                    Grouped(table.updated),
                                    Grouped(table.deleted),
                                    Grouped(table.unchanged),
                                    Megabytes(table.bytes),
                                    Megabytes(table.compared_bytes),
                                    Decimal(table.seconds)};
    if (report.verified) row.push_back(VerifyCell(table));
    row.push_back(table.mode_reason.empty() ? "-" : table.mode_reason);
    grid.rows.push_back(std::move(row));
  }
  return grid;
}

// What the merge did to the target's rows, summed over the tables.
struct MergeTotals {
  uint64_t inserted = 0, updated = 0, deleted = 0, unchanged = 0, compared_bytes = 0;
};

MergeTotals SumMerges(const RunReport& report) {
  MergeTotals totals;
  for (const TableReport& table : report.tables) {
    totals.inserted += table.inserted;
    totals.updated += table.updated;
    totals.deleted += table.deleted;
    totals.unchanged += table.unchanged;
    totals.compared_bytes += table.compared_bytes;
  }
  return totals;
}

// Columns a string takes on a terminal, counting UTF-8 code points.
size_t Width(const std::string& text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string AlignedText(const Grid& grid) {
  std::vector<size_t> widths(grid.right.size(), 0);
  for (const auto& row : grid.rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  std::string out;
  for (const auto& row : grid.rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      std::string padding(widths[i] - Width(row[i]), ' ');
      if (grid.right[i])
        line += padding + row[i];
      else if (i + 1 == row.size())
        line += row[i];  // no trailing padding
      else
        line += row[i] + padding;
    }
    out += line + "\n";
  }
  return out;
}

std::string TotalsLine(const RunReport& report) {
  if (report.incremental) {
    MergeTotals totals = SumMerges(report);
    return fmt::format(
        "{} inserted, {} updated, {} deleted, {} unchanged; {} rows, {} MB moved, {} MB "
        "compared in {} s",
        Grouped(totals.inserted), Grouped(totals.updated), Grouped(totals.deleted),
        Grouped(totals.unchanged), Grouped(report.TotalRows()), Megabytes(report.TotalBytes()),
        Megabytes(totals.compared_bytes), Decimal(report.seconds));
  }
  return fmt::format("{} rows, {} MB in {} s ({} MB/s)", Grouped(report.TotalRows()),
                     Megabytes(report.TotalBytes()), Decimal(report.seconds),
                     Decimal(Rate(report.TotalBytes(), report.seconds)));
}

void Section(std::string& out, const std::string& title, const std::vector<std::string>& items,
             bool code) {
  if (items.empty()) return;
  out += fmt::format("\n### {}\n\n", title);
  for (const std::string& item : items)
    out += fmt::format("- {}\n", code ? MarkdownCode(item) : MarkdownCell(item));
}

}  // namespace

uint64_t RunReport::TotalRows() const {
  uint64_t total = 0;
  for (const TableReport& table : tables) total += table.rows;
  return total;
}

uint64_t RunReport::TotalBytes() const {
  uint64_t total = 0;
  for (const TableReport& table : tables) total += table.bytes;
  return total;
}

uint64_t RunReport::TotalRetries() const {
  uint64_t total = 0;
  for (const TableReport& table : tables) total += table.retries;
  return total;
}

std::vector<std::string> RunReport::Mismatched() const {
  std::vector<std::string> names;
  for (const TableReport& table : tables)
    if (table.verification && !table.verification->equal()) names.push_back(table.table);
  return names;
}

std::string RenderText(const RunReport& report) {
  std::string out =
      fmt::format("freshet {}{}: {} -> {}\n", report.command,
                  report.incremental ? " (incremental)" : "", report.source, report.target);
  if (report.tables.empty())
    out += "no tables copied\n";
  else
    out += AlignedText(report.incremental ? IncrementalGrid(report) : TableGrid(report));
  out += fmt::format("total: {}\n", TotalsLine(report));
  if (report.TotalRetries())
    out += fmt::format("streams retried after a dropped connection: {}\n", report.TotalRetries());
  if (!report.strategy.empty())
    out += fmt::format(
        "strategy: {}; {} indexes rebuilt; {:.1f} s of rebuilding after the last table loaded\n",
        report.strategy, report.indexes_rebuilt, report.rebuild_seconds);

  auto list = [&out](const std::string& title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    out += fmt::format("{} ({}):\n", title, items.size());
    for (const std::string& item : items) out += fmt::format("  {}\n", item);
  };
  list("deferred constraints", report.deferred_constraints);
  list("masked columns", report.masked_columns);
  if (!report.subset.empty()) out += fmt::format("subset: {}\n", report.subset);
  list("restored journal entries", report.restored);
  list("tables only in the source (not copied)", report.source_only_tables);
  list("tables only in the target (left alone)", report.target_only_tables);
  list("warnings", report.warnings);

  std::vector<std::string> mismatched = report.Mismatched();
  if (!report.ok)
    out += fmt::format("FAILED: {}\n", report.error.empty() ? "unknown error" : report.error);
  if (!mismatched.empty())
    out += fmt::format("verification FAILED: {}\n", fmt::join(mismatched, ", "));
  if (report.ok && mismatched.empty())
    out += fmt::format("OK: {} finished in {} s{}\n", report.command, Decimal(report.seconds),
                       report.verified ? ", all verified tables equal" : "");
  return out;
}

nlohmann::json RenderJson(const RunReport& report) {
  using nlohmann::json;
  json tables = json::array();
  for (const TableReport& table : report.tables) {
    json verification = nullptr;
    if (table.verification) {
      const TableVerification& v = *table.verification;
      verification = {
          {"equal", v.equal()},
          {"source", {{"rows", v.source.rows}, {"sum", v.source.sum}}},
          {"target", {{"rows", v.target.rows}, {"sum", v.target.sum}}},
      };
    }
    tables.push_back({
        {"table", table.table},
        {"rows", table.rows},
        {"bytes", table.bytes},
        {"seconds", table.seconds},
        {"megabytes_per_second", table.MegabytesPerSecond()},
        {"format", table.format},
        {"route", table.route},
        {"deferred_constraints", table.deferred_constraints},
        {"verification", verification},
        {"retries", table.retries},
    });
    if (report.incremental) {
      json& entry = tables.back();
      entry["mode"] = table.mode;
      entry["mode_reason"] = table.mode_reason;
      entry["inserted"] = table.inserted;
      entry["updated"] = table.updated;
      entry["deleted"] = table.deleted;
      entry["unchanged"] = table.unchanged;
      entry["compared_bytes"] = table.compared_bytes;
    }
  }
  json out = {
      {"command", report.command},
      {"source", report.source},
      {"target", report.target},
      {"started_at", report.started_at},
      {"seconds", report.seconds},
      {"ok", report.ok},
      {"strategy", report.strategy},
      {"indexes_rebuilt", report.indexes_rebuilt},
      {"rebuild_seconds", report.rebuild_seconds},
      {"error", report.error.empty() ? json(nullptr) : json(report.error)},
      {"totals",
       {{"rows", report.TotalRows()},
        {"bytes", report.TotalBytes()},
        {"seconds", report.seconds},
        {"megabytes_per_second", Rate(report.TotalBytes(), report.seconds)},
        {"retries", report.TotalRetries()}}},
      {"tables", tables},
      {"deferred_constraints", report.deferred_constraints},
      {"masked_columns", report.masked_columns},
      {"subset", report.subset.empty() ? json(nullptr) : json(report.subset)},
      {"restored", report.restored},
      {"warnings", report.warnings},
      {"source_only_tables", report.source_only_tables},
      {"target_only_tables", report.target_only_tables},
      {"verified", report.verified},
      {"mismatched", report.Mismatched()},
  };
  if (report.incremental) {
    MergeTotals totals = SumMerges(report);
    out["incremental"] = true;
    out["totals"]["inserted"] = totals.inserted;
    out["totals"]["updated"] = totals.updated;
    out["totals"]["deleted"] = totals.deleted;
    out["totals"]["unchanged"] = totals.unchanged;
    out["totals"]["compared_bytes"] = totals.compared_bytes;
  }
  return out;
}

std::string RenderMarkdown(const RunReport& report) {
  std::string out = fmt::format("## freshet {}{}\n\n", report.command,
                                report.incremental ? " (incremental)" : "");
  std::vector<std::string> mismatched = report.Mismatched();
  if (!report.ok)
    out += fmt::format("**FAILED**: {}\n\n",
                       MarkdownCell(report.error.empty() ? "unknown error" : report.error));
  else if (!mismatched.empty())
    out += fmt::format("**FAILED**: verification differs for {}\n\n",
                       MarkdownCell(fmt::format("{}", fmt::join(mismatched, ", "))));
  else
    out += "**OK**\n\n";
  out += fmt::format("{} → {}\n\n", MarkdownCode(report.source), MarkdownCode(report.target));
  out += fmt::format("**Total:** {}\n", TotalsLine(report));

  if (!report.tables.empty()) {
    Grid grid = report.incremental ? IncrementalGrid(report) : TableGrid(report);
    out += "\n";
    for (size_t r = 0; r < grid.rows.size(); ++r) {
      std::string line = "|";
      for (const std::string& cell : grid.rows[r]) line += " " + MarkdownCell(cell) + " |";
      out += line + "\n";
      if (r == 0) {
        std::string rule = "|";
        for (bool right : grid.right) rule += right ? " ---: |" : " --- |";
        out += rule + "\n";
      }
    }
  }
  Section(out, "Deferred constraints", report.deferred_constraints, true);
  Section(out, "Masked columns", report.masked_columns, false);
  if (!report.subset.empty()) out += fmt::format("\n**Subset:** {}\n", MarkdownCell(report.subset));
  Section(out, "Restored journal entries", report.restored, false);
  Section(out, "Tables only in the source (not copied)", report.source_only_tables, true);
  Section(out, "Tables only in the target (left alone)", report.target_only_tables, true);
  Section(out, "Warnings", report.warnings, false);
  return out;
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  // "-" and existing non-regular files (/dev/stdout, a pipe) are written in
  // place: renaming over them would replace the device or pipe with a file.
  struct stat existing;
  bool special =
      path == "-" || (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode));
  std::string temp = special ? path : fmt::format("{}.tmp.{}", path, ::getpid());
  auto fail = [&](const std::string& what, int error, bool remove_temp) {
    if (remove_temp) ::unlink(temp.c_str());
    throw Error(fmt::format("cannot write {}: {}: {}", path, what,
                            std::error_code(error, std::generic_category()).message()));
  };
  int fd = path == "-" ? ::dup(STDOUT_FILENO)
                       : ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("creating " + temp, errno, false);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      fail("writing", error, true);
    }
    written += static_cast<size_t>(n);
  }
  if (special) {
    ::close(fd);
    return;
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    fail("flushing", error, true);
  }
  if (::close(fd) != 0) fail("closing", errno, true);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("renaming " + temp, errno, true);
}

}  // namespace freshet
