#include "copy/markdown.h"

#include <algorithm>

namespace freshet {

std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out.push_back(' ');
    else
      out.push_back(c);
  }
  return out;
}

std::string MarkdownCode(const std::string& text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(longest + 1, '`');
  std::string one_line = text;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  std::replace(one_line.begin(), one_line.end(), '\r', ' ');
  bool pad = !one_line.empty() && (one_line.front() == '`' || one_line.back() == '`');
  return pad ? fence + " " + one_line + " " + fence : fence + one_line + fence;
}

}  // namespace freshet
