// `faults:` and `nemesis:` of a scenario -> FaultSpec / NemesisSpec, with targets
// checked against the groups (and regions) the scenario defines.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "sim/core/distribution_parse.h"
#include "sim/core/partition.h"
#include "sim/core/units.h"
#include "sim/scenario/network_spec.h"

namespace dsim {

namespace {

constexpr uint32_t kWholeRun = 0xffffffffu;
// The most times a repeating fault or a nemesis may start a fault in a run: more would be
// a period so short that the run spends its time on faults (or, at 1ns, stands still).
constexpr uint64_t kMaxOccurrences = 1'000'000;

struct Kinds {
  const char* key;
  FaultKind kind;
  bool lasting;  // has a duration (`for`); the others happen at an instant
};
constexpr Kinds kKinds[] = {
    {"partition", FaultKind::kPartition, true}, {"heal", FaultKind::kHeal, false},
    {"crash", FaultKind::kCrash, true},         {"restart", FaultKind::kRestart, false},
    {"pause", FaultKind::kPause, true},         {"resume", FaultKind::kResume, false},
    {"slow", FaultKind::kSlow, true},           {"disk_slow", FaultKind::kDiskSlow, true},
    {"disk_full", FaultKind::kDiskFull, true},  {"clock", FaultKind::kClock, true},
    {"degrade", FaultKind::kDegrade, true},     {"leave", FaultKind::kLeave, true},
    {"join", FaultKind::kJoin, false},
};

std::string kind_list() {
  std::string s;
  for (const auto& k : kKinds)
    s += (s.empty() ? "" : ", ") + std::string(k.key);
  return s;
}

class TargetParser {
  using Term = TargetSpec::Term;
  using K = Term::Kind;

 public:
  TargetParser(const ScenarioSpec& spec, Diagnostics& diag) : spec_(spec), diag_(diag) {
    uint64_t first = 0;
    for (uint32_t g = 0; g < spec.groups.size(); ++g) {
      first_.push_back(static_cast<uint32_t>(first));
      first += spec.groups[g].count;
      by_name_.emplace(spec.groups[g].name, g);  // the first group of a name
    }
    total_ = static_cast<uint32_t>(first);
    // Too many nodes is reported with the groups; node numbers would not fit.
    unchecked_ = spec.groups.empty() || first > kMaxNodes;
    if (spec.network.topology == TopologyKind::kRegions) {
      for (const auto& r : spec.network.regions)
        regions_.push_back(r.name);
    } else if (spec.network.topology == TopologyKind::kGraph) {
      regions_ = PlacementTree::from_graph(spec.network.vertices).region_names();
    }
  }

  std::optional<TargetSpec> parse(const ParamNode& n, const std::string& where) {
    TargetSpec t;
    // No groups (`groups:` is missing or broken) or too many nodes: reported already, and
    // every target would be reported again.
    if (unchecked_) return t;
    std::vector<const ParamNode*> items;
    if (n.kind == ParamNode::Kind::kScalar) {
      items.push_back(&n);
    } else if (n.kind == ParamNode::Kind::kList && !n.items.empty()) {
      for (const auto& i : n.items)
        items.push_back(&i);
    } else {
      diag_.error(n.loc, where +
                             ": expected a target (a node such as replicas.2, a group, "
                             "group.random, group.leader, ...) or a list of them");
      return std::nullopt;
    }
    bool ok = true;
    for (const ParamNode* i : items) {
      if (i->kind != ParamNode::Kind::kScalar) {
        diag_.error(i->loc, where + ": expected a target name, got " + i->kind_name());
        ok = false;
        continue;
      }
      auto term = parse_term(i->scalar, i->loc, where);
      if (!term) {
        ok = false;
        continue;
      }
      t.terms.push_back(*term);
      t.text += (t.text.empty() ? "" : " ") + i->scalar;
    }
    if (!ok) return std::nullopt;
    return t;
  }

  /// Nodes a target names for sure (nodes, groups, all, regions are static; random and
  /// role selectors are not): for overlap checks.
  std::vector<NodeId> static_nodes(const TargetSpec& t) const {
    std::vector<NodeId> out;
    for (const auto& term : t.terms) {
      if (term.kind == K::kNode) {
        out.push_back(term.node);
      } else if (term.kind == K::kGroup) {
        for (uint32_t i = 0; i < spec_.groups[term.group].count; ++i)
          out.push_back(first_[term.group] + i);
      } else if (term.kind == K::kAll) {
        for (NodeId i = 0; i < total_; ++i)
          out.push_back(i);
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  /// The most nodes a target can resolve to.
  uint64_t max_size(const TargetSpec& t) const {
    uint64_t n = 0;
    for (const auto& term : t.terms) {
      const uint64_t scope = term.group == kWholeRun ? total_ : spec_.groups[term.group].count;
      n += (term.kind == K::kNode || term.kind == K::kRandom) ? 1
           : term.kind == K::kSample && term.count > 0 ? std::min<uint64_t>(term.count, scope)
                                                       : scope;
    }
    return n;
  }
  std::string node_name(NodeId id) const {
    for (size_t g = spec_.groups.size(); g-- > 0;) {
      if (id >= first_[g]) return spec_.groups[g].name + "." + std::to_string(id - first_[g]);
    }
    return "?";
  }

 private:
  std::optional<uint32_t> group(const std::string& name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
  }
  std::string group_names() const {
    std::string s;
    for (const auto& g : spec_.groups)
      s += (s.empty() ? "" : ", ") + g.name;
    return s;
  }

  std::optional<Term> parse_term(const std::string& text, const SourceLoc& loc,
                                 const std::string& where) {
    if (text.rfind("region:", 0) == 0) return region_term(text.substr(7), loc, where);
    if (text.rfind("random(", 0) == 0) return sample_term(text, kWholeRun, text, loc, where);
    const size_t dot = text.find('.');
    if (dot == std::string::npos) return run_term(text, loc, where);
    return group_term(text, dot, loc, where);
  }

  // A selector of nodes: all (`all_kind`), random, minority or majority.
  static std::optional<K> selector(const std::string& word, K all_kind) {
    if (word == "all") return all_kind;
    if (word == "random") return K::kRandom;
    if (word == "minority") return K::kMinority;
    if (word == "majority") return K::kMajority;
    return std::nullopt;
  }

  // region:<name>: the nodes placed in a region.
  std::optional<Term> region_term(const std::string& name, const SourceLoc& loc,
                                  const std::string& where) {
    for (uint32_t r = 0; r < regions_.size(); ++r) {
      if (regions_[r] != name) continue;
      Term t;
      t.kind = K::kRegion;
      t.group = kWholeRun;
      t.region = r;
      return t;
    }
    std::string valid;
    for (const auto& r : regions_)
      valid += (valid.empty() ? "" : ", ") + r;
    diag_.error(
        loc, where + ": no region named '" + name + "'" +
                 (valid.empty() ? " (the scenario has no regions)" : " (regions: " + valid + ")"));
    return std::nullopt;
  }

  // random(N) or random(P%) over a group (or the run): N nodes, or P% of them rounded (at
  // least one), drawn when the fault starts among the nodes that are up.
  std::optional<Term> sample_term(const std::string& text, uint32_t group,
                                  const std::string& selector_text, const SourceLoc& loc,
                                  const std::string& where) {
    const std::string inner = selector_text.size() > 8 && selector_text.back() == ')'
                                  ? selector_text.substr(7, selector_text.size() - 8)
                                  : "";
    Term t;
    t.kind = K::kSample;
    t.group = group;
    const bool percent = !inner.empty() && inner.back() == '%';
    const std::string number = percent ? inner.substr(0, inner.size() - 1) : inner;
    char* end = nullptr;
    const double v = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    const bool read = !number.empty() && end == number.c_str() + number.size();
    if (percent && read && v > 0 && v <= 100) {
      t.share = v / 100;
      return t;
    }
    if (!percent && read && v >= 1 && v <= 1e9 && v == std::floor(v)) {
      t.count = static_cast<uint32_t>(v);
      return t;
    }
    diag_.error(loc, where + ": cannot read target '" + text +
                         "' (expected random(N), N nodes, or random(P%), a share of them, "
                         "with 0 < P <= 100)");
    return std::nullopt;
  }

  // A name without a dot: a group, or a selector over the whole run.
  std::optional<Term> run_term(const std::string& text, const SourceLoc& loc,
                               const std::string& where) {
    Term t;
    if (auto g = group(text)) {
      t.kind = K::kGroup;
      t.group = *g;
      return t;
    }
    t.group = kWholeRun;
    if (auto kind = selector(text, K::kAll)) return t.kind = *kind, t;
    diag_.error(loc, where + ": no group or node named '" + text + "' (groups: " + group_names() +
                         "; nodes are group.0, group.1, ...; selectors: all, random, random(N), "
                         "random(P%), minority, "
                         "majority, group.random, group.<role> such as replicas.leader, "
                         "region:<name>)");
    return std::nullopt;
  }

  // group.<index>, group.<selector> or group.<role>.
  std::optional<Term> group_term(const std::string& text, size_t dot, const SourceLoc& loc,
                                 const std::string& where) {
    const std::string head = text.substr(0, dot);
    const std::string tail = text.substr(dot + 1);
    auto g = group(head);
    if (!g) {
      diag_.error(loc, where + ": '" + text + "' names group '" + head +
                           "', which is not defined (groups: " + group_names() + ")");
      return std::nullopt;
    }
    if (!tail.empty() && std::all_of(tail.begin(), tail.end(), ::isdigit)) {
      return node_term(text, *g, tail, loc, where);
    }
    if (tail.rfind("random(", 0) == 0) return sample_term(text, *g, tail, loc, where);
    Term t;
    t.group = *g;
    if (auto kind = selector(tail, K::kGroup)) return t.kind = *kind, t;
    const bool ident = !tail.empty() && std::isalpha(static_cast<unsigned char>(tail[0])) &&
                       std::all_of(tail.begin(), tail.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                       });
    if (!ident) {
      diag_.error(
          loc, where + ": cannot read target '" + text +
                   "' (expected group.index, group.random, group.minority, "
                   "group.majority, group.random(N), group.random(P%), group.all or group.<role>)");
      return std::nullopt;
    }
    if (!known_role(*g, text, tail, loc, where)) return std::nullopt;
    t.kind = K::kRole;
    t.role = tail;
    return t;
  }

  // A role the group's model reports (ModelRegistry: its kRoles).
  bool known_role(uint32_t g, const std::string& text, const std::string& role,
                  const SourceLoc& loc, const std::string& where) {
    const GroupSpec& group = spec_.groups[g];
    if (!group.factory) return true;  // the model is unknown: reported with the group
    const auto& roles = group.factory->roles;
    if (std::find(roles.begin(), roles.end(), role) != roles.end()) return true;
    std::string valid;
    for (const auto& r : roles)
      valid += (valid.empty() ? "" : ", ") + r;
    diag_.error(loc, where + ": '" + text + "': the nodes of " + group.name + " (model " +
                         group.model + ") " +
                         (roles.empty() ? "report no roles (target them by index, random, "
                                          "minority, majority or all)"
                                        : "report no role '" + role + "' (roles: " + valid + ")"));
    return false;
  }

  // group.<index>: one node, which must exist.
  std::optional<Term> node_term(const std::string& text, uint32_t g, const std::string& index,
                                const SourceLoc& loc, const std::string& where) {
    const std::string& head = spec_.groups[g].name;
    const uint32_t count = spec_.groups[g].count;
    std::string err;
    auto idx = parse_integer(index, &err);
    if (!idx || *idx < 0 || static_cast<uint64_t>(*idx) >= count) {
      diag_.error(loc, where + ": no node '" + text + "': group " + head + " has " +
                           std::to_string(count) + " node" + (count == 1 ? "" : "s") + " (" + head +
                           ".0 to " + head + "." + std::to_string(count - 1) + ")");
      return std::nullopt;
    }
    Term t;
    t.kind = K::kNode;
    t.group = g;
    t.node = first_[g] + static_cast<uint32_t>(*idx);
    return t;
  }

  const ScenarioSpec& spec_;
  Diagnostics& diag_;
  std::vector<uint32_t> first_;
  std::map<std::string, uint32_t> by_name_;  // group index by name
  uint32_t total_ = 0;
  bool unchecked_ = false;
  std::vector<std::string> regions_;
};

// Whether a fault of this kind has a duration (the others happen at an instant).
bool is_lasting(FaultKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.lasting;
  }
  return true;
}

// Reports a node that two sides of a partition name; `seen` maps each node to its side.
bool sides_disjoint(const TargetSpec& side, size_t i, const ParamNode& n, const std::string& where,
                    TargetParser& tp, Diagnostics& diag, std::map<NodeId, size_t>& seen) {
  for (NodeId id : tp.static_nodes(side)) {
    auto [it, fresh] = seen.emplace(id, i);
    if (fresh || it->second == i) continue;
    diag.error(n.items[i].loc, where + ": groups overlap: " + tp.node_name(id) + " is in group " +
                                   std::to_string(it->second + 1) + " and group " +
                                   std::to_string(i + 1) +
                                   " (a node in two sides is a bridge: write {bridge: ...})");
    return false;
  }
  return true;
}

// A partition into groups: [[a.0, a.1], [a.2]].
std::optional<PartitionSpec> read_partition_groups(const ParamNode& n, const std::string& where,
                                                   Diagnostics& diag, TargetParser& tp) {
  PartitionSpec p;
  p.shape = PartitionSpec::Shape::kGroups;
  if (n.items.size() < 2) {
    diag.error(n.loc, where +
                          ": a partition into groups needs at least two groups, e.g. "
                          "[[a.0, a.1], [a.2]]");
    return std::nullopt;
  }
  if (n.items.size() > kMaxCutSides) {
    diag.error(n.loc, where + ": at most " + std::to_string(kMaxCutSides) + " groups");
    return std::nullopt;
  }
  bool ok = true;
  std::map<NodeId, size_t> seen;
  for (size_t i = 0; i < n.items.size(); ++i) {
    auto t = tp.parse(n.items[i], where + "[" + std::to_string(i) + "]");
    if (!t) {
      ok = false;
      continue;
    }
    if (!sides_disjoint(*t, i, n, where, tp, diag, seen)) ok = false;
    p.groups.push_back(std::move(*t));
  }
  if (!ok) return std::nullopt;
  return p;
}

// The shape keys of a partition map (isolate, halves, ...): how many are given, or none
// after an error.
std::optional<int> read_shapes(ParamReader& r, const std::string& where, Diagnostics& diag,
                               TargetParser& tp, PartitionSpec& p) {
  using S = PartitionSpec::Shape;
  struct Shape {
    const char* key;
    S shape;
  };
  const Shape shapes[] = {{"isolate", S::kIsolate},
                          {"halves", S::kHalves},
                          {"majorities_ring", S::kRing},
                          {"bridge", S::kBridge},
                          {"from", S::kOneWay}};
  int found = 0;
  for (const auto& s : shapes) {
    const ParamNode* v = r.raw(s.key, "target", "");
    if (!v) continue;
    ++found;
    p.shape = s.shape;
    auto t = tp.parse(*v, where + "." + s.key);
    if (!t) return std::nullopt;
    p.nodes = *t;
    if (s.shape == S::kRing && tp.max_size(*t) > kMaxCutSides) {
      diag.error(v->loc, where + ".majorities_ring: at most " + std::to_string(kMaxCutSides) +
                             " nodes in a ring");
      return std::nullopt;
    }
  }
  return found;
}

// `to` of a one-way partition: a target, or 'rest'; no other shape takes it.
bool read_receivers(const ParamNode* to, const ParamNode& n, const std::string& where,
                    Diagnostics& diag, TargetParser& tp, PartitionSpec& p) {
  if (p.shape != PartitionSpec::Shape::kOneWay) {
    if (!to) return true;
    diag.error(to->loc, where + ".to: only a one-way partition (from: .., to: ..) has a to");
    return false;
  }
  if (!to) {
    diag.error(n.loc, where + ": a one-way partition needs to: (a target, or 'rest')");
    return false;
  }
  if (to->kind == ParamNode::Kind::kScalar && to->scalar == "rest") {
    p.to_rest = true;
    return true;
  }
  auto t = tp.parse(*to, where + ".to");
  if (!t) return false;
  p.to = *t;
  return true;
}

// A partition of a shape: {isolate: ..}, {halves: ..}, ..., {from: .., to: ..}.
std::optional<PartitionSpec> read_partition_shape(const ParamNode& n, const std::string& where,
                                                  ParamEnv& env, TargetParser& tp) {
  Diagnostics& diag = *env.diagnostics;
  ParamReader r(&n, &env, where, n.loc);
  PartitionSpec p;
  const auto found = read_shapes(r, where, diag, tp, p);
  if (!found) return std::nullopt;
  const ParamNode* to = r.raw("to", "target or 'rest'", "");
  r.finish();
  if (*found != 1) {
    diag.error(n.loc, where +
                          ": give one shape: isolate, halves, majorities_ring, bridge, or "
                          "from + to (one way)");
    return std::nullopt;
  }
  if (!read_receivers(to, n, where, diag, tp, p)) return std::nullopt;
  return p;
}

std::optional<PartitionSpec> read_partition(const ParamNode& n, const std::string& where,
                                            ParamEnv& env, TargetParser& tp) {
  if (n.kind == ParamNode::Kind::kList) {
    return read_partition_groups(n, where, *env.diagnostics, tp);
  }
  if (n.kind != ParamNode::Kind::kMap) {
    env.diagnostics->error(n.loc, where +
                                      ": expected groups [[a, b], [c]] or a shape {isolate: ..}, "
                                      "{halves: ..}, {majorities_ring: ..}, {bridge: ..}, "
                                      "{from: .., to: ..}");
    return std::nullopt;
  }
  return read_partition_shape(n, where, env, tp);
}

// The keys of every fault kind, read whatever the kind: a key of another kind is then
// reported as misplaced, not as unknown.
struct FaultKeys {
  const Kinds* kind = nullptr;       // the kind given (the last one, when several are)
  const ParamNode* value = nullptr;  // its value: a target, a partition, `all`
  int kinds_given = 0;
  bool has_factor = false;
  bool has_step = false, has_drift = false;
  Distribution step, drift;
  bool has_loss = false, has_dup = false, has_delay = false;
  Distribution delay;
  bool has_direction = false;
  std::string direction;
};

// Reads the keys, in their documented order; those that are plain values go straight to `f`.
FaultKeys read_fault_keys(ParamReader& r, FaultSpec& f) {
  FaultKeys k;
  for (const auto& kind : kKinds) {
    if (const ParamNode* v = r.raw(kind.key, "target", "")) {
      ++k.kinds_given;
      k.kind = &kind;
      k.value = v;
    }
  }
  k.has_factor = r.has("factor");
  f.factor = r.number("factor", 1, "slow, disk_slow: how many times slower", 1, 1e6);
  k.has_step = r.has("step");
  k.has_drift = r.has("drift_ppm");
  k.step = r.distribution("step", Distribution::constant(0).with_dim(Distribution::Dim::kTime),
                          "clock: jump of the wall clock", Distribution::Dim::kTime, true);
  k.drift = r.distribution("drift_ppm", Distribution::constant(0), "clock: new drift (ppm)",
                           Distribution::Dim::kNumber);
  k.has_loss = r.has("loss");
  k.has_dup = r.has("duplicate");
  k.has_delay = r.has("delay");
  f.loss = r.probability("loss", 0, "degrade: extra loss");
  f.duplicate = r.probability("duplicate", 0, "degrade: probability of a duplicate");
  k.delay = r.distribution("delay", Distribution::constant(0).with_dim(Distribution::Dim::kTime),
                           "degrade: extra delay");
  k.has_direction = r.has("direction");
  k.direction = r.choice("direction", "both", {"both", "out", "in"},
                         "degrade: messages sent, received or both");
  return k;
}

// What the fault's kind key names: a partition, `heal: all`, or a target. False on an
// error that leaves nothing more to check.
bool read_fault_value(const FaultKeys& k, const std::string& where, ParamEnv& env, TargetParser& tp,
                      FaultSpec& f) {
  if (f.kind == FaultKind::kPartition) {
    auto p = read_partition(*k.value, where, env, tp);
    if (!p) return false;
    f.partition = std::move(*p);
    return true;
  }
  if (f.kind == FaultKind::kHeal) {
    if (k.value->kind != ParamNode::Kind::kScalar ||
        (k.value->scalar != "all" && k.value->scalar != "true")) {
      env.diagnostics->error(k.value->loc, where + ": write heal: all (ends every partition)");
    }
    return true;
  }
  auto t = tp.parse(*k.value, where);
  if (!t) return false;
  f.target = std::move(*t);
  return true;
}

// Keys given that belong to another kind of fault, and a slow fault without its factor.
void check_kind_keys(ParamReader& r, const FaultKeys& k, FaultKind kind) {
  using K = FaultKind;
  auto misplaced = [&](bool given, const char* key, const char* belongs) {
    if (given)
      r.error(key, std::string(key) + " belongs to " + belongs + " faults, not " + k.kind->key);
  };
  misplaced(k.has_factor && kind != K::kSlow && kind != K::kDiskSlow, "factor",
            "slow and disk_slow");
  misplaced((k.has_step || k.has_drift) && kind != K::kClock, k.has_step ? "step" : "drift_ppm",
            "clock");
  misplaced((k.has_loss || k.has_dup || k.has_delay || k.has_direction) && kind != K::kDegrade,
            k.has_loss    ? "loss"
            : k.has_dup   ? "duplicate"
            : k.has_delay ? "delay"
                          : "direction",
            "degrade");
  if ((kind == K::kSlow || kind == K::kDiskSlow) && !k.has_factor) {
    r.error(k.kind->key, std::string(k.kind->key) + " needs a factor (e.g. factor: 10)");
  }
}

void set_clock(ParamReader& r, const FaultKeys& k, FaultSpec& f) {
  if (!k.has_step && !k.has_drift) r.error("clock", "a clock fault needs step: and/or drift_ppm:");
  if (k.has_step) f.step = k.step;
  if (k.has_drift) f.drift_ppm = k.drift;
}

void set_degrade(ParamReader& r, const FaultKeys& k, FaultSpec& f) {
  if (!k.has_loss && !k.has_dup && !k.has_delay)
    r.error("degrade", "a degrade fault needs loss:, duplicate: and/or delay:");
  if (k.has_delay) f.delay = k.delay;
  f.outbound = k.direction != "in";
  f.inbound = k.direction != "out";
  f.text = "";
  if (k.has_loss) f.text += "loss " + format_number(f.loss);
  if (k.has_dup)
    f.text += std::string(f.text.empty() ? "" : "; ") + "duplicate " + format_number(f.duplicate);
  if (k.has_delay)
    f.text += std::string(f.text.empty() ? "" : "; ") + "delay " + k.delay.describe();
  f.text += std::string(f.text.empty() ? "" : "; ") + k.direction;
}

// One fault, of the timeline (nemesis == false) or a nemesis template.
std::optional<FaultSpec> read_fault(ParamReader& r, const ParamNode& item, ParamEnv& env,
                                    TargetParser& tp, bool nemesis) {
  Diagnostics& diag = *env.diagnostics;
  const size_t errors_before = diag.all().size();
  FaultSpec f;
  const FaultKeys k = read_fault_keys(r, f);
  if (k.kinds_given != 1) {
    diag.error(item.loc, r.path() + ": give exactly one fault kind (" + kind_list() + ")");
    return std::nullopt;
  }
  f.kind = k.kind->kind;
  if (!read_fault_value(k, r.path() + "." + k.kind->key, env, tp, f)) return std::nullopt;
  check_kind_keys(r, k, f.kind);
  if (f.kind == FaultKind::kClock) set_clock(r, k, f);
  if (f.kind == FaultKind::kDegrade) set_degrade(r, k, f);
  (void)nemesis;
  if (diag.all().size() != errors_before) return std::nullopt;
  return f;
}

// When a timeline fault starts, how long it lasts, and how it repeats.
struct Timing {
  bool has_at = false;
  Duration at;
  std::optional<Duration> lasts, restart_after, every;
  bool has_jitter = false;
  Distribution jitter;
  bool has_until = false;
  Duration until;
};

Timing read_timing(ParamReader& r, const ScenarioSpec& spec) {
  Timing t;
  t.has_at = r.has("at");
  t.at = r.duration("at", Duration::zero(), "when the fault starts (true time)");
  t.lasts = r.optional_duration("for", "how long it lasts; then it is undone");
  t.restart_after = r.optional_duration("restart_after", "crash: restart after this long");
  t.every = r.optional_duration("every", "repeat the fault with this period");
  t.has_jitter = r.has("jitter");
  t.jitter = r.distribution("jitter", Distribution::constant(0).with_dim(Distribution::Dim::kTime),
                            "repeat: delay added to each occurrence, drawn anew each time");
  t.has_until = r.has("until");
  t.until = r.duration("until", spec.duration, "repeat: no occurrence is due at or after this");
  return t;
}

// A repeating fault starts at `at`, at + every, ... while before `until`.
void check_occurrences(ParamReader& r, const Timing& t) {
  if (!t.every || *t.every <= Duration::zero() || t.until <= t.at) return;
  const uint64_t starts = static_cast<uint64_t>((t.until - t.at).ns() - 1) / t.every->ns() + 1;
  if (starts <= kMaxOccurrences) return;
  r.error("every", "every " + format_duration(*t.every) + " would start the fault " +
                       std::to_string(starts) + " times between " + format_duration(t.at) +
                       " and " + format_duration(t.until) + "; at most " +
                       std::to_string(kMaxOccurrences) +
                       " (make every longer, or stop the repeats sooner with until)");
}

// The rules on `at` and on the repeat keys, whatever the fault.
void check_timing(ParamReader& r, const Timing& t, const ScenarioSpec& spec) {
  if (!t.every && (t.has_jitter || t.has_until)) {
    r.error(t.has_jitter ? "jitter" : "until",
            std::string(t.has_jitter ? "jitter" : "until") +
                " belongs to a repeating fault: give every: too (e.g. every: 2s)");
  }
  if (t.every && *t.every <= Duration::zero()) r.error("every", "must be > 0");
  check_occurrences(r, t);
  if (t.every && t.has_until && (t.until <= t.at || t.until > spec.duration)) {
    r.error("until", "must be after at (" + format_duration(t.at) + ") and within the run (" +
                         format_duration(spec.duration) + ")");
  }
  if (!t.has_at) r.error("at", "missing required key 'at' (when the fault starts, e.g. at: 10s)");
  if (t.at >= spec.duration) {
    r.error("at", "fault at " + format_duration(t.at) + " is not within the run (duration " +
                      format_duration(spec.duration) + ")");
  }
}

// The rules on how long a fault of this kind lasts; restart_after becomes its `lasts`.
void check_lasts(ParamReader& r, Timing& t, FaultKind kind, const ScenarioSpec& spec) {
  if (t.restart_after) {
    if (kind != FaultKind::kCrash) {
      r.error("restart_after", "restart_after belongs to crash faults (others take for:)");
    } else if (t.lasts) {
      r.error("restart_after", "give restart_after or for, not both");
    }
    t.lasts = t.restart_after;
  }
  if (t.lasts && !is_lasting(kind)) {
    r.error("for", std::string(fault_kind_name(kind)) + " happens at an instant; it takes no for:");
  }
  if (t.lasts && *t.lasts <= Duration::zero()) r.error("for", "must be > 0");
  // A repeating fault's last occurrences may run into the end of the run (they last
  // until it); a single fault must end within it.
  if (t.lasts && !t.every && t.at < spec.duration && t.at + *t.lasts > spec.duration) {
    r.error(t.restart_after ? "restart_after" : "for",
            "the fault would end at " + format_duration(t.at + *t.lasts) +
                ", after the run (duration " + format_duration(spec.duration) +
                "); omit it to last until the end");
  }
}

// A join adds the nodes outside their groups: its groups must have some, at the start
// (`joining`) or after a leave; else it could add nobody.
void check_join(ParamReader& r, const FaultSpec& f, const ScenarioSpec& spec, bool any_leave) {
  if (f.kind != FaultKind::kJoin || any_leave) return;
  for (const auto& term : f.target.terms) {
    const bool whole_run = term.group == kWholeRun;
    bool outside = false;
    for (size_t g = 0; g < spec.groups.size(); ++g)
      outside = outside || ((whole_run || g == term.group) && spec.groups[g].joining > 0);
    if (outside) continue;
    r.error("join",
            "join " + f.target.text + ": " +
                (whole_run ? std::string("no group") : "group " + spec.groups[term.group].name) +
                " has no nodes outside it (give the group joining: N, or make members "
                "leave first): the join would add nobody");
    return;
  }
}

void read_timeline_fault(const ParamNode& item, size_t i, ParamEnv& env, TargetParser& tp,
                         ScenarioSpec& spec, bool any_leave) {
  ParamReader r(&item, &env, "faults[" + std::to_string(i) + "]", item.loc);
  Timing t = read_timing(r, spec);
  auto f = read_fault(r, item, env, tp, false);
  r.finish();
  check_timing(r, t, spec);
  if (!f) return;
  check_join(r, *f, spec, any_leave);
  check_lasts(r, t, f->kind, spec);
  f->at = SimTime::zero() + t.at;
  f->lasts = t.lasts;
  if (t.every && *t.every > Duration::zero()) {
    RepeatSpec rep;
    rep.every = *t.every;
    if (t.has_jitter) rep.jitter = t.jitter;
    rep.until = SimTime::zero() + t.until;
    f->repeat = rep;
  }
  spec.faults.push_back(std::move(*f));
}

// Keys of the timeline, read (and so accepted) only to report them as misplaced.
void reject_timeline_keys(ParamReader& r) {
  for (const char* k : {"at", "for", "restart_after", "every", "jitter", "until"}) {
    if (!r.has(k)) continue;
    r.raw(k, "", "");
    r.error(k, std::string(k) +
                   " belongs to the faults timeline; a nemesis takes rate (or "
                   "interval), duration, start and stop");
  }
}

// A nemesis starts faults from `start` and stops starting them at `stop`, within the run.
void check_nemesis_window(ParamReader& r, Duration start, Duration stop, const ScenarioSpec& spec) {
  if (start >= spec.duration) {
    r.error("start", "nemesis start " + format_duration(start) +
                         " is not within the run (duration " + format_duration(spec.duration) +
                         ")");
  }
  if (stop > spec.duration) {
    r.error("stop", "nemesis stop " + format_duration(stop) +
                        " is after the end of the run (duration " + format_duration(spec.duration) +
                        ")");
  }
  if (stop <= start) r.error("stop", "must be after start");
}

// A nemesis starts about one fault per mean interval plus mean duration (a renewal
// process), between start and stop.
void check_nemesis_count(ParamReader& r, const NemesisSpec& n, const char* key) {
  const double cycle_ns = n.interval.mean() + n.duration.mean();
  const double window_ns = static_cast<double>((n.stop - n.start).ns());
  if (window_ns <= 0) return;  // reported with start and stop
  if (!(cycle_ns > 0)) {
    r.error(key,
            "the nemesis would start faults without end: its mean interval plus mean "
            "duration is 0");
    return;
  }
  const double starts = window_ns / cycle_ns;
  if (starts <= static_cast<double>(kMaxOccurrences)) return;
  // Whole numbers up to 10^18 in full ("10000000000", not "1e+10").
  const std::string about =
      starts < 1e18 ? std::to_string(std::llround(starts)) : format_number(starts);
  r.error(key, "the nemesis would start about " + about + " faults between " +
                   format_duration(n.start - SimTime::zero()) + " and " +
                   format_duration(n.stop - SimTime::zero()) +
                   " (one per mean interval plus mean duration); at most " +
                   std::to_string(kMaxOccurrences) + ": make the faults rarer");
}

void read_nemesis(const ParamNode& item, size_t i, ParamEnv& env, TargetParser& tp,
                  ScenarioSpec& spec, bool any_leave) {
  ParamReader r(&item, &env, "nemesis[" + std::to_string(i) + "]", item.loc);
  const bool has_rate = r.has("rate"), has_interval = r.has("interval");
  const double rate = r.rate("rate", 1.0 / 60, "faults per second of healthy time (Poisson)");
  const Distribution interval =
      r.distribution("interval", Distribution::exponential(60e9).with_dim(Distribution::Dim::kTime),
                     "healthy time before each fault (instead of rate)");
  const bool has_duration = r.has("duration");
  const Distribution duration =
      r.distribution("duration", Distribution::constant(10e9).with_dim(Distribution::Dim::kTime),
                     "how long each fault lasts");
  const Duration start = r.duration("start", Duration::zero(), "when the nemesis begins");
  const Duration stop = r.duration("stop", spec.duration, "when it stops starting faults");
  auto f = read_fault(r, item, env, tp, true);
  reject_timeline_keys(r);
  r.finish();
  if (has_rate && has_interval) r.error("interval", "give rate or interval, not both");
  if (has_rate && rate <= 0) r.error("rate", "must be > 0");
  check_nemesis_window(r, start, stop, spec);
  if (!f) return;
  check_join(r, *f, spec, any_leave);
  const bool lasting = is_lasting(f->kind);
  if (!lasting && has_duration) r.error("duration", "an instant fault takes no duration");
  NemesisSpec n;
  n.fault = std::move(*f);
  n.interval = has_rate && rate > 0
                   ? Distribution::exponential(1e9 / rate).with_dim(Distribution::Dim::kTime)
                   : interval;
  n.duration = lasting ? duration : Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  n.start = SimTime::zero() + start;
  n.stop = SimTime::zero() + stop;
  check_nemesis_count(r, n, has_interval ? "interval" : "rate");
  spec.nemesis.push_back(std::move(n));
}

}  // namespace

void read_faults(const ParamNode* faults, const ParamNode* nemesis, ParamEnv& env,
                 ScenarioSpec& spec) {
  Diagnostics& diag = *env.diagnostics;
  TargetParser tp(spec, diag);
  if (faults && faults->kind != ParamNode::Kind::kList) {
    diag.error(faults->loc,
               "faults: expected a list such as [{at: 10s, crash: replicas.0, for: 5s}]");
    faults = nullptr;
  }
  // Whether any fault makes members leave (then a join has someone to add back).
  bool any_leave = false;
  for (const ParamNode* list : {faults, nemesis}) {
    if (!list || list->kind != ParamNode::Kind::kList) continue;
    for (const auto& item : list->items)
      any_leave = any_leave || item.find("leave") != nullptr;
  }
  for (size_t i = 0; faults && i < faults->items.size(); ++i)
    read_timeline_fault(faults->items[i], i, env, tp, spec, any_leave);
  if (nemesis && nemesis->kind != ParamNode::Kind::kList) {
    diag.error(nemesis->loc,
               "nemesis: expected a list such as [{crash: replicas.random, rate: 1/min, "
               "duration: 10s}]");
    nemesis = nullptr;
  }
  for (size_t i = 0; nemesis && i < nemesis->items.size(); ++i)
    read_nemesis(nemesis->items[i], i, env, tp, spec, any_leave);
}

}  // namespace dsim
