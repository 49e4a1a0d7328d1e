// ChooseModes and SchemaFingerprint (sync/engine/incremental_mode.h).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>

#include "schema/patterns.h"
#include "sync/engine/incremental_mode.h"
#include "sync/engine/plan.h"

namespace freshet {
namespace {

const std::set<std::string>& WatermarkTypes() {
  static const std::set<std::string> types = {"timestamp with time zone",
                                              "timestamp without time zone", "bigint", "integer"};
  return types;
}

// Names a column that moves on every change is usually given.
bool NamedLikeWatermark(const std::string& name) {
  static const std::set<std::string> names = {
      "updated_at",   "modified_at",     "changed_at", "last_modified", "last_modified_at",
      "last_updated", "last_updated_at", "updated_on", "modified_on",   "updatedat",
      "modifiedat",   "date_modified",   "updated",    "modified",      "mtime",
      "last_update",  "update_time",     "updatetime", "row_version",   "version_ts"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return names.count(lower) > 0;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool AnyMatches(const std::vector<std::string>& patterns, const QualifiedName& name) {
  for (const auto& pattern : patterns)
    if (TablePattern::Parse(pattern).Matches(name)) return true;
  return false;
}

TableSyncSettings SettingsFor(const IncrementalOptions& options, const QualifiedName& name) {
  for (const auto& [key, settings] : options.tables)
    if (key == name.Display()) return settings;
  for (const auto& [key, settings] : options.tables)
    if (TablePattern::Parse(key).Matches(name)) return settings;
  return {};
}

// Whether a valid index on `table` leads with `column`.
bool Indexed(const Catalog& catalog, const QualifiedName& table, const std::string& column) {
  for (const auto& index : catalog.indexes)
    if (index.table == table && index.valid && index.predicate.empty() && !index.keys.empty() &&
        (index.keys[0] == column || index.keys[0] == QuoteIdent(column)))
      return true;
  return false;
}

// The watermark column: configured (checked), or detected by name and type.
// Sets `mode.watermark`/`watermark_type` and returns the reason, or an
// error in `error`.
std::string FindWatermark(const PlannedTable& planned, const Table& source,
                          const Catalog& source_catalog, const TableSyncSettings& settings,
                          TableMode& mode, std::string& error) {
  const std::string table = planned.name.Display();
  if (settings.watermark) {
    const Column* column = source.FindColumn(*settings.watermark);
    if (!column || !Contains(planned.mapping.columns, *settings.watermark)) {
      error = fmt::format(
          "{}: the configured watermark column \"{}\" is not a column copied from the source",
          table, *settings.watermark);
      return "";
    }
    if (!WatermarkTypes().count(column->type_id)) {
      error = fmt::format(
          "{}: the watermark column \"{}\" is {}; a watermark must be timestamptz, timestamp, "
          "bigint or integer",
          table, column->name, column->type);
      return "";
    }
    mode.watermark = column->name;
    mode.watermark_type = column->type_id;
    return fmt::format("watermark {} (configured)", column->name);
  }
  for (const Column& column : source.columns) {
    if (!NamedLikeWatermark(column.name) || !WatermarkTypes().count(column.type_id) ||
        !Contains(planned.mapping.columns, column.name))
      continue;
    mode.watermark = column.name;
    mode.watermark_type = column.type_id;
    return fmt::format("watermark {} ({}, found by its name; {})", column.name, column.type,
                       Indexed(source_catalog, source.name, column.name)
                           ? "indexed on the source"
                           : "not indexed on the source");
  }
  return "";
}

// The key rows are matched by: the primary key, when both sides have the
// same one and it is copied; empty otherwise (`why` says why).
std::vector<std::string> CommonKey(const PlannedTable& planned, const Table& source,
                                   const Table& target, std::string& why) {
  if (target.primary_key.empty()) {
    why = "no primary key on the target";
    return {};
  }
  if (source.primary_key != target.primary_key) {
    why = "the primary keys differ between source and target";
    return {};
  }
  for (const auto& column : target.primary_key)
    if (!Contains(planned.mapping.columns, column)) {
      why = fmt::format("primary key column {} is not copied", column);
      return {};
    }
  return target.primary_key;
}

bool IsMasked(const PlannedTable& planned, const std::string& column) {
  return !column.empty() &&
         std::any_of(planned.masks.begin(), planned.masks.end(),
                     [&](const ColumnMask& mask) { return mask.column == column; });
}

// Masking and the state. A masked target holds masked values, so the rows a
// later run stages must be masked exactly alike: a table must never mix
// unmasked rows with masked ones, or rows masked under two keys or two rule
// sets (they would no longer join, compare or stay unique). So the
// fingerprint the state keeps of a masked table carries what masks it: per
// masked column its rule's signature and where it is masked (the SELECT or
// the stream), and MaskKey::Fingerprint of the key the stream's rules use
// (which tells keys apart and reveals nothing of them). It is appended to
// the schema's hash rather than kept in a column of its own: any change
// refreshes the table whole either way, the state table keeps its layout,
// and an unmasked table's fingerprint stays what earlier versions recorded.
// It is per table rather than the whole rule set's RuleSetFingerprint: a
// rule added for another table leaves this one incremental, while any
// change that reaches this table's columns (directly, or by following a
// foreign key) refreshes it. A full sync records the same fingerprint
// (RecordFullLoad), so a masked full sync is followed by incremental runs.
constexpr std::string_view kMaskPart = "|mask:";
constexpr std::string_view kKeyPart = "|key:";
constexpr std::string_view kKeyUnknown = "?";  // `freshet plan` without the key
constexpr std::string_view kKeyUnused = "-";   // only SELECT rules: no key

std::string MaskFingerprint(const PlannedTable& planned) {
  if (planned.masks.empty()) return "";
  std::vector<std::string> columns;
  std::string key;
  for (const ColumnMask& mask : planned.masks) {
    columns.push_back(fmt::format("{}\x1f{}\x1f{}", mask.column, RuleSignature(mask.rule),
                                  mask.select_expression));
    if (mask.select_expression.empty() && key.empty())
      key = mask.key_fingerprint.empty() ? std::string(kKeyUnknown) : mask.key_fingerprint;
  }
  std::sort(columns.begin(), columns.end());
  std::string text = fmt::format("{}", fmt::join(columns, "\x1e"));
  return fmt::format("{}{:016x}{}{}", kMaskPart, XXH3_64bits(text.data(), text.size()), kKeyPart,
                     key.empty() ? kKeyUnused : std::string_view(key));
}

struct FingerprintParts {
  std::string schema;
  std::string masks;  // empty: the table was not masked
  std::string key;
};

FingerprintParts SplitFingerprint(const std::string& fingerprint) {
  FingerprintParts parts;
  size_t mask = fingerprint.find(kMaskPart);
  parts.schema = fingerprint.substr(0, mask);
  if (mask == std::string::npos) return parts;
  size_t from = mask + kMaskPart.size();
  size_t key = fingerprint.find(kKeyPart, from);
  parts.masks = fingerprint.substr(from, key == std::string::npos ? key : key - from);
  if (key != std::string::npos) parts.key = fingerprint.substr(key + kKeyPart.size());
  return parts;
}

// Why the state the last run recorded (`recorded`) no longer accounts for
// the table's rows as this run would write them (`now`); nullopt when it does.
std::optional<std::string> StateOutdated(const std::string& recorded, const std::string& now) {
  if (recorded == now) return std::nullopt;
  FingerprintParts was = SplitFingerprint(recorded), is = SplitFingerprint(now);
  if (was.schema != is.schema)
    return "the copied columns, their types, the key or the watermark changed since the last run";
  if (was.masks.empty())
    return "masked by this run's [mask] rules and not by the last run's: refreshed whole, masked";
  if (is.masks.empty())
    return "masked by the last run and by no rule of this run: refreshed whole, unmasked";
  if (was.masks != is.masks)
    return "its [mask] rules changed since the last run: refreshed whole, masked by this run's";
  if (is.key == kKeyUnknown) return std::nullopt;  // a plan without the key; a sync has it
  return "the mask key changed since the last run: refreshed whole, masked under this run's key";
}

const TableState* StateOf(const std::vector<TableState>& states, const QualifiedName& name) {
  for (const auto& state : states)
    if (state.table == name) return &state;
  return nullptr;
}

// The mode of one table, or a plan error.
TableMode ChooseOne(const PlannedTable& planned, const Table& source, const Table& target,
                    const Catalog& source_catalog, const TableState* state,
                    const IncrementalOptions& options, std::string& error) {
  TableSyncSettings settings = SettingsFor(options, planned.name);
  TableMode mode;
  mode.deletes = settings.deletes.value_or(options.deletes);
  std::string why_no_key;
  mode.key = CommonKey(planned, source, target, why_no_key);
  std::string watermark_reason =
      FindWatermark(planned, source, source_catalog, settings, mode, error);
  if (!error.empty()) return mode;
  mode.fingerprint = SchemaFingerprint(source, target, planned.mapping.columns, mode.watermark) +
                     MaskFingerprint(planned);
  bool forced_full = AnyMatches(options.full, planned.name) || settings.mode == SyncMode::kFull;
  bool forced_diff = AnyMatches(options.diff, planned.name) || settings.mode == SyncMode::kDiff;
  auto set = [&](SyncMode chosen, std::string reason) {
    mode.mode = chosen;
    mode.reason = std::move(reason);
  };
  if (forced_full) {
    set(SyncMode::kFull,
        settings.mode == SyncMode::kFull ? "configured: mode = \"full\"" : "asked for: --full");
  } else if (!state) {
    set(SyncMode::kFull, "first run: no state for this table on the target");
  } else if (auto outdated = StateOutdated(state->fingerprint, mode.fingerprint)) {
    set(SyncMode::kFull, std::move(*outdated));
  } else if (mode.key.empty()) {
    if (settings.mode == SyncMode::kWatermark)
      error = fmt::format("{}: mode \"watermark\" needs a primary key ({})", planned.name.Display(),
                          why_no_key);
    set(SyncMode::kDiff, why_no_key + ": compared as whole rows");
  } else if (forced_diff) {
    set(SyncMode::kDiff,
        settings.mode == SyncMode::kDiff ? "configured: mode = \"diff\"" : "asked for: --diff");
  } else if (!mode.watermark.empty()) {
    set(SyncMode::kWatermark, watermark_reason);
  } else {
    if (settings.mode == SyncMode::kWatermark)
      error = fmt::format(
          "{}: mode \"watermark\" is configured but no watermark column is named or found; set "
          "watermark = \"column\"",
          planned.name.Display());
    set(SyncMode::kDiff, "no watermark column");
  }
  if (auto masked = MaskedComparison(planned, mode)) set(SyncMode::kFull, std::move(*masked));
  if (IsMasked(planned, mode.watermark)) {  // the staged rows' greatest value would be masked
    mode.watermark.clear();
    mode.watermark_type.clear();
  }
  if (mode.mode == SyncMode::kWatermark) {
    mode.xmin_horizon = state->xmin_horizon;
    if (state->watermark_column == mode.watermark) mode.watermark_from = state->watermark_reached;
    mode.stored_key_sums = state->key_sums;
  }
  if (mode.mode == SyncMode::kDiff) {
    mode.watermark.clear();
    mode.watermark_type.clear();
  }
  return mode;
}

}  // namespace

std::optional<std::string> MaskedComparison(const PlannedTable& planned, const TableMode& mode) {
  if (planned.masks.empty() || mode.mode == SyncMode::kFull) return std::nullopt;
  auto display = [&](const std::string& column) { return planned.name.Display() + "." + column; };
  for (const auto& column : mode.key)
    if (IsMasked(planned, column))
      return fmt::format(
          "masked key column {}: the target's keys are masked, so they cannot be matched with "
          "the source's; refreshed whole, masked",
          display(column));
  if (mode.mode == SyncMode::kWatermark && IsMasked(planned, mode.watermark))
    return fmt::format("masked watermark column {}: refreshed whole, masked",
                       display(mode.watermark));
  if (mode.mode == SyncMode::kDiff)
    for (const auto& column : planned.mapping.columns)
      if (IsMasked(planned, column))
        return fmt::format(
            "{}, but a diff would compare masked column {} with the target's masked values: "
            "refreshed whole, masked",
            mode.reason, display(column));
  return std::nullopt;
}

std::string SchemaFingerprint(const Table& source, const Table& target,
                              const std::vector<std::string>& columns,
                              const std::string& watermark) {
  std::string text;
  for (const auto& name : columns) {
    const Column* s = source.FindColumn(name);
    const Column* t = target.FindColumn(name);
    text += fmt::format("{}:{}:{};", name, s ? s->type : "", t ? t->type : "");
  }
  text += "key:";
  for (const auto& column : target.primary_key) text += column + ",";
  text += ";watermark:" + watermark;
  return fmt::format("{:016x}", XXH3_64bits(text.data(), text.size()));
}

void ChooseModes(Plan& plan, const Catalog& source, const Catalog& target,
                 const std::vector<TableState>& states, const IncrementalOptions& options) {
  for (PlannedTable& planned : plan.tables) {
    const Table* s = source.Find(planned.name);
    const Table* t = target.Find(planned.name);
    if (!s || !t) continue;
    std::string error;
    planned.incremental =
        ChooseOne(planned, *s, *t, source, StateOf(states, planned.name), options, error);
    if (!error.empty()) plan.errors.push_back(error);
  }
}

}  // namespace freshet
