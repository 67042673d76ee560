#include "sim/run/verdicts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "sim/core/units.h"
#include "sim/run/availability_report.h"
#include "sim/run/report.h"

namespace dsim {

namespace {

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
  const std::vector<uint32_t> groups(v.client_groups.begin(), v.client_groups.end());
  report_check(progress, "availability");
  for (auto& f : add_availability(spec, engine, faults, groups, v.header, out))
    files.push_back(std::move(f));
  return files;
}

}  // namespace dsim
