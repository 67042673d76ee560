// Raft's sections of the HTML report, from the files of its failover analysis
// (analysis.h): who led when (leaders.csv), each failover against the fault that caused it
// (failovers.csv with faults.csv), the distribution of leaderless times (leaderless.csv)
// and the crashes that could not be measured (lost_trials.csv).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/raft/node.h"
#include "sim/core/units.h"

namespace dsim::raft {

namespace {

// The fault of faults.csv that started when the failover did, of a kind that explains its
// cause: "crash#3 raft.2"; "" when none did (an election, a step-down).
std::string causing_fault(const std::optional<CsvTable>& faults, double start_s,
                          const std::string& cause) {
  std::string kind = cause == "isolation" ? "partition" : cause;
  if (kind != "crash" && kind != "pause" && kind != "partition") return "";
  if (!faults) return "";
  const auto t = faults->column("time_s"), ev = faults->column("event"),
             id = faults->column("fault"), k = faults->column("kind"),
             targets = faults->column("targets");
  if (!t || !ev || !id || !k || !targets) return "";
  for (const auto& row : faults->rows) {
    const auto at = CsvTable::number(row[*t]);
    if (!at || std::abs(*at - start_s) > 1e-6 || row[*ev] == "end" || row[*k] != kind) continue;
    return row[*k] + "#" + row[*id] + " " + row[*targets];
  }
  return "";
}

// Who led when: a step per group (the leader's index; -1 while none led), and the terms.
ReportSection leaders_section(const ReportInput& in, const kit::GroupRows& leaders) {
  ReportSection s;
  s.title = "Raft: leaders";
  ReportFigure f;
  f.title = "Leader over time";
  f.caption =
      "Which server led each cluster (its index in the group; -1 while no server led), "
      "against the faults: a change of level is a new leader.";
  f.kind = ReportFigure::Kind::step;
  f.x_label = "time (s)";
  f.y_label = "leader (server index)";
  f.bands = in.fault_bands;
  for (const auto& g : in.groups) {
    ReportSeries series{g, {}};
    double last_end = -1;
    for (size_t i = 0; i < leaders.size(); ++i) {
      if (leaders.cell(i, "group") != g) continue;
      const auto elected = leaders.number(i, "elected_s"), end = leaders.number(i, "end_s");
      const auto who = kit::node_index(leaders.cell(i, "leader"));
      if (!elected || !end || !who) continue;
      if (last_end >= 0 && *elected > last_end) series.points.emplace_back(last_end, -1);
      series.points.emplace_back(*elected, *who);
      last_end = *end;
    }
    if (last_end >= 0) series.points.emplace_back(last_end, series.points.back().second);
    if (!series.points.empty()) f.series.push_back(std::move(series));
  }
  if (!f.series.empty()) s.figures.push_back(std::move(f));
  s.tables.push_back(kit::rows_table(
      leaders, "Terms",
      "One row per term that had a leader: who, from when to when, and why it ended.",
      {"group", "term", "leader", "elected_s", "end_s", "end_reason"}));
  return s;
}

// Each failover against its fault: a table and the election and leaderless times as bars.
ReportSection failovers_section(const ReportInput& in, const kit::GroupRows& failovers) {
  ReportSection s;
  s.title = "Raft: failovers";
  s.text =
      "A failover starts when the effective leader is hit (crashed, paused, cut off from its "
      "majority, stepping down) or at the first campaign for a newer term, and ends when every "
      "live server has heard from a new leader. Time to elect runs to the first leader of a "
      "newer term; leaderless time to the end of the failover.";
  ReportTable t;
  t.title = "Failovers";
  t.caption =
      "One row per failover: its cause and the fault that caused it, the old and the new "
      "leader, and how long the cluster went without one (empty: still leaderless at the end).";
  t.columns = {"group",      "start_s",          "cause",         "fault",   "old_leader",
               "new_leader", "time_to_elect_ms", "leaderless_ms", "measured"};
  ReportFigure f;
  f.title = "Failover times";
  f.caption =
      "For each failover, the time to elect a new leader and the whole leaderless time: the "
      "gap between the two is the new leader's first round of AppendEntries.";
  f.kind = ReportFigure::Kind::bars;
  f.x_label = "failover (group, start)";
  f.y_label = "time (ms)";
  ReportSeries elect{"time to elect", {}}, leaderless{"leaderless", {}};
  const auto faults = in.table ? in.table("faults.csv") : std::nullopt;
  constexpr size_t kMostRows = 200, kMostBars = 60;
  const size_t shown = std::min(failovers.size(), kMostRows);
  if (shown < failovers.size())
    t.caption += " The first " + std::to_string(shown) + " of " + std::to_string(failovers.size()) +
                 " failovers are shown; failovers.csv has them all.";
  for (size_t i = 0; i < shown; ++i) {
    const auto start = failovers.number(i, "start_s").value_or(0);
    const std::string& cause = failovers.cell(i, "cause");
    t.rows.push_back({failovers.cell(i, "group"), failovers.cell(i, "start_s"), cause,
                      causing_fault(faults, start, cause), failovers.cell(i, "old_leader"),
                      failovers.cell(i, "new_leader"), failovers.cell(i, "time_to_elect_ms"),
                      failovers.cell(i, "leaderless_ms"), failovers.cell(i, "measured")});
    const auto x = static_cast<double>(i);
    f.categories.push_back(failovers.cell(i, "group") + " " + format_fixed(start, 3) + " s");
    elect.points.emplace_back(x, failovers.number(i, "time_to_elect_ms").value_or(0));
    leaderless.points.emplace_back(x, failovers.number(i, "leaderless_ms").value_or(0));
  }
  f.series = {std::move(elect), std::move(leaderless)};
  if (failovers.size() <= kMostBars) s.figures.push_back(std::move(f));
  s.tables.push_back(std::move(t));
  return s;
}

// The leaderless times' CDF per group, and the summary figures beside it.
ReportSection leaderless_section(const ReportInput& in, const kit::GroupRows& hist) {
  ReportSection s;
  s.title = "Raft: leaderless time";
  ReportFigure f;
  f.title = "Leaderless time, CDF";
  f.caption =
      "The share of measured failovers (after the warmup) that ended within a time, in 5 ms "
      "buckets: the steepest rise is the typical failover, the tail the split votes.";
  f.kind = ReportFigure::Kind::step;
  f.x_label = "leaderless time (ms)";
  f.y_label = "share of failovers";
  for (const auto& g : in.groups) {
    ReportSeries series{g, {}};
    for (size_t i = 0; i < hist.size(); ++i) {
      if (hist.cell(i, "group") != g) continue;
      const auto hi = hist.number(i, "bucket_hi_ms"), cdf = hist.number(i, "cdf");
      if (!hi || !cdf) continue;
      if (series.points.empty())
        series.points.emplace_back(hist.number(i, "bucket_lo_ms").value_or(*hi), 0);
      series.points.emplace_back(*hi, *cdf);
    }
    if (!series.points.empty()) f.series.push_back(std::move(series));
  }
  if (!f.series.empty()) s.figures.push_back(std::move(f));
  if (auto t = kit::figures_table(
          in, in.groups, "Failover figures",
          "Failovers after the warmup by their end, the leaderless percentiles (exact, "
          "nearest rank), split votes and the highest term.",
          {{"failovers", "failovers"},
           {"failovers_unfinished", "unfinished"},
           {"leaderless_ms_p50", "leaderless p50 (ms)", 1},
           {"leaderless_ms_p99", "leaderless p99 (ms)", 1},
           {"leaderless_ms_max", "leaderless max (ms)", 1},
           {"time_to_elect_ms_p50", "elect p50 (ms)", 1},
           {"split_votes", "split votes"},
           {"max_term", "max term"},
           {"election_safety_violations", "two leaders in a term"}}))
    s.tables.push_back(std::move(*t));
  return s;
}

}  // namespace

std::vector<ReportSection> RaftNode::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  const auto leaders = kit::group_rows(in, "leaders.csv", in.groups);
  if (!leaders.empty()) out.push_back(leaders_section(in, leaders));
  const auto failovers = kit::group_rows(in, "failovers.csv", in.groups);
  if (!failovers.empty()) out.push_back(failovers_section(in, failovers));
  const auto hist = kit::group_rows(in, "leaderless.csv", in.groups);
  ReportSection leaderless = leaderless_section(in, hist);
  if (!leaderless.figures.empty() || !leaderless.tables.empty())
    out.push_back(std::move(leaderless));
  const auto lost = kit::group_rows(in, "lost_trials.csv", in.groups);
  if (!lost.empty()) {
    ReportSection s;
    s.title = "Raft: trials that could not be measured";
    s.text =
        "Crashes and pauses meant as failover trials that found no leader to hit (no_target) "
        "or hit the cluster while it had no effective leader (during_failover): a failover "
        "longer than the period between faults shows here.";
    s.tables.push_back(kit::rows_table(lost, "Lost trials", "One row per lost trial.",
                                       {"group", "at_s", "fault", "reason", "measured"}));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dsim::raft
