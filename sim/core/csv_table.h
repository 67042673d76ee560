// Reading back the CSV files dsim writes (RFC 4180 cells, '#' comment lines skipped): for
// post-run tools that work from a run directory (reports, sweeps, analyses).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsim {

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  ///< each as wide as columns

  /// The index of a column; nullopt when the table has none of that name.
  std::optional<size_t> column(std::string_view name) const;
  /// A cell as a number; nullopt when it is empty or not a number.
  static std::optional<double> number(const std::string& cell);
};

/// Parses CSV text: the first line that is not a '#' comment names the columns. Returns
/// nullopt (and says why in *error when given) when a row's width differs from the
/// header's or a quoted cell is not closed.
std::optional<CsvTable> parse_csv_table(std::string_view text, std::string* error = nullptr);

}  // namespace dsim
