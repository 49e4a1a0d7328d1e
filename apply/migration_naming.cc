#include "apply/migration_naming.h"

#include <fmt/format.h>

#include <ctime>
#include <regex>

#include "copy/error.h"

namespace freshet {
namespace {

int Number(const std::string& digits, size_t at, size_t length) {
  return std::stoi(digits.substr(at, length));
}

// `digits` is YYYYMMDDHHMMSS forming a real UTC date and time.
bool ValidTimestamp(const std::string& digits) {
  int year = Number(digits, 0, 4), month = Number(digits, 4, 2), day = Number(digits, 6, 2);
  int hour = Number(digits, 8, 2), minute = Number(digits, 10, 2), second = Number(digits, 12, 2);
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return false;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59;
}

}  // namespace

Layout ParseLayout(const std::string& text) {
  if (text == "supabase") return Layout::kSupabase;
  if (text == "prisma") return Layout::kPrisma;
  throw Error(ErrorKind::kUsage,
              fmt::format("unknown migrations layout '{}': use supabase or prisma", text));
}

Naming ParseNaming(const std::string& text) {
  if (text == "supabase") return Naming::kSupabase;
  if (text == "strict") return Naming::kStrict;
  if (text == "datetime") return Naming::kDateTime;
  if (text == "sequential") return Naming::kSequential;
  throw Error(ErrorKind::kUsage,
              fmt::format("unknown migration naming profile '{}': use supabase, strict, datetime "
                          "or sequential",
                          text));
}

const char* LayoutName(Layout layout) { return layout == Layout::kPrisma ? "prisma" : "supabase"; }

const char* NamingName(Naming naming) {
  switch (naming) {
    case Naming::kSupabase:
      return "supabase";
    case Naming::kStrict:
      return "strict";
    case Naming::kDateTime:
      return "datetime";
    case Naming::kSequential:
      return "sequential";
  }
  return "supabase";
}

std::optional<ParsedName> ParseMigrationName(const std::string& filename, Naming naming) {
  // The Supabase CLI's own pattern (pkg/migration/file.go): digits, '_',
  // anything (dots, hyphens, '@', spaces, nothing), ".sql", case-sensitive.
  static const std::regex kSupabase(R"(^([0-9]+)_(.*)\.sql$)");
  static const std::regex kStrict(R"(^([0-9]{14})_([a-z0-9_]+)\.sql$)");
  static const std::regex kDateTime(R"(^([0-9]{8})_([0-9]{6})_(.+)\.sql$)");
  static const std::regex kSequential(R"(^([0-9]+)_(.+)\.sql$)");
  std::smatch match;
  switch (naming) {
    case Naming::kSupabase:
      if (!std::regex_match(filename, match, kSupabase)) return std::nullopt;
      return ParsedName{match[1].str(), match[2].str()};
    case Naming::kStrict:
      if (!std::regex_match(filename, match, kStrict) || !ValidTimestamp(match[1].str()))
        return std::nullopt;
      return ParsedName{match[1].str(), match[2].str()};
    case Naming::kDateTime:
      if (!std::regex_match(filename, match, kDateTime) ||
          !ValidTimestamp(match[1].str() + match[2].str()))
        return std::nullopt;
      return ParsedName{match[1].str() + "_" + match[2].str(), match[3].str()};
    case Naming::kSequential:
      if (!std::regex_match(filename, match, kSequential)) return std::nullopt;
      return ParsedName{match[1].str(), match[2].str()};
  }
  return std::nullopt;
}

std::string NamingPattern(Naming naming) {
  switch (naming) {
    case Naming::kSupabase:
      return "<digits>_<name>.sql (what the Supabase CLI accepts)";
    case Naming::kStrict:
      return "YYYYMMDDHHMMSS_description.sql (a valid 14-digit UTC timestamp, '_', a lowercase "
             "a-z0-9_ description)";
    case Naming::kDateTime:
      return "YYYYMMDD_HHMMSS_description.sql (a valid UTC date and time)";
    case Naming::kSequential:
      return "NNNN_description.sql (a sequence number, every file's of the same width)";
  }
  return "";
}

bool IsValidMigrationName(const std::string& filename) {
  return ParseMigrationName(filename, Naming::kStrict).has_value();
}

std::string Slug(const std::string& description) {
  std::string out;
  for (char c : description) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (keep)
      out += lower;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

std::string UtcTimestamp(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%S", &utc);
  return text;
}

}  // namespace freshet
