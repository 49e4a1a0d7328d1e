#include "apply/migration_set.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "copy/error.h"

namespace freshet {
namespace {

constexpr std::string_view kNoTransaction = "-- freshet:no-transaction";

bool ValidTimestamp(const std::string& version) {
  auto number = [&](size_t at, size_t length) { return std::stoi(version.substr(at, length)); };
  int month = number(4, 2), day = number(6, 2), hour = number(8, 2), minute = number(10, 2),
      second = number(12, 2);
  int year = number(0, 4);
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return false;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59;
}

}  // namespace

bool IsValidMigrationName(const std::string& filename) {
  static const std::regex kName(R"(^([0-9]{14})_([a-z0-9_]+)\.sql$)");
  std::smatch match;
  return std::regex_match(filename, match, kName) && ValidTimestamp(match[1].str());
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr))
    throw Error("SHA-256 failed");
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

MigrationSet LoadMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorKind::kUsage, fmt::format("migrations directory {} does not exist", dir));
  MigrationSet set;
  set.dir = dir;
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::string filename = entry.path().filename().string();
    if (!IsValidMigrationName(filename)) {
      set.problems.push_back(
          {filename, "migration-name",
           fmt::format("{} does not follow YYYYMMDDHHMMSS_description.sql (a 14-digit UTC "
                       "timestamp, '_', a lowercase a-z0-9_ description); rename it",
                       filename)});
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    if (!in) throw Error(ErrorKind::kUsage, fmt::format("cannot read {}", entry.path().string()));
    std::stringstream content;
    content << in.rdbuf();
    MigrationFile file;
    file.path = entry.path().string();
    file.filename = filename;
    file.version = filename.substr(0, 14);
    file.name = filename.substr(15, filename.size() - 15 - 4);
    file.content = content.str();
    file.sha256 = Sha256Hex(file.content);
    file.no_transaction = file.content.compare(0, kNoTransaction.size(), kNoTransaction) == 0;
    files.push_back(std::move(file));
  }
  std::map<std::string, int> per_version;
  for (const auto& file : files) ++per_version[file.version];
  for (auto& file : files) {
    if (per_version[file.version] > 1) {
      set.problems.push_back(
          {file.filename, "duplicate-version",
           fmt::format("version {} is used by {} files; give each migration its own timestamp",
                       file.version, per_version[file.version])});
    } else {
      set.files.push_back(std::move(file));
    }
  }
  std::sort(set.files.begin(), set.files.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  std::sort(set.problems.begin(), set.problems.end(),
            [](const auto& a, const auto& b) { return a.file < b.file; });
  return set;
}

}  // namespace freshet
