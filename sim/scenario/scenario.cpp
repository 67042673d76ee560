#include "sim/scenario/scenario.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "sim/core/units.h"
#include "sim/scenario/network_spec.h"
#include "sim/scenario/yaml_tree.h"

namespace dsim {

namespace {

constexpr uint64_t kMaxNodes = 50'000'000;
constexpr int64_t kMaxWindows = 1'000'000;

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

void read_groups(const ParamNode* list, const std::vector<std::string>& group_names,
                 const ModelRegistry& registry, ParamEnv& env, ScenarioSpec& spec,
                 const ClockSpec& clock_default, ParamNode& resolved) {
  Diagnostics& diag = *env.diagnostics;
  resolved = ParamNode::make_list();
  if (!list) {
    diag.error(SourceLoc{spec.file, 0, 0},
               "missing required key 'groups' (the node groups: "
               "each with a name, a model and a count)");
    return;
  }
  if (list->kind != ParamNode::Kind::kList || list->items.empty()) {
    diag.error(list->loc, "groups: expected a non-empty list of groups, got " + list->kind_name());
    return;
  }
  std::vector<std::string> seen;
  uint64_t total_nodes = 0;
  for (size_t i = 0; i < list->items.size(); ++i) {
    const ParamNode& item = list->items[i];
    const std::string where = "groups[" + std::to_string(i) + "]";
    ParamReader g(&item, &env, where, item.loc);
    GroupSpec spec_g;
    spec_g.loc = item.loc;
    spec_g.name = g.text("name", "", "the group's name; its nodes are <name>.0, <name>.1, ...");
    const bool named = !spec_g.name.empty();
    if (!named) {
      g.error("name", "missing required key 'name'");
    } else if (!valid_group_name(spec_g.name)) {
      g.error("name", "group name '" + spec_g.name +
                          "' must start with a letter and hold only letters, digits, '_' and '-' "
                          "('all' and 'run' are reserved)");
    } else if (std::find(seen.begin(), seen.end(), spec_g.name) != seen.end()) {
      g.error("name", "a group named '" + spec_g.name + "' is already defined");
    }
    seen.push_back(spec_g.name);
    spec_g.model = g.text("model", "", "the model every node of the group runs (dsim list models)");
    spec_g.count = static_cast<uint32_t>(g.integer("count", 1, "number of nodes", 1, kMaxNodes));
    total_nodes += spec_g.count;
    const ParamNode* params = g.raw("params", "map", "the model's parameters");
    read_group_extras(g, spec, clock_default, spec_g);
    g.finish();
    ParamNode resolved_group = g.resolved();
    if (spec_g.model.empty()) {
      g.error("model", "missing required key 'model' (models: " + registry.names() + ")");
    } else if (!(spec_g.factory = registry.find(spec_g.model))) {
      g.error("model", "unknown model '" + spec_g.model + "' (models: " + registry.names() + ")");
    } else {
      ParamEnv model_env = env;
      model_env.group_names = group_names;
      model_env.group_count = spec_g.count;
      const std::string path = "groups." + (named ? spec_g.name : std::to_string(i)) + ".params";
      SourceLoc params_loc = item.loc;
      for (const auto& e : item.entries) {
        if (e.key == "params") params_loc = e.key_loc;
      }
      ParamReader r(params, &model_env, path, params_loc);
      spec_g.config = spec_g.factory->parse(r);
      resolved_group.set("params", r.resolved());
    }
    resolved.items.push_back(std::move(resolved_group));
    spec.groups.push_back(std::move(spec_g));
  }
  if (total_nodes > kMaxNodes) {
    diag.error(list->loc, "groups: " + std::to_string(total_nodes) + " nodes in all; at most " +
                              std::to_string(kMaxNodes));
  }
}

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
      ParamNode* next = nullptr;
      std::string err;
      if (auto idx = parse_integer(part, &err)) {
        if (*idx >= 0 && static_cast<size_t>(*idx) < node->items.size()) {
          next = &node->items[static_cast<size_t>(*idx)];
        }
      } else {
        for (auto& item : node->items) {
          const ParamNode* n = item.kind == ParamNode::Kind::kMap ? item.find("name") : nullptr;
          if (n && n->kind == ParamNode::Kind::kScalar && n->scalar == part) next = &item;
        }
      }
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
      const SourceLoc key_loc = value->loc;
      if (ParamNode* existing = node->find(part)) {
        *existing = std::move(*value);
      } else {
        node->entries.push_back({part, key_loc, std::move(*value)});
      }
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
  auto tree = parse_yaml(text, file, diag);
  if (!tree) return std::nullopt;
  return load_scenario_tree(std::move(*tree), file, options, registry, diag);
}

std::optional<ScenarioSpec> load_scenario_tree(ParamNode tree, const std::string& file,
                                               const LoadOptions& options,
                                               const ModelRegistry& registry, Diagnostics& diag) {
  std::optional<ParamNode> root(std::move(tree));
  if (root->kind != ParamNode::Kind::kMap) {
    diag.error(root->loc,
               "a scenario is a map with keys such as name, duration, network, groups; "
               "got " +
                   root->kind_name());
    return std::nullopt;
  }
  for (const auto& o : options.overrides)
    apply_override(*root, o, diag);
  // `sweep:` describes a parameter study over this scenario, read by `dsim sweep`
  // (sim/sweep/); a single run ignores it, and its resolved scenario leaves it out.
  std::erase_if(root->entries, [](const ParamNode::Entry& e) { return e.key == "sweep"; });
  if (options.seed)
    root->set("seed", ParamNode::make_scalar(std::to_string(*options.seed), {"--seed", 0, 0}));

  ScenarioSpec spec;
  spec.file = file;
  spec.registry = &registry;
  // Group names first: model parameters may refer to any group, declared before or after.
  std::vector<std::string> group_names, group_models;
  if (const ParamNode* groups = root->find("groups");
      groups && groups->kind == ParamNode::Kind::kList) {
    for (const auto& g : groups->items) {
      const ParamNode* n = g.kind == ParamNode::Kind::kMap ? g.find("name") : nullptr;
      if (n && n->kind == ParamNode::Kind::kScalar) {
        const ParamNode* m = g.find("model");
        group_names.push_back(n->scalar);
        group_models.push_back(m && m->kind == ParamNode::Kind::kScalar ? m->scalar : "");
      }
    }
  }
  ParamEnv env;
  env.diagnostics = &diag;
  env.group_names = group_names;
  env.group_models = group_models;
  env.base_dir = dirname_of(file);
  ParamReader top(&*root, &env, "", SourceLoc{file, 1, 1});
  spec.name = top.text("name", stem_of(file), "the scenario's name (default: the file's name)");
  spec.description = top.text("description", "", "what the scenario shows");
  spec.seed = static_cast<uint64_t>(top.integer("seed", 1, "root of every random stream", 0));
  spec.duration =
      top.duration("duration", spec.duration, "simulated time the run lasts", Duration::from_ns(1));
  spec.warmup =
      top.duration("warmup", spec.warmup, "initial period left out of the summary figures");
  read_network(top, spec);
  const ClockSpec clock_default =
      read_clock(top, ClockSpec{}, "the clock of every node (a group's clock overrides it)");
  const ParamNode* groups = top.raw("groups", "list", "the node groups");
  const ParamNode* checks = top.raw("checks", "list", "assertions on the results");
  const ParamNode* faults = top.raw("faults", "list", "the fault timeline: [{at: 10s, crash: x}]");
  const ParamNode* nemesis = top.raw("nemesis", "list", "random fault generators");
  {
    ParamReader out = top.map("output", "what the run writes");
    spec.output.window =
        out.duration("window", spec.output.window, "width of the windows of timeseries.csv",
                     Duration::from_ns(1));
    spec.output.links = out.boolean(
        "links", spec.output.links,
        "write links.csv; false: no per-pair counters, so pairs of nodes that talk cost no "
        "memory (unless a pair link queues)");
    out.finish();
    top.adopt("output", out);
  }
  {
    ParamReader lim = top.map("limits", "limits that abort a runaway run (exit code 3)");
    spec.limits.max_events = static_cast<uint64_t>(
        lim.integer("max_events", 0, "stop after this many events (0: no limit)", 0));
    spec.limits.max_pending = static_cast<uint64_t>(lim.integer(
        "max_pending", 0, "stop when more events than this are pending (0: no limit)", 0));
    lim.finish();
    top.adopt("limits", lim);
  }
  read_consistency(top, registry, spec);
  top.finish();

  ParamNode resolved_groups;
  read_groups(groups, group_names, registry, env, spec, clock_default, resolved_groups);
  read_checks(checks, spec, diag);
  if (diag.ok()) read_faults(faults, nemesis, env, spec);

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
  if (!diag.ok()) return std::nullopt;

  spec.resolved = top.resolved();
  spec.resolved.set("groups", std::move(resolved_groups));
  ParamNode check_list = ParamNode::make_list();
  for (const auto& c : spec.checks)
    check_list.items.push_back(ParamNode::make_scalar(c.text));
  if (!spec.checks.empty()) spec.resolved.set("checks", std::move(check_list));
  return spec;
}

std::optional<ScenarioSpec> load_scenario(const std::string& path, const LoadOptions& options,
                                          const ModelRegistry& registry, Diagnostics& diag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error(SourceLoc{path, 0, 0}, "cannot read the scenario file");
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_scenario_text(ss.str(), path, options, registry, diag);
}

}  // namespace dsim
