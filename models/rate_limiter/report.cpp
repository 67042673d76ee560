// The report section of a model's rate limits (analysis.h), for every model that limits
// (rate_limiter, load_balancer, service): per group, the requests admitted and rejected in
// each window against the limit (<model>_rate_limit_windows.csv), and the overshoot and
// fairness figures.
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/rate_limiter/analysis.h"

namespace dsim::ratelimit {

namespace {

ReportFigure windows_figure(const kit::GroupRows& rows, const std::string& group) {
  ReportFigure f;
  f.title = "Admitted and rejected per window in " + group;
  f.caption =
      "Requests the group admitted and rejected in each window of its limit: admitted above "
      "the limit is overshoot (limits kept apart on each node, or synchronized late).";
  f.kind = ReportFigure::Kind::step;
  f.x_label = "window end (s)";
  f.y_label = "requests per window";
  ReportSeries admitted{"admitted", {}}, rejected{"rejected", {}}, limit{"limit", {}};
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows.cell(i, "group") != group) continue;
    const auto at = rows.number(i, "window_end_s");
    if (!at) continue;
    admitted.points.emplace_back(*at, rows.number(i, "admitted").value_or(0));
    rejected.points.emplace_back(*at, rows.number(i, "rejected").value_or(0));
    if (const auto l = rows.number(i, "limit"); l && *l > 0) limit.points.emplace_back(*at, *l);
  }
  for (ReportSeries* s : {&admitted, &rejected, &limit})
    if (!s->points.empty()) f.series.push_back(std::move(*s));
  return f;
}

}  // namespace

std::vector<ReportSection> rate_limit_report(const ReportInput& in, std::string_view model) {
  std::vector<ReportSection> out;
  const auto rows = kit::group_rows(in, std::string(model) + "_rate_limit_windows.csv", in.groups);
  const auto figures = kit::figures_table(
      in, in.groups, "Rate-limit figures",
      "Requests admitted and rejected in all, the limit per window, the most admitted in "
      "one window and in any window-long span, the overshoot above the limit, and Jain's "
      "fairness index over the clients (1: even).",
      {kit::counter("rate_limit_allowed", "admitted"),
       kit::counter("rate_limit_rejected", "rejected"),
       {"rate_limit_limit", "limit / window"},
       {"rate_limit_max_admitted", "most in a window"},
       {"rate_limit_max_sliding", "most in a sliding window"},
       {"rate_limit_overshoot", "overshoot"},
       {"rate_limit_max_overshoot", "worst overshoot"},
       {"rate_limit_fairness", "fairness", 3}});
  if (rows.empty() && !figures) return out;
  ReportSection s;
  s.title = std::string(model) + ": rate limit";
  for (const auto& g : in.groups) {
    ReportFigure f = windows_figure(rows, g);
    if (!f.series.empty()) s.figures.push_back(std::move(f));
  }
  if (figures) s.tables.push_back(*figures);
  out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::ratelimit
