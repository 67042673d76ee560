#include "sim/scenario/scenario.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "sim/core/text_input.h"
#include "sim/core/units.h"
#include "sim/scenario/call_graph.h"
#include "sim/scenario/check_resolve.h"
#include "sim/scenario/network_spec.h"
#include "sim/scenario/vars.h"
#include "sim/scenario/yaml_tree.h"

namespace dsim {

namespace {

constexpr int64_t kMaxWindows = 1'000'000;
constexpr size_t kMaxNameBytes = 200;

std::string dirname_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string stem_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

bool valid_group_name(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return s != "all" && s != "run";
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// A group's name must be valid and new; `seen` holds the names of the groups before it.
void check_group_name(ParamReader& g, const std::string& name, std::set<std::string>& seen) {
  if (name.empty()) {
    g.error("name", "missing required key 'name'");
  } else if (!valid_group_name(name)) {
    g.error("name", "group name '" + name +
                        "' must start with a letter and hold only letters, digits, '_' and '-' "
                        "('all' and 'run' are reserved)");
  } else if (!seen.insert(name).second) {
    g.error("name", "a group named '" + name + "' is already defined");
  }
}

// Reads `groups:`, one group after the other.
class GroupsReader {
 public:
  GroupsReader(const ModelRegistry& registry, ParamEnv& env, ScenarioSpec& spec,
               const ClockSpec& clock_default)
      : registry_(registry), env_(env), spec_(spec), clock_default_(clock_default) {}

  void read(const ParamNode* list, ParamNode& resolved) {
    Diagnostics& diag = *env_.diagnostics;
    resolved = ParamNode::make_list();
    if (!list) {
      diag.error(SourceLoc{spec_.file, 0, 0},
                 "missing required key 'groups' (the node groups: "
                 "each with a name, a model and a count)");
      return;
    }
    if (list->kind != ParamNode::Kind::kList || list->items.empty()) {
      diag.error(list->loc,
                 "groups: expected a non-empty list of groups, got " + list->kind_name());
      return;
    }
    for (size_t i = 0; i < list->items.size(); ++i)
      resolved.items.push_back(read_group(list->items[i], i));
    if (total_nodes_ > kMaxNodes) {
      diag.error(list->loc, "groups: " + std::to_string(total_nodes_) + " nodes in all; at most " +
                                std::to_string(kMaxNodes));
    }
  }

 private:
  // Adds the group to the scenario; returns its resolved keys.
  ParamNode read_group(const ParamNode& item, size_t i) {
    ParamReader g(&item, &env_, "groups[" + std::to_string(i) + "]", item.loc);
    GroupSpec group;
    group.loc = item.loc;
    group.name = g.text("name", "", "the group's name; its nodes are <name>.0, <name>.1, ...");
    check_group_name(g, group.name, seen_);
    group.model = g.text("model", "", "the model every node of the group runs (dsim list models)");
    group.count = static_cast<uint32_t>(g.integer("count", 1, "number of nodes", 1, kMaxNodes));
    total_nodes_ += group.count;
    group.joining = static_cast<uint32_t>(
        g.integer("joining", 0,
                  "how many of the group's last nodes are outside it at the start and join it "
                  "later, by a join fault",
                  0, group.count));
    const ParamNode* params = g.raw("params", "map", "the model's parameters");
    read_group_extras(g, spec_, clock_default_, group);
    g.finish();
    ParamNode resolved = g.resolved();
    read_model(g, item, i, params, group, resolved);
    spec_.groups.push_back(std::move(group));
    return resolved;
  }

  // The group's model, and its params as that model parses them (added to `resolved`).
  void read_model(ParamReader& g, const ParamNode& item, size_t i, const ParamNode* params,
                  GroupSpec& group, ParamNode& resolved) {
    if (group.model.empty()) {
      g.error("model", "missing required key 'model' (models: " + registry_.names() + ")");
      return;
    }
    if (!(group.factory = registry_.find(group.model))) {
      g.error("model", "unknown model '" + group.model + "' (models: " + registry_.names() + ")");
      return;
    }
    const std::string path =
        "groups." + (group.name.empty() ? std::to_string(i) : group.name) + ".params";
    SourceLoc params_loc = item.loc;
    for (const auto& e : item.entries) {
      if (e.key == "params") params_loc = e.key_loc;
    }
    // The environment is shared, not copied: a copy of every group's name for each group
    // would make reading n groups cost O(n^2).
    env_.group_count = group.count;
    ParamReader r(params, &env_, path, params_loc);
    group.config = group.factory->parse(r);
    env_.group_count = 0;
    resolved.set("params", r.resolved());
  }

  const ModelRegistry& registry_;
  ParamEnv& env_;
  ScenarioSpec& spec_;
  const ClockSpec& clock_default_;
  std::set<std::string> seen_;  // the names of the groups read so far
  uint64_t total_nodes_ = 0;
};

void read_checks(const ParamNode* list, ScenarioSpec& spec, Diagnostics& diag) {
  if (!list) return;
  if (list->kind != ParamNode::Kind::kList) {
    diag.error(list->loc, "checks: expected a list such as [\"latency_ms_p99 < 50\"], got " +
                              list->kind_name());
    return;
  }
  for (const auto& item : list->items) {
    if (item.kind != ParamNode::Kind::kScalar) {
      diag.error(item.loc, "checks: each check is a text such as \"latency_ms_p99 < 50\", got " +
                               item.kind_name());
      continue;
    }
    std::string err;
    auto c = parse_check(item.scalar, &err);
    if (!c) {
      diag.error(item.loc, "checks: " + err);
      continue;
    }
    c->loc = item.loc;
    if (!c->group.empty()) {
      bool known = false;
      for (const auto& g : spec.groups)
        known = known || g.name == c->group;
      if (!known && c->group != "all" && c->group != "run") {
        std::string names;
        for (const auto& g : spec.groups)
          names += (names.empty() ? "" : ", ") + g.name;
        diag.error(item.loc, "checks: '" + c->text + "' names group '" + c->group +
                                 "', which is not defined (groups: " + names + ", all, run)");
        continue;
      }
    }
    spec.checks.push_back(*c);
  }
}

// `consistency:` and `availability:`: the histories and their checkers.
void read_consistency(ParamReader& top, const ModelRegistry& registry, ScenarioSpec& spec) {
  {
    ConsistencySpec& c = spec.consistency;
    ParamReader r =
        top.map("consistency", "the operation histories of the clients and their checkers");
    c.history_memory = r.size("history_memory", c.history_memory,
                              "memory the histories may use; operations invoked after it is full "
                              "are not recorded (history_truncated = 1)");
    for (const auto& family : registry.families()) {
      c.family_settings.push_back(family.parse_settings ? family.parse_settings(r) : nullptr);
    }
    r.finish();
    top.adopt("consistency", r);
  }
  {
    AvailabilitySpec& a = spec.availability;
    ParamReader r = top.map("availability", "the availability analysis of the history");
    a.window = r.optional_duration(
        "window", "window of the throughput-recovery grid (default: output.window)");
    a.min_unavailable = r.duration("min_unavailable", a.min_unavailable,
                                   "shortest unavailability interval reported");
    a.baseline = r.duration("baseline", a.baseline,
                            "period before a fault whose success rate is the baseline");
    a.recovered_fraction = r.probability("recovered_fraction", a.recovered_fraction,
                                         "share of the baseline throughput that counts as "
                                         "recovered");
    if (a.window && *a.window <= Duration::zero()) r.error("window", "must be > 0");
    r.finish();
    top.adopt("availability", r);
  }
}

// The element of a list that a key path segment names: by index, or by the `name:` of a
// map (the last such element); null when there is none.
ParamNode* list_element(ParamNode& list, const std::string& part) {
  std::string err;
  if (auto idx = parse_integer(part, &err)) {
    if (*idx < 0 || static_cast<size_t>(*idx) >= list.items.size()) return nullptr;
    return &list.items[static_cast<size_t>(*idx)];
  }
  ParamNode* found = nullptr;
  for (auto& item : list.items) {
    const ParamNode* n = item.kind == ParamNode::Kind::kMap ? item.find("name") : nullptr;
    if (n && n->kind == ParamNode::Kind::kScalar && n->scalar == part) found = &item;
  }
  return found;
}

// Sets (or adds, at the end) key `key` of a map.
void set_key(ParamNode& map, const std::string& key, ParamNode value) {
  if (ParamNode* existing = map.find(key)) {
    *existing = std::move(value);
    return;
  }
  const SourceLoc key_loc = value.loc;
  map.entries.push_back({key, key_loc, std::move(value)});
}

// What the command line changes: --set overrides and --seed. `sweep:` describes a
// parameter study over this scenario, read by `dsim sweep` (sim/sweep/); a single run
// ignores it, and its resolved scenario leaves it out.
void apply_options(ParamNode& root, const LoadOptions& options, Diagnostics& diag) {
  for (const auto& o : options.overrides)
    apply_override(root, o, diag);
  std::erase_if(root.entries, [](const ParamNode::Entry& e) { return e.key == "sweep"; });
  expand_vars(root, diag);
  if (options.seed)
    root.set("seed", ParamNode::make_scalar(std::to_string(*options.seed), {"--seed", 0, 0}));
}

// The names and models of the groups (model "" when not given), as written.
struct DeclaredGroups {
  std::vector<std::string> names, models;
  std::vector<uint32_t> sizes;  // 0: not a count (the group's reading says so)
};

// A group's `count` as written (1 when absent, 0 when not a count).
uint32_t declared_count(const ParamNode& group) {
  const ParamNode* c = group.find("count");
  if (!c) return 1;
  if (c->kind != ParamNode::Kind::kScalar || c->scalar.empty()) return 0;
  uint32_t n = 0;
  const char* end = c->scalar.data() + c->scalar.size();
  const auto [p, ec] = std::from_chars(c->scalar.data(), end, n);
  return ec == std::errc() && p == end ? n : 0;
}

DeclaredGroups declared_groups(const ParamNode& root) {
  DeclaredGroups d;
  const ParamNode* groups = root.find("groups");
  if (!groups || groups->kind != ParamNode::Kind::kList) return d;
  for (const auto& g : groups->items) {
    const ParamNode* n = g.kind == ParamNode::Kind::kMap ? g.find("name") : nullptr;
    if (!n || n->kind != ParamNode::Kind::kScalar) continue;
    const ParamNode* m = g.find("model");
    d.names.push_back(n->scalar);
    d.models.push_back(m && m->kind == ParamNode::Kind::kScalar ? m->scalar : "");
    d.sizes.push_back(declared_count(g));
  }
  return d;
}

// What makes a scenario's name unsafe ("" when it is safe). The name names the output
// directory (runs/<name>-<seed>/), and appears in CSV headers and summary.json: it must be
// one path component that stays in runs/, one line of UTF-8, short enough for a file name
// (255 bytes, with room for the seed).
std::string name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (std::string p = one_line_problem(name); !p.empty()) return p;
  if (name.size() > kMaxNameBytes) {
    return "is " + std::to_string(name.size()) + " bytes long; at most " +
           std::to_string(kMaxNameBytes);
  }
  if (name.find_first_of("/\\") != std::string::npos) return "holds a path separator ('/' or '\\')";
  if (name.find("..") != std::string::npos) return "holds '..'";
  if (name.front() == '.') return "starts with '.'";
  return "";
}

// The scenario's own keys: name, description, seed, duration, warmup.
void read_run(ParamReader& top, ScenarioSpec& spec) {
  const bool named = top.has("name");
  spec.name =
      top.text("name", stem_of(spec.file), "the scenario's name (default: the file's name)");
  const std::string problem = name_problem(spec.name);
  if (!problem.empty() && named) {
    top.error("name", "the scenario's name " + problem +
                          " (it names the output directory runs/<name>-<seed>/)");
  } else if (!problem.empty()) {
    top.error("name", "the scenario is named after its file, whose name " + problem +
                          "; give it a name: key");
  }
  spec.description = top.prose("description", "", "what the scenario shows");
  spec.seed = static_cast<uint64_t>(top.integer("seed", 1, "root of every random stream", 0));
  spec.duration =
      top.duration("duration", spec.duration, "simulated time the run lasts", Duration::from_ns(1));
  spec.warmup =
      top.duration("warmup", spec.warmup, "initial period left out of the summary figures");
}

// engine: events | cycles, and the cycle engine's settings.
void read_engine(ParamReader& top, ScenarioSpec& spec) {
  spec.engine = top.choice(
      "engine", EngineKind::kEvents,
      {{"events", EngineKind::kEvents}, {"cycles", EngineKind::kCycles}},
      "events: discrete events (messages with latency, timers, clocks, faults); cycles: "
      "PeerSim's cycle-driven engine, every node one turn per cycle with instant exchanges "
      "(models with a cycle form only: gossip)");
  ParamReader c = top.map("cycles", "engine: cycles: how the cycles run");
  spec.cycle_order = c.choice(
      "order", spec.cycle_order, {{"random", CycleOrder::kRandom}, {"fixed", CycleOrder::kFixed}},
      "the order of the nodes' turns in a cycle: random, drawn anew each cycle (PeerSim's "
      "shuffle), or fixed, by index (PeerSim's default)");
  c.finish();
  top.adopt_if_given("cycles", c);
  if (top.has("cycles") && spec.engine != EngineKind::kCycles)
    top.error("cycles", "applies only with engine: cycles");
}

// What engine: cycles cannot run: a model without a cycle form (or a config its form
// refuses), and whatever needs events: faults, clocks, a network beyond its loss, traces.
void check_cycle_engine(ParamReader& top, const ScenarioSpec& spec, Diagnostics& diag) {
  if (spec.engine != EngineKind::kCycles) return;
  std::string runs;
  for (const ModelFactory* f : spec.registry->all())
    if (f->cycle_group) runs += (runs.empty() ? "" : ", ") + f->name;
  const std::string why_events = "needs engine: events (the cycle engine has no events)";
  for (const GroupSpec& g : spec.groups) {
    if (!g.factory) continue;
    if (!g.factory->cycle_group) {
      diag.error(g.loc, "group " + g.name + ": model " + g.model +
                            " has no cycle-driven form; engine: cycles runs " + runs);
    } else if (const std::string why = g.factory->cycle_refusal(g.config.get()); !why.empty()) {
      diag.error(g.loc, "group " + g.name + ": " + why);
    } else if (!g.clock.is_ideal()) {
      diag.error(g.loc, "group " + g.name +
                            ": engine: cycles has no clocks (a clock: of its own "
                            "or the scenario's)");
    } else if (g.joining > 0) {
      diag.error(g.loc, "group " + g.name + ": joining " + why_events);
    }
  }
  for (const char* key : {"faults", "nemesis"})
    if (top.has(key)) top.error(key, why_events);
  if (spec.output.trace) top.error("output", "trace: " + why_events);
  if (spec.output.diagram) top.error("output", "diagram: " + why_events);
  // What the network does beyond losing messages needs events: any of it is an error.
  const NetworkConfig& n = spec.network;
  const NetworkConfig defaults;
  auto zero = [](const Distribution& d) {
    return d.kind() == Distribution::Kind::kConstant && d.mean() == 0;
  };
  const std::pair<const char*, bool> unused[] = {
      {"latency", !zero(n.latency)},
      {"duplicate", n.duplicate > 0},
      {"reorder", n.reorder > 0},
      {"bandwidth", n.bandwidth_bps > 0},
      {"queue", n.queue_bytes != defaults.queue_bytes},
      {"access_latency", !zero(n.access_latency)},
      {"topology", n.topology != TopologyKind::kUniform},
      {"message_delay", !n.message_delay.empty()},
  };
  for (const auto& [key, set] : unused) {
    if (!set) continue;
    top.error("network", std::string(key) +
                             ": engine: cycles exchanges state instantly, so only network.loss "
                             "applies");
  }
}

// A window [from, to] of simulated times within the run (output.trace, output.diagram):
// sets `from` and `to` when given and valid.
void read_window(ParamReader& t, const ScenarioSpec& spec, std::string_view help, SimTime& from,
                 SimTime& to) {
  const ParamNode* w = t.raw("window", "[from, to]", help, "the whole run");
  if (!w) return;
  if (w->kind != ParamNode::Kind::kList || w->items.size() != 2) {
    t.error("window",
            "expected [from, to], two times such as [10s, 12s], got " +
                (w->kind == ParamNode::Kind::kList ? "a list of " + std::to_string(w->items.size())
                                                   : w->kind_name()));
    return;
  }
  std::optional<Duration> ends[2];
  for (int i = 0; i < 2; ++i) {
    const ParamNode& item = w->items[static_cast<size_t>(i)];
    std::string err;
    if (item.kind != ParamNode::Kind::kScalar) {
      t.error("window",
              std::string(i ? "to" : "from") + ": expected a time, got " + item.kind_name());
    } else if (auto d = parse_duration(item.scalar, &err)) {
      ends[i] = d;
    } else {
      t.error("window", std::string(i ? "to" : "from") + ": " + err);
    }
  }
  if (!ends[0] || !ends[1]) return;
  if (*ends[0] >= *ends[1]) {
    t.error("window", "from (" + format_duration(*ends[0]) + ") must be before to (" +
                          format_duration(*ends[1]) + ")");
  } else if (*ends[0] >= spec.duration) {
    t.error("window", "from (" + format_duration(*ends[0]) +
                          ") must be before the end of the run (duration " +
                          format_duration(spec.duration) + ")");
  } else {
    from = SimTime::zero() + *ends[0];
    to = SimTime::zero() + *ends[1];
  }
}

// `output.trace`: true, or a map {window: [from, to], max_events: N}.
void read_trace(ParamReader& out, ScenarioSpec& spec) {
  const char* help =
      "write trace.json, the run's events in the Trace Event Format (Perfetto's UI, "
      "chrome://tracing): true, or {window: [from, to], max_events: N}";
  const bool given = out.has("trace");
  const ParamNode* v = out.raw("trace", "boolean or map", help, "false");
  if (!given || !v) return;
  if (v->kind == ParamNode::Kind::kScalar) {
    const std::string& t = v->scalar;
    if (t == "true" || t == "yes" || t == "on") {
      spec.output.trace = TraceConfig{};
    } else if (t != "false" && t != "no" && t != "off") {
      out.error(
          "trace",
          "expected true, false or a map {window: [from, to], max_events: N}, got '" + t + "'");
    }
    return;
  }
  if (v->kind != ParamNode::Kind::kMap) {
    out.error("trace", "expected true, false or a map {window: [from, to], max_events: N}, got " +
                           v->kind_name());
    return;
  }
  ParamReader t(v, &out.env(), out.path() + ".trace", v->loc);
  TraceConfig cfg;
  cfg.max_events = static_cast<uint64_t>(
      t.integer("max_events", static_cast<int64_t>(cfg.max_events),
                "events recorded at most; the trace stops there and says so (truncated)", 1));
  read_window(t, spec, "the simulated times recorded, both included", cfg.from, cfg.to);
  t.finish();
  out.adopt("trace", t);
  spec.output.trace = cfg;
}

// `output.diagram`: a map {window: [from, to], client: NODE, max_messages: N}.
void read_diagram(ParamReader& out, ScenarioSpec& spec) {
  const char* help =
      "write diagram.svg, a space-time diagram of the messages sent within a window, and "
      "messages.csv: {window: [from, to], client: NODE, max_messages: N}";
  const bool given = out.has("diagram");
  const ParamNode* v = out.raw("diagram", "map", help, "none");
  if (!given || !v) return;
  if (v->kind != ParamNode::Kind::kMap) {
    out.error("diagram",
              "expected a map {window: [from, to], client: NODE, max_messages: N}, got " +
                  v->kind_name());
    return;
  }
  ParamReader d(v, &out.env(), out.path() + ".diagram", v->loc);
  DiagramSpec cfg;
  cfg.max_messages = static_cast<uint64_t>(
      d.integer("max_messages", static_cast<int64_t>(cfg.max_messages),
                "messages drawn at most; the caption says how many more were left out", 1,
                static_cast<int64_t>(kMaxLoggedMessages)));
  read_window(d, spec, "the send times drawn, both included", cfg.from, cfg.to);
  cfg.client =
      d.text("client", "", "the node (group.index) whose messages and operations are highlighted");
  if (!cfg.client.empty()) {
    const size_t dot = cfg.client.rfind('.');
    const std::string group = dot == std::string::npos ? cfg.client : cfg.client.substr(0, dot);
    const std::string index = dot == std::string::npos ? "" : cfg.client.substr(dot + 1);
    const uint32_t size = out.env().size_of(group);
    const bool digits = !index.empty() && index.size() <= 9 &&
                        index.find_first_not_of("0123456789") == std::string::npos;
    if (!out.env().find_group(group)) {
      d.error("client", "no group '" + group + "': expected a node such as " +
                            (out.env().group_names.empty() ? std::string("clients")
                                                           : out.env().group_names.front()) +
                            ".0");
    } else if (!digits || std::stoul(index) >= size) {
      d.error("client", "'" + cfg.client + "' is not a node: group " + group + " has nodes " +
                            group + ".0 to " + group + "." + std::to_string(size - 1));
    }
  }
  d.finish();
  out.adopt("diagram", d);
  spec.output.diagram = cfg;
}

void read_output(ParamReader& top, ScenarioSpec& spec) {
  ParamReader out = top.map("output", "what the run writes");
  spec.output.window = out.duration("window", spec.output.window,
                                    "width of the windows of timeseries.csv", Duration::from_ns(1));
  spec.output.links = out.boolean(
      "links", spec.output.links,
      "write links.csv; false: no per-pair counters, so pairs of nodes that talk cost no "
      "memory (unless a pair link queues)");
  read_trace(out, spec);
  read_diagram(out, spec);
  out.finish();
  top.adopt("output", out);
}

void read_limits(ParamReader& top, ScenarioSpec& spec) {
  ParamReader lim = top.map("limits", "limits that abort a runaway run (exit code 3)");
  spec.limits.max_events = static_cast<uint64_t>(
      lim.integer("max_events", 0, "stop after this many events (0: no limit)", 0));
  spec.limits.max_pending = static_cast<uint64_t>(lim.integer(
      "max_pending", 0, "stop when more events than this are pending (0: no limit)", 0));
  // Both are written to the resolved scenario only when given: the default budget depends
  // on the machine, and the results must not.
  const char* memory_help =
      "stop when the process holds more memory than this (default: half of the machine's; "
      "0: no limit)";
  if (lim.has("memory")) {
    spec.limits.memory = lim.size("memory", 0, memory_help);
  } else {
    lim.raw("memory", "size", memory_help, "half of the machine's memory");
  }
  spec.limits.wall =
      lim.optional_duration("wall", "stop when the run has taken this much wall-clock time");
  if (spec.limits.wall && spec.limits.wall->ns() == 0) lim.error("wall", "must be > 0");
  lim.finish();
  top.adopt("limits", lim);
}

// The warmup and the output windows against the duration.
void check_windows(ParamReader& top, const ScenarioSpec& spec) {
  if (spec.warmup >= spec.duration) {
    top.error("warmup", "warmup (" + format_duration(spec.warmup) +
                            ") must be shorter than the duration (" +
                            format_duration(spec.duration) + ")");
  }
  if (spec.duration / spec.output.window > kMaxWindows) {
    top.error("output", "output.window " + format_duration(spec.output.window) +
                            " makes more than " + std::to_string(kMaxWindows) +
                            " windows over the duration; widen it");
  }
}

// The resolved scenario: every key read, the groups with their models' params, the checks.
void set_resolved(const ParamReader& top, ParamNode resolved_groups, ScenarioSpec& spec) {
  spec.resolved = top.resolved();
  spec.resolved.set("groups", std::move(resolved_groups));
  ParamNode check_list = ParamNode::make_list();
  for (const auto& c : spec.checks)
    check_list.items.push_back(ParamNode::make_scalar(c.text));
  if (!spec.checks.empty()) spec.resolved.set("checks", std::move(check_list));
}

// Reads and validates the whole scenario, reporting every error it finds.
std::optional<ScenarioSpec> read_scenario(ParamNode tree, const std::string& file,
                                          const LoadOptions& options, const ModelRegistry& registry,
                                          Diagnostics& diag) {
  std::optional<ParamNode> root(std::move(tree));
  if (root->kind != ParamNode::Kind::kMap) {
    diag.error(root->loc,
               "a scenario is a map with keys such as name, duration, network, groups; "
               "got " +
                   root->kind_name());
    return std::nullopt;
  }
  apply_options(*root, options, diag);

  ScenarioSpec spec;
  spec.file = file;
  spec.registry = &registry;
  // Group names first: model parameters may refer to any group, declared before or after.
  const DeclaredGroups declared = declared_groups(*root);
  ParamEnv env;
  env.diagnostics = &diag;
  env.group_names = declared.names;
  env.group_models = declared.models;
  env.group_sizes = declared.sizes;
  env.index_groups();
  env.base_dir = dirname_of(file);
  ParamReader top(&*root, &env, "", SourceLoc{file, 1, 1});
  read_run(top, spec);
  read_engine(top, spec);
  read_network(top, spec);
  const ClockSpec clock_default =
      read_clock(top, ClockSpec{}, "the clock of every node (a group's clock overrides it)");
  const ParamNode* groups = top.raw("groups", "list", "the node groups");
  const ParamNode* checks = top.raw("checks", "list", "assertions on the results");
  const ParamNode* faults = top.raw("faults", "list", "the fault timeline: [{at: 10s, crash: x}]");
  const ParamNode* nemesis = top.raw("nemesis", "list", "random fault generators");
  read_output(top, spec);
  read_limits(top, spec);
  read_consistency(top, registry, spec);
  top.finish();

  ParamNode resolved_groups;
  GroupsReader(registry, env, spec, clock_default).read(groups, resolved_groups);
  check_call_graph(spec, diag);
  read_checks(checks, spec, diag);
  resolve_checks(spec, diag);
  read_faults(faults, nemesis, env, spec);
  check_windows(top, spec);
  check_cycle_engine(top, spec, diag);
  if (!diag.ok()) return std::nullopt;
  set_resolved(top, std::move(resolved_groups), spec);
  return spec;
}

}  // namespace

bool apply_override(ParamNode& root, const std::string& assignment, Diagnostics& diag) {
  const SourceLoc where{"--set " + assignment, 0, 0};
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    diag.error(where, "expected --set key.path=value");
    return false;
  }
  const std::string path = assignment.substr(0, eq);
  const std::string value_text = assignment.substr(eq + 1);
  auto value = parse_yaml(value_text, "--set " + path, diag);
  if (!value) return false;
  value->loc = SourceLoc{"--set " + path, 0, 0};
  return set_at_path(root, path, std::move(*value), where, diag);
}

bool set_at_path(ParamNode& root, const std::string& path, ParamNode value_node,
                 const SourceLoc& where, Diagnostics& diag) {
  std::optional<ParamNode> value(std::move(value_node));
  const auto parts = split_path(path);
  ParamNode* node = &root;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (part.empty()) {
      diag.error(where, "empty segment in key path '" + path + "'");
      return false;
    }
    if (node->kind == ParamNode::Kind::kList) {
      ParamNode* next = list_element(*node, part);
      if (!next) {
        diag.error(where,
                   "'" + path + "': no list element '" + part + "' (use an index or a name)");
        return false;
      }
      if (last) {
        *next = std::move(*value);
        return true;
      }
      node = next;
      continue;
    }
    if (node->kind == ParamNode::Kind::kNull) *node = ParamNode::make_map(node->loc);
    if (node->kind != ParamNode::Kind::kMap) {
      diag.error(where, "'" + path + "': '" + part + "' is inside " + node->kind_name() +
                            ", which has no keys");
      return false;
    }
    if (last) {
      set_key(*node, part, std::move(*value));
      return true;
    }
    ParamNode* next = node->find(part);
    if (!next) {
      node->entries.push_back({part, value->loc, ParamNode::make_map()});
      next = &node->entries.back().value;
    }
    node = next;
  }
  return true;
}

std::optional<ScenarioSpec> load_scenario_text(const std::string& text, const std::string& file,
                                               const LoadOptions& options,
                                               const ModelRegistry& registry, Diagnostics& diag) {
  const size_t errors_before = diag.all().size();
  auto tree = parse_yaml(text, file, diag);
  if (!tree) return std::nullopt;
  auto spec = load_scenario_tree(std::move(*tree), file, options, registry, diag);
  // Again, for the duplicate keys parse_yaml reported.
  diag.sort_in_file_order(errors_before);
  return spec;
}

std::optional<ScenarioSpec> load_scenario_tree(ParamNode tree, const std::string& file,
                                               const LoadOptions& options,
                                               const ModelRegistry& registry, Diagnostics& diag) {
  const size_t errors_before = diag.all().size();
  auto spec = read_scenario(std::move(tree), file, options, registry, diag);
  diag.sort_in_file_order(errors_before);
  return spec;
}

std::optional<ScenarioSpec> load_scenario(const std::string& path, const LoadOptions& options,
                                          const ModelRegistry& registry, Diagnostics& diag) {
  const auto text = read_scenario_file(path, diag);
  if (!text) return std::nullopt;
  return load_scenario_text(*text, path, options, registry, diag);
}

}  // namespace dsim
