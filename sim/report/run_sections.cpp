#include "sim/report/run_sections.h"

#include <algorithm>
#include <utility>

#include "sim/report/html.h"

namespace dsim::report {

const std::vector<std::string> kSummaryColumns = {"group", "op", "metric", "value"};
const std::vector<std::string> kLatencyColumns = {"group", "op", "bucket_lo_ns", "bucket_hi_ns",
                                                  "count"};
const std::vector<std::string> kTimeseriesColumns = {
    "window_start_s",   "window_end_s", "group",          "op",
    "throughput_per_s", "availability", "latency_ms_p50", "latency_ms_p99"};
const std::vector<std::string> kFaultsColumns = {"time_s", "event", "fault", "kind"};
const std::vector<std::string> kNodesColumns = {"node", "group", "sent", "received"};

namespace {

using Key = std::pair<std::string, std::string>;  // group, op

// A column's index; the reader checked every column the sections use.
size_t col(const CsvTable& t, const std::string& name) {
  return *t.column(name);
}

double cell_number(const std::vector<std::string>& row, size_t i) {
  return CsvTable::number(row[i]).value_or(0);
}

// Keys in the order they first appear, and the rows of each.
struct Grouped {
  std::vector<Key> keys;
  std::map<Key, std::vector<const std::vector<std::string>*>> rows;
};

Grouped group_rows(const CsvTable& t, bool by_op) {
  Grouped g;
  const size_t gi = col(t, "group"), oi = col(t, "op");
  for (const auto& row : t.rows) {
    const Key k{row[gi], by_op ? row[oi] : ""};
    auto [it, added] = g.rows.try_emplace(k);
    if (added) g.keys.push_back(k);
    it->second.push_back(&row);
  }
  return g;
}

std::string key_name(const Key& k) {
  return k.second.empty() ? k.first : k.first + " " + k.second;
}

// The CDF of a latency histogram: bucket bounds (ns) -> count, drawn in milliseconds.
ReportSeries cdf(const std::string& name, const std::map<std::pair<double, double>, double>& h) {
  ReportSeries s{name, {}};
  double total = 0;
  for (const auto& [bounds, n] : h)
    total += n;
  if (total <= 0) return s;
  double cum = 0;
  s.points.emplace_back(h.begin()->first.first / 1e6, 0.0);
  for (const auto& [bounds, n] : h) {
    cum += n;
    s.points.emplace_back(bounds.second / 1e6, cum / total);
  }
  return s;
}

ReportFigure latency_figure(const CsvTable& t, bool by_op) {
  ReportFigure f;
  f.kind = ReportFigure::Kind::step;
  f.log_x = true;
  f.x_label = "latency (ms)";
  f.y_label = "fraction of operations";
  const Grouped g = group_rows(t, by_op);
  const size_t lo = col(t, "bucket_lo_ns"), hi = col(t, "bucket_hi_ns"), n = col(t, "count");
  for (const Key& k : g.keys) {
    std::map<std::pair<double, double>, double> h;
    for (const auto* row : g.rows.at(k))
      h[{cell_number(*row, lo), cell_number(*row, hi)}] += cell_number(*row, n);
    f.series.push_back(cdf(key_name(k), h));
  }
  return f;
}

// One time-series figure: a column of timeseries.csv per group and operation.
ReportFigure window_figure(const RunData& run, const std::string& column, std::string title,
                           std::string y_label) {
  ReportFigure f;
  f.title = std::move(title);
  f.kind = ReportFigure::Kind::line;
  f.x_label = "time (s)";
  f.y_label = std::move(y_label);
  f.bands = run.fault_bands;
  const CsvTable& t = run.timeseries;
  const Grouped g = group_rows(t, true);
  const size_t from = col(t, "window_start_s"), to = col(t, "window_end_s"), v = col(t, column);
  for (const Key& k : g.keys) {
    ReportSeries s{key_name(k), {}};
    for (const auto* row : g.rows.at(k)) {
      const auto y = CsvTable::number((*row)[v]);
      if (!y) continue;  // no operation completed in the window
      s.points.emplace_back((cell_number(*row, from) + cell_number(*row, to)) / 2, *y);
    }
    f.series.push_back(std::move(s));
  }
  return f;
}

std::string figure_text(const RunData& run, const Key& k, const std::string& metric,
                        double scale = 1) {
  const auto v = run.figure(k.first, k.second, metric);
  return v ? format_short(*v * scale, 4) : "";
}

// The bars of per-node load: each node when there are few, else each group's mean and
// most loaded node.
constexpr size_t kMaxNodeBars = 150;

}  // namespace

std::optional<double> RunData::figure(const std::string& group, const std::string& op,
                                      const std::string& metric) const {
  const auto it = figures.find({group, op, metric});
  if (it == figures.end()) return std::nullopt;
  return it->second;
}

std::vector<ReportBand> fault_bands(const CsvTable& faults, double end_s) {
  std::vector<ReportBand> bands;
  std::map<std::string, size_t> open;  // fault id -> its band
  const size_t ti = col(faults, "time_s"), ei = col(faults, "event"), fi = col(faults, "fault"),
               ki = col(faults, "kind");
  for (const auto& row : faults.rows) {
    const double t = cell_number(row, ti);
    const std::string& event = row[ei];
    if (event == "end") {
      const auto it = open.find(row[fi]);
      if (it != open.end()) {
        bands[it->second].to = t;
        open.erase(it);
      }
      continue;
    }
    if (event != "start" && event != "instant") continue;
    if (event == "start") open[row[fi]] = bands.size();
    bands.push_back({t, event == "start" ? std::max(t, end_s) : t, row[ki] + "#" + row[fi]});
  }
  return bands;
}

ReportSection summary_section(const RunData& run) {
  ReportSection s;
  s.title = "Summary";
  s.text =
      "Operations begun after the warmup, per group and operation type (all: every end-user "
      "group together). Latency percentiles are of successful operations.";
  ReportTable t;
  t.columns = {"group",           "op",       "requests", "availability",
               "throughput (/s)", "p50 (ms)", "p99 (ms)", "p999 (ms)"};
  const size_t gi = col(run.summary, "group"), oi = col(run.summary, "op"),
               mi = col(run.summary, "metric");
  for (const auto& row : run.summary.rows) {
    if (row[mi] != "requests" || row[oi].empty()) continue;
    const Key k{row[gi], row[oi]};
    t.rows.push_back({k.first, k.second, figure_text(run, k, "requests"),
                      figure_text(run, k, "availability"), figure_text(run, k, "throughput_per_s"),
                      figure_text(run, k, "latency_ms_p50"), figure_text(run, k, "latency_ms_p99"),
                      figure_text(run, k, "latency_ms_p999")});
  }
  s.tables.push_back(std::move(t));
  ReportTable checks;
  checks.title = "Checks";
  checks.columns = {"check", "value", "verdict"};
  for (const auto& c : run.checks) {
    const auto v = CsvTable::number(c.value);
    checks.rows.push_back({c.check, v ? format_short(*v, 6) : c.value, c.passed ? "pass" : "fail"});
  }
  if (checks.rows.empty()) checks.caption = "The scenario has no checks.";
  s.tables.push_back(std::move(checks));
  return s;
}

ReportSection latency_section(const RunData& run) {
  ReportSection s;
  s.title = "Latency";
  s.text =
      "The distribution of the latency of successful operations begun after the warmup "
      "(latency.csv): the fraction of operations at or below each latency, on a log scale.";
  ReportFigure by_op = latency_figure(run.latency, true);
  by_op.title = "Latency CDF per operation";
  by_op.caption = "One line per group and operation type.";
  ReportFigure by_group = latency_figure(run.latency, false);
  by_group.title = "Latency CDF per tier";
  by_group.caption = "Every operation of a group together: where the time goes, tier by tier.";
  s.figures.push_back(std::move(by_op));
  s.figures.push_back(std::move(by_group));
  return s;
}

ReportSection timeseries_section(const RunData& run) {
  ReportSection s;
  s.title = "Over time";
  s.text =
      "Per window of the whole run (timeseries.csv), each fault shaded and labelled kind#id "
      "(faults.csv). Operations are counted in the window they started in; throughput in the "
      "window they completed in.";
  s.figures.push_back(
      window_figure(run, "throughput_per_s", "Throughput", "successful operations per second"));
  s.figures.push_back(window_figure(run, "availability", "Availability", "ok / completed"));
  s.figures.push_back(window_figure(run, "latency_ms_p50", "Latency p50", "latency (ms)"));
  s.figures.push_back(window_figure(run, "latency_ms_p99", "Latency p99", "latency (ms)"));
  return s;
}

ReportSection faults_section(const RunData& run) {
  ReportSection s;
  s.title = "Faults";
  ReportTable t;
  t.columns = {"time (s)", "event", "fault", "kind", "targets", "detail"};
  const std::vector<std::string> names = {"time_s", "event", "fault", "kind", "targets", "detail"};
  for (const auto& row : run.faults.rows) {
    std::vector<std::string> cells;
    for (const auto& n : names) {
      const auto i = run.faults.column(n);
      cells.push_back(i ? row[*i] : "");
    }
    t.rows.push_back(std::move(cells));
  }
  s.text = t.rows.empty() ? "No fault was injected in this run."
                          : "Every fault's start and end, or instant (faults.csv).";
  if (!t.rows.empty()) s.tables.push_back(std::move(t));
  return s;
}

ReportSection load_section(const RunData& run) {
  ReportSection s;
  s.title = "Load per node";
  const CsvTable& t = run.nodes;
  const size_t ni = col(t, "node"), si = col(t, "sent"), ri = col(t, "received");
  ReportFigure f;
  f.kind = ReportFigure::Kind::bars;
  f.y_label = "messages";
  ReportSeries received{"received", {}}, sent{"sent", {}};
  if (t.rows.size() <= kMaxNodeBars) {
    s.text =
        "Messages delivered to each node and sent by it (nodes.csv), grouped by group: how "
        "evenly a balancer or a ring spreads the work.";
    f.title = "Messages per node";
    f.x_label = "node";
    for (const auto& row : t.rows) {
      const double x = static_cast<double>(f.categories.size());
      f.categories.push_back(row[ni]);
      received.points.emplace_back(x, cell_number(row, ri));
      sent.points.emplace_back(x, cell_number(row, si));
    }
    f.series = {std::move(received), std::move(sent)};
  } else {
    s.text = "Messages per node of each group (nodes.csv): the mean and the busiest node.";
    f.title = "Messages per node, by group";
    f.x_label = "group";
    const Grouped g = group_rows(t, false);
    ReportSeries rmax{"received, busiest node", {}}, smax{"sent, busiest node", {}};
    for (const Key& k : g.keys) {
      const double x = static_cast<double>(f.categories.size());
      f.categories.push_back(k.first);
      double r = 0, sn = 0, r_hi = 0, s_hi = 0;
      for (const auto* row : g.rows.at(k)) {
        r += cell_number(*row, ri);
        sn += cell_number(*row, si);
        r_hi = std::max(r_hi, cell_number(*row, ri));
        s_hi = std::max(s_hi, cell_number(*row, si));
      }
      const double n = static_cast<double>(g.rows.at(k).size());
      received.points.emplace_back(x, r / n);
      sent.points.emplace_back(x, sn / n);
      rmax.points.emplace_back(x, r_hi);
      smax.points.emplace_back(x, s_hi);
    }
    received.name = "received, mean";
    sent.name = "sent, mean";
    f.series = {std::move(received), std::move(rmax), std::move(sent), std::move(smax)};
  }
  s.figures.push_back(std::move(f));
  return s;
}

ReportSection run_figures_section(const RunData& run) {
  ReportSection s;
  s.title = "The run";
  s.text = "The run as a whole: events processed, messages and what became of them.";
  ReportFigure drops;
  drops.title = "Messages dropped, by cause";
  drops.kind = ReportFigure::Kind::bars;
  drops.x_label = "cause";
  drops.y_label = "messages";
  ReportSeries d{"dropped", {}};
  for (const char* cause : {"loss", "partition", "queue_overflow", "node_down"}) {
    const double x = static_cast<double>(drops.categories.size());
    drops.categories.push_back(cause);
    d.points.emplace_back(x, run.figure("run", "", std::string("dropped_") + cause).value_or(0));
  }
  drops.series.push_back(std::move(d));
  s.figures.push_back(std::move(drops));
  ReportTable t;
  t.columns = {"figure", "value"};
  const size_t gi = col(run.summary, "group"), oi = col(run.summary, "op"),
               mi = col(run.summary, "metric"), vi = col(run.summary, "value");
  for (const auto& row : run.summary.rows) {
    if (row[gi] != "run" || !row[oi].empty()) continue;
    const auto v = CsvTable::number(row[vi]);
    t.rows.push_back({row[mi], v ? format_short(*v, 6) : row[vi]});
  }
  s.tables.push_back(std::move(t));
  return s;
}

}  // namespace dsim::report
