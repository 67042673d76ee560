#include "sim/run/verdicts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "sim/core/units.h"
#include "sim/run/report.h"

namespace dsim {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

constexpr std::string_view kAvailabilityMetrics[] = {"unavailable_intervals",
                                                     "unavailable_seconds"};

}  // namespace

bool is_verdict_metric(const ScenarioSpec& spec, std::string_view metric) {
  return std::find(std::begin(kAvailabilityMetrics), std::end(kAvailabilityMetrics), metric) !=
             std::end(kAvailabilityMetrics) ||
         (spec.registry && spec.registry->is_checker_metric(metric));
}

namespace {

using Files = std::vector<std::pair<std::string, std::string>>;

// What the steps of add_verdicts share.
struct VerdictInput {
  const ScenarioSpec& spec;
  const Engine& engine;
  const Histories& h;
  std::string header;                // the first line of every file
  std::vector<uint32_t> node_group;  // each node's group index
  std::set<uint32_t> client_groups;  // the groups whose clients recorded operations
  const ProgressFn& progress;        // may be empty
};

// Tells the progress display which checker runs, and how far it got.
void report_check(const ProgressFn& progress, const std::string& what, uint64_t done = 0,
                  uint64_t total = 0) {
  if (progress) progress({RunProgress::Stage::kChecking, what, done, total, SimTime::zero(), 0});
}

std::vector<uint32_t> node_groups(const Engine& engine) {
  std::vector<uint32_t> node_group(engine.node_count());
  for (NodeId n = 0; n < node_group.size(); ++n)
    node_group[n] = engine.group_of(n);
  return node_group;
}

std::set<uint32_t> client_groups(const Histories& h, const std::vector<uint32_t>& node_group) {
  std::set<uint32_t> groups;
  for (const auto& log : h.logs()) {
    for (size_t i = 0; i < log->size(); ++i)
      groups.insert(node_group[log->span(i).client]);
  }
  return groups;
}

void add_run_row(RunOutput& out, const char* metric, double v) {
  out.summary.push_back({"run", "", metric, v});
}

// The history's own rows, and the heading of the terminal's consistency lines.
void add_history_heading(const Histories& h, RunOutput& out) {
  std::string& text = out.verdict_text;
  text += "consistency (" + std::to_string(h.size()) + " operations in the history";
  add_run_row(out, "history_ops", static_cast<double>(h.size()));
  add_run_row(out, "history_truncated", h.truncated() ? 1 : 0);
  add_run_row(out, "history_ops_dropped", static_cast<double>(h.dropped()));
  if (h.truncated()) {
    text += "; FULL at " + format_seconds(h.truncated_at()) + " s: " + std::to_string(h.dropped()) +
            " later operations not recorded, raise consistency.history_memory";
  }
  text += "):\n";
}

// Each family's checkers, in the order the registry lists them.
void run_family_checkers(const VerdictInput& v, RunOutput& out, Files& files) {
  std::vector<std::string> group_names;
  for (const auto& g : v.engine.groups())
    group_names.push_back(g.name);
  HistoryCheckInput in;
  in.truncated = v.h.truncated();
  in.warmup_end = SimTime::zero() + v.spec.warmup;
  in.end = out.stats.end_time;
  in.node_group = v.node_group;
  in.group_names = group_names;
  in.node_name = [&engine = v.engine](NodeId n) { return engine.node_name(n); };
  in.file_header = v.header;
  const auto& families = v.spec.registry->families();
  for (size_t f = 0; f < families.size(); ++f) {
    in.log = v.h.find(*families[f].family);
    if (!in.log) continue;
    in.settings = v.spec.consistency.family_settings[f].get();
    for (const auto& checker : families[f].checkers) {
      report_check(v.progress, checker.name);
      if (v.progress) {
        in.progress = [&v, &checker](uint64_t done, uint64_t total) {
          report_check(v.progress, checker.name, done, total);
        };
      }
      AnalysisOutput result = checker.run(in);
      for (auto& r : result.rows)
        out.summary.push_back({std::move(r.group), std::move(r.op), std::move(r.metric), r.value});
      out.verdict_text += result.text;
      for (auto& file : result.files)
        files.push_back(std::move(file));
    }
  }
}

// Every family's operations as the availability analysis sees them.
std::vector<check::OpSpan> completed_spans(const Histories& h,
                                           const std::vector<uint32_t>& node_group) {
  std::vector<check::OpSpan> spans;
  spans.reserve(h.size());
  for (const auto& log : h.logs()) {
    for (size_t i = 0; i < log->size(); ++i) {
      const HistorySpan o = log->span(i);
      // An operation still in flight when the run ended was cut short by the end, not
      // failed by the service: it is left out.
      if (o.complete == HistoryLog::kNever) continue;
      spans.push_back({node_group[o.client], o.invoke, o.complete, o.served});
    }
  }
  return spans;
}

check::AvailabilityConfig availability_config(const ScenarioSpec& spec, SimTime end) {
  check::AvailabilityConfig acfg;
  acfg.run_end = end;
  acfg.window = spec.availability.window.value_or(spec.output.window);
  acfg.min_unavailable = spec.availability.min_unavailable;
  acfg.baseline = spec.availability.baseline;
  acfg.recovered_fraction = spec.availability.recovered_fraction;
  return acfg;
}

// unavailability.csv, its rows (per client group too when there are several) and its
// terminal figures.
void add_unavailability(const VerdictInput& v, const check::AvailabilityResult& av,
                        Duration min_unavailable, RunOutput& out, Files& files) {
  const auto& groups = v.engine.groups();
  std::map<uint32_t, std::pair<uint64_t, Duration>> per;  // group -> (count, total)
  Duration total = Duration::zero(), longest = Duration::zero();
  std::string un = v.header;
  un += "# intervals in which every operation a client group invoked failed (see README)\n";
  un += "group,start_s,end_s,duration_s,failed_ops\n";
  for (const auto& i : av.intervals) {
    per[i.group].first++;
    per[i.group].second += i.length();
    total += i.length();
    longest = std::max(longest, i.length());
    un += groups[i.group].name + "," + format_seconds(i.start) + "," + format_seconds(i.end) + "," +
          format_value(i.length().to_seconds()) + "," + std::to_string(i.failed_ops) + "\n";
  }
  add_run_row(out, "unavailable_intervals", static_cast<double>(av.intervals.size()));
  add_run_row(out, "unavailable_seconds", total.to_seconds());
  add_run_row(out, "unavailable_seconds_max", longest.to_seconds());
  if (v.client_groups.size() > 1) {
    for (uint32_t g : v.client_groups) {
      const auto& [n, d] = per[g];
      out.summary.push_back({groups[g].name, "", "unavailable_intervals", static_cast<double>(n)});
      out.summary.push_back({groups[g].name, "", "unavailable_seconds", d.to_seconds()});
    }
  }
  out.verdict_text += "  availability: " + std::to_string(av.intervals.size()) +
                      " unavailability intervals of at least " + format_duration(min_unavailable) +
                      " (" + format_fixed(total.to_seconds(), 3) + " s in all)";
  files.emplace_back("unavailability.csv", un);
}

// recovery.csv, its rows and its terminal figures (which end the availability line).
void add_recovery(const VerdictInput& v, const check::AvailabilityResult& av, RunOutput& out,
                  Files& files) {
  std::string rec = v.header;
  rec +=
      "# per fault: time from its start to the first success, and until throughput is back "
      "within the recovered fraction of the baseline (empty: never in the run)\n";
  rec +=
      "fault,start_s,end_s,baseline_throughput_per_s,time_to_first_success_ms,time_to_recover_ms\n";
  double first_max = 0, recover_max = 0;
  bool never = false;
  for (const auto& r : av.recoveries) {
    rec += "\"" + r.fault.what + "\"," + format_seconds(r.fault.start) + "," +
           format_seconds(r.fault.end) + "," + format_value(r.baseline_per_s) + "," +
           (r.to_first_success ? format_value(r.to_first_success->to_ms()) : "") + "," +
           (r.to_throughput ? format_value(r.to_throughput->to_ms()) : "") + "\n";
    if (r.to_first_success) first_max = std::max(first_max, r.to_first_success->to_ms());
    if (r.to_throughput) recover_max = std::max(recover_max, r.to_throughput->to_ms());
    never = never || !r.to_first_success || !r.to_throughput;
  }
  add_run_row(out, "faults", static_cast<double>(av.recoveries.size()));
  if (!av.recoveries.empty()) {
    add_run_row(out, "time_to_first_success_ms_max", never ? kUnknown : first_max);
    add_run_row(out, "time_to_recover_ms_max", never ? kUnknown : recover_max);
    out.verdict_text += "; " + std::to_string(av.recoveries.size()) + " faults, recovery within " +
                        (never ? std::string("- (not every fault recovered)")
                               : format_fixed(recover_max, 1) + " ms");
  }
  out.verdict_text += "\n";
  files.emplace_back("recovery.csv", rec);
}

// The availability analysis over every family's operations, with its two files.
void add_availability(const VerdictInput& v, std::span<const check::FaultInterval> faults,
                      RunOutput& out, Files& files) {
  report_check(v.progress, "availability");
  const std::vector<check::OpSpan> spans = completed_spans(v.h, v.node_group);
  const check::AvailabilityConfig acfg = availability_config(v.spec, out.stats.end_time);
  const check::AvailabilityResult av = check::analyze_availability(spans, faults, acfg);
  add_unavailability(v, av, acfg.min_unavailable, out, files);
  add_recovery(v, av, out, files);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> add_verdicts(
    const ScenarioSpec& spec, const Engine& engine, std::span<const check::FaultInterval> faults,
    RunOutput& out, const ProgressFn& progress) {
  Files files;
  const Histories& h = engine.metrics().history();
  if (h.empty()) return files;
  VerdictInput v{spec, engine, h, file_header(spec), node_groups(engine), {}, progress};
  v.client_groups = client_groups(h, v.node_group);
  add_history_heading(h, out);
  run_family_checkers(v, out, files);
  add_availability(v, faults, out, files);
  return files;
}

}  // namespace dsim
