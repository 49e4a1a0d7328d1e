// Throughput of masking inside the COPY stream (copy/mask_codec.h) on binary
// rows shaped like a CRM table: id bigint, account_id bigint, external_id
// uuid, kind text, payload jsonb (~150 bytes), created_at and updated_at
// timestamptz. Compares passing every field through (the cost of walking the
// row), masking the text column with a trivial masker (the codec's own cost
// for text), masking the uuid column, and the real email and uuid rules.
// MB/s is of the input rows.
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "copy/mask_codec.h"
#include "copy/mask_key.h"
#include "copy/mask_rule.h"
#include "copy/mask_transformers.h"

namespace freshet {
namespace {

constexpr int kRows = 8192;
constexpr size_t kKindColumn = 3, kUuidColumn = 2, kColumns = 7;

std::string BigEndian(uint64_t value, int bytes) {
  std::string out;
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(value >> shift));
  return out;
}

void AppendField(std::string& row, std::string_view value) {
  row += BigEndian(value.size(), 4);
  row.append(value);
}

std::string MakeRow(std::mt19937_64& random, uint64_t id) {
  static const char* kKinds[] = {"lead", "customer", "partner", "churned", "prospect"};
  static const char* kStages[] = {"new", "qualified", "proposal", "negotiation", "won"};
  std::string uuid;
  for (int i = 0; i < 2; ++i) uuid += BigEndian(random(), 8);
  std::string payload =
      "\1{\"score\": " + std::to_string(random() % 100) + ", \"source\": \"web\", \"stage\": \"" +
      kStages[random() % 5] +
      "\", \"tags\": [\"b2b\", \"emea\"], \"owner\": " + std::to_string(random() % 500) +
      ", \"notes\": \"called back, wants a demo next week\"}";
  uint64_t created = 757382400000000ull + random() % 31536000000000ull;  // 2024
  std::string row = BigEndian(kColumns, 2);
  AppendField(row, BigEndian(id, 8));
  AppendField(row, BigEndian(random() % 100000, 8));
  AppendField(row, uuid);
  AppendField(row, kKinds[random() % 5]);
  AppendField(row, payload);
  AppendField(row, BigEndian(created, 8));
  AppendField(row, BigEndian(created + random() % 86400000000ull, 8));
  return row;
}

const std::vector<std::string>& Rows() {
  static const std::vector<std::string> rows = [] {
    std::mt19937_64 random(42);
    std::vector<std::string> out;
    for (int i = 0; i < kRows; ++i) out.push_back(MakeRow(random, 1000000 + i));
    return out;
  }();
  return rows;
}

// Upper-cases text in place and flips the uuid's bytes: no allocation, so
// the figures are the codec's.
class TrivialMasker final : public ValueMasker {
 public:
  bool Mask(MaskValue& value) const override {
    for (char& c : value.text)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    for (uint8_t& byte : value.bytes) byte = static_cast<uint8_t>(~byte);
    return true;
  }
};

std::optional<ColumnMasker> Column(ValueKind kind, const char* type,
                                   std::shared_ptr<const ValueMasker> masker, const char* name) {
  return ColumnMasker{kind, LimitsOfType(type), std::move(masker), name};
}

std::shared_ptr<const ValueMasker> RuleMasker(const char* rule, ValueKind kind, const char* type) {
  static const MaskKey key = MaskKey::FromSecret("bench-secret-0123456789abcdef");
  MaskRule mask_rule;
  mask_rule.rule = rule;
  return MakeMasker(mask_rule, key, kind, LimitsOfType(type));
}

void Run(benchmark::State& state, std::vector<std::optional<ColumnMasker>> columns) {
  columns.resize(kColumns);
  MaskRows masker(StreamFormat::kBinary, std::move(columns));
  const std::vector<std::string>& rows = Rows();
  size_t bytes = 0;
  for (const std::string& row : rows) bytes += row.size();
  std::string out;
  out.reserve(bytes * 2);
  for (auto _ : state) {
    out.clear();
    for (const std::string& row : rows) masker.Apply(row, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows.size()));
  state.counters["row_bytes"] = static_cast<double>(bytes) / static_cast<double>(rows.size());
}

void BM_MaskRowsPassThrough(benchmark::State& state) { Run(state, {}); }

void BM_MaskRowsTextTrivial(benchmark::State& state) {
  std::vector<std::optional<ColumnMasker>> columns(kColumns);
  columns[kKindColumn] =
      Column(ValueKind::kText, "text", std::make_shared<TrivialMasker>(), "kind");
  Run(state, std::move(columns));
}

void BM_MaskRowsUuidTrivial(benchmark::State& state) {
  std::vector<std::optional<ColumnMasker>> columns(kColumns);
  columns[kUuidColumn] =
      Column(ValueKind::kUuid, "uuid", std::make_shared<TrivialMasker>(), "external_id");
  Run(state, std::move(columns));
}

void BM_MaskRowsEmailRule(benchmark::State& state) {
  std::vector<std::optional<ColumnMasker>> columns(kColumns);
  columns[kKindColumn] =
      Column(ValueKind::kText, "text", RuleMasker("email", ValueKind::kText, "text"), "kind");
  Run(state, std::move(columns));
}

void BM_MaskRowsUuidRule(benchmark::State& state) {
  std::vector<std::optional<ColumnMasker>> columns(kColumns);
  columns[kUuidColumn] =
      Column(ValueKind::kUuid, "uuid", RuleMasker("uuid", ValueKind::kUuid, "uuid"), "external_id");
  Run(state, std::move(columns));
}

BENCHMARK(BM_MaskRowsPassThrough);
BENCHMARK(BM_MaskRowsTextTrivial);
BENCHMARK(BM_MaskRowsUuidTrivial);
BENCHMARK(BM_MaskRowsEmailRule);
BENCHMARK(BM_MaskRowsUuidRule);

}  // namespace
}  // namespace freshet
