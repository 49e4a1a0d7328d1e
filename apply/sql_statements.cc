#include "apply/sql_statements.h"

#include <pg_query.h>

#include <nlohmann/json.hpp>

#include "copy/error.h"

namespace freshet {

void LineAndColumn(const std::string& text, size_t offset, int* line, int* column) {
  *line = 1;
  *column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++*line;
      *column = 1;
    } else {
      ++*column;
    }
  }
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// libpg_query's statement ranges include leading whitespace and comments;
// split them off (and the previous statement's ';') so the statement starts
// at its first keyword.
void SplitLeadingComments(const std::string& raw, std::string* comments, size_t* skipped) {
  size_t i = 0;
  while (i < raw.size()) {
    if (IsSpace(raw[i]) || raw[i] == ';') {
      ++i;
    } else if (raw.compare(i, 2, "--") == 0) {
      size_t end = raw.find('\n', i);
      i = end == std::string::npos ? raw.size() : end + 1;
    } else if (raw.compare(i, 2, "/*") == 0) {
      int depth = 0;  // PostgreSQL block comments nest
      size_t j = i;
      while (j < raw.size()) {
        if (raw.compare(j, 2, "/*") == 0) {
          ++depth;
          j += 2;
        } else if (raw.compare(j, 2, "*/") == 0) {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      i = j;
    } else {
      break;
    }
  }
  *comments = raw.substr(0, i);
  *skipped = i;
}

std::string TrimRight(std::string text) {
  while (!text.empty() && (IsSpace(text.back()) || text.back() == ';')) text.pop_back();
  return text;
}

SqlSyntaxError MakeError(const std::string& sql, const PgQueryError& error) {
  SqlSyntaxError out;
  out.message = error.message ? error.message : "syntax error";
  // cursorpos is 1-based; 0 means unknown.
  out.offset = error.cursorpos > 0 ? static_cast<size_t>(error.cursorpos - 1) : 0;
  LineAndColumn(sql, out.offset, &out.line, &out.column);
  return out;
}

}  // namespace

SplitResult SplitStatements(const std::string& sql) {
  SplitResult result;
  // The parser gives the precise error position; split only a valid file.
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    result.error = MakeError(sql, *parsed.error);
    pg_query_free_parse_result(parsed);
    return result;
  }
  pg_query_free_parse_result(parsed);

  PgQuerySplitResult split = pg_query_split_with_parser(sql.c_str());
  if (split.error) {
    result.error = MakeError(sql, *split.error);
    pg_query_free_split_result(split);
    return result;
  }
  size_t previous_end = 0;
  for (int i = 0; i < split.n_stmts; ++i) {
    size_t location = static_cast<size_t>(split.stmts[i]->stmt_location);
    size_t length = static_cast<size_t>(split.stmts[i]->stmt_len);
    if (length == 0) length = sql.size() - location;  // last statement without ';'
    // Include whatever lies between the previous statement and this one
    // (the ';' and comments) when looking for leading comments.
    size_t from = std::min(previous_end, location);
    std::string raw = sql.substr(from, location + length - from);
    std::string comments;
    size_t skipped = 0;
    SplitLeadingComments(raw, &comments, &skipped);
    Statement statement;
    statement.offset = from + skipped;
    statement.text = TrimRight(raw.substr(skipped));
    statement.leading_comments = comments;
    LineAndColumn(sql, statement.offset, &statement.line, &statement.column);
    previous_end = location + length;
    if (!statement.text.empty()) result.statements.push_back(std::move(statement));
  }
  pg_query_free_split_result(split);
  return result;
}

std::string ParseToJson(const std::string& statement) {
  PgQueryParseResult parsed = pg_query_parse(statement.c_str());
  if (parsed.error) {
    std::string message = parsed.error->message ? parsed.error->message : "syntax error";
    pg_query_free_parse_result(parsed);
    throw Error(ErrorKind::kUsage, "cannot parse statement: " + message);
  }
  std::string json = parsed.parse_tree ? parsed.parse_tree : "";
  pg_query_free_parse_result(parsed);
  return json;
}

}  // namespace freshet

namespace freshet {

bool MustRunOutsideTransaction(const std::string& statement) {
  nlohmann::json tree;
  try {
    tree = nlohmann::json::parse(ParseToJson(statement));
  } catch (const std::exception&) {
    return false;
  }
  const nlohmann::json& stmts = tree["stmts"];
  if (!stmts.is_array() || stmts.size() != 1) return false;
  const nlohmann::json& stmt = stmts[0]["stmt"];
  if (!stmt.is_object() || stmt.empty()) return false;
  const std::string& type = stmt.begin().key();
  const nlohmann::json& body = stmt.begin().value();
  auto flag = [&](const char* key) { return body.contains(key) && body[key] == true; };
  if (type == "IndexStmt" || type == "DropStmt") return flag("concurrent");
  if (type == "ReindexStmt") {
    for (const auto& param : body.value("params", nlohmann::json::array()))
      if (param.contains("DefElem") && param["DefElem"].value("defname", "") == "concurrently")
        return true;
    return false;
  }
  if (type == "VacuumStmt") return flag("is_vacuumcmd");
  static const char* kAlways[] = {"CreatedbStmt", "DropdbStmt", "AlterSystemStmt",
                                  "CreateTableSpaceStmt", "DropTableSpaceStmt"};
  for (const char* always : kAlways)
    if (type == always) return true;
  return false;
}

}  // namespace freshet
