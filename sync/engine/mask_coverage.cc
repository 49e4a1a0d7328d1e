// Finding personal columns (mask_coverage.h). Names are split into
// lower-case words so `emailAddress`, `EMAIL_ADDR` and `e_mail` read alike.
// Each rule names phrases of words and the kinds of type it applies to, so
// `email_verified boolean` or `phone_confirmed_at timestamptz` never count;
// the words around a match decide the rest: a counter (`email_count`), a
// property of the data (`email_status`) or a key into another table
// (`city_id`) is not the data itself. Sampling then catches what names hide
// (`contact_info` full of addresses), counting shapes on the server.
#include "sync/engine/mask_coverage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>

#include "copy/connection.h"
#include "copy/error.h"
#include "copy/mask_transformers.h"
#include "copy/mask_value.h"
#include "schema/catalog.h"
#include "schema/patterns.h"
#include "sync/engine/mask_plan.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

using Words = std::vector<std::string>;

// Splits a name into lower-case words at anything not a letter or digit, at
// camelCase humps (`IPAddress`: ip, address) and between letters and digits
// (`address2`: address, 2). Bytes above ASCII count as letters, so words in
// other scripts stay whole.
Words SplitWords(std::string_view name) {
  Words words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  auto is_upper = [](unsigned char c) { return std::isupper(c) != 0; };
  auto is_lower = [](unsigned char c) { return std::islower(c) != 0; };
  auto is_digit = [](unsigned char c) { return std::isdigit(c) != 0; };
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = name[i];
    if (!std::isalnum(c) && c < 0x80) {
      flush();
      continue;
    }
    if (!word.empty()) {
      unsigned char prev = name[i - 1];
      bool next_lower = i + 1 < name.size() && is_lower(name[i + 1]);
      if (is_digit(c) != is_digit(prev) ||
          (is_upper(c) && (is_lower(prev) || (is_upper(prev) && next_lower))))
        flush();
    }
    word += static_cast<char>(std::tolower(c));
  }
  flush();
  return words;
}

// `word` is `phrase_word` or its plural (emails, addresses).
bool SameWord(std::string_view word, std::string_view phrase_word) {
  if (!word.starts_with(phrase_word)) return false;
  std::string_view rest = word.substr(phrase_word.size());
  return rest.empty() || rest == "s" || rest == "es";
}

// Words [begin, end) of a name that a phrase matched.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// Where `phrase` occurs in `words`: "first name" anywhere as consecutive
// words, "=name" only as the whole name.
std::optional<Span> FindPhrase(const Words& words, std::string_view phrase) {
  bool whole = phrase.starts_with('=');
  if (whole) phrase.remove_prefix(1);
  Words parts = SplitWords(phrase);
  if (parts.empty() || parts.size() > words.size()) return std::nullopt;
  if (whole && parts.size() != words.size()) return std::nullopt;
  for (size_t begin = 0; begin + parts.size() <= words.size(); ++begin) {
    bool all = true;
    for (size_t i = 0; i < parts.size() && all; ++i) all = SameWord(words[begin + i], parts[i]);
    if (all) return Span{begin, begin + parts.size()};
  }
  return std::nullopt;
}

// What a column's type allows it to hold, after domains and arrays.
enum TypeClass : unsigned {
  kText = 1,
  kJson = 2,
  kBoolean = 4,
  kNumeric = 8,
  kTemporal = 16,
  kUuid = 32,
  kNetwork = 64,
  kOther = 128,  // enums, composites, bytea, extension types: judged by name
};
constexpr unsigned kWordy = kText | kJson | kOther;

struct ColumnType {
  TypeClass kind = kOther;
  std::string base;  // under its domains and array brackets
  bool array = false;
};

TypeClass ClassOf(const std::string& base) {
  static const std::vector<std::pair<std::set<std::string_view>, TypeClass>> kClasses = {
      {{"text", "character varying", "character", "citext", "name"}, kText},
      {{"json", "jsonb"}, kJson},
      {{"boolean"}, kBoolean},
      {{"smallint", "integer", "bigint", "numeric", "real", "double precision", "money"}, kNumeric},
      {{"date", "timestamp without time zone", "timestamp with time zone", "time without time zone",
        "time with time zone", "interval"},
       kTemporal},
      {{"uuid"}, kUuid},
      {{"inet", "cidr"}, kNetwork},
  };
  for (const auto& [names, type_class] : kClasses)
    if (names.contains(base)) return type_class;
  return kOther;
}

ColumnType Classify(const Catalog& catalog, const Column& column) {
  ColumnType type;
  std::string id = column.type_id;
  for (int depth = 0; depth < 16; ++depth) {  // a domain over an array of a domain ...
    const TypeInfo* info = catalog.FindType(id);
    if (info && info->kind == 'd' && !info->domain_base_id.empty()) {
      id = info->domain_base_id;
    } else if (id.size() > 2 && id.ends_with("[]")) {
      type.array = true;
      id.resize(id.size() - 2);
    } else {
      break;
    }
  }
  // citext installed outside the search path reads "extensions.citext".
  if (id.ends_with(".citext")) id = "citext";
  type.base = id;
  type.kind = ClassOf(id);
  return type;
}

struct NameRule {
  std::vector<std::string_view> phrases;  // as FindPhrase reads them
  unsigned types;                         // TypeClass bits it applies to
  const char* why;
  const char* suggested;
  bool people_only = false;  // only on tables that hold people
};

// First match wins, so the specific come before the general: `ip_address`
// and `email_address` are not street addresses, `birth_place` not a date.
const std::vector<NameRule>& NameRules() {
  static const std::vector<NameRule> kRules = {
      {{"ip", "ipv", "ipaddress", "ipaddr", "remote addr", "remote address", "forwarded for"},
       kWordy | kNumeric,
       "named like an IP address",
       "ip"},
      {{"email", "emailaddress", "e mail", "mail address", "mail addr", "=mail"},
       kWordy,
       "named like an email address",
       "email"},
      {{"phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cellphone",
        "cell number", "fax", "msisdn"},
       kWordy | kNumeric,
       "named like a phone number",
       "phone"},
      {{"first name", "firstname", "given name", "givenname", "forename", "middle name",
        "middlename"},
       kWordy,
       "named like a first name",
       "first_name"},
      {{"last name", "lastname", "surname", "family name", "familyname", "maiden name",
        "maidenname"},
       kWordy,
       "named like a last name",
       "last_name"},
      // Unique more often than not: a rule that keeps values apart.
      {{"username", "user name", "login", "nickname", "nick name"},
       kWordy,
       "named like a user name",
       "hash"},
      {{"full name",     "fullname",        "legal name",   "real name",      "contact name",
        "customer name", "owner name",      "author name",  "recipient name", "sender name",
        "holder name",   "cardholder name", "patient name", "employee name",  "member name",
        "person name",   "guardian name",   "parent name",  "spouse name",    "beneficiary name",
        "billing name",  "shipping name"},
       kWordy,
       "named like a person's name",
       "full_name"},
      {{"=name", "=display name", "=displayname"},
       kWordy,
       "named like a person's name on a table of people",
       "full_name",
       true},
      {{"birth place", "birthplace", "place of birth"},
       kWordy,
       "named like a place of birth",
       "city"},
      {{"birth", "birthday", "birthdate", "dob"},
       kWordy | kNumeric | kTemporal,
       "named like a date of birth",
       "date_shift"},
      {{"ssn", "social security", "national id", "tax id", "taxid", "taxpayer id", "passport",
        "driver license", "drivers license", "driving licence", "driving license",
        "national insurance"},
       kWordy | kNumeric,
       "named like an identity document number",
       "hash"},
      {{"iban", "card number", "cardnumber", "credit card", "creditcard", "cc number",
        "account number", "bank account"},
       kWordy | kNumeric,
       "named like a bank account or card number",
       "redact"},
      {{"address", "addr", "street", "streetaddress", "addressline", "house number", "housenumber"},
       kWordy,
       "named like a street address",
       "street_address"},
      {{"city", "cities", "town", "municipality"}, kWordy, "named like a city", "city"},
      {{"zip", "zipcode", "postal code", "postalcode", "postcode", "post code"},
       kWordy | kNumeric,
       "named like a postal code",
       "redact"},
  };
  return kRules;
}

template <size_t N>
bool OneOf(const std::string_view (&list)[N], std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

// Words that, next to a match, make the column about the data rather than
// the data: `email_verified`, `phone_status`, `mac_address`, `host_ip`,
// `email_hash` (already a one-way digest).
constexpr std::string_view kAboutWords[] = {
    "verified",     "verification", "verify",   "confirmed", "confirmation", "confirm",
    "validated",    "validation",   "valid",    "invalid",   "status",       "state",
    "type",         "kind",         "token",    "template",  "subject",      "provider",
    "preference",   "pref",         "setting",  "frequency", "opt",          "optin",
    "optout",       "opted",        "consent",  "consented", "enabled",      "disabled",
    "notification", "notify",       "notified", "reminder",  "domain",       "format",
    "regex",        "pattern",      "country",  "prefix",    "url",          "uri",
    "link",         "label",        "field",    "method",    "app",          "device",
    "platform",     "carrier",      "mac",      "wallet",    "contract",     "server",
    "host",         "hardware",     "node",     "memory",    "hash",         "hashed",
    "digest"};

// Counts and limits of personal data are not personal: `login_count`.
constexpr std::string_view kCounterWords[] = {
    "count",    "counts",   "cnt",   "total",    "attempt", "attempts", "retries", "retry",
    "tries",    "failures", "limit", "quota",    "score",   "rank",     "version", "length",
    "len",      "size",     "sent",  "bounces",  "bounced", "clicks",   "opens",   "seq",
    "sequence", "index",    "idx",   "position", "max",     "min",      "avg"};

// A last word that makes the column a key into another table: `city_id`.
constexpr std::string_view kKeyWords[] = {"id", "ids", "uuid", "guid", "key",
                                          "fk", "ref", "oid",  "pk"};

bool Disqualified(const Words& words, Span span) {
  for (size_t i = 0; i < words.size(); ++i) {
    if (i >= span.begin && i < span.end) continue;
    const std::string& word = words[i];
    if (OneOf(kAboutWords, word) || OneOf(kCounterWords, word)) return true;
    if (i == 0 && (word == "num" || word == "n" || word == "nb")) return true;  // num_emails
  }
  // Unless the phrase itself ends with it: `national_id` is the number.
  return span.end < words.size() && OneOf(kKeyWords, words.back());
}

// Judged by the head noun of its name: `user_profiles` holds people,
// `user_tags` holds tags, so a `name` there is a tag's.
bool HoldsPeople(const QualifiedName& table) {
  static const std::vector<std::string_view> kPeople = {
      "user",       "profile",      "contact",     "customer",    "member",        "employee",
      "person",     "people",       "account",     "patient",     "client",        "student",
      "teacher",    "staff",        "author",      "subscriber",  "applicant",     "candidate",
      "guest",      "attendee",     "participant", "driver",      "passenger",     "owner",
      "recipient",  "volunteer",    "donor",       "doctor",      "physician",     "resident",
      "buyer",      "seller",       "visitor",     "beneficiary", "beneficiaries", "lead",
      "signup",     "registration", "guardian",    "learner",     "worker",        "agent",
      "individual", "player",       "rider",       "shopper",     "traveler",      "traveller",
      "speaker",    "parent",       "child",       "children"};
  Words words = SplitWords(table.name);
  if (words.empty()) return false;
  return std::any_of(kPeople.begin(), kPeople.end(),
                     [&](std::string_view person) { return SameWord(words.back(), person); });
}

struct Finding {
  std::string why;
  std::string suggested;
};

// The rule to suggest, fitted to what masking can decode of the type: a
// date of birth stored as a year takes `integer`, a json document `json`,
// an array only `null` (or `constant` when it is NOT NULL).
std::string Suggest(const std::string& suggested, const Column& column, const ColumnType& type) {
  std::optional<ValueKind> kind = type.array ? std::nullopt : KindOfType(type.base);
  if (!kind) return column.not_null ? "constant" : "null";
  MaskRule rule;
  rule.rule = suggested;
  if (RuleTakes(rule, *kind)) return suggested;
  switch (*kind) {
    case ValueKind::kInteger:
      return "integer";
    case ValueKind::kNumeric:
      return "numeric";
    case ValueKind::kDate:
    case ValueKind::kTimestamp:
      return "date_shift";
    case ValueKind::kJson:
      return "json";
    case ValueKind::kUuid:
      return "uuid";
    case ValueKind::kInet:
      return "ip";
    case ValueKind::kText:
      return "redact";
    case ValueKind::kBoolean:
      break;
  }
  return column.not_null ? "constant" : "null";
}

std::optional<Finding> ByTypeOrName(const Column& column, const ColumnType& type, bool people) {
  if (type.kind == kNetwork) return Finding{"type " + type.base, Suggest("ip", column, type)};
  Words words = SplitWords(column.name);
  for (const NameRule& rule : NameRules()) {
    if ((rule.types & type.kind) == 0 || (rule.people_only && !people)) continue;
    for (std::string_view phrase : rule.phrases) {
      std::optional<Span> span = FindPhrase(words, phrase);
      if (!span) continue;
      if (Disqualified(words, *span)) return std::nullopt;
      return Finding{rule.why, Suggest(rule.suggested, column, type)};
    }
  }
  return std::nullopt;
}

// The `keep` rules, as patterns when they parse as [mask] keys, and as
// written always (a name holding dots reads as itself).
class KeptColumns {
 public:
  explicit KeptColumns(const std::vector<std::string>& kept) : exact_(kept.begin(), kept.end()) {
    for (const std::string& text : kept) {
      try {
        auto [table, column] = SplitColumnPattern(text);
        patterns_.push_back({TablePattern::Parse(table), column});
      } catch (const Error&) {
        // Not a pattern: only the exact comparison applies.
      }
    }
  }

  bool Contains(const QualifiedName& table, const std::string& column) const {
    if (exact_.contains(table.Display() + "." + column)) return true;
    return std::any_of(patterns_.begin(), patterns_.end(), [&](const auto& pattern) {
      return pattern.first.Matches(table) && GlobMatch(pattern.second, column);
    });
  }

 private:
  std::set<std::string> exact_;
  std::vector<std::pair<TablePattern, std::string>> patterns_;
};

// ------------------------------------------------------------ sampling

constexpr int64_t kSampleRows = 1000;
constexpr int64_t kMinimumMatches = 5;

// The shapes, as parameters of the sample statement.
constexpr const char* kEmailShape = R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)";
// An optional +, then digits, spaces, dashes, dots and parentheses; the
// statement checks the 7 to 15 digits apart.
constexpr const char* kPhoneShape = R"(^\+?[0-9 ().-]+$)";
// What the phone shape takes that is no phone number: dates (2024-01-31,
// 31.01.2024), IPv4 addresses, decimals.
constexpr const char* kNotPhoneShape =
    R"(^([0-9]{1,4}[-./][0-9]{1,2}[-./][0-9]{1,4}|[0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9]+\.[0-9]+)$)";

// One row of three counts per column: its non-null values, those shaped
// like email addresses and those shaped like phone numbers.
// Large tables are sampled by blocks (TABLESAMPLE SYSTEM, about twice the
// rows needed, REPEATABLE so `mask check` answers alike run after run);
// small ones are read from the start. Every function and operator is
// schema-qualified: the source's search_path is not freshet's to trust.
std::string SampleSql(const Table& table, int64_t estimated_rows,
                      const std::vector<const Column*>& columns) {
  std::string values, counts;
  for (size_t i = 0; i < columns.size(); ++i) {
    std::string alias = fmt::format("c{}", i);
    values += fmt::format("{}{}::pg_catalog.text AS {}", i ? ", " : "",
                          QuoteIdent(columns[i]->name), alias);
    counts += fmt::format(
        "{1}pg_catalog.count({0})"
        ", pg_catalog.count(*) FILTER (WHERE {0} OPERATOR(pg_catalog.~) $1)"
        ", pg_catalog.count(*) FILTER (WHERE {0} OPERATOR(pg_catalog.~) $2"
        " AND {0} OPERATOR(pg_catalog.!~) $3"
        " AND pg_catalog.length(pg_catalog.regexp_replace({0}, '[^0-9]', '', 'g'))"
        " BETWEEN 7 AND 15)",
        alias, i ? ", " : "");
  }
  std::string from = (table.kind == TableKind::kTable ? "ONLY " : "") + table.name.Quoted();
  if (estimated_rows > 2 * kSampleRows) {
    double percent = std::clamp(200.0 * kSampleRows / estimated_rows, 0.0001, 100.0);
    from += fmt::format(" TABLESAMPLE SYSTEM ({:.6f}) REPEATABLE (0)", percent);
  }
  return fmt::format("SELECT {} FROM (SELECT {} FROM {} LIMIT {}) AS sample", counts, values, from,
                     kSampleRows);
}

// Samples `columns` of `table` and adds those whose values look personal.
void SampleTable(Connection& source, const Table& table, int64_t estimated_rows,
                 const std::vector<const Column*>& columns, std::vector<PersonalColumn>& found) {
  Result result;
  try {
    result = source.Exec(SampleSql(table, estimated_rows, columns),
                         {kEmailShape, kPhoneShape, kNotPhoneShape});
  } catch (const Error& error) {
    throw Error(
        fmt::format("sampling {} for personal data: {}", table.name.Display(), error.what()),
        error.sqlstate(), error.kind());
  }
  if (result.Rows() != 1) return;
  for (size_t i = 0; i < columns.size(); ++i) {
    int at = 3 * static_cast<int>(i);
    int64_t values = result.GetInt(0, at);
    int64_t emails = result.GetInt(0, at + 1);
    int64_t phones = result.GetInt(0, at + 2);
    bool email = emails >= phones;
    int64_t matches = email ? emails : phones;
    if (matches < kMinimumMatches || 2 * matches < values) continue;
    found.push_back({table.name, columns[i]->name, columns[i]->type,
                     fmt::format("{} of {} sampled values look like {}", matches, values,
                                 email ? "email addresses" : "phone numbers"),
                     email ? "email" : "phone", true});
  }
}

}  // namespace

std::string UnruledColumnMessage(const PersonalColumn& column) {
  return fmt::format(
      "column {}.{} looks personal ({}) and has no [mask] rule; add one (e.g. rule = \"{}\") or "
      "rule = \"keep\" with a reason",
      column.table.Display(), column.column, column.why, column.suggested);
}

std::vector<PersonalColumn> FindPersonalColumns(const Catalog& catalog, const Plan& plan,
                                                const std::vector<std::string>& kept,
                                                Connection* source) {
  KeptColumns keep(kept);
  std::vector<PersonalColumn> found;
  for (const PlannedTable& planned : plan.tables) {
    const Table* table = catalog.Find(planned.name);
    if (!table) continue;
    bool people = HoldsPeople(planned.name);
    std::vector<const Column*> to_sample;
    for (const std::string& name : planned.mapping.columns) {
      bool masked = std::any_of(planned.masks.begin(), planned.masks.end(),
                                [&](const ColumnMask& mask) { return mask.column == name; });
      const Column* column = table->FindColumn(name);
      if (masked || !column || keep.Contains(planned.name, name)) continue;
      ColumnType type = Classify(catalog, *column);
      if (std::optional<Finding> finding = ByTypeOrName(*column, type, people)) {
        found.push_back({planned.name, name, column->type, finding->why, finding->suggested});
      } else if (type.kind == kText && !type.array) {
        to_sample.push_back(column);
      }
    }
    if (source && !to_sample.empty())
      SampleTable(*source, *table, planned.estimated_rows, to_sample, found);
  }
  return found;
}

}  // namespace freshet
