#include "sim/sweep/plan.h"

#include <algorithm>
#include <map>

#include "dsim/version.h"
#include "sim/core/rng.h"
#include "sim/core/units.h"
#include "sim/scenario/yaml_tree.h"

namespace dsim::sweep {

namespace {

constexpr int64_t kMaxReplications = 1'000'000;
constexpr size_t kMaxErrorPoints = 5;

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Reads one {key, values} map of the sweep block.
std::optional<AxisKey> read_axis_key(const ParamNode& item, const std::string& where,
                                     ParamEnv& env) {
  ParamReader r(&item, &env, where, item.loc);
  AxisKey k;
  k.loc = item.loc;
  k.key = r.text("key", "", "a scenario key path, as for --set (groups.web.params.workers)");
  const ParamNode* values = r.raw("values", "list", "the values the key takes");
  r.finish();
  bool ok = true;
  if (k.key.empty()) {
    r.error("key",
            "missing required key 'key' (a scenario key path such as duration or "
            "groups.web.params.workers)");
    ok = false;
  }
  if (!values) {
    r.error("values", "missing required key 'values' (a list such as [1, 2, 4])");
    ok = false;
  } else if (values->kind != ParamNode::Kind::kList || values->items.empty()) {
    r.error("values", "expected a non-empty list of values, got " + values->kind_name());
    ok = false;
  } else {
    k.values = values->items;
  }
  if (!ok) return std::nullopt;
  return k;
}

// Reads the `grid` list of the sweep block.
void read_grid(const ParamNode* grid, ParamEnv& env, std::vector<Axis>& axes) {
  Diagnostics& diag = *env.diagnostics;
  if (!grid) return;
  if (grid->kind != ParamNode::Kind::kList) {
    diag.error(grid->loc,
               "sweep.grid: expected a list of axes ({key: ..., values: [...]} or "
               "{zip: [...]}), got " +
                   grid->kind_name());
    return;
  }
  for (size_t i = 0; i < grid->items.size(); ++i) {
    const ParamNode& item = grid->items[i];
    const std::string where = "sweep.grid[" + std::to_string(i) + "]";
    if (item.kind != ParamNode::Kind::kMap) {
      diag.error(item.loc, where + ": expected {key: ..., values: [...]} or {zip: [...]}, got " +
                               item.kind_name());
      continue;
    }
    const ParamNode* zip = item.find("zip");
    if (!zip) {
      if (auto k = read_axis_key(item, where, env)) axes.push_back(Axis{{std::move(*k)}});
      continue;
    }
    ParamReader z(&item, &env, where, item.loc);
    z.raw("zip", "list", "keys whose values advance together");
    z.finish();
    if (zip->kind != ParamNode::Kind::kList || zip->items.empty()) {
      diag.error(zip->loc, where + ".zip: expected a non-empty list of {key: ..., values: [...]}");
      continue;
    }
    Axis axis;
    bool ok = true;
    for (size_t j = 0; j < zip->items.size(); ++j) {
      const std::string w = where + ".zip[" + std::to_string(j) + "]";
      if (zip->items[j].kind != ParamNode::Kind::kMap) {
        diag.error(zip->items[j].loc, w + ": expected {key: ..., values: [...]}");
        ok = false;
        continue;
      }
      auto k = read_axis_key(zip->items[j], w, env);
      if (!k) {
        ok = false;
        continue;
      }
      if (!axis.keys.empty() && k->values.size() != axis.size()) {
        diag.error(k->loc, w + ": " + std::to_string(k->values.size()) +
                               " values, but the keys zipped with it have " +
                               std::to_string(axis.size()) + " (zipped lists advance together)");
        ok = false;
        continue;
      }
      axis.keys.push_back(std::move(*k));
    }
    if (ok) axes.push_back(std::move(axis));
  }
}

// Parses "key.path=v1,v2,..." from the command line.
std::optional<AxisKey> parse_cli_axis(const std::string& option, const std::string& text,
                                      Diagnostics& diag) {
  const SourceLoc where{option + " " + text, 0, 0};
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    diag.error(where, "expected " + option + " key.path=v1,v2,...");
    return std::nullopt;
  }
  AxisKey k;
  k.key = text.substr(0, eq);
  k.loc = SourceLoc{option + " " + k.key, 0, 0};
  for (const auto& v : split_values(text.substr(eq + 1))) {
    if (v.empty()) {
      diag.error(where, "empty value in the list (values are separated by commas)");
      return std::nullopt;
    }
    auto node = parse_yaml(v, option + " " + k.key, diag);
    if (!node) return std::nullopt;
    node->loc = k.loc;
    k.values.push_back(std::move(*node));
  }
  if (k.values.empty()) {
    diag.error(where, "no values given");
    return std::nullopt;
  }
  return k;
}

// A point or an axis value that does not make a valid scenario: where (for messages) and
// what is wrong.
struct Failure {
  std::string where;  // "at sweep point 3 (workers=4 rate=200/s)"
  Diagnostics diag;
};

// Reports the failures of `checked` validations. An error in the base scenario fails each
// of them the same way: it is said once.
void report_failures(const std::vector<Failure>& failures, size_t checked, const SweepPlan& plan,
                     Diagnostics& diag) {
  bool same = failures.size() == checked;
  for (const auto& f : failures)
    same = same && f.diag.render() == failures.front().diag.render();
  if (same) {
    for (const auto& d : failures.front().diag.all())
      diag.error(d.loc, d.message);
    return;
  }
  for (size_t i = 0; i < failures.size() && i < kMaxErrorPoints; ++i) {
    for (const auto& d : failures[i].diag.all())
      diag.error(d.loc, failures[i].where + ": " + d.message);
  }
  if (failures.size() > kMaxErrorPoints) {
    diag.error(
        SourceLoc{plan.file, 0, 0},
        "... and " + std::to_string(failures.size() - kMaxErrorPoints) + " more invalid points");
  }
}

}  // namespace

size_t SweepPlan::points() const {
  size_t n = 1;
  for (const auto& a : axes)
    n *= a.size();
  return n;
}

std::vector<std::string> SweepPlan::columns() const {
  std::vector<std::string> c;
  for (const auto& a : axes) {
    for (const auto& k : a.keys)
      c.push_back(k.key);
  }
  return c;
}

namespace {
// The index into each axis of a point: mixed radix, the last axis varying fastest.
std::vector<size_t> coordinates(const std::vector<Axis>& axes, size_t point) {
  std::vector<size_t> idx(axes.size());
  for (size_t i = axes.size(); i-- > 0;) {
    idx[i] = point % axes[i].size();
    point /= axes[i].size();
  }
  return idx;
}
}  // namespace

std::vector<std::string> SweepPlan::point_values(size_t point) const {
  const auto idx = coordinates(axes, point);
  std::vector<std::string> v;
  for (size_t i = 0; i < axes.size(); ++i) {
    for (const auto& k : axes[i].keys)
      v.push_back(flow_text(k.values[idx[i]]));
  }
  return v;
}

std::string SweepPlan::point_label(size_t point) const {
  const auto cols = columns();
  const auto vals = point_values(point);
  std::string s;
  for (size_t i = 0; i < cols.size(); ++i)
    s += (i ? " " : "") + cols[i] + "=" + vals[i];
  return s.empty() ? "the scenario as written" : s;
}

ParamNode SweepPlan::point_tree(size_t point, Diagnostics& diag) const {
  ParamNode tree = base;
  const auto idx = coordinates(axes, point);
  for (size_t i = 0; i < axes.size(); ++i) {
    for (const auto& k : axes[i].keys)
      set_at_path(tree, k.key, k.values[idx[i]], k.loc, diag);
  }
  return tree;
}

std::string SweepPlan::render_yaml() const {
  ParamNode tree = base;
  tree.set("seed", ParamNode::make_scalar(std::to_string(root_seed)));
  ParamNode block = ParamNode::make_map();
  block.set("replications", ParamNode::make_scalar(std::to_string(replications)));
  ParamNode grid = ParamNode::make_list();
  auto key_node = [](const AxisKey& k) {
    ParamNode m = ParamNode::make_map();
    m.set("key", ParamNode::make_scalar(k.key));
    ParamNode values = ParamNode::make_list();
    values.items = k.values;
    m.set("values", std::move(values));
    return m;
  };
  for (const auto& a : axes) {
    if (a.keys.size() == 1) {
      grid.items.push_back(key_node(a.keys.front()));
      continue;
    }
    ParamNode zip = ParamNode::make_list();
    for (const auto& k : a.keys)
      zip.items.push_back(key_node(k));
    ParamNode m = ParamNode::make_map();
    m.set("zip", std::move(zip));
    grid.items.push_back(std::move(m));
  }
  if (!grid.items.empty()) block.set("grid", std::move(grid));
  tree.set("sweep", std::move(block));
  return "# dsim " + std::string(kVersion) + " sweep=" + name +
         " seed=" + std::to_string(root_seed) +
         "\n# the sweep as run (command-line options applied): dsim sweep on this file "
         "repeats it\n" +
         emit_yaml(tree);
}

uint64_t replication_seed(uint64_t root_seed, uint32_t replication) {
  if (replication == 0) return root_seed;
  return mix64(root_seed ^ stream_id("replication", replication)) >> 1;
}

std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(trim(cur));
  return out;
}

std::string flow_text(const ParamNode& node) {
  switch (node.kind) {
    case ParamNode::Kind::kNull:
      return "";
    case ParamNode::Kind::kScalar:
      return node.scalar;
    case ParamNode::Kind::kList: {
      std::string s = "[";
      for (size_t i = 0; i < node.items.size(); ++i)
        s += (i ? ", " : "") + flow_text(node.items[i]);
      return s + "]";
    }
    case ParamNode::Kind::kMap: {
      std::string s = "{";
      for (size_t i = 0; i < node.entries.size(); ++i)
        s += (i ? ", " : "") + node.entries[i].key + ": " + flow_text(node.entries[i].value);
      return s + "}";
    }
  }
  return "";
}

namespace {

// The sweep block, taken out of the scenario tree, and where it stood.
struct SweepBlock {
  ParamNode node;
  SourceLoc loc;
};

SweepBlock take_sweep_block(ParamNode& tree, const std::string& path) {
  SweepBlock block{ParamNode{}, SourceLoc{path, 1, 1}};
  for (auto it = tree.entries.begin(); it != tree.entries.end(); ++it) {
    if (it->key == "sweep") {
      block.node = std::move(it->value);
      block.loc = it->key_loc;
      tree.entries.erase(it);
      break;
    }
  }
  return block;
}

// The block's replications and grid, into the plan.
void read_sweep_block(const SweepBlock& block, SweepPlan& plan, Diagnostics& diag) {
  const ParamNode& node = block.node;
  ParamEnv env;
  env.diagnostics = &diag;
  if (node.kind != ParamNode::Kind::kNull && node.kind != ParamNode::Kind::kMap) {
    diag.error(node.loc,
               "sweep: expected a map with keys replications and grid, got " + node.kind_name());
    return;
  }
  ParamReader r(node.kind == ParamNode::Kind::kMap ? &node : nullptr, &env, "sweep", block.loc);
  plan.replications = static_cast<uint32_t>(
      r.integer("replications", 1, "runs per point, each with its own seed", 1, kMaxReplications));
  const ParamNode* grid = r.raw("grid", "list", "the axes of the sweep");
  r.finish();
  read_grid(grid, env, plan.axes);
}

// --replications replaces the block's.
void apply_replications(std::optional<uint32_t> replications, SweepPlan& plan, Diagnostics& diag) {
  if (!replications) return;
  if (*replications < 1 || *replications > kMaxReplications) {
    diag.error(SourceLoc{"--replications", 0, 0},
               "expected an integer in [1, " + std::to_string(kMaxReplications) + "]");
  }
  plan.replications = *replications;
}

// Command-line axes: --grid replaces the file's axis on the same key, or adds one;
// every --zip together forms one more axis.
void add_cli_grid(const std::vector<std::string>& grid, std::vector<Axis>& axes,
                  Diagnostics& diag) {
  for (const auto& g : grid) {
    auto k = parse_cli_axis("--grid", g, diag);
    if (!k) continue;
    bool replaced = false;
    for (auto& a : axes) {
      for (auto& existing : a.keys) {
        if (existing.key != k->key) continue;
        if (a.keys.size() > 1) {
          diag.error(k->loc, "'" + k->key +
                                 "' is part of a zipped axis of the scenario's sweep; "
                                 "change it there");
        } else {
          existing = *k;
        }
        replaced = true;
      }
    }
    if (!replaced) axes.push_back(Axis{{std::move(*k)}});
  }
}

void add_cli_zip(const std::vector<std::string>& zip, std::vector<Axis>& axes, Diagnostics& diag) {
  Axis zipped;
  for (const auto& z : zip) {
    auto k = parse_cli_axis("--zip", z, diag);
    if (!k) continue;
    if (!zipped.keys.empty() && k->values.size() != zipped.size()) {
      diag.error(k->loc, std::to_string(k->values.size()) +
                             " values, but the other --zip lists "
                             "have " +
                             std::to_string(zipped.size()) + " (zipped lists advance together)");
      continue;
    }
    zipped.keys.push_back(std::move(*k));
  }
  if (!zipped.keys.empty()) axes.push_back(std::move(zipped));
}

// Keys: each swept once, never the seed (replications own it).
void check_swept_keys(const std::vector<Axis>& axes, Diagnostics& diag) {
  std::vector<std::string> seen;
  for (const auto& a : axes) {
    for (const auto& k : a.keys) {
      if (k.key == "seed") {
        diag.error(k.loc,
                   "the seed cannot be swept: each replication gets its own seed "
                   "(use replications, and --seed for the root seed)");
      } else if (k.key == "sweep" || k.key.starts_with("sweep.")) {
        diag.error(k.loc, "'" + k.key + "': a sweep cannot sweep its own settings");
      } else if (std::find(seen.begin(), seen.end(), k.key) != seen.end()) {
        diag.error(k.loc, "'" + k.key + "' is swept twice");
      }
      seen.push_back(k.key);
    }
  }
}

void check_run_count(const SweepPlan& plan, const SourceLoc& block_loc, Diagnostics& diag) {
  size_t runs = plan.replications;
  for (const auto& a : plan.axes) {
    if (runs > kMaxRuns) break;
    runs *= a.size();
  }
  if (runs > kMaxRuns) {
    diag.error(block_loc, "the sweep has more than " + std::to_string(kMaxRuns) + " runs");
  }
}

// The root seed: --seed (written into the tree), else the scenario's, else 1.
uint64_t read_root_seed(ParamNode& tree, std::optional<uint64_t> seed) {
  if (seed) {
    tree.set("seed", ParamNode::make_scalar(std::to_string(*seed), {"--seed", 0, 0}));
  }
  if (const ParamNode* s = tree.find("seed"); s && s->kind == ParamNode::Kind::kScalar) {
    std::string err;
    if (auto v = parse_integer(s->scalar, &err); v && *v >= 0) return static_cast<uint64_t>(*v);
  }
  return 1;
}

// Validates a scenario tree as a run would see it; false with the errors in *d.
bool valid_tree(const SweepPlan& plan, ParamNode tree, const ModelRegistry& registry,
                Diagnostics& d, std::string* name = nullptr) {
  if (!d.ok()) return false;
  LoadOptions load;
  load.seed = plan.root_seed;
  auto spec = load_scenario_tree(std::move(tree), plan.file, load, registry, d);
  if (spec && name) *name = spec->name;
  return spec.has_value();
}

// Each value of each axis, set alone on the base scenario: what a value is wrong on its
// own is found here, in time linear in the axes' sizes.
void check_axis_values(const SweepPlan& plan, const ModelRegistry& registry,
                       std::vector<Failure>& failures, size_t& checked) {
  for (const auto& axis : plan.axes) {
    for (size_t v = 0; v < axis.size(); ++v) {
      Diagnostics d;
      ParamNode tree = plan.base;
      std::string label;
      for (const auto& k : axis.keys) {
        set_at_path(tree, k.key, k.values[v], k.loc, d);
        label += (label.empty() ? "" : " ") + k.key + "=" + flow_text(k.values[v]);
      }
      ++checked;
      if (!valid_tree(plan, std::move(tree), registry, d))
        failures.push_back({"with sweep value " + label, std::move(d)});
    }
  }
}

// The points checked before the sweep starts: every one of a small sweep, else
// kCheckedPoints spread evenly from the first to the last.
std::vector<size_t> points_to_check(size_t points, size_t limit) {
  std::vector<size_t> out;
  if (points <= limit) {
    for (size_t p = 0; p < points; ++p)
      out.push_back(p);
    return out;
  }
  for (size_t i = 0; i < limit; ++i)
    out.push_back(limit == 1 ? 0 : i * (points - 1) / (limit - 1));
  return out;
}

// The points must make valid scenarios (all of them in a small sweep; in a large one each
// axis value alone and a bounded sample of points: the others are checked as they run).
// The first point names the sweep.
bool check_points(SweepPlan& plan, const ModelRegistry& registry, size_t limit, Diagnostics& diag) {
  std::vector<Failure> failures;
  size_t checked = 0;
  plan.every_point_checked = plan.points() <= std::max<size_t>(1, limit);
  if (!plan.every_point_checked) check_axis_values(plan, registry, failures, checked);
  for (size_t p : points_to_check(plan.points(), std::max<size_t>(1, limit))) {
    Diagnostics d;
    ++checked;
    ++plan.points_checked;
    if (!valid_tree(plan, plan.point_tree(p, d), registry, d, p == 0 ? &plan.name : nullptr)) {
      failures.push_back(
          {"at sweep point " + std::to_string(p) + " (" + plan.point_label(p) + ")", std::move(d)});
    }
  }
  if (failures.empty()) return true;
  report_failures(failures, checked, plan, diag);
  return false;
}

}  // namespace

std::optional<SweepPlan> load_sweep(const std::string& path, const SweepArgs& args,
                                    const ModelRegistry& registry, Diagnostics& diag) {
  auto tree = load_yaml_file(path, diag);
  if (!tree) return std::nullopt;
  SweepPlan plan;
  plan.file = path;
  if (tree->kind != ParamNode::Kind::kMap) {
    // The loader says what a scenario looks like.
    load_scenario_tree(std::move(*tree), path, {}, registry, diag);
    return std::nullopt;
  }
  for (const auto& o : args.overrides)
    apply_override(*tree, o, diag);

  const SweepBlock block = take_sweep_block(*tree, path);
  read_sweep_block(block, plan, diag);
  apply_replications(args.replications, plan, diag);
  add_cli_grid(args.grid, plan.axes, diag);
  add_cli_zip(args.zip, plan.axes, diag);
  check_swept_keys(plan.axes, diag);
  check_run_count(plan, block.loc, diag);
  plan.root_seed = read_root_seed(*tree, args.seed);
  plan.base = std::move(*tree);
  if (!diag.ok()) return std::nullopt;
  if (!check_points(plan, registry, args.checked_points, diag)) return std::nullopt;
  return plan;
}

std::optional<ScenarioSpec> run_scenario_spec(const SweepPlan& plan, size_t point,
                                              uint32_t replication, const ModelRegistry& registry,
                                              Diagnostics& diag) {
  ParamNode tree = plan.point_tree(point, diag);
  if (!diag.ok()) return std::nullopt;
  LoadOptions load;
  load.seed = replication_seed(plan.root_seed, replication);
  return load_scenario_tree(std::move(tree), plan.file, load, registry, diag);
}

}  // namespace dsim::sweep
