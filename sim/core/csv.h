#pragma once
// Writing CSV cells (RFC 4180): every CSV file dsim writes quotes its cells this way.
#include <string>

namespace dsim {

/// s as one CSV cell: unchanged unless it holds a comma, a quote or a line break; then
/// quoted, with its quotes doubled.
inline std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace dsim
