// Markdown text for reports, pull-request comments and job summaries (the
// run report, lint, migrate report). Pure, thread-safe.
#pragma once

#include <string>

namespace freshet {

// `text` on one line with table pipes escaped: safe in a table cell or a list
// item (newlines become spaces, `|` becomes `\|`).
std::string MarkdownCell(const std::string& text);

// `text` as one inline code span, on one line: fenced with one more backtick
// than its longest run of backticks, padded when it starts or ends with one.
std::string MarkdownCode(const std::string& text);

}  // namespace freshet
