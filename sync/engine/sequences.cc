#include "sync/engine/sequences.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <map>

namespace freshet {
namespace {

struct SequenceUse {
  std::vector<std::pair<QualifiedName, std::string>> columns;  // table, column
  std::vector<QualifiedName> source_sequences;
};

std::optional<int64_t> ParseValue(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

std::optional<int64_t> Further(bool ascending, std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return ascending ? std::max(*a, *b) : std::min(*a, *b);
}

// Direction, bounds and start of the target sequence, and the furthest value
// in its direction among the rows of the columns that use it.
struct TargetState {
  bool ascending = true;
  int64_t min_value = 0, max_value = 0, start_value = 0;
  std::optional<int64_t> rows;
};

TargetState ReadTargetState(Connection& target, const QualifiedName& sequence,
                            const SequenceUse& use) {
  std::vector<std::string> parts;
  for (const auto& [table, column] : use.columns)
    parts.push_back(fmt::format("SELECT max({0})::bigint AS hi, min({0})::bigint AS lo FROM {1}",
                                QuoteIdent(column), table.Quoted()));
  Result row =
      target.Exec(fmt::format("SELECT s.increment_by > 0, s.min_value::text, s.max_value::text, "
                              "s.start_value::text, max(u.hi)::text, min(u.lo)::text "
                              "FROM pg_catalog.pg_sequences s, ({}) u "
                              "WHERE s.schemaname = $1 AND s.sequencename = $2 "
                              "GROUP BY 1, 2, 3, 4",
                              fmt::join(parts, " UNION ALL ")),
                  {sequence.schema, sequence.name});
  if (row.Rows() == 0)
    throw Error(fmt::format("sequence {} is not visible on the target", sequence.Display()));
  TargetState state;
  state.ascending = row.GetBool(0, 0);
  state.min_value = *ParseValue(row.Get(0, 1));
  state.max_value = *ParseValue(row.Get(0, 2));
  state.start_value = *ParseValue(row.Get(0, 3));
  state.rows = ParseValue(row.GetOptional(0, state.ascending ? 4 : 5));
  return state;
}

std::string SetValue(Connection& target, const QualifiedName& sequence, int64_t value,
                     bool is_called) {
  return target
      .Exec("SELECT pg_catalog.setval($1::regclass, $2::bigint, $3::boolean)::text",
            {sequence.Quoted(), std::to_string(value), is_called ? "true" : "false"})
      .Get(0, 0);
}

}  // namespace

SequenceOutcome SyncSequences(const Plan& plan, Connection& source, Connection& target) {
  return SyncSequences(
      plan,
      [&source](const QualifiedName& sequence) -> std::optional<std::string> {
        // pg_sequences shows NULL (never an error) when the sequence was never
        // used or the role may not read it.
        Result row = source.Exec(
            "SELECT last_value::text FROM pg_catalog.pg_sequences "
            "WHERE schemaname = $1 AND sequencename = $2",
            {sequence.schema, sequence.name});
        return row.Rows() > 0 ? row.GetOptional(0, 0) : std::nullopt;
      },
      target);
}

SequenceOutcome SyncSequences(const Plan& plan, const SequenceValues& source_value_of,
                              Connection& target) {
  // One setval per target sequence, over every synced column that uses it: a
  // shared sequence set table by table would end at the last table's max.
  std::map<QualifiedName, SequenceUse> uses;
  for (const auto& table : plan.tables)
    for (const auto& sequence : table.sequences) {
      SequenceUse& use = uses[sequence.target_sequence];
      use.columns.push_back({table.name, sequence.column});
      if (sequence.source_sequence) use.source_sequences.push_back(*sequence.source_sequence);
    }
  for (const auto& [table, used] : plan.unsynced_sequence_columns)
    uses[used.sequence].columns.push_back({table, used.column});

  SequenceOutcome outcome;
  for (const auto& [sequence, use] : uses) {
    TargetState state = ReadTargetState(target, sequence, use);
    std::optional<int64_t> source;
    for (const auto& name : use.source_sequences)
      source = Further(state.ascending, source, ParseValue(source_value_of(name)));
    std::optional<int64_t> wanted = Further(state.ascending, source, state.rows);
    auto fits = [&](int64_t value) { return value >= state.min_value && value <= state.max_value; };
    if (!wanted) {  // neither a source value nor rows: as on an empty source
      outcome.lines.push_back(fmt::format("{} restarted at {}", sequence.Display(),
                                          SetValue(target, sequence, state.start_value, false)));
      continue;
    }
    if (fits(*wanted)) {
      outcome.lines.push_back(fmt::format("{} set to {}", sequence.Display(),
                                          SetValue(target, sequence, *wanted, true)));
      continue;
    }
    // Past the target sequence's bounds (a narrower MAXVALUE or type than the
    // source's): go as far as the rows need if that fits, and say so.
    std::string bound = state.ascending ? fmt::format("its maxvalue {}", state.max_value)
                                        : fmt::format("its minvalue {}", state.min_value);
    if (state.rows && fits(*state.rows) && *state.rows != *wanted) {
      SetValue(target, sequence, *state.rows, true);
      outcome.warnings.push_back(fmt::format(
          "sequence {}: the source's sequence is at {}, past {}; set to {}, the furthest "
          "synced row, so values the source has handed out may come again",
          sequence.Display(), *wanted, bound, *state.rows));
    } else {
      outcome.warnings.push_back(
          fmt::format("sequence {} was not moved: it would need {}, past {}, so an INSERT that "
                      "takes its next value will fail or collide",
                      sequence.Display(), *wanted, bound));
    }
  }
  return outcome;
}

}  // namespace freshet
