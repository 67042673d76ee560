#include "sim/core/csv_table.h"

#include <charconv>

namespace dsim {

std::optional<size_t> CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  return std::nullopt;
}

std::optional<double> CsvTable::number(const std::string& cell) {
  if (cell.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  return v;
}

namespace {

// Reads one record starting at pos (which it advances past the record's line break).
bool read_record(std::string_view text, size_t& pos, std::vector<std::string>& out) {
  out.assign(1, "");
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c != '"') {
        out.back() += c;
      } else if (pos < text.size() && text[pos] == '"') {
        out.back() += '"';
        ++pos;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return !quoted;
}

}  // namespace

std::optional<CsvTable> parse_csv_table(std::string_view text, std::string* error) {
  CsvTable t;
  size_t pos = 0;
  size_t line = 0;
  bool header = true;
  std::vector<std::string> record;
  while (pos < text.size()) {
    ++line;
    if (text[pos] == '#' || text[pos] == '\n') {
      const size_t nl = text.find('\n', pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      continue;
    }
    if (!read_record(text, pos, record)) {
      if (error) *error = "line " + std::to_string(line) + ": a quoted cell is not closed";
      return std::nullopt;
    }
    if (header) {
      t.columns = record;
      header = false;
    } else if (record.size() != t.columns.size()) {
      if (error)
        *error = "line " + std::to_string(line) + ": " + std::to_string(record.size()) +
                 " cells where the header has " + std::to_string(t.columns.size());
      return std::nullopt;
    } else {
      t.rows.push_back(record);
    }
  }
  return t;
}

}  // namespace dsim
