// An Error that knows where in the migrations it arose: the file, the
// statement and its line and column, or several such places (every missing
// extension, ...). Thrown by the applier's checks and by a failing statement,
// so the CLI can print the location as data (`--format json`) rather than
// only inside the message. The message itself names the places too.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "copy/error.h"

namespace freshet {

struct MigrationLocation {
  std::string file;   // the migration's filename
  int statement = 0;  // 1-based; 0 when not about one statement
  int line = 0;       // 1-based; 0 when unknown
  int column = 0;     // 1-based; 0 when unknown

  bool operator==(const MigrationLocation&) const = default;
};

class MigrationError : public Error {
 public:
  MigrationError(const Error& error, std::vector<MigrationLocation> locations)
      : Error(error.what(), error.sqlstate(), error.kind()), locations_(std::move(locations)) {}

  // At least one, in the order the message names them.
  const std::vector<MigrationLocation>& locations() const { return locations_; }

 private:
  std::vector<MigrationLocation> locations_;
};

}  // namespace freshet
