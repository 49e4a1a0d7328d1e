#include "sync/snapshot/restore_masks.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include "schema/type_limits.h"
#include "sync/engine/mask_plan.h"

namespace freshet {
namespace {

const Column* FindColumn(const Catalog& catalog, const QualifiedName& table,
                         const std::string& column) {
  const Table* found = catalog.Find(table);
  return found ? found->FindColumn(column) : nullptr;
}

size_t Utf8Characters(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

// The binary COPY form of rule `constant`'s `value` as the column's type,
// as `'value'::type` in a sync's SELECT gives it, for the types where that
// is plain: text, varchar and integers of the same type on both sides.
// Otherwise nullopt, with `problem` saying why (never the value).
std::optional<std::string> ConstantField(const Column& source, const Column& target,
                                         const std::string& value, std::string& problem) {
  if (source.type_id != target.type_id) {
    problem = fmt::format("the column is {} in the snapshot and {} on the target", source.type,
                          target.type);
    return std::nullopt;
  }
  const std::string& type = source.type_id;
  if (type == "text" || type == "character varying") {
    auto limit_of = [](const std::string& type_text) {
      size_t chars = LimitsOfType(type_text).max_chars;
      return chars == 0 ? std::numeric_limits<size_t>::max() : chars;
    };
    size_t limit = std::min(limit_of(source.type), limit_of(target.type));
    if (value.find('\0') != std::string::npos) {
      problem = "its value holds a NUL character";
      return std::nullopt;
    }
    if (Utf8Characters(value) > limit) {
      problem = fmt::format("its value is longer than the column's {} characters", limit);
      return std::nullopt;
    }
    return value;
  }
  int bytes = type == "smallint" ? 2 : type == "integer" ? 4 : type == "bigint" ? 8 : 0;
  if (bytes == 0) {
    problem = fmt::format("masks type {} only in the source's SELECT", source.type);
    return std::nullopt;
  }
  std::string_view digits = value;
  while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
  while (!digits.empty() && digits.back() == ' ') digits.remove_suffix(1);
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  int64_t number = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  int64_t bound =
      bytes == 8 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (8 * bytes - 1)) - 1;
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      number > bound || number < -bound - 1) {
    problem = fmt::format("its value is not a decimal {} this restore can write", source.type);
    return std::nullopt;
  }
  std::string out;
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((static_cast<uint64_t>(number) >> (8 * i)) & 0xff));
  return out;
}

// One masked column of a restore's stream, from its planned mask; nullopt
// (and a plan error naming the column) when the stream cannot do it.
std::optional<ColumnMasker> StreamField(const Catalog& source, const Catalog& target,
                                        const PlannedTable& table, const ColumnMask& mask,
                                        std::vector<std::string>& errors) {
  std::string where =
      fmt::format("column {}.{} ({})", table.name.Display(), mask.column, mask.origin);
  ColumnMasker field{mask.kind, mask.limits, mask.masker, mask.column, std::nullopt};
  if (mask.select_expression.empty()) return field;
  if (mask.rule.rule == "null") {
    field.masker = nullptr;  // every field NULL
    return field;
  }
  if (mask.rule.rule == "constant") {
    const Column* from = FindColumn(source, table.name, mask.column);
    const Column* to = FindColumn(target, table.name, mask.column);
    std::string problem = "the column is missing";
    if (from && to)
      if (auto bytes = ConstantField(*from, *to, mask.rule.value, problem)) {
        field.constant = std::move(*bytes);
        return field;
      }
    errors.push_back(fmt::format(
        "{}: rule \"constant\" cannot be applied while restoring an unmasked snapshot: {}; {}",
        where, problem, kCaptureMasked));
    return std::nullopt;
  }
  errors.push_back(fmt::format(
      "{}: rule \"{}\" is an expression the source evaluates, and a restore of an unmasked "
      "snapshot has no source to evaluate it; {}",
      where, mask.rule.rule, kCaptureMasked));
  return std::nullopt;
}

// What tells two streams' masking apart (the run has one key).
std::string FieldSignature(const ColumnMasker& field, const ColumnMask& mask) {
  return fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", field.column,
                     RuleSignature(mask.rule), static_cast<int>(field.kind), field.limits.max_chars,
                     field.limits.integer_bytes, field.limits.cidr, field.limits.jsonb,
                     field.masker != nullptr, field.constant ? "=" + *field.constant : "");
}

}  // namespace

std::optional<StreamMasks> PlanRestoreMasks(const Catalog& snapshot_catalog,
                                            const Catalog& target_catalog,
                                            const PlannedTable& table,
                                            const std::vector<std::string>& columns,
                                            const std::optional<std::vector<bool>>& keep,
                                            std::vector<std::string>& errors) {
  StreamMasks masks;
  bool complete = true;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (keep && !(*keep)[i]) continue;  // not sent
    auto mask = std::find_if(table.masks.begin(), table.masks.end(),
                             [&](const ColumnMask& m) { return m.column == columns[i]; });
    if (mask == table.masks.end()) {
      masks.fields.emplace_back();
      continue;
    }
    std::optional<ColumnMasker> field =
        StreamField(snapshot_catalog, target_catalog, table, *mask, errors);
    complete = complete && field.has_value();
    if (field) masks.signature += FieldSignature(*field, *mask) + "\x1e";
    masks.fields.push_back(std::move(field));
  }
  if (!complete) return std::nullopt;
  return masks;
}

}  // namespace freshet
