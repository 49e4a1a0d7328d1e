// Masking inside the COPY stream: a row transform over COPY binary rows that
// decodes only the masked columns' fields (mask_value.h), has their maskers
// change them and encodes them back, copying every other field's bytes
// through untouched. Pure; one instance per stream (not thread-safe).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "copy/copy_rows.h"  // StreamFormat
#include "copy/copy_stream.h"
#include "copy/mask_transformers.h"
#include "copy/mask_value.h"

namespace freshet {

// Decodes a COPY binary field (its bytes, without the length word) of
// `kind` into `value`; throws Error on bytes that are not such a value (the
// message says what is wrong, never what the bytes hold). `limits` tells
// jsonb's binary form (a version byte, then the text) from json's, and a
// cidr column's text form ("10.0.0.0/8", always with the prefix) from inet's.
void DecodeField(std::string_view field, ValueKind kind, const ValueLimits& limits,
                 MaskValue& value);
// The same without the column's limits: a json field is taken as jsonb's form
// when it starts with jsonb's version byte 1 (no JSON text starts with a
// control character), an inet field as cidr when its is_cidr byte is set.
void DecodeField(std::string_view field, ValueKind kind, MaskValue& value);
// Appends the binary form of `value` (without the length word) to `out`;
// throws Error when it does not fit (an integer out of `limits`' width, a
// date or timestamp out of PostgreSQL's range, text that is not UTF-8 or
// longer than `limits.max_chars`, a malformed decimal or inet text).
void EncodeField(const MaskValue& value, const ValueLimits& limits, std::string& out);

// One column of the stream's rows and what masks it.
struct ColumnMasker {
  ValueKind kind = ValueKind::kText;
  ValueLimits limits;
  std::shared_ptr<const ValueMasker> masker;  // null: the field becomes NULL
  std::string column;                         // names it in errors
  // When set, every row's field becomes these bytes (a value's binary form,
  // without the length word), NULL or not: rule `constant` applied in the
  // stream, as `'value'::type` in a SELECT would give it. `masker` is unused.
  std::optional<std::string> constant = std::nullopt;
};

class MaskRows final : public RowTransform {
 public:
  // `columns` has one entry per field of the rows; nullopt passes the field
  // through. Throws Error unless the stream is binary.
  MaskRows(StreamFormat format, std::vector<std::optional<ColumnMasker>> columns);
  void Apply(std::string_view row, std::string& out) override;

  // Non-NULL fields replaced so far (masked, made NULL, or a constant).
  uint64_t masked_fields() const { return masked_fields_; }

 private:
  // Appends the masked form of one field of `column` (nullopt: NULL), its
  // length word included.
  void MaskField(const ColumnMasker& column, std::optional<std::string_view> field,
                 std::string& out);

  std::vector<std::optional<ColumnMasker>> columns_;
  MaskValue value_;  // reused per field, so its text keeps its capacity
  uint64_t masked_fields_ = 0;
};

}  // namespace freshet
