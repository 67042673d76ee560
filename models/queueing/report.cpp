// The queueing models' sections of the HTML report: what the general sections miss — a
// server's queue waits, utilization and concurrency limit, and a client's retries and
// timeouts.
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/queueing/client.h"
#include "models/queueing/server.h"

namespace dsim::queueing {

std::vector<ReportSection> Server::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection s;
  s.title = "Server: queues and workers";
  if (auto t = kit::worker_pool_table(in)) s.tables.push_back(std::move(*t));
  if (auto t = kit::figures_table(
          in, in.groups, "Refusals",
          "Requests refused (queue full or shed) or cancelled, and, with persistence, "
          "refused for a full disk.",
          {kit::counter("served", "served"), kit::counter("rejected", "rejected"),
           kit::counter("cancelled", "cancelled"), kit::counter("disk_full_rejects", "disk full")},
          true))
    s.tables.push_back(std::move(*t));
  if (!s.tables.empty()) out.push_back(std::move(s));
  return out;
}

std::vector<ReportSection> Client::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection s;
  s.title = "Client: retries and throttling";
  if (auto t = kit::retries_table(in)) s.tables.push_back(std::move(*t));
  if (auto t = kit::figures_table(in, in.groups, "Client-side rate limit",
                                  "Requests the client's own rate limit let through and held back.",
                                  {kit::counter("rate_limit_allowed", "allowed"),
                                   kit::counter("rate_limit_rejected", "held back")},
                                  true))
    s.tables.push_back(std::move(*t));
  if (!s.tables.empty()) out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::queueing
