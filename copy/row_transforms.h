// Row transforms for COPY pipelines (see copy_stream.h). Pure.
#pragma once

#include <vector>

#include "copy/copy_rows.h"
#include "copy/copy_stream.h"

namespace freshet {

// Keeps the fields whose positions are marked in `keep` and drops the others
// (a snapshot's table restored into a target that lacks some columns).
class ProjectRows final : public RowTransform {
 public:
  ProjectRows(StreamFormat format, std::vector<bool> keep) : projector_(format, std::move(keep)) {}
  void Apply(std::string_view row, std::string& out) override { projector_.Project(row, out); }
  bool keeps_all() const { return projector_.keeps_all(); }

 private:
  RowProjector projector_;
};

}  // namespace freshet
