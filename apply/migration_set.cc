#include "apply/migration_set.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "copy/error.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kNoTransaction = "-- freshet:no-transaction";

std::string ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kUsage, fmt::format("cannot read {}", path.string()));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

MigrationFile ReadFile(const fs::path& path, std::string filename, ParsedName parsed) {
  MigrationFile file;
  file.path = path.string();
  file.filename = std::move(filename);
  file.version = std::move(parsed.version);
  file.name = std::move(parsed.name);
  file.content = ReadWhole(path);
  file.sha256 = Sha256Hex(file.content);
  file.no_transaction = file.content.compare(0, kNoTransaction.size(), kNoTransaction) == 0;
  return file;
}

// A .sql file of a flat directory the profile does not accept.
void RefuseName(MigrationSet& set, const fs::path& path, const std::string& filename) {
  Naming naming = set.layout.naming;
  if (naming == Naming::kSupabase) {
    set.problems.push_back(
        {filename, "skipped-file",
         fmt::format("{} does not match {}, so neither the Supabase CLI nor freshet applies it; "
                     "rename it if it is a migration, or move it out of {}",
                     filename, NamingPattern(naming), set.dir),
         false});
  } else {
    set.problems.push_back(
        {filename, "migration-name",
         fmt::format("{} does not follow {} (the `{}` naming profile); rename it", filename,
                     NamingPattern(naming), NamingName(naming))});
  }
  set.rejected.push_back(ReadFile(path, filename, {}));
}

std::vector<MigrationFile> ReadFlat(MigrationSet& set) {
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(set.dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::string filename = entry.path().filename().string();
    if (filename == "seed.sql") {
      set.skipped.push_back(
          {filename,
           "seed data, not a migration (the Supabase CLI skips it here too and runs seeds from "
           "supabase/seed.sql on `db reset`); freshet does not apply seeds"});
      continue;
    }
    std::optional<ParsedName> parsed = ParseMigrationName(filename, set.layout.naming);
    if (!parsed) {
      RefuseName(set, entry.path(), filename);
      continue;
    }
    files.push_back(ReadFile(entry.path(), filename, std::move(*parsed)));
  }
  return files;
}

// Prisma: every subdirectory is a migration, its migration.sql the script.
std::vector<MigrationFile> ReadPrisma(MigrationSet& set) {
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(set.dir)) {
    std::string entry_name = entry.path().filename().string();
    if (entry.is_regular_file() && entry_name == "migration_lock.toml") {
      std::istringstream lines(ReadWhole(entry.path()));
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("provider", 0) != 0) continue;
        if (line.find("\"postgresql\"") == std::string::npos)
          throw Error(ErrorKind::kUsage,
                      fmt::format("{} says `{}`: these are not PostgreSQL migrations (Prisma "
                                  "refuses them too, P3019)",
                                  entry.path().string(), line));
        break;
      }
      continue;
    }
    if (!entry.is_directory()) continue;
    fs::path script = entry.path() / "migration.sql";
    std::string filename = entry_name + "/migration.sql";
    if (!fs::is_regular_file(script)) {
      set.problems.push_back({entry_name, "migration-name",
                              fmt::format("Prisma migration directory {} has no migration.sql "
                                          "(Prisma fails on it too); add the script or remove "
                                          "the directory",
                                          entry_name)});
      continue;
    }
    size_t cut = entry_name.find('_');
    ParsedName parsed{entry_name,
                      cut == std::string::npos ? entry_name : entry_name.substr(cut + 1)};
    files.push_back(ReadFile(script, filename, std::move(parsed)));
  }
  return files;
}

// Sequential numbers sort as text only when they share one width: the width
// most files use wins, the others are problems.
void CheckSequentialWidths(MigrationSet& set, std::vector<MigrationFile>& files) {
  std::map<size_t, int> widths;
  for (const auto& file : files) ++widths[file.version.size()];
  if (widths.size() < 2) return;
  size_t width = std::max_element(widths.begin(), widths.end(), [](const auto& a, const auto& b) {
                   return a.second < b.second;
                 })->first;
  std::vector<MigrationFile> kept;
  for (auto& file : files) {
    if (file.version.size() == width) {
      kept.push_back(std::move(file));
      continue;
    }
    set.problems.push_back(
        {file.filename, "migration-name",
         fmt::format("{} is numbered with {} digits but the other migrations use {}, so it "
                     "would sort out of order; rename it with {} digits",
                     file.filename, file.version.size(), width, width)});
    set.rejected.push_back(std::move(file));
  }
  files = std::move(kept);
}

}  // namespace

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr))
    throw Error("SHA-256 failed");
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

Layout DetectLayout(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Layout::kSupabase;
  if (fs::exists(fs::path(dir) / "migration_lock.toml", ec)) return Layout::kPrisma;
  bool sql_files = false, prisma_dirs = false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".sql") sql_files = true;
    if (entry.is_directory() && fs::is_regular_file(entry.path() / "migration.sql"))
      prisma_dirs = true;
  }
  return prisma_dirs && !sql_files ? Layout::kPrisma : Layout::kSupabase;
}

MigrationSet LoadMigrations(const std::string& dir, const MigrationLayout& layout) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorKind::kUsage, fmt::format("migrations directory {} does not exist", dir));
  MigrationSet set;
  set.dir = dir;
  set.layout = layout;
  std::vector<MigrationFile> files =
      layout.layout == Layout::kPrisma ? ReadPrisma(set) : ReadFlat(set);
  if (layout.layout == Layout::kSupabase && layout.naming == Naming::kSequential)
    CheckSequentialWidths(set, files);
  std::map<std::string, int> per_version;
  for (const auto& file : files) ++per_version[file.version];
  for (auto& file : files) {
    if (per_version[file.version] > 1) {
      set.problems.push_back(
          {file.filename, "duplicate-version",
           fmt::format("version {} is used by {} files; give each migration its own version",
                       file.version, per_version[file.version])});
      set.rejected.push_back(std::move(file));
    } else {
      set.files.push_back(std::move(file));
    }
  }
  auto by_version = [](const auto& a, const auto& b) { return a.version < b.version; };
  auto by_file = [](const auto& a, const auto& b) { return a.file < b.file; };
  std::sort(set.files.begin(), set.files.end(), by_version);
  std::sort(set.rejected.begin(), set.rejected.end(),
            [](const auto& a, const auto& b) { return a.filename < b.filename; });
  std::sort(set.problems.begin(), set.problems.end(), by_file);
  std::sort(set.skipped.begin(), set.skipped.end(), by_file);
  return set;
}

void ThrowIfBlocked(const MigrationSet& set) {
  std::string lines;
  for (const NamingProblem& problem : set.problems)
    if (problem.blocks) lines += fmt::format("\n{}: {}", problem.file, problem.message);
  if (lines.empty()) return;
  throw Error(
      ErrorKind::kUsage,
      fmt::format("{} has badly named migration files; nothing was applied:{}", set.dir, lines));
}

std::string SkippedNotes(const MigrationSet& set) {
  std::string out;
  for (const SkippedFile& skipped : set.skipped)
    out += fmt::format("note: skipping {}: {}\n", skipped.file, skipped.reason);
  for (const NamingProblem& problem : set.problems)
    if (!problem.blocks)
      out += fmt::format("note: skipping {}: {}\n", problem.file, problem.message);
  return out;
}

}  // namespace freshet
