// Reading a run's files for the models' report hooks (report.h).
#include "models/kit/report.h"

#include <algorithm>

#include "sim/core/units.h"

namespace dsim::kit {

namespace {

const std::string kEmpty;

}  // namespace

const std::string& GroupRows::cell(size_t i, std::string_view column) const {
  const auto c = table.column(column);
  if (!c || i >= rows.size()) return kEmpty;
  return table.rows[rows[i]][*c];
}

std::optional<double> GroupRows::number(size_t i, std::string_view column) const {
  return CsvTable::number(cell(i, column));
}

GroupRows group_rows(const ReportInput& in, const std::string& file,
                     const std::vector<std::string>& groups) {
  GroupRows out;
  if (!in.table) return out;
  auto t = in.table(file);
  if (!t) return out;
  out.table = std::move(*t);
  const auto g = out.table.column("group");
  if (!g) return out;
  for (size_t r = 0; r < out.table.rows.size(); ++r) {
    const std::string& name = out.table.rows[r][*g];
    if (std::find(groups.begin(), groups.end(), name) != groups.end()) out.rows.push_back(r);
  }
  return out;
}

ReportTable rows_table(const GroupRows& rows, std::string title, std::string caption,
                       const std::vector<std::string>& columns, size_t max_rows) {
  ReportTable t;
  t.title = std::move(title);
  t.caption = std::move(caption);
  t.columns = columns;
  const size_t shown = std::min(rows.size(), max_rows);
  for (size_t i = 0; i < shown; ++i) {
    std::vector<std::string> row;
    for (const auto& c : columns)
      row.push_back(rows.cell(i, c));
    t.rows.push_back(std::move(row));
  }
  if (shown < rows.size())
    t.caption += " The first " + std::to_string(shown) + " of " + std::to_string(rows.size()) +
                 " rows are shown; the file has them all.";
  return t;
}

std::optional<ReportTable> figures_table(const ReportInput& in,
                                         const std::vector<std::string>& groups, std::string title,
                                         std::string caption,
                                         const std::vector<FigureColumn>& columns,
                                         bool hide_zeros) {
  ReportTable t;
  t.title = std::move(title);
  t.caption = std::move(caption);
  t.columns.push_back("group");
  for (const auto& c : columns)
    t.columns.push_back(c.heading);
  if (!in.figure) return std::nullopt;
  for (const auto& g : groups) {
    std::vector<std::string> row{g};
    bool any = false;
    for (const auto& c : columns) {
      auto v = in.figure(g, "", c.metric);
      any = any || (v && (!hide_zeros || *v != 0));
      if (!v && c.counter) v = 0;
      if (c.decimals < 0 && v)
        row.push_back(*v != 0 ? "yes" : "no");
      else
        row.push_back(cell_text(v, std::max(c.decimals, 0)));
    }
    if (any) t.rows.push_back(std::move(row));
  }
  if (t.rows.empty()) return std::nullopt;
  return t;
}

std::optional<ReportTable> worker_pool_table(const ReportInput& in) {
  return figures_table(
      in, in.groups, "Queues and workers",
      "How long requests waited for a worker (of those that waited), how busy the workers "
      "were, the longest queue, and, with a concurrency limit, its mean and the requests it "
      "shed.",
      {counter("waited", "waited"),
       {"queue_wait_ms_p50", "wait p50 (ms)", 3},
       {"queue_wait_ms_p99", "wait p99 (ms)", 3},
       {"queue_wait_ms_max", "wait max (ms)", 3},
       {"utilization_mean", "utilization", 3},
       {"busy_workers_peak", "busy workers, peak"},
       {"queue_length_peak", "queue, peak"},
       {"concurrency_limit_mean", "concurrency limit, mean", 1},
       counter("shed", "shed")});
}

std::optional<ReportTable> retries_table(const ReportInput& in) {
  return figures_table(
      in, in.groups, "Retries and timeouts",
      "Attempts that timed out, the retries they caused and those the retry budget denied, "
      "calls past their deadline and answers that came too late.",
      {counter("attempt_timeouts", "attempts timed out"), counter("retries", "retries"),
       counter("retries_denied", "retries denied"),
       counter("deadline_exceeded", "deadline exceeded"),
       counter("late_responses", "late responses"), counter("redirects", "redirects")},
      true);
}

std::optional<double> node_index(const std::string& node) {
  const auto dot = node.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  return CsvTable::number(node.substr(dot + 1));
}

std::string cell_text(std::optional<double> v, int decimals) {
  return v ? format_fixed(*v, decimals) : "-";
}

}  // namespace dsim::kit
