// `faults:` and `nemesis:` of a scenario -> FaultSpec / NemesisSpec, with targets
// checked against the groups (and regions) the scenario defines.
#include <algorithm>
#include <map>
#include <set>

#include "sim/core/distribution_parse.h"
#include "sim/core/partition.h"
#include "sim/core/units.h"
#include "sim/scenario/network_spec.h"

namespace dsim {

namespace {

constexpr uint32_t kWholeRun = 0xffffffffu;

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
    {"degrade", FaultKind::kDegrade, true},
};

std::string kind_list() {
  std::string s;
  for (const auto& k : kKinds)
    s += (s.empty() ? "" : ", ") + std::string(k.key);
  return s;
}

class TargetParser {
 public:
  TargetParser(const ScenarioSpec& spec, Diagnostics& diag) : spec_(spec), diag_(diag) {
    uint32_t first = 0;
    for (const auto& g : spec.groups) {
      first_.push_back(first);
      first += g.count;
    }
    total_ = first;
    if (spec.network.topology == TopologyKind::kRegions) {
      for (const auto& r : spec.network.regions)
        regions_.push_back(r.name);
    } else if (spec.network.topology == TopologyKind::kGraph) {
      regions_ = PlacementTree::from_graph(spec.network.vertices).region_names();
    }
  }

  std::optional<TargetSpec> parse(const ParamNode& n, const std::string& where) {
    TargetSpec t;
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
      using K = TargetSpec::Term::Kind;
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
      using K = TargetSpec::Term::Kind;
      const uint64_t scope = term.group == kWholeRun ? total_ : spec_.groups[term.group].count;
      n += (term.kind == K::kNode || term.kind == K::kRandom) ? 1 : scope;
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
    for (uint32_t g = 0; g < spec_.groups.size(); ++g) {
      if (spec_.groups[g].name == name) return g;
    }
    return std::nullopt;
  }
  std::string group_names() const {
    std::string s;
    for (const auto& g : spec_.groups)
      s += (s.empty() ? "" : ", ") + g.name;
    return s;
  }

  std::optional<TargetSpec::Term> parse_term(const std::string& text, const SourceLoc& loc,
                                             const std::string& where) {
    using K = TargetSpec::Term::Kind;
    TargetSpec::Term t;
    if (text.rfind("region:", 0) == 0) {
      const std::string name = text.substr(7);
      for (uint32_t r = 0; r < regions_.size(); ++r) {
        if (regions_[r] == name) {
          t.kind = K::kRegion;
          t.group = kWholeRun;
          t.region = r;
          return t;
        }
      }
      std::string valid;
      for (const auto& r : regions_)
        valid += (valid.empty() ? "" : ", ") + r;
      diag_.error(loc, where + ": no region named '" + name + "'" +
                           (valid.empty() ? " (the scenario has no regions)"
                                          : " (regions: " + valid + ")"));
      return std::nullopt;
    }
    const size_t dot = text.find('.');
    const std::string head = text.substr(0, dot);
    const std::string tail = dot == std::string::npos ? "" : text.substr(dot + 1);
    if (dot == std::string::npos) {
      if (auto g = group(head)) {
        t.kind = K::kGroup;
        t.group = *g;
        return t;
      }
      t.group = kWholeRun;
      if (head == "all") return t.kind = K::kAll, t;
      if (head == "random") return t.kind = K::kRandom, t;
      if (head == "minority") return t.kind = K::kMinority, t;
      if (head == "majority") return t.kind = K::kMajority, t;
      diag_.error(loc, where + ": no group or node named '" + text + "' (groups: " + group_names() +
                           "; nodes are group.0, group.1, ...; selectors: all, random, minority, "
                           "majority, group.random, group.<role> such as replicas.leader, "
                           "region:<name>)");
      return std::nullopt;
    }
    auto g = group(head);
    if (!g) {
      diag_.error(loc, where + ": '" + text + "' names group '" + head +
                           "', which is not defined (groups: " + group_names() + ")");
      return std::nullopt;
    }
    t.group = *g;
    const uint32_t count = spec_.groups[*g].count;
    std::string err;
    if (!tail.empty() && std::all_of(tail.begin(), tail.end(), ::isdigit)) {
      auto idx = parse_integer(tail, &err);
      if (!idx || *idx < 0 || static_cast<uint64_t>(*idx) >= count) {
        diag_.error(loc, where + ": no node '" + text + "': group " + head + " has " +
                             std::to_string(count) + " node" + (count == 1 ? "" : "s") + " (" +
                             head + ".0 to " + head + "." + std::to_string(count - 1) + ")");
        return std::nullopt;
      }
      t.kind = K::kNode;
      t.node = first_[*g] + static_cast<uint32_t>(*idx);
      return t;
    }
    if (tail == "all") return t.kind = K::kGroup, t;
    if (tail == "random") return t.kind = K::kRandom, t;
    if (tail == "minority") return t.kind = K::kMinority, t;
    if (tail == "majority") return t.kind = K::kMajority, t;
    const bool ident = !tail.empty() && std::isalpha(static_cast<unsigned char>(tail[0])) &&
                       std::all_of(tail.begin(), tail.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                       });
    if (!ident) {
      diag_.error(loc, where + ": cannot read target '" + text +
                           "' (expected group.index, group.random, group.minority, "
                           "group.majority, group.all or group.<role>)");
      return std::nullopt;
    }
    t.kind = K::kRole;
    t.role = tail;
    return t;
  }

  const ScenarioSpec& spec_;
  Diagnostics& diag_;
  std::vector<uint32_t> first_;
  uint32_t total_ = 0;
  std::vector<std::string> regions_;
};

std::optional<PartitionSpec> read_partition(const ParamNode& n, const std::string& where,
                                            ParamEnv& env, TargetParser& tp) {
  Diagnostics& diag = *env.diagnostics;
  PartitionSpec p;
  using S = PartitionSpec::Shape;
  if (n.kind == ParamNode::Kind::kList) {
    p.shape = S::kGroups;
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
      for (NodeId id : tp.static_nodes(*t)) {
        auto [it, fresh] = seen.emplace(id, i);
        if (!fresh && it->second != i) {
          diag.error(n.items[i].loc, where + ": groups overlap: " + tp.node_name(id) +
                                         " is in group " + std::to_string(it->second + 1) +
                                         " and group " + std::to_string(i + 1) +
                                         " (a node in two sides is a bridge: write {bridge: ...})");
          ok = false;
          break;
        }
      }
      p.groups.push_back(std::move(*t));
    }
    if (!ok) return std::nullopt;
    return p;
  }
  if (n.kind != ParamNode::Kind::kMap) {
    diag.error(n.loc, where +
                          ": expected groups [[a, b], [c]] or a shape {isolate: ..}, "
                          "{halves: ..}, {majorities_ring: ..}, {bridge: ..}, {from: .., to: ..}");
    return std::nullopt;
  }
  ParamReader r(&n, &env, where, n.loc);
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
  const ParamNode* to = r.raw("to", "target or 'rest'", "");
  r.finish();
  if (found != 1) {
    diag.error(n.loc, where +
                          ": give one shape: isolate, halves, majorities_ring, bridge, or "
                          "from + to (one way)");
    return std::nullopt;
  }
  if (p.shape == S::kOneWay) {
    if (!to) {
      diag.error(n.loc, where + ": a one-way partition needs to: (a target, or 'rest')");
      return std::nullopt;
    }
    if (to->kind == ParamNode::Kind::kScalar && to->scalar == "rest") {
      p.to_rest = true;
    } else {
      auto t = tp.parse(*to, where + ".to");
      if (!t) return std::nullopt;
      p.to = *t;
    }
  } else if (to) {
    diag.error(to->loc, where + ".to: only a one-way partition (from: .., to: ..) has a to");
    return std::nullopt;
  }
  return p;
}

// One fault, of the timeline (nemesis == false) or a nemesis template.
std::optional<FaultSpec> read_fault(ParamReader& r, const ParamNode& item, ParamEnv& env,
                                    TargetParser& tp, bool nemesis) {
  Diagnostics& diag = *env.diagnostics;
  const size_t errors_before = diag.all().size();
  FaultSpec f;
  const Kinds* kind = nullptr;
  const ParamNode* value = nullptr;
  int kinds_given = 0;
  for (const auto& k : kKinds) {
    if (const ParamNode* v = r.raw(k.key, "target", "")) {
      ++kinds_given;
      kind = &k;
      value = v;
    }
  }
  const bool has_factor = r.has("factor");
  f.factor = r.number("factor", 1, "slow, disk_slow: how many times slower", 1, 1e6);
  const bool has_step = r.has("step"), has_drift = r.has("drift_ppm");
  const Distribution step =
      r.distribution("step", Distribution::constant(0).with_dim(Distribution::Dim::kTime),
                     "clock: jump of the wall clock", Distribution::Dim::kTime, true);
  const Distribution drift = r.distribution("drift_ppm", Distribution::constant(0),
                                            "clock: new drift (ppm)", Distribution::Dim::kNumber);
  const bool has_loss = r.has("loss"), has_dup = r.has("duplicate"), has_delay = r.has("delay");
  f.loss = r.probability("loss", 0, "degrade: extra loss");
  f.duplicate = r.probability("duplicate", 0, "degrade: probability of a duplicate");
  const Distribution delay =
      r.distribution("delay", Distribution::constant(0).with_dim(Distribution::Dim::kTime),
                     "degrade: extra delay");
  const bool has_direction = r.has("direction");
  const std::string direction = r.choice("direction", "both", {"both", "out", "in"},
                                         "degrade: messages sent, received or both");
  if (kinds_given != 1) {
    diag.error(item.loc, r.path() + ": give exactly one fault kind (" + kind_list() + ")");
    return std::nullopt;
  }
  f.kind = kind->kind;
  const std::string where = r.path() + "." + kind->key;
  using K = FaultKind;
  if (f.kind == K::kPartition) {
    auto p = read_partition(*value, where, env, tp);
    if (!p) return std::nullopt;
    f.partition = std::move(*p);
  } else if (f.kind == K::kHeal) {
    if (value->kind != ParamNode::Kind::kScalar ||
        (value->scalar != "all" && value->scalar != "true")) {
      diag.error(value->loc, where + ": write heal: all (ends every partition)");
    }
  } else {
    auto t = tp.parse(*value, where);
    if (!t) return std::nullopt;
    f.target = std::move(*t);
  }
  auto misplaced = [&](bool given, const char* key, const char* belongs) {
    if (given)
      r.error(key, std::string(key) + " belongs to " + belongs + " faults, not " + kind->key);
  };
  misplaced(has_factor && f.kind != K::kSlow && f.kind != K::kDiskSlow, "factor",
            "slow and disk_slow");
  misplaced((has_step || has_drift) && f.kind != K::kClock, has_step ? "step" : "drift_ppm",
            "clock");
  misplaced((has_loss || has_dup || has_delay || has_direction) && f.kind != K::kDegrade,
            has_loss    ? "loss"
            : has_dup   ? "duplicate"
            : has_delay ? "delay"
                        : "direction",
            "degrade");
  if ((f.kind == K::kSlow || f.kind == K::kDiskSlow) && !has_factor) {
    r.error(kind->key, std::string(kind->key) + " needs a factor (e.g. factor: 10)");
  }
  if (f.kind == K::kClock) {
    if (!has_step && !has_drift) r.error("clock", "a clock fault needs step: and/or drift_ppm:");
    if (has_step) f.step = step;
    if (has_drift) f.drift_ppm = drift;
  }
  if (f.kind == K::kDegrade) {
    if (!has_loss && !has_dup && !has_delay)
      r.error("degrade", "a degrade fault needs loss:, duplicate: and/or delay:");
    if (has_delay) f.delay = delay;
    f.outbound = direction != "in";
    f.inbound = direction != "out";
    f.text = "";
    if (has_loss) f.text += "loss " + format_number(f.loss);
    if (has_dup)
      f.text += std::string(f.text.empty() ? "" : "; ") + "duplicate " + format_number(f.duplicate);
    if (has_delay) f.text += std::string(f.text.empty() ? "" : "; ") + "delay " + delay.describe();
    f.text += std::string(f.text.empty() ? "" : "; ") + direction;
  }
  (void)nemesis;
  if (diag.all().size() != errors_before) return std::nullopt;
  return f;
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
  for (size_t i = 0; faults && i < faults->items.size(); ++i) {
    const ParamNode& item = faults->items[i];
    ParamReader r(&item, &env, "faults[" + std::to_string(i) + "]", item.loc);
    const bool has_at = r.has("at");
    const Duration at = r.duration("at", Duration::zero(), "when the fault starts (true time)");
    auto lasts = r.optional_duration("for", "how long it lasts; then it is undone");
    auto restart_after = r.optional_duration("restart_after", "crash: restart after this long");
    auto every = r.optional_duration("every", "repeat the fault with this period");
    const bool has_jitter = r.has("jitter");
    const Distribution jitter =
        r.distribution("jitter", Distribution::constant(0).with_dim(Distribution::Dim::kTime),
                       "repeat: delay added to each occurrence, drawn anew each time");
    const bool has_until = r.has("until");
    const Duration until =
        r.duration("until", spec.duration, "repeat: no occurrence is due at or after this");
    auto f = read_fault(r, item, env, tp, false);
    r.finish();
    if (!every && (has_jitter || has_until)) {
      r.error(has_jitter ? "jitter" : "until",
              std::string(has_jitter ? "jitter" : "until") +
                  " belongs to a repeating fault: give every: too (e.g. every: 2s)");
    }
    if (every && *every <= Duration::zero()) r.error("every", "must be > 0");
    if (every && has_until && (until <= at || until > spec.duration)) {
      r.error("until", "must be after at (" + format_duration(at) + ") and within the run (" +
                           format_duration(spec.duration) + ")");
    }
    if (!has_at) r.error("at", "missing required key 'at' (when the fault starts, e.g. at: 10s)");
    if (at >= spec.duration) {
      r.error("at", "fault at " + format_duration(at) + " is not within the run (duration " +
                        format_duration(spec.duration) + ")");
    }
    if (!f) continue;
    if (restart_after) {
      if (f->kind != FaultKind::kCrash) {
        r.error("restart_after", "restart_after belongs to crash faults (others take for:)");
      } else if (lasts) {
        r.error("restart_after", "give restart_after or for, not both");
      }
      lasts = restart_after;
    }
    const bool lasting = f->kind != FaultKind::kHeal && f->kind != FaultKind::kRestart &&
                         f->kind != FaultKind::kResume;
    if (lasts && !lasting) {
      r.error("for",
              std::string(fault_kind_name(f->kind)) + " happens at an instant; it takes no for:");
    }
    if (lasts && *lasts <= Duration::zero()) r.error("for", "must be > 0");
    // A repeating fault's last occurrences may run into the end of the run (they last
    // until it); a single fault must end within it.
    if (lasts && !every && at < spec.duration && at + *lasts > spec.duration) {
      r.error(restart_after ? "restart_after" : "for",
              "the fault would end at " + format_duration(at + *lasts) +
                  ", after the run (duration " + format_duration(spec.duration) +
                  "); omit it to last until the end");
    }
    f->at = SimTime::zero() + at;
    f->lasts = lasts;
    if (every && *every > Duration::zero()) {
      RepeatSpec rep;
      rep.every = *every;
      if (has_jitter) rep.jitter = jitter;
      rep.until = SimTime::zero() + until;
      f->repeat = rep;
    }
    spec.faults.push_back(std::move(*f));
  }
  if (nemesis && nemesis->kind != ParamNode::Kind::kList) {
    diag.error(nemesis->loc,
               "nemesis: expected a list such as [{crash: replicas.random, rate: 1/min, "
               "duration: 10s}]");
    nemesis = nullptr;
  }
  for (size_t i = 0; nemesis && i < nemesis->items.size(); ++i) {
    const ParamNode& item = nemesis->items[i];
    ParamReader r(&item, &env, "nemesis[" + std::to_string(i) + "]", item.loc);
    const bool has_rate = r.has("rate"), has_interval = r.has("interval");
    const double rate = r.rate("rate", 1.0 / 60, "faults per second of healthy time (Poisson)");
    const Distribution interval = r.distribution(
        "interval", Distribution::exponential(60e9).with_dim(Distribution::Dim::kTime),
        "healthy time before each fault (instead of rate)");
    const bool has_duration = r.has("duration");
    const Distribution duration =
        r.distribution("duration", Distribution::constant(10e9).with_dim(Distribution::Dim::kTime),
                       "how long each fault lasts");
    const Duration start = r.duration("start", Duration::zero(), "when the nemesis begins");
    const Duration stop = r.duration("stop", spec.duration, "when it stops starting faults");
    auto f = read_fault(r, item, env, tp, true);
    for (const char* k : {"at", "for", "restart_after", "every", "jitter", "until"}) {
      if (r.has(k)) {
        r.raw(k, "", "");
        r.error(k, std::string(k) +
                       " belongs to the faults timeline; a nemesis takes rate (or "
                       "interval), duration, start and stop");
      }
    }
    r.finish();
    if (has_rate && has_interval) r.error("interval", "give rate or interval, not both");
    if (has_rate && rate <= 0) r.error("rate", "must be > 0");
    if (start >= spec.duration) {
      r.error("start", "nemesis start " + format_duration(start) +
                           " is not within the run (duration " + format_duration(spec.duration) +
                           ")");
    }
    if (stop > spec.duration) {
      r.error("stop", "nemesis stop " + format_duration(stop) +
                          " is after the end of the run (duration " +
                          format_duration(spec.duration) + ")");
    }
    if (stop <= start) r.error("stop", "must be after start");
    if (!f) continue;
    const bool lasting = f->kind != FaultKind::kHeal && f->kind != FaultKind::kRestart &&
                         f->kind != FaultKind::kResume;
    if (!lasting && has_duration) r.error("duration", "an instant fault takes no duration");
    NemesisSpec n;
    n.fault = std::move(*f);
    n.interval = has_rate && rate > 0
                     ? Distribution::exponential(1e9 / rate).with_dim(Distribution::Dim::kTime)
                     : interval;
    n.duration = lasting ? duration : Distribution::constant(0).with_dim(Distribution::Dim::kTime);
    n.start = SimTime::zero() + start;
    n.stop = SimTime::zero() + stop;
    spec.nemesis.push_back(std::move(n));
  }
}

}  // namespace dsim
