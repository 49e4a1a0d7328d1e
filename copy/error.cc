#include "copy/error.h"

namespace freshet {

std::string Abbreviate(std::string_view sql, size_t max) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    bool ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (ws) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
    if (out.size() > max) {
      size_t cut = max;  // on a character boundary: never half a UTF-8 sequence
      while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
      out.resize(cut);
      out += "...";
      break;
    }
  }
  return out;
}

}  // namespace freshet
