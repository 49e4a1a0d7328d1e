// What kind of edit an applied migration file went through, for the message
// that refuses it: the recorded statements (supabase_migrations'
// `statements`) and the file's statements now, compared by their parse trees
// without positions, so comments and whitespace do not count.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace freshet {

// True when `recorded` and `current` are the same statements up to comments
// and whitespace, false when the SQL differs; nullopt when either side does
// not parse (the comparison cannot tell).
std::optional<bool> SameSqlIgnoringComments(const std::vector<std::string>& recorded,
                                            const std::vector<std::string>& current);

}  // namespace freshet
