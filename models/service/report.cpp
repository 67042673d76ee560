// service's sections of the HTML report: what the general sections miss — how requests
// waited for workers and what the concurrency limit shed, where time went (residence and
// the service's own time), what failed over to fallbacks or tripped breakers, the
// retries of its calls, and its rate limit.
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/rate_limiter/analysis.h"
#include "models/service/service.h"

namespace dsim::service {

std::vector<ReportSection> Service::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection s;
  s.title = "Service: workers, failures and calls";
  if (auto t = kit::worker_pool_table(in)) s.tables.push_back(std::move(*t));
  if (auto t = kit::figures_table(
          in, in.groups, "Requests and failures",
          "Requests served and failed, answered by a fallback, refused, expired before a "
          "worker took them or cancelled, breakers opened, and the time a request spent in "
          "the service against its own work (residence minus own time: waiting on calls).",
          {kit::counter("served", "served"),
           kit::counter("failed", "failed"),
           kit::counter("fallbacks", "fallbacks"),
           kit::counter("rejected", "rejected"),
           kit::counter("expired", "expired"),
           kit::counter("cancelled", "cancelled"),
           kit::counter("breaker_opened", "breakers opened"),
           {"residence_ms_p50", "residence p50 (ms)", 3},
           {"residence_ms_p99", "residence p99 (ms)", 3},
           {"self_time_ms_p50", "own time p50 (ms)", 3},
           {"self_time_ms_p99", "own time p99 (ms)", 3}}))
    s.tables.push_back(std::move(*t));
  if (auto t = kit::retries_table(in)) s.tables.push_back(std::move(*t));
  if (!s.tables.empty()) out.push_back(std::move(s));
  for (auto& r : ratelimit::rate_limit_report(in, kName))
    out.push_back(std::move(r));
  return out;
}

}  // namespace dsim::service
