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

std::vector<std::pair<std::string, std::string>> add_verdicts(
    const ScenarioSpec& spec, const Engine& engine, std::span<const check::FaultInterval> faults,
    RunOutput& out) {
  std::vector<std::pair<std::string, std::string>> files;
  const Histories& h = engine.metrics().history();
  if (h.empty()) return files;
  const std::string header = file_header(spec);
  std::vector<uint32_t> node_group(engine.node_count());
  for (NodeId n = 0; n < node_group.size(); ++n)
    node_group[n] = engine.group_of(n);
  std::vector<std::string> group_names;
  for (const auto& g : engine.groups())
    group_names.push_back(g.name);
  std::set<uint32_t> client_groups;
  for (const auto& log : h.logs()) {
    for (size_t i = 0; i < log->size(); ++i)
      client_groups.insert(node_group[log->span(i).client]);
  }
  const bool per_group = client_groups.size() > 1;
  auto run = [&](const char* metric, double v) { out.summary.push_back({"run", "", metric, v}); };
  std::string& text = out.verdict_text;
  text += "consistency (" + std::to_string(h.size()) + " operations in the history";
  run("history_ops", static_cast<double>(h.size()));
  run("history_truncated", h.truncated() ? 1 : 0);
  run("history_ops_dropped", static_cast<double>(h.dropped()));
  if (h.truncated()) {
    text += "; FULL at " + format_seconds(h.truncated_at()) + " s: " + std::to_string(h.dropped()) +
            " later operations not recorded, raise consistency.history_memory";
  }
  text += "):\n";

  // Each family's checkers, in the order the registry lists them.
  HistoryCheckInput in;
  in.truncated = h.truncated();
  in.warmup_end = SimTime::zero() + spec.warmup;
  in.end = out.stats.end_time;
  in.node_group = node_group;
  in.group_names = group_names;
  in.node_name = [&engine](NodeId n) { return engine.node_name(n); };
  in.file_header = header;
  const auto& families = spec.registry->families();
  for (size_t f = 0; f < families.size(); ++f) {
    in.log = h.find(*families[f].family);
    if (!in.log) continue;
    in.settings = spec.consistency.family_settings[f].get();
    for (const auto& checker : families[f].checkers) {
      AnalysisOutput result = checker.run(in);
      for (auto& r : result.rows)
        out.summary.push_back({std::move(r.group), std::move(r.op), std::move(r.metric), r.value});
      text += result.text;
      for (auto& file : result.files)
        files.push_back(std::move(file));
    }
  }

  // Availability.
  std::vector<check::OpSpan> spans;
  spans.reserve(h.size());
  const SimTime end = out.stats.end_time;
  for (const auto& log : h.logs()) {
    for (size_t i = 0; i < log->size(); ++i) {
      const HistorySpan o = log->span(i);
      // An operation still in flight when the run ended was cut short by the end, not
      // failed by the service: it is left out.
      if (o.complete == HistoryLog::kNever) continue;
      spans.push_back({node_group[o.client], o.invoke, o.complete, o.served});
    }
  }
  check::AvailabilityConfig acfg;
  acfg.run_end = end;
  acfg.window = spec.availability.window.value_or(spec.output.window);
  acfg.min_unavailable = spec.availability.min_unavailable;
  acfg.baseline = spec.availability.baseline;
  acfg.recovered_fraction = spec.availability.recovered_fraction;
  const check::AvailabilityResult av = check::analyze_availability(spans, faults, acfg);
  std::map<uint32_t, std::pair<uint64_t, Duration>> per;  // group -> (count, total)
  Duration total = Duration::zero(), longest = Duration::zero();
  std::string un = header;
  un += "# intervals in which every operation a client group invoked failed (see README)\n";
  un += "group,start_s,end_s,duration_s,failed_ops\n";
  for (const auto& i : av.intervals) {
    per[i.group].first++;
    per[i.group].second += i.length();
    total += i.length();
    longest = std::max(longest, i.length());
    un += engine.groups()[i.group].name + "," + format_seconds(i.start) + "," +
          format_seconds(i.end) + "," + format_value(i.length().to_seconds()) + "," +
          std::to_string(i.failed_ops) + "\n";
  }
  run("unavailable_intervals", static_cast<double>(av.intervals.size()));
  run("unavailable_seconds", total.to_seconds());
  run("unavailable_seconds_max", longest.to_seconds());
  if (per_group) {
    for (uint32_t g : client_groups) {
      const auto& [n, d] = per[g];
      out.summary.push_back(
          {engine.groups()[g].name, "", "unavailable_intervals", static_cast<double>(n)});
      out.summary.push_back({engine.groups()[g].name, "", "unavailable_seconds", d.to_seconds()});
    }
  }
  text += "  availability: " + std::to_string(av.intervals.size()) +
          " unavailability intervals of at least " + format_duration(acfg.min_unavailable) + " (" +
          format_fixed(total.to_seconds(), 3) + " s in all)";
  files.emplace_back("unavailability.csv", un);

  std::string rec = header;
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
  run("faults", static_cast<double>(av.recoveries.size()));
  if (!av.recoveries.empty()) {
    run("time_to_first_success_ms_max", never ? kUnknown : first_max);
    run("time_to_recover_ms_max", never ? kUnknown : recover_max);
    text += "; " + std::to_string(av.recoveries.size()) + " faults, recovery within " +
            (never ? std::string("- (not every fault recovered)")
                   : format_fixed(recover_max, 1) + " ms");
  }
  text += "\n";
  files.emplace_back("recovery.csv", rec);

  return files;
}

}  // namespace dsim
