// primary_backup's sections of the HTML report: the replicas' replication (lag, commit
// waits, refusals, promotions) and the monitors' failovers (detection, promotion and the
// whole failover time). Its consistency verdicts are the kv_client's section.
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/primary_backup/monitor.h"
#include "models/primary_backup/replica.h"

namespace dsim::pb {

std::vector<ReportSection> PrimaryBackup::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection s;
  s.title = "Primary-backup: replication";
  if (auto t = kit::figures_table(
          in, in.groups, "Replication",
          "How far backups trailed the primary (the time from a write at the primary to its "
          "application at a backup), how long writes waited for their acknowledgements, "
          "and the writes refused or fenced off around failovers.",
          {{"replication_lag_ms_p50", "lag p50 (ms)", 3},
           {"replication_lag_ms_p99", "lag p99 (ms)", 3},
           {"replication_lag_ms_max", "lag max (ms)", 3},
           {"commit_wait_ms_p99", "commit wait p99 (ms)", 3},
           {"lag_entries_peak", "lag, peak (entries)"},
           kit::counter("writes_refused", "writes refused"),
           kit::counter("fence_refusals", "fence refusals"),
           kit::counter("promotions", "promotions"),
           kit::counter("demotions", "demotions"),
           kit::counter("catch_ups", "catch-ups")}))
    s.tables.push_back(std::move(*t));
  if (!s.tables.empty()) out.push_back(std::move(s));
  return out;
}

std::vector<ReportSection> Monitor::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection s;
  s.title = "Primary-backup: failovers";
  if (auto t = kit::figures_table(
          in, in.groups, "Failovers",
          "Failovers the monitors carried out, rounds that failed or were blocked, and their "
          "phases: the old primary's last pong to the suspicion (detection), the suspicion to "
          "the new configuration (promotion), the suspicion to the new primary's first "
          "acknowledged write (serving again), and the whole outage as writers see it.",
          {kit::counter("failovers", "failovers"),
           kit::counter("failover_rounds_failed", "rounds failed"),
           kit::counter("failovers_blocked", "blocked"),
           {"failover_detection_ms_mean", "detection mean (ms)", 1},
           {"failover_promotion_ms_mean", "promotion mean (ms)", 1},
           {"failover_serving_ms_mean", "serving again, mean (ms)", 1},
           {"failover_time_ms_mean", "outage mean (ms)", 1},
           {"failover_time_ms_max", "outage max (ms)", 1}}))
    s.tables.push_back(std::move(*t));
  if (!s.tables.empty()) out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::pb
