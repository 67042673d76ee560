#include "sim/run/report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include "dsim/version.h"
#include "sim/core/csv.h"
#include "sim/run/verdicts.h"
#include "sim/scenario/yaml_tree.h"

namespace dsim {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

struct FaultInterval {
  uint64_t id;
  std::string kind;
  SimTime from;
  SimTime to;
  bool instant;
};

// Each fault's span, from the log: start..end (or the end of the run), or an instant.
std::vector<FaultInterval> fault_intervals(const std::vector<FaultEvent>& log, SimTime run_end) {
  std::vector<FaultInterval> out;
  std::unordered_map<uint64_t, size_t> open;  // looked up, never iterated
  open.reserve(log.size());
  for (const auto& e : log) {
    if (e.phase == FaultPhase::kEnd) {
      auto it = open.find(e.id);
      if (it != open.end()) out[it->second].to = e.at;
      continue;
    }
    if (e.phase == FaultPhase::kStart) open[e.id] = out.size();
    out.push_back({e.id, e.kind, e.at, e.phase == FaultPhase::kStart ? run_end : e.at,
                   e.phase == FaultPhase::kInstant});
  }
  return out;
}

// Each fault's end, by id: the time of its kEnd event in the log (one pass, so a run
// with 10^5 fault events costs no more than its log).
std::unordered_map<uint64_t, SimTime> fault_ends(const std::vector<FaultEvent>& log) {
  std::unordered_map<uint64_t, SimTime> ends;  // looked up, never iterated
  ends.reserve(log.size());
  for (const auto& x : log) {
    if (x.phase == FaultPhase::kEnd) ends[x.id] = x.at;
  }
  return ends;
}

// summary.json's faults: every start and instant, with its end (null: lasted to the end).
std::string faults_json(const std::vector<FaultEvent>& log) {
  const auto ends = fault_ends(log);
  std::vector<const FaultEvent*> shown;
  for (const auto& e : log) {
    if (e.phase != FaultPhase::kEnd) shown.push_back(&e);
  }
  std::string j;
  for (size_t i = 0; i < shown.size(); ++i) {
    const FaultEvent& e = *shown[i];
    std::string end_s = "null";
    if (e.phase == FaultPhase::kInstant) end_s = format_seconds(e.at);
    // A kEnd of an instant's id (none is logged) would win, as it always has.
    if (auto it = ends.find(e.id); it != ends.end()) end_s = format_seconds(it->second);
    j += "    {\"id\": " + std::to_string(e.id) + ", \"kind\": " + json_string(e.kind) +
         ", \"start_s\": " + format_seconds(e.at) + ", \"end_s\": " + end_s +
         ", \"targets\": " + json_string(e.targets) + ", \"detail\": " + json_string(e.detail) +
         "}" + (i + 1 < shown.size() ? ",\n" : "\n");
  }
  return j;
}

// The faults active in each window, for timeseries.csv, as the windows advance: each
// interval joins the active set once and leaves it once, so the whole series costs the
// fault log plus what it prints (a scan of every fault per window would cost windows x
// faults: hours for 10^5 windows of 10^5 faults).
class ActiveFaults {
 public:
  explicit ActiveFaults(std::vector<FaultInterval> intervals) : iv_(std::move(intervals)) {
    by_start_.resize(iv_.size());
    for (size_t i = 0; i < iv_.size(); ++i)
      by_start_[i] = i;
    // The log is in time order, so this sort has nothing to do but check it.
    auto earlier = [this](size_t a, size_t b) { return iv_[a].from < iv_[b].from; };
    if (!std::is_sorted(by_start_.begin(), by_start_.end(), earlier))
      std::stable_sort(by_start_.begin(), by_start_.end(), earlier);
  }

  /// "kind#id" of the faults active at any time in [ws, we), in log order, space-separated.
  /// Windows must come in order.
  std::string in_window(SimTime ws, SimTime we) {
    while (next_ < by_start_.size() && iv_[by_start_[next_]].from < we)
      active_.insert(by_start_[next_++]);
    std::string out;
    for (auto it = active_.begin(); it != active_.end();) {
      const FaultInterval& f = iv_[*it];
      // Over for good: later windows start later still.
      if (f.instant ? f.from < ws : f.to <= ws) {
        it = active_.erase(it);
        continue;
      }
      out += (out.empty() ? "" : " ") + f.kind + "#" + std::to_string(f.id);
      ++it;
    }
    return out;
  }

 private:
  std::vector<FaultInterval> iv_;
  std::vector<size_t> by_start_;  // indices into iv_, by start time
  size_t next_ = 0;               // the first of by_start_ not yet active
  std::set<size_t> active_;       // by index: the log's order
};

std::string json_number(double v) {
  const std::string s = format_value(v);
  return s.empty() ? "null" : s;
}

// Fixed-width text for the terminal table.
std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right = true) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string file_header(const ScenarioSpec& spec) {
  return "# dsim " + std::string(kVersion) + " scenario=" + spec.name +
         " seed=" + std::to_string(spec.seed) +
         " schema_version=" + std::to_string(kSchemaVersion) + "\n";
}

std::string render_summary_csv(const ScenarioSpec& spec, const std::vector<SummaryRow>& rows) {
  std::string out = file_header(spec);
  out += "group,op,metric,value\n";
  for (const auto& r : rows) {
    out += csv_cell(r.group) + "," + csv_cell(r.op) + "," + csv_cell(r.metric) + "," +
           format_value(r.value) + "\n";
  }
  return out;
}

std::string render_trace_json(const ScenarioSpec& spec, const Engine& engine) {
  const EventTrace* trace = engine.event_trace();
  if (!trace) return {};
  // dsim_version first: output_dir.h knows the file as dsim's by it.
  std::string head = "  \"dsim_version\": " + json_string(kVersion) + ",\n";
  head += "  \"schema_version\": " + std::to_string(kSchemaVersion) + ",\n";
  head += "  \"scenario\": " + json_string(spec.name) + ",\n";
  head += "  \"seed\": " + std::to_string(spec.seed) + ",\n";
  std::vector<std::string> groups;
  for (const auto& g : engine.groups())
    groups.push_back(g.name);
  return trace->render(head, groups);
}

std::string render_summary_json(const ScenarioSpec& spec, const RunOutput& out) {
  std::string j = "{\n";
  j += "  \"dsim_version\": " + json_string(kVersion) + ",\n";
  j += "  \"schema_version\": " + std::to_string(kSchemaVersion) + ",\n";
  j += "  \"scenario\": " + json_string(spec.name) + ",\n";
  j += "  \"seed\": " + std::to_string(spec.seed) + ",\n";
  j += "  \"stop_reason\": " + json_string(std::string(stop_reason_name(out.stats.reason))) + ",\n";
  char fp[32];
  std::snprintf(fp, sizeof fp, "%016llx", static_cast<unsigned long long>(out.stats.fingerprint));
  j += "  \"trace_fingerprint\": \"" + std::string(fp) + "\",\n";
  j += "  \"metrics\": [\n";
  for (size_t i = 0; i < out.summary.size(); ++i) {
    const auto& r = out.summary[i];
    j += "    {\"group\": " + json_string(r.group) + ", \"op\": " + json_string(r.op) +
         ", \"metric\": " + json_string(r.metric) + ", \"value\": " + json_number(r.value) + "}";
    j += i + 1 < out.summary.size() ? ",\n" : "\n";
  }
  j += "  ],\n  \"faults\": [\n";
  j += faults_json(out.faults);
  j += "  ],\n  \"checks\": [\n";
  for (size_t i = 0; i < out.checks.size(); ++i) {
    const auto& c = out.checks[i];
    j += "    {\"check\": " + json_string(c.check->text) +
         ", \"value\": " + (c.value ? json_number(*c.value) : "null") +
         ", \"passed\": " + (c.passed ? "true" : "false") + "}";
    j += i + 1 < out.checks.size() ? ",\n" : "\n";
  }
  j += "  ]\n}\n";
  return j;
}

std::string render_latency_csv(const ScenarioSpec& spec, const Engine& engine) {
  std::string out = file_header(spec);
  out +=
      "# latency of successful operations begun after the warmup; bucket bounds are "
      "inclusive; a percentile read as a bucket's midpoint is within 0.39%\n";
  out += "group,op,bucket_lo_ns,bucket_hi_ns,count\n";
  for (const auto& [key, s] : engine.metrics().ops()) {
    const std::string prefix = csv_cell(engine.groups()[key.first].name) + "," +
                               csv_cell(std::string(engine.symbols().name(key.second))) + ",";
    s.latency_ok.for_each_bucket([&](const Histogram::Bucket& b) {
      out += prefix + std::to_string(b.lo) + "," + std::to_string(b.hi) + "," +
             std::to_string(b.count) + "\n";
    });
  }
  return out;
}

std::string render_timeseries_csv(const ScenarioSpec& spec, const Engine& engine) {
  const MetricsRecorder& m = engine.metrics();
  const Duration window = m.window();
  const SimTime end = SimTime::zero() + spec.duration;
  const auto n_windows = static_cast<size_t>((spec.duration.ns() + window.ns() - 1) / window.ns());
  std::string out = file_header(spec);
  out +=
      "# operations are counted in the window they started in, except throughput_per_s "
      "(successes completed in the window); latency percentiles within 3.1%\n";
  out +=
      "window_start_s,window_end_s,group,op,started,ok,rejected,timeout,error,"
      "throughput_per_s,availability,latency_ms_p50,latency_ms_p99,faults\n";
  ActiveFaults faults(fault_intervals(engine.fault_log(), end));
  for (size_t w = 0; w < n_windows; ++w) {
    const SimTime ws = SimTime::zero() + window * static_cast<int64_t>(w);
    const SimTime we = std::min(end, ws + window);
    const double seconds = (we - ws).to_seconds();
    const std::string active = faults.in_window(ws, we);
    for (const auto& [key, s] : m.ops()) {
      OpWindow empty;
      const OpWindow& win = w < s.windows.size() ? s.windows[w] : empty;
      uint64_t finished = 0;
      for (auto c : win.outcomes)
        finished += c;
      const uint64_t ok = win.outcomes[static_cast<size_t>(Outcome::kOk)];
      out += format_seconds(ws) + "," + format_seconds(we) + "," +
             csv_cell(engine.groups()[key.first].name) + "," +
             csv_cell(std::string(engine.symbols().name(key.second))) + "," +
             std::to_string(win.started);
      for (int o = 0; o < kOutcomeCount; ++o)
        out += "," + std::to_string(win.outcomes[o]);
      out += "," + format_value(seconds > 0 ? static_cast<double>(win.ok_completed) / seconds : 0);
      out += "," + (finished ? format_value(static_cast<double>(ok) / static_cast<double>(finished))
                             : "");
      if (win.latency_ok.count()) {
        out += "," + format_value(static_cast<double>(win.latency_ok.percentile(0.5)) / 1e6) + "," +
               format_value(static_cast<double>(win.latency_ok.percentile(0.99)) / 1e6);
      } else {
        out += ",,";
      }
      out += "," + csv_cell(active) + "\n";
    }
  }
  return out;
}

namespace {

std::string counters_cells(const NetworkCounters& c) {
  std::string out = std::to_string(c.sent) + "," + std::to_string(c.bytes_sent) + "," +
                    std::to_string(c.delivered) + "," + std::to_string(c.bytes_delivered);
  for (auto d : c.dropped)
    out += "," + std::to_string(d);
  return out + "," + std::to_string(c.duplicated);
}

const char* kCounterColumns =
    "sent,bytes_sent,delivered,bytes_delivered,dropped_loss,dropped_partition,"
    "dropped_queue_overflow,dropped_node_down,duplicated";

std::string status_name(NodeStatus s) {
  switch (s) {
    case NodeStatus::kUp:
      return "up";
    case NodeStatus::kDown:
      return "down";
    case NodeStatus::kPaused:
      return "paused";
  }
  return "?";
}

}  // namespace

std::string render_nodes_csv(const ScenarioSpec& spec, Engine& engine) {
  std::string out = file_header(spec);
  out +=
      "# sent..duplicated: messages this node sent and what became of them; received: "
      "messages delivered to it; clock_skew_ms: its wall clock minus true time at the end\n";
  out += "node,group,location," + std::string(kCounterColumns) +
         ",received,bytes_received,crashes,restarts,pauses,status_at_end,clock_skew_ms,"
         "disk_writes,disk_syncs,disk_refused,disk_lost_writes\n";
  const Network& net = engine.network();
  const auto& traffic = net.nodes();
  const auto& faults = engine.node_fault_counters();
  for (NodeId n = 0; n < engine.node_count(); ++n) {
    const NodeTraffic& t = traffic[n];
    const NodeFaultCounters& f = faults[n];
    const Duration skew = engine.local_time(n) - engine.now();
    out += csv_cell(engine.node_name(n)) + "," +
           csv_cell(engine.groups()[engine.group_of(n)].name) + "," +
           csv_cell(std::string(net.location_name(n))) + "," + counters_cells(t.out) + "," +
           std::to_string(t.received) + "," + std::to_string(t.bytes_received) + "," +
           std::to_string(f.crashes) + "," + std::to_string(f.restarts) + "," +
           std::to_string(f.pauses) + "," + status_name(engine.status(n)) + "," +
           format_value(skew.to_ms()) + ",";
    if (engine.has_disk(n)) {
      const auto& d = engine.disk(n).counters();
      out += std::to_string(d.writes) + "," + std::to_string(d.syncs) + "," +
             std::to_string(d.refused) + "," + std::to_string(d.lost_writes);
    } else {
      out += "0,0,0,0";
    }
    out += "\n";
  }
  return out;
}

std::string render_links_csv(const ScenarioSpec& spec, const Engine& engine) {
  std::string out = file_header(spec);
  out += "# one row per ordered pair of nodes that exchanged at least one message\n";
  out += "from,to," + std::string(kCounterColumns) + "\n";
  for (const auto* p : engine.network().pairs_in_order()) {
    out += csv_cell(engine.node_name(p->from)) + "," + csv_cell(engine.node_name(p->to)) + "," +
           counters_cells(p->counters) + "\n";
  }
  return out;
}

std::string render_graph_links_csv(const ScenarioSpec& spec, const Engine& engine) {
  std::string out = file_header(spec);
  out +=
      "# one row per directed link of the graph; queue_wait: time a message waited for the "
      "link; utilization: time spent sending / the run's duration\n";
  out +=
      "link,from,to,messages,bytes,dropped_loss,dropped_queue_overflow,duplicated,"
      "queue_wait_ms_mean,queue_wait_ms_max,utilization\n";
  const auto& cfg = engine.network().config();
  const auto& stats = engine.network().graph_link_stats();
  const double run_ns = static_cast<double>(engine.now().ns());
  for (size_t i = 0; i < cfg.graph_links.size(); ++i) {
    const auto& l = cfg.graph_links[i];
    const auto& st = stats[i];
    const uint64_t queued = st.messages - st.dropped_queue_overflow;
    out +=
        std::to_string(i) + "," + csv_cell(cfg.vertices[l.from].name) + "," +
        csv_cell(cfg.vertices[l.to].name) + "," + std::to_string(st.messages) + "," +
        std::to_string(st.bytes) + "," + std::to_string(st.dropped_loss) + "," +
        std::to_string(st.dropped_queue_overflow) + "," + std::to_string(st.duplicated) + "," +
        (queued ? format_value(st.queue_wait_ns_total / static_cast<double>(queued) / 1e6) : "") +
        "," + format_value(static_cast<double>(st.queue_wait_ns_max) / 1e6) + "," +
        (run_ns > 0 ? format_value(st.busy_ns / run_ns) : "") + "\n";
  }
  return out;
}

std::string render_faults_csv(const ScenarioSpec& spec, const Engine& engine) {
  std::string out = file_header(spec);
  out +=
      "# every fault's start and end (or instant), in time order; targets as resolved then "
      "('no target': it hit nobody, e.g. a role no node held)\n";
  out += "time_s,event,fault,kind,targets,detail\n";
  for (const auto& e : engine.fault_log()) {
    const char* ev = e.phase == FaultPhase::kStart ? "start"
                     : e.phase == FaultPhase::kEnd ? "end"
                                                   : "instant";
    out += format_seconds(e.at) + "," + ev + "," + std::to_string(e.id) + "," + csv_cell(e.kind) +
           "," + csv_cell(e.no_target ? "no target" : e.targets) + "," + csv_cell(e.detail) + "\n";
  }
  return out;
}

std::string render_resolved_yaml(const ScenarioSpec& spec) {
  return file_header(spec) + "# the scenario as run: overrides applied, every default filled in\n" +
         emit_yaml(spec.resolved);
}

namespace {

// The summary's values by (group, op, metric).
class SummaryIndex {
 public:
  explicit SummaryIndex(const std::vector<SummaryRow>& rows) {
    for (const auto& r : rows)
      values_[{r.group, r.op, r.metric}] = r.value;
  }
  /// NaN when the summary has no such row.
  double get(const std::string& g, const std::string& o, const std::string& m) const {
    auto it = values_.find({g, o, m});
    return it == values_.end() ? NAN : it->second;
  }

 private:
  std::map<std::tuple<std::string, std::string, std::string>, double> values_;
};

using OpRows = std::vector<std::pair<std::string, std::string>>;  // (group, op)

// Whether the table shows a row: not aggregate rows that only repeat rows above them (a
// group's `all` with one op; the `all` rows when one group makes up the whole pool of end
// users' groups).
bool shown_in_table(const std::string& g, const std::string& o, const OpRows& op_rows,
                    const SummaryIndex& v) {
  if (o == "all" && g != "all") {
    size_t ops = 0;
    for (const auto& [g2, o2] : op_rows)
      ops += (g2 == g && o2 != "all") ? 1 : 0;
    if (ops == 1) return false;
  }
  if (g != "all") return true;
  const double pooled = v.get("all", "all", "requests");
  for (const auto& [g2, o2] : op_rows) {
    if (g2 != "all" && o2 == "all" && v.get(g2, "all", "requests") == pooled) return false;
  }
  return true;
}

// The client operations' table: a row per group and op, in summary order.
std::string op_table(const std::vector<SummaryRow>& summary, const SummaryIndex& v) {
  OpRows op_rows;
  for (const auto& r : summary) {
    if (r.metric == "requests" && r.group != "run") op_rows.emplace_back(r.group, r.op);
  }
  if (op_rows.empty()) return "";
  std::string s = "\n" + pad("group", 12, false) + pad("op", 10, false) + pad("requests", 10) +
                  pad("avail", 9) + pad("thru/s", 10) + pad("p50 ms", 9) + pad("p90 ms", 9) +
                  pad("p99 ms", 9) + pad("p99.9 ms", 10) + pad("max ms", 9) + "\n";
  for (const auto& [g, o] : op_rows) {
    if (!shown_in_table(g, o, op_rows, v)) continue;
    s += pad(g, 12, false) + pad(o, 10, false) + pad(format_value(v.get(g, o, "requests")), 10) +
         pad(fixed(v.get(g, o, "availability"), 4), 9) +
         pad(fixed(v.get(g, o, "throughput_per_s"), 1), 10) +
         pad(fixed(v.get(g, o, "latency_ms_p50"), 3), 9) +
         pad(fixed(v.get(g, o, "latency_ms_p90"), 3), 9) +
         pad(fixed(v.get(g, o, "latency_ms_p99"), 3), 9) +
         pad(fixed(v.get(g, o, "latency_ms_p999"), 3), 10) +
         pad(fixed(v.get(g, o, "latency_ms_max"), 3), 9) + "\n";
  }
  return s;
}

// A figure for people: integers whole, other values to four significant digits without
// an exponent where one is not needed ("12.35", "0.1235", "1235"); "-" when unknown.
std::string human_value(double v) {
  if (!std::isfinite(v)) return "-";
  if (v == std::floor(v) && std::abs(v) < 1e15) return format_value(v);
  const double a = std::abs(v);
  if (a < 1e-3 || a >= 1e7) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3e", v);
    return buf;
  }
  return fixed(v, std::max(0, 3 - static_cast<int>(std::floor(std::log10(a)))));
}

// The group-level figures a group's line shows: not the counts and percentiles of
// timings (only their mean and p99), nor the verdicts (shown with the verdict lines).
bool shown_in_group_block(const ScenarioSpec& spec, const SummaryRow& r) {
  if (!r.op.empty() || r.group == "run" || is_verdict_metric(spec, r.metric)) return false;
  const bool timing = r.metric.find("_ms_") != std::string::npos;
  return !r.metric.ends_with("_count") &&
         (!timing || r.metric.ends_with("_mean") || r.metric.ends_with("_p99"));
}

// "name  value" cells in columns, filled down then across (like ls), fitting `width`.
std::string cell_columns(const std::vector<std::pair<std::string, std::string>>& cells,
                         size_t width, size_t indent) {
  size_t name_w = 0, value_w = 0;
  for (const auto& [n, v] : cells) {
    name_w = std::max(name_w, n.size());
    value_w = std::max(value_w, v.size());
  }
  constexpr size_t kGap = 4;
  const size_t cell_w = name_w + 2 + value_w;
  const size_t columns =
      std::max<size_t>(1, (width > indent + cell_w ? width - indent + kGap : 0) / (cell_w + kGap));
  const size_t rows = (cells.size() + columns - 1) / columns;
  std::string s;
  for (size_t r = 0; r < rows; ++r) {
    std::string line(indent, ' ');
    for (size_t c = 0; c < columns && c * rows + r < cells.size(); ++c) {
      const auto& [n, v] = cells[c * rows + r];
      if (c > 0) line += std::string(kGap, ' ');
      line += pad(n, name_w, false) + "  " + pad(v, value_w);
    }
    s += line + "\n";
  }
  return s;
}

// Group-level figures (model counters, levels, observations): a block per group, its
// figures in aligned columns that fit the width.
std::string group_lines(const ScenarioSpec& spec, const std::vector<SummaryRow>& summary,
                        size_t width) {
  using Cells = std::vector<std::pair<std::string, std::string>>;
  std::vector<std::pair<std::string, Cells>> groups;  // first-seen order
  for (const auto& r : summary) {
    if (!shown_in_group_block(spec, r)) continue;
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == r.group; });
    if (it == groups.end()) it = groups.insert(groups.end(), {r.group, {}});
    it->second.emplace_back(r.metric, human_value(r.value));
  }
  std::string s;
  for (const auto& [g, cells] : groups)
    s += "\n  " + g + ":\n" + cell_columns(cells, width, 4);
  return s;
}

std::string network_line(const SummaryIndex& v) {
  std::string s = "\n  network: sent=" + format_value(v.get("run", "", "messages_sent")) +
                  " delivered=" + format_value(v.get("run", "", "messages_delivered")) +
                  " dropped=" + format_value(v.get("run", "", "messages_dropped"));
  for (const char* cause : {"loss", "partition", "queue_overflow", "node_down"}) {
    const double n = v.get("run", "", std::string("dropped_") + cause);
    if (n > 0) s += std::string(" ") + cause + "=" + format_value(n);
  }
  if (const double d = v.get("run", "", "messages_duplicated"); d > 0)
    s += " duplicated=" + format_value(d);
  return s + "\n";
}

// A time for people: seconds to the millisecond, trailing zeros cut ("10", "12.5");
// below a millisecond to three significant digits. faults.csv has the exact times.
std::string human_seconds(SimTime t) {
  const double v = t.to_seconds();
  char buf[48];
  if (v != 0 && std::abs(v) < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string out = buf;
  while (out.back() == '0')
    out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

// The first faults, each with its span, targets and detail.
std::string fault_list(const std::vector<FaultEvent>& faults) {
  std::vector<const FaultEvent*> started;
  for (const auto& e : faults) {
    if (e.phase != FaultPhase::kEnd) started.push_back(&e);
  }
  if (started.empty()) return "";
  const auto ends = fault_ends(faults);
  std::string s = "\nfaults (" + std::to_string(started.size()) + "; all in faults.csv):\n";
  constexpr size_t kShown = 12;
  for (size_t i = 0; i < started.size() && i < kShown; ++i) {
    const FaultEvent& e = *started[i];
    std::string until = e.phase == FaultPhase::kInstant ? "" : " until end";
    if (auto it = ends.find(e.id); it != ends.end())
      until = " until " + human_seconds(it->second) + " s";
    s += "  " + pad("#" + std::to_string(e.id), 5, false) + " " +
         pad(human_seconds(e.at) + " s", 10) + "  " + pad(e.kind, 10, false) + until + "  " +
         e.targets + (e.detail.empty() ? "" : "  (" + e.detail + ")") + "\n";
  }
  if (started.size() > kShown) s += "  ... " + std::to_string(started.size() - kShown) + " more\n";
  return s;
}

// A check's value for people: the fewest significant digits (at least four) that still
// compare with the check's number as the exact value does, so a rounded value never seems
// to contradict the verdict ("availability == 1" failing with 0.9999996 shows 0.9999996,
// not 1). summary.json keeps every digit.
std::string check_value(const CheckSpec& check, double v) {
  if (!std::isfinite(v)) return "unknown";
  if (v == std::floor(v) && std::abs(v) < 1e15) return format_value(v);
  char buf[40];
  for (int digits = 4; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    const double shown = std::strtod(buf, nullptr);
    if (check.holds(shown) == check.holds(v) &&
        (shown == check.threshold) == (v == check.threshold))
      break;
  }
  return buf;
}

std::string check_lines(const std::vector<CheckResult>& checks) {
  if (checks.empty()) return "";
  std::string s = "\nchecks:\n";
  for (const auto& c : checks) {
    s += std::string(c.passed ? "  PASS  " : "  FAIL  ") + c.check->text + "  (" +
         (c.value ? check_value(*c.check, *c.value) : std::string("not produced in this run")) +
         ")\n";
  }
  return s;
}

}  // namespace

std::string render_terminal_summary(const ScenarioSpec& spec, const RunOutput& out, size_t width) {
  const SummaryIndex v(out.summary);
  std::string s = spec.name + " (seed " + std::to_string(spec.seed) +
                  "): " + human_seconds(out.stats.end_time) + " s simulated, " +
                  std::to_string(out.stats.events) + " events, " +
                  std::string(stop_reason_name(out.stats.reason)) + "\n";
  s += op_table(out.summary, v);
  s += group_lines(spec, out.summary, width);
  s += network_line(v);
  s += fault_list(out.faults);
  if (!out.analysis_text.empty()) s += "\n" + out.analysis_text;
  if (!out.verdict_text.empty()) s += "\n" + out.verdict_text;
  s += check_lines(out.checks);
  return s;
}

}  // namespace dsim
