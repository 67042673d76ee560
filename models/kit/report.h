// What the models' report hooks share (sim/core/report_figure.h): the rows of a run file
// that belong to the model's groups, cells read by column name, tables of chosen columns,
// and a table of group-level summary figures. Every reader copes with a file that is
// absent, empty or lacks a column: it yields nothing rather than failing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/report_figure.h"

namespace dsim::kit {

/// The rows of a run file whose `group` column names one of `groups`, in file order.
struct GroupRows {
  CsvTable table;
  std::vector<size_t> rows;  ///< indices into table.rows
  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  /// The cell of the i-th selected row; "" when the table has no such column.
  const std::string& cell(size_t i, std::string_view column) const;
  /// The cell as a number; nullopt when empty, not a number or no such column.
  std::optional<double> number(size_t i, std::string_view column) const;
};

/// `file`'s rows of the groups; empty when the file is absent, unreadable or has no
/// `group` column.
GroupRows group_rows(const ReportInput& in, const std::string& file,
                     const std::vector<std::string>& groups);

/// A table of the selected rows' chosen columns (headings as given), at most `max_rows`
/// rows; the caption says how many were left out.
ReportTable rows_table(const GroupRows& rows, std::string title, std::string caption,
                       const std::vector<std::string>& columns, size_t max_rows = 200);

/// One group-level figure (summary.csv, op empty) and its heading in a table.
struct FigureColumn {
  std::string metric;
  std::string heading;
  int decimals = 0;  ///< decimals shown; the value 1 or 0 of a verdict reads "yes"/"no" with -1
  /// A counter: summary.csv leaves out a counter that stayed 0, so absent reads "0".
  bool counter = false;
};

/// A counter's column (FigureColumn::counter).
inline FigureColumn counter(std::string metric, std::string heading) {
  return {std::move(metric), std::move(heading), 0, true};
}

/// A table with one row per group of `groups` holding any of the figures ("-" where a
/// group has none, "0" for an absent counter; with `hide_zeros`, a group whose figures are all 0 is
/// left out too); nullopt when no group is left.
std::optional<ReportTable> figures_table(const ReportInput& in,
                                         const std::vector<std::string>& groups, std::string title,
                                         std::string caption,
                                         const std::vector<FigureColumn>& columns,
                                         bool hide_zeros = false);

/// Per group, the figures of a node's worker pool (worker_pool.h): queue waits,
/// utilization, the concurrency limit and what it shed; nullopt when no group has any.
std::optional<ReportTable> worker_pool_table(const ReportInput& in);

/// Per group, what its calls' retry policies did (rpc_client.h): retries, retries the
/// budget denied, attempts timed out, deadlines exceeded; nullopt when no group has any.
std::optional<ReportTable> retries_table(const ReportInput& in);

/// The node's index in its group from its name ("raft.3" -> 3); nullopt for another form.
std::optional<double> node_index(const std::string& node);

/// A number for a table: `decimals` places, "-" when absent.
std::string cell_text(std::optional<double> v, int decimals);

}  // namespace dsim::kit
