// load_balancer's sections of the HTML report: the requests each backend received from a
// balancer group (lb_backends.csv) as bars, how even that was, how fast crashed or slow
// backends were taken out (analysis.cpp), and what its rate limit admitted.
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/load_balancer/load_balancer.h"
#include "models/rate_limiter/analysis.h"

namespace dsim::lb {

namespace {

ReportFigure backends_figure(const kit::GroupRows& rows, const std::string& group) {
  ReportFigure f;
  f.title = "Requests per backend from " + group;
  f.caption =
      "The requests the group's balancers sent to each backend, retries included: even bars "
      "are an even spread; a short bar is a backend taken out or avoided.";
  f.kind = ReportFigure::Kind::bars;
  f.x_label = "backend";
  f.y_label = "requests";
  ReportSeries series{group, {}};
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows.cell(i, "group") != group) continue;
    series.points.emplace_back(static_cast<double>(f.categories.size()),
                               rows.number(i, "requests").value_or(0));
    f.categories.push_back(rows.cell(i, "backend"));
  }
  f.series.push_back(std::move(series));
  return f;
}

}  // namespace

std::vector<ReportSection> LoadBalancer::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  const auto rows = kit::group_rows(in, "lb_backends.csv", in.groups);
  const auto balance = kit::figures_table(
      in, in.groups, "Balance and health",
      "How even the load was (max/mean: 1 is even; cv: standard deviation over mean, 0 is "
      "even), requests refused for want of a backend, and how long the balancers took to "
      "take a crashed (or slow) backend out.",
      {{"backend_requests_max_over_mean", "max / mean", 3},
       {"backend_requests_cv", "cv", 3},
       kit::counter("refused_no_backend", "refused: no backend"),
       kit::counter("marked_unhealthy", "marked unhealthy"),
       kit::counter("ejections", "ejections"),
       {"time_to_detect_ms_mean", "detect crash, mean (ms)", 1},
       {"time_to_detect_ms_max", "detect crash, max (ms)", 1},
       {"crashes_undetected", "crashes undetected"},
       {"time_to_detect_slow_ms_max", "detect slow, max (ms)", 1},
       {"vip_failovers", "VIP failovers"},
       {"vip_failover_ms_max", "VIP failover, max (ms)", 1}});
  if (!rows.empty() || balance) {
    ReportSection s;
    s.title = "Load balancer: backends";
    for (const auto& g : in.groups) {
      ReportFigure f = backends_figure(rows, g);
      if (!f.categories.empty()) s.figures.push_back(std::move(f));
    }
    if (balance) s.tables.push_back(*balance);
    out.push_back(std::move(s));
  }
  for (auto& s : ratelimit::rate_limit_report(in, kName))
    out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::lb
