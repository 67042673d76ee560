// kv_client's sections of the HTML report: the verdicts of the kv history family's
// checkers (models/kv/check/checks.h) — linearizability with its counterexamples,
// staleness and sessions — the t-visibility and k-staleness curves, and the availability
// analysis of the clients' operations (unavailability.csv, recovery.csv).
#include <string>
#include <vector>

#include "models/kit/report.h"
#include "models/kv/client.h"

namespace dsim::kv {

namespace {

// "linearizable", "not linearizable" or "unknown"; "" when the checker did not run.
std::string linearizability_verdict(const ReportInput& in) {
  if (!in.figure) return "";
  const auto keys = in.figure("run", "", "linearizability_keys");
  if (!keys) return "";
  const auto v = in.figure("run", "", "linearizable");
  if (!v) return "unknown";
  return *v == 1 ? "linearizable" : "not linearizable";
}

ReportSection verdicts_section(const ReportInput& in) {
  ReportSection s;
  s.title = "Consistency verdicts";
  const std::string verdict = linearizability_verdict(in);
  if (!verdict.empty()) {
    s.text = "Linearizability, key by key: " + verdict + ".";
    if (verdict != "linearizable") {
      if (auto text = in.text ? in.text("linearizability.txt") : std::nullopt) {
        s.text +=
            " The counterexamples below are the keys' operations shrunk to a small set "
            "that no order explains.";
        s.preformatted = std::move(*text);
      }
    }
  }
  if (auto t = kit::figures_table(
          in, {"run"}, "Linearizability",
          "Keys checked, found not linearizable, and left unknown by the search's budget.",
          {{"linearizable", "linearizable", -1},
           {"linearizability_keys", "keys"},
           {"linearizability_keys_violated", "violated"},
           {"linearizability_keys_unknown", "unknown"}}))
    s.tables.push_back(std::move(*t));
  std::vector<std::string> groups{"run"};
  groups.insert(groups.end(), in.groups.begin(), in.groups.end());
  if (auto t = kit::figures_table(
          in, groups, "Staleness and sessions",
          "Reads checked after the warmup, those that missed an acknowledged newer write "
          "(stale, k versions behind), session guarantees broken, and writes lost or applied "
          "twice: every count but the reads is 0 for a linearizable store.",
          {{"reads_checked", "reads"},
           {"stale_reads", "stale"},
           {"stale_read_rate", "stale rate", 4},
           {"k_staleness_max", "k max"},
           {"visibility_lag_ms_max", "lag max (ms)", 3},
           {"read_your_writes_violations", "read-your-writes broken"},
           {"monotonic_read_violations", "monotonic reads broken"},
           {"lost_writes", "lost writes"},
           {"duplicate_appends", "duplicate appends"},
           {"invalid_reads", "invalid reads"}}))
    s.tables.push_back(std::move(*t));
  return s;
}

// The groups of the staleness files: "all" (every client group), then each client group.
std::vector<std::string> staleness_groups(const ReportInput& in) {
  std::vector<std::string> groups{"all"};
  groups.insert(groups.end(), in.groups.begin(), in.groups.end());
  return groups;
}

// p_visible against t (t_visibility.csv's buckets; t_visibility_at.csv's exact times).
std::optional<ReportFigure> t_visibility_figure(const ReportInput& in) {
  ReportFigure f;
  f.title = "t-visibility";
  f.caption =
      "The probability that a read started t after a write completed sees it or a newer "
      "write (the PBS curve): 1 everywhere for a linearizable store; where it reaches 1 is "
      "how long replicas lag.";
  f.x_label = "t since the write completed (ms)";
  f.y_label = "P(read sees the write)";
  const auto groups = staleness_groups(in);
  const auto buckets = kit::group_rows(in, "t_visibility.csv", groups);
  for (const auto& g : groups) {
    ReportSeries series{g, {}};
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (buckets.cell(i, "group") != g) continue;
      const auto lo = buckets.number(i, "t_ms_lo"), p = buckets.number(i, "p_visible");
      if (lo && p) series.points.emplace_back(*lo, *p);
    }
    if (!series.points.empty()) f.series.push_back(std::move(series));
  }
  const auto probes = kit::group_rows(in, "t_visibility_at.csv", in.groups);
  for (const auto& g : in.groups) {
    ReportSeries series{g + " probes", {}};
    for (size_t i = 0; i < probes.size(); ++i) {
      if (probes.cell(i, "group") != g) continue;
      const auto t = probes.number(i, "t_ms"), p = probes.number(i, "p_visible");
      if (t && p) series.points.emplace_back(*t, *p);
    }
    if (!series.points.empty()) f.series.push_back(std::move(series));
  }
  if (f.series.empty()) return std::nullopt;
  return f;
}

// The share of reads k versions behind, per k.
std::optional<ReportFigure> k_staleness_figure(const ReportInput& in) {
  ReportFigure f;
  f.title = "k-staleness";
  f.caption =
      "The share of checked reads that missed k acknowledged newer writes: k = 0 is a fresh "
      "read, and the shares beyond it show how far behind stale reads were.";
  f.kind = ReportFigure::Kind::step;
  f.x_label = "k (writes missed)";
  f.y_label = "share of reads";
  const auto groups = staleness_groups(in);
  const auto rows = kit::group_rows(in, "k_staleness.csv", groups);
  for (const auto& g : groups) {
    ReportSeries series{g, {}};
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows.cell(i, "group") != g) continue;
      const auto k = rows.number(i, "k"), share = rows.number(i, "fraction");
      if (k && share) series.points.emplace_back(*k, *share);
    }
    if (!series.points.empty()) f.series.push_back(std::move(series));
  }
  if (f.series.empty()) return std::nullopt;
  return f;
}

std::optional<ReportSection> availability_section(const ReportInput& in) {
  ReportSection s;
  s.title = "Unavailability and recovery";
  s.text =
      "From the clients' history: an unavailable interval opens at a failed operation and "
      "closes at the group's next success; time to recover is measured from each fault's "
      "start.";
  const auto intervals = kit::group_rows(in, "unavailability.csv", in.groups);
  if (!intervals.empty())
    s.tables.push_back(kit::rows_table(
        intervals, "Unavailable intervals",
        "Per client group and operation type (all: every type together), when the clients "
        "could not get an answer, and how many operations failed in it.",
        {"group", "op", "start_s", "end_s", "duration_s", "failed_ops"}));
  if (auto recovery = in.table ? in.table("recovery.csv") : std::nullopt;
      recovery && !recovery->rows.empty()) {
    kit::GroupRows all;
    all.table = std::move(*recovery);
    for (size_t r = 0; r < all.table.rows.size(); ++r)
      all.rows.push_back(r);
    s.tables.push_back(kit::rows_table(
        all, "Time to recover",
        "Per fault, the time to the first success after it began and to throughput back at "
        "90% of the baseline before it (empty: not within the run).",
        {"fault", "op", "start_s", "end_s", "baseline_throughput_per_s", "time_to_first_success_ms",
         "time_to_recover_ms"}));
  }
  if (s.tables.empty()) return std::nullopt;
  return s;
}

}  // namespace

std::vector<ReportSection> KvClient::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  ReportSection verdicts = verdicts_section(in);
  if (!verdicts.tables.empty() || !verdicts.text.empty()) out.push_back(std::move(verdicts));
  ReportSection curves;
  curves.title = "Staleness curves";
  if (auto f = t_visibility_figure(in)) curves.figures.push_back(std::move(*f));
  if (auto f = k_staleness_figure(in)) curves.figures.push_back(std::move(*f));
  if (!curves.figures.empty()) out.push_back(std::move(curves));
  if (auto s = availability_section(in)) out.push_back(std::move(*s));
  return out;
}

}  // namespace dsim::kv
