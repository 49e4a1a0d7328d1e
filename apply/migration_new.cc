#include "apply/migration_new.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "apply/migration_set.h"
#include "copy/error.h"

namespace freshet {
namespace {

namespace fs = std::filesystem;

// "YYYYMMDDHHMMSS" one second later.
std::string NextSecond(const std::string& digits) {
  std::tm utc{};
  utc.tm_year = std::stoi(digits.substr(0, 4)) - 1900;
  utc.tm_mon = std::stoi(digits.substr(4, 2)) - 1;
  utc.tm_mday = std::stoi(digits.substr(6, 2));
  utc.tm_hour = std::stoi(digits.substr(8, 2));
  utc.tm_min = std::stoi(digits.substr(10, 2));
  utc.tm_sec = std::stoi(digits.substr(12, 2));
  return UtcTimestamp(std::chrono::system_clock::from_time_t(timegm(&utc) + 1));
}

// The 14-digit timestamp of a version ("20240101_120000" counts too), or "".
std::string TimestampOf(const std::string& version) {
  std::string digits;
  for (char c : version) {
    if (c >= '0' && c <= '9')
      digits += c;
    else if (c != '_')
      break;
  }
  return digits.size() >= 14 ? digits.substr(0, 14) : "";
}

std::string NextTimestamp(const MigrationSet& set, std::chrono::system_clock::time_point now) {
  std::string stamp = UtcTimestamp(now), newest;
  for (const MigrationFile& file : set.files) newest = std::max(newest, TimestampOf(file.version));
  return stamp > newest ? stamp : NextSecond(newest);
}

std::string NextSequence(const MigrationSet& set) {
  size_t width = 4;
  unsigned long long highest = 0;
  for (const MigrationFile& file : set.files) {
    width = file.version.size();
    highest = std::max(highest, std::stoull(file.version));
  }
  std::string next = fmt::format("{:0{}}", highest + 1, width);
  if (next.size() > width)
    throw Error(ErrorKind::kUsage,
                fmt::format("the next sequence number {} needs more than the {} digits the "
                            "migrations in {} use; rename them with more digits first",
                            next, width, set.dir));
  return next;
}

}  // namespace

std::string NextMigrationPath(const std::string& dir, const MigrationLayout& layout,
                              const std::string& description,
                              std::chrono::system_clock::time_point now) {
  std::string slug = Slug(description);
  if (slug.empty())
    throw Error(
        ErrorKind::kUsage,
        fmt::format("migration name '{}' has no letter or digit to name the file by", description));
  MigrationSet set;
  set.dir = dir;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) set = LoadMigrations(dir, layout);
  fs::path base(dir);
  if (layout.layout == Layout::kPrisma)
    return (base / (NextTimestamp(set, now) + "_" + slug) / "migration.sql").string();
  switch (layout.naming) {
    case Naming::kSequential:
      return (base / (NextSequence(set) + "_" + slug + ".sql")).string();
    case Naming::kDateTime: {
      std::string stamp = NextTimestamp(set, now);
      return (base / (stamp.substr(0, 8) + "_" + stamp.substr(8) + "_" + slug + ".sql")).string();
    }
    case Naming::kSupabase:
    case Naming::kStrict:
      break;
  }
  return (base / (NextTimestamp(set, now) + "_" + slug + ".sql")).string();
}

std::string CreateMigration(const std::string& dir, const MigrationLayout& layout,
                            const std::string& description,
                            std::chrono::system_clock::time_point now) {
  fs::path path = NextMigrationPath(dir, layout, description, now);
  std::error_code ec;
  if (fs::exists(path, ec))
    throw Error(ErrorKind::kUsage, fmt::format("{} already exists", path.string()));
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::kUsage,
                fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  std::ofstream out(path, std::ios::binary);
  if (layout.layout == Layout::kPrisma) out << "-- " << description << "\n";
  if (!out) throw Error(ErrorKind::kUsage, fmt::format("cannot write {}", path.string()));
  return path.string();
}

}  // namespace freshet
