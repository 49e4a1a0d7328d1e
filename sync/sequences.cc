#include "sync/sequences.h"

#include <fmt/format.h>

namespace freshet {

std::vector<std::string> SyncSequences(const Plan& plan, Connection& source, Connection& target) {
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

std::vector<std::string> SyncSequences(const Plan& plan, const SequenceValues& source_value_of,
                                       Connection& target) {
  std::vector<std::string> done;
  for (const auto& table : plan.tables) {
    for (const auto& sequence : table.sequences) {
      std::optional<std::string> source_value;
      if (sequence.source_sequence) source_value = source_value_of(*sequence.source_sequence);
      // greatest() ignores NULLs; with neither a source value nor rows the
      // sequence restarts at its start value, as on an empty source.
      Result result = target.Exec(
          fmt::format(
              "SELECT CASE WHEN v IS NULL "
              "THEN pg_catalog.setval($1::regclass, s.start_value, false) "
              "ELSE pg_catalog.setval($1::regclass, v, true) END::text "
              "FROM (SELECT greatest($2::bigint, (SELECT max({})::bigint FROM {})) AS v) m, "
              "pg_catalog.pg_sequences s "
              "WHERE s.schemaname = $3 AND s.sequencename = $4",
              QuoteIdent(sequence.column), table.name.Quoted()),
          {sequence.target_sequence.Quoted(), source_value, sequence.target_sequence.schema,
           sequence.target_sequence.name});
      if (result.Rows() > 0)
        done.push_back(
            fmt::format("{} set to {}", sequence.target_sequence.Display(), result.Get(0, 0)));
    }
  }
  return done;
}

}  // namespace freshet
