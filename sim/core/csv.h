#pragma once
// Writing CSV cells (RFC 4180): every CSV file dsim writes quotes its cells and writes its
// numbers this way.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

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

/// A number as every output file writes it: an integer without a decimal point, else the
/// shortest text that reads back exactly; empty for NaN and infinities (an unknown value).
inline std::string format_value(double v) {
  if (!std::isfinite(v)) return "";
  if (v == std::floor(v) && std::abs(v) < 9e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "";
}

}  // namespace dsim
