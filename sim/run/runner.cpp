#include "sim/run/runner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "sim/core/assert.h"
#include "sim/core/cycle_engine.h"
#include "sim/core/faults.h"
#include "sim/core/metric_decls.h"
#include "sim/run/report.h"
#include "sim/run/resource_limits.h"
#include "sim/run/verdicts.h"
#include "sim/scenario/call_graph.h"

namespace dsim {

namespace {

using Files = std::vector<std::pair<std::string, std::string>>;

constexpr double kPercentiles[] = {0.5, 0.9, 0.95, 0.99, 0.999, 0.9999};  // kPercentileNames

void add_latency_rows(std::vector<SummaryRow>& rows, const std::string& group,
                      const std::string& op, const std::string& prefix, const Histogram& h) {
  if (h.count() == 0) return;
  for (size_t i = 0; i < std::size(kPercentiles); ++i) {
    rows.push_back({group, op, prefix + "_ms_" + std::string(kPercentileNames[i]),
                    static_cast<double>(h.percentile(kPercentiles[i])) / 1e6});
  }
  rows.push_back({group, op, prefix + "_ms_max", static_cast<double>(h.max()) / 1e6});
  rows.push_back({group, op, prefix + "_ms_mean", h.mean() / 1e6});
}

// The figures of one operation type (or an aggregate of several).
void add_op_rows(std::vector<SummaryRow>& rows, const std::string& group, const std::string& op,
                 const OpStats& s, double measured_seconds) {
  uint64_t completed = 0;
  for (auto c : s.completed)
    completed += c;
  const uint64_t ok = s.completed[static_cast<size_t>(Outcome::kOk)];
  rows.push_back({group, op, "requests", static_cast<double>(completed)});
  for (int o = 0; o < kOutcomeCount; ++o) {
    rows.push_back({group, op, std::string(outcome_name(static_cast<Outcome>(o))),
                    static_cast<double>(s.completed[static_cast<size_t>(o)])});
  }
  rows.push_back({group, op, "in_flight", static_cast<double>(s.in_flight_at_end)});
  if (completed > 0) {
    rows.push_back(
        {group, op, "availability", static_cast<double>(ok) / static_cast<double>(completed)});
  }
  if (measured_seconds > 0) {
    rows.push_back({group, op, "throughput_per_s", static_cast<double>(ok) / measured_seconds});
  }
  add_latency_rows(rows, group, op, "latency", s.latency_ok);
}

void merge_into(OpStats& into, const OpStats& from) {
  for (int o = 0; o < kOutcomeCount; ++o)
    into.completed[o] += from.completed[o];
  into.in_flight_at_end += from.in_flight_at_end;
  into.latency_ok.merge(from.latency_ok);
}

bool duplication_configured(const ScenarioSpec& spec) {
  const NetworkConfig& n = spec.network;
  bool dup = n.duplicate > 0;
  for (const auto& l : {n.same_host, n.same_rack, n.same_zone})
    dup = dup || (l && l->duplicate > 0);
  for (const auto& l : n.region_links)
    dup = dup || l.link.duplicate > 0;
  for (const auto& l : n.graph_links)
    dup = dup || l.link.duplicate > 0;
  for (const auto& f : spec.faults)
    dup = dup || f.duplicate > 0;
  for (const auto& f : spec.nemesis)
    dup = dup || f.fault.duplicate > 0;
  return dup;
}

// Client operations, per group and op, per group over all ops, and over the end users'
// groups (`all`): those no group calls (a service's calls to a store are its own rows only).
void add_client_rows(std::vector<SummaryRow>& rows, const ScenarioSpec& spec,
                     const Engine& engine) {
  const MetricsRecorder& m = engine.metrics();
  const double measured = m.measured_seconds();
  const std::set<std::string> called = called_groups(spec);
  bool pooled = false;
  OpStats everything;
  std::map<uint32_t, OpStats> per_group;
  std::map<std::string, OpStats> per_op;  // over every client group, by name
  for (const auto& [key, s] : m.ops()) {
    const std::string& group = engine.groups()[key.first].name;
    const std::string op(engine.symbols().name(key.second));
    add_op_rows(rows, group, op, s, measured);
    merge_into(per_group[key.first], s);
    if (called.count(group)) continue;
    merge_into(per_op[op], s);
    merge_into(everything, s);
    pooled = true;
  }
  for (const auto& [g, s] : per_group)
    add_op_rows(rows, engine.groups()[g].name, "all", s, measured);
  for (const auto& [op, s] : per_op)
    add_op_rows(rows, "all", op, s, measured);
  if (pooled) add_op_rows(rows, "all", "all", everything, measured);
}

// Group-level figures the models reported.
void add_group_rows(std::vector<SummaryRow>& rows, const Engine& engine) {
  const MetricsRecorder& m = engine.metrics();
  const SymbolTable& sym = engine.symbols();
  const double measured = m.measured_seconds();
  for (const auto& [key, v] : m.counters()) {
    rows.push_back({engine.groups()[key.first].name, "", std::string(sym.name(key.second)),
                    static_cast<double>(v)});
  }
  for (const auto& [key, h] : m.observations()) {
    const std::string& group = engine.groups()[key.first].name;
    const std::string name(sym.name(key.second));
    rows.push_back({group, "", name + "_count", static_cast<double>(h.count())});
    add_latency_rows(rows, group, "", name, h);
  }
  for (const auto& [key, l] : m.levels()) {
    const auto& g = engine.groups()[key.first];
    const std::string name(sym.name(key.second));
    const double node_seconds = measured * static_cast<double>(g.nodes.size());
    if (node_seconds > 0) rows.push_back({g.name, "", name + "_mean", l.integral / node_seconds});
    rows.push_back({g.name, "", name + "_peak", l.peak});
  }
}

// The faults that started, in all and by kind.
void add_fault_rows(std::vector<SummaryRow>& rows, const Engine& engine) {
  std::map<std::string, uint64_t> by_kind;
  uint64_t started = 0, no_target = 0;
  for (const auto& f : engine.fault_log()) {
    if (f.phase == FaultPhase::kEnd) continue;
    ++started;
    ++by_kind[f.kind];
    no_target += f.no_target ? 1 : 0;
  }
  rows.push_back({"run", "", "faults", static_cast<double>(started)});
  rows.push_back({"run", "", "faults_no_target", static_cast<double>(no_target)});
  for (const auto& [kind, n] : by_kind)
    rows.push_back({"run", "", "faults_" + kind, static_cast<double>(n)});
}

// What the `run` rows are made of, from either engine.
struct RunFigures {
  double measured_seconds = 0;
  size_t nodes = 0;
  NetworkCounters net;
};

// The run as a whole.
void add_run_rows(std::vector<SummaryRow>& rows, const ScenarioSpec& spec, const RunStats& stats,
                  const RunFigures& f) {
  const NetworkCounters& net = f.net;
  auto run = [&](const char* metric, double v) { rows.push_back({"run", "", metric, v}); };
  run("events", static_cast<double>(stats.events));
  run("sim_seconds", stats.end_time.to_seconds());
  run("measured_seconds", f.measured_seconds);
  run("aborted", aborted(stats.reason) ? 1 : 0);
  run("nodes", static_cast<double>(f.nodes));
  run("peak_pending_events", static_cast<double>(stats.peak_pending));
  run("messages_sent", static_cast<double>(net.sent));
  run("messages_delivered", static_cast<double>(net.delivered));
  run("messages_dropped", static_cast<double>(net.dropped_total()));
  for (size_t c = 0; c < net.dropped.size(); ++c) {
    rows.push_back({"run", "", "dropped_" + std::string(drop_cause_name(static_cast<DropCause>(c))),
                    static_cast<double>(net.dropped[c])});
  }
  run("bytes_sent", static_cast<double>(net.bytes_sent));
  // Rows that only scenarios using these features have (so older outputs keep theirs).
  if (duplication_configured(spec)) run("messages_duplicated", static_cast<double>(net.duplicated));
}

std::vector<SummaryRow> build_summary(const ScenarioSpec& spec, const Engine& engine,
                                      const RunStats& stats) {
  std::vector<SummaryRow> rows;
  add_client_rows(rows, spec, engine);
  add_group_rows(rows, engine);
  add_run_rows(
      rows, spec, stats,
      {engine.metrics().measured_seconds(), engine.node_count(), engine.network_counters()});
  if (!spec.faults.empty() || !spec.nemesis.empty()) add_fault_rows(rows, engine);
  return rows;
}

// The faults that lasted a while, as intervals for the time-to-recover figures: each start
// up to its end (or the end of the run). Instant actions (restart, heal, resume) end
// faults rather than start them, so they are left out.
std::vector<check::FaultInterval> fault_intervals(const std::vector<FaultEvent>& log,
                                                  SimTime run_end) {
  std::map<uint64_t, SimTime> ends;  // by fault id (a repeating fault makes thousands)
  for (const auto& x : log) {
    if (x.phase == FaultPhase::kEnd) ends[x.id] = x.at;
  }
  std::vector<check::FaultInterval> out;
  for (const auto& e : log) {
    if (e.phase != FaultPhase::kStart) continue;
    auto it = ends.find(e.id);
    out.push_back({e.at, it == ends.end() ? run_end : it->second, e.kind + " " + e.targets});
  }
  return out;
}

const SummaryRow* find_row(const std::vector<SummaryRow>& rows, const std::string& group,
                           const std::string& op, const std::string& metric) {
  for (const auto& r : rows) {
    if (r.group == group && r.op == op && r.metric == metric) return &r;
  }
  return nullptr;
}

// An analysis file joins the run's files. Models that share an analysis of the kit (the
// detection of swim and heartbeat_gossip) write a file of the same name and columns, one
// row per group: the second model's rows are appended to the first's.
void add_analysis_file(const ScenarioSpec& spec, Files& files, const std::string& name,
                       std::string content) {
  const auto same =
      std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.first == name; });
  if (same == files.end()) {
    files.emplace_back(name, file_header(spec) + content);
    return;
  }
  const size_t eol = content.find('\n');
  DSIM_ASSERT(eol != std::string::npos &&
              same->second.find("\n" + content.substr(0, eol + 1)) != std::string::npos);
  same->second += content.substr(eol + 1);
}

// The models' post-run analyses (ModelFactory::analyze): each model with one is called
// once, with every group that runs it, on the run's record (`record`: everything but the
// groups). Rows join the summary; files are returned.
Files add_analyses(const ScenarioSpec& spec, const std::vector<GroupInfo>& groups,
                   const AnalysisInput& record, RunOutput& out, const ProgressFn& progress) {
  Files files;
  std::vector<const ModelFactory*> done;
  for (const auto& g : spec.groups) {
    const ModelFactory* factory = g.factory;
    if (!factory || !factory->analyze) continue;
    if (std::find(done.begin(), done.end(), factory) != done.end()) continue;
    done.push_back(factory);
    if (progress)
      progress({RunProgress::Stage::kChecking, factory->name, 0, 0, out.stats.end_time, 0});
    AnalysisInput in = record;
    for (size_t gi = 0; gi < spec.groups.size(); ++gi) {
      if (spec.groups[gi].factory != factory) continue;
      in.groups.push_back({spec.groups[gi].name, groups[gi].nodes, spec.groups[gi].config.get(),
                           static_cast<uint32_t>(gi)});
    }
    AnalysisOutput a = factory->analyze(in);
    for (auto& r : a.rows)
      out.summary.push_back({std::move(r.group), std::move(r.op), std::move(r.metric), r.value});
    for (auto& [name, content] : a.files)
      add_analysis_file(spec, files, name, std::move(content));
    out.analysis_text += a.text;
  }
  return files;
}

Files add_analyses(const ScenarioSpec& spec, const Engine& engine, RunOutput& out,
                   const ProgressFn& progress) {
  AnalysisInput in;
  const MetricsRecorder& m = engine.metrics();
  in.marks = m.marks();
  in.marks_truncated = m.marks_dropped() > 0;
  in.life = engine.life_log();
  in.faults = engine.fault_log();
  in.warmup_end = SimTime::zero() + spec.warmup;
  in.end = out.stats.end_time;
  in.node_count = engine.node_count();
  in.symbol_name = [&engine](Symbol s) { return engine.symbols().name(s); };
  in.node_name = [&engine](NodeId id) { return engine.node_name(id); };
  return add_analyses(spec, engine.groups(), in, out, progress);
}

}  // namespace

bool RunOutput::checks_passed() const {
  for (const auto& c : checks) {
    if (!c.passed) return false;
  }
  return true;
}

const SummaryRow* checked_row(const std::vector<SummaryRow>& rows, const CheckSpec& c) {
  const SummaryRow* r = nullptr;
  if (c.group.empty()) {
    r = find_row(rows, "all", "all", c.metric);
    if (!r) r = find_row(rows, "run", "", c.metric);
  } else if (c.op.empty()) {
    r = find_row(rows, c.group, "all", c.metric);
    if (!r) r = find_row(rows, c.group, "", c.metric);
  } else {
    r = find_row(rows, c.group, c.op, c.metric);
  }
  return r;
}

std::optional<double> lookup_metric(const std::vector<SummaryRow>& rows, const CheckSpec& c) {
  const SummaryRow* r = checked_row(rows, c);
  if (!r) return c.absent_is_zero ? std::optional<double>(0.0) : std::nullopt;
  return r->value;
}

namespace {

// Where every node runs (regions and graph topologies).
void place_nodes(const ScenarioSpec& spec, Engine& engine) {
  PlacementTree tree = spec.network.topology == TopologyKind::kGraph
                           ? PlacementTree::from_graph(spec.network.vertices)
                           : PlacementTree::from_regions(spec.network.regions);
  std::vector<Location> locations;
  std::vector<std::string> names;
  for (const auto& g : spec.groups) {
    std::vector<uint32_t> subtrees;
    for (const auto& p : g.placement)
      subtrees.push_back(*tree.find(p));  // checked by the scenario layer
    if (subtrees.empty()) subtrees = tree.regions();
    for (const Location& l : tree.place(subtrees, g.count)) {
      locations.push_back(l);
      names.push_back(tree.describe(l));
    }
  }
  engine.set_locations(std::move(locations), std::move(names));
}

}  // namespace

std::unique_ptr<Engine> build_engine(const ScenarioSpec& spec, bool check_invariants,
                                     Engine::Watcher watcher, uint64_t watch_every) {
  EngineConfig cfg;
  cfg.seed = spec.seed;
  cfg.end = SimTime::zero() + spec.duration;
  cfg.warmup = spec.warmup;
  cfg.window = spec.output.window;
  cfg.max_events = spec.limits.max_events;
  cfg.max_pending = spec.limits.max_pending;
  cfg.check_invariants = check_invariants;
  cfg.history_max_bytes = spec.consistency.history_memory;
  cfg.network = spec.network;
  cfg.network.pair_counters = spec.output.links;
  cfg.trace = spec.output.trace;
  if (const auto& d = spec.output.diagram)
    cfg.messages = MessageLogConfig{d->from, d->to, d->max_messages};
  auto engine = std::make_unique<Engine>(std::move(cfg));
  if (watcher) engine->watch(watch_every, std::move(watcher));
  for (const auto& g : spec.groups) {
    const ModelFactory* factory = g.factory;
    std::shared_ptr<const void> config = g.config;
    const uint32_t gi = engine->add_group(
        g.name, g.count, [factory, config] { return factory->create(config.get()); });
    engine->set_clock(gi, g.clock);
    engine->set_disk(gi, g.disk);
    if (engine->halted()) return engine;  // a limit stopped the building: it will not run
    if (g.joining > 0) engine->set_joining(gi, g.joining);
    if (factory->virtual_address && factory->virtual_address(config.get())) engine->add_address(gi);
  }
  if (spec.network.topology != TopologyKind::kUniform) place_nodes(spec, *engine);
  install_faults(*engine, spec.faults, spec.nemesis, spec.seed);
  return engine;
}

namespace {

RunProgress progress_of(const EngineActivity& a) {
  using Phase = EngineActivity::Phase;
  RunProgress p;
  p.stage = a.phase == Phase::kRunning       ? RunProgress::Stage::kRunning
            : a.phase == Phase::kAddingNodes ? RunProgress::Stage::kBuilding
                                             : RunProgress::Stage::kStarting;
  p.what = a.phase == Phase::kCreatingModels ? "models" : "";
  p.done = a.done;
  p.total = a.total;
  p.now = a.now;
  p.events = a.events;
  return p;
}

// Every file of the run, in the order they are written.
void render_files(const ScenarioSpec& spec, Engine& engine, RunOutput& out, Files analysis_files,
                  Files verdict_files) {
  out.files.emplace_back("summary.csv", render_summary_csv(spec, out.summary));
  out.files.emplace_back("summary.json", render_summary_json(spec, out));
  out.files.emplace_back("latency.csv", render_latency_csv(spec, engine));
  out.files.emplace_back("timeseries.csv", render_timeseries_csv(spec, engine));
  out.files.emplace_back("scenario.resolved.yaml", render_resolved_yaml(spec));
  out.files.emplace_back("nodes.csv", render_nodes_csv(spec, engine));
  if (spec.output.links) out.files.emplace_back("links.csv", render_links_csv(spec, engine));
  out.files.emplace_back("faults.csv", render_faults_csv(spec, engine));
  if (spec.network.topology == TopologyKind::kGraph)
    out.files.emplace_back("graph_links.csv", render_graph_links_csv(spec, engine));
  if (spec.output.trace) out.files.emplace_back("trace.json", render_trace_json(spec, engine));
  if (out.diagram) out.files.emplace_back("messages.csv", render_messages_csv(spec, *out.diagram));
  for (auto& f : analysis_files)
    out.files.push_back(std::move(f));
  for (auto& f : verdict_files)
    out.files.push_back(std::move(f));
}

}  // namespace

namespace {

void add_check_results(const ScenarioSpec& spec, RunOutput& out) {
  for (const auto& c : spec.checks) {
    auto v = lookup_metric(out.summary, c);
    out.checks.push_back({&c, v, v && std::isfinite(*v) && c.holds(*v)});
  }
}

// engine: cycles — the groups' cycle forms on the cycle engine; the same summary, checks
// and analyses as an event-driven run, and the files that do not need events.
RunOutput run_cycles(const ScenarioSpec& spec, const RunOptions& options) {
  RunOutput out;
  ResourceGuard guard(spec.limits);
  CycleEngineConfig cfg;
  cfg.seed = spec.seed;
  cfg.end = SimTime::zero() + spec.duration;
  cfg.warmup = spec.warmup;
  cfg.loss = spec.network.loss;
  cfg.order = spec.cycle_order;
  CycleEngine engine(cfg);
  CycleSetup setup;
  setup.warmup_end = SimTime::zero() + spec.warmup;
  setup.measured = spec.duration - spec.warmup;
  for (const auto& g : spec.groups) {
    setup.count = g.count;
    engine.add_group(g.name, g.count, g.factory->cycle_group(g.config.get(), setup));
  }
  const ProgressFn& progress = options.progress;
  out.stats = engine.run([&](const EngineActivity& a) {
    if (progress) progress(progress_of(a));
    return guard.poll();
  });
  if (out.stats.reason == StopReason::kMemoryLimit || out.stats.reason == StopReason::kWallLimit)
    out.limit_message = guard.message();
  for (size_t g = 0; g < spec.groups.size(); ++g)
    for (const auto& [metric, v] : engine.rows()[g])
      out.summary.push_back({spec.groups[g].name, "", metric, v});
  RunFigures figures{engine.measured_seconds(), engine.node_count(), {}};
  const CycleTraffic& t = engine.traffic();
  figures.net.sent = t.sent;
  figures.net.bytes_sent = t.bytes;
  figures.net.delivered = t.delivered;
  figures.net.dropped[static_cast<size_t>(DropCause::kLoss)] = t.lost;
  add_run_rows(out.summary, spec, out.stats, figures);
  AnalysisInput record;
  record.marks = engine.marks();
  record.marks_truncated = engine.marks_dropped() > 0;
  record.warmup_end = SimTime::zero() + spec.warmup;
  record.end = out.stats.end_time;
  record.node_count = engine.node_count();
  record.symbol_name = [&engine](Symbol s) { return engine.symbols().name(s); };
  record.node_name = [&engine](NodeId id) { return engine.node_name(id); };
  Files analysis_files = add_analyses(spec, engine.groups(), record, out, progress);
  add_check_results(spec, out);
  if (progress) progress({RunProgress::Stage::kWriting, "", 0, 0, out.stats.end_time, 0});
  out.files.emplace_back("summary.csv", render_summary_csv(spec, out.summary));
  out.files.emplace_back("summary.json", render_summary_json(spec, out));
  out.files.emplace_back("scenario.resolved.yaml", render_resolved_yaml(spec));
  for (auto& f : analysis_files)
    out.files.push_back(std::move(f));
  return out;
}

}  // namespace

RunOutput run_scenario(const ScenarioSpec& spec, const RunOptions& options) {
  RunOutput out;
  if (spec.engine == EngineKind::kCycles) return run_cycles(spec, options);
  if (auto why = refuse_by_estimate(spec)) {
    out.refused = *why;
    return out;
  }
  const ProgressFn& progress = options.progress;
  ResourceGuard guard(spec.limits);
  auto watcher = [&guard, &progress](const EngineActivity& a) {
    if (progress) progress(progress_of(a));
    return guard.poll();
  };
  auto engine = build_engine(spec, options.check_invariants, watcher, options.watch_every);
  if (!engine->halted()) out.stats = engine->run();
  if (engine->halted()) {
    out.refused = "stopped while building the engine and starting its nodes: " + guard.message();
    return out;
  }
  if (out.stats.reason == StopReason::kMemoryLimit || out.stats.reason == StopReason::kWallLimit)
    out.limit_message = guard.message();
  out.summary = build_summary(spec, *engine, out.stats);
  out.faults = engine->fault_log();
  auto analysis_files = add_analyses(spec, *engine, out, progress);
  auto verdict_files =
      add_verdicts(spec, *engine, fault_intervals(out.faults, out.stats.end_time), out, progress);
  add_check_results(spec, out);
  if (const EventTrace* trace = engine->event_trace(); trace && trace->truncated()) {
    out.trace_message = "trace.json holds its first " + std::to_string(trace->events()) +
                        " events (output.trace.max_events); it stops at " +
                        format_seconds(trace->truncated_at()) + " s";
  }
  if (spec.output.diagram)
    out.diagram = record_diagram(spec, *spec.output.diagram, *engine, out.stats.end_time);
  if (progress) progress({RunProgress::Stage::kWriting, "", 0, 0, out.stats.end_time, 0});
  render_files(spec, *engine, out, std::move(analysis_files), std::move(verdict_files));
  return out;
}

}  // namespace dsim
