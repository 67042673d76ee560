#include "sim/core/faults.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "sim/core/engine.h"
#include "sim/core/partition.h"
#include "sim/core/units.h"

namespace dsim {

std::string_view fault_kind_name(FaultKind k) {
  switch (k) {
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kHeal:
      return "heal";
    case FaultKind::kCrash:
      return "crash";
    case FaultKind::kRestart:
      return "restart";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kResume:
      return "resume";
    case FaultKind::kSlow:
      return "slow";
    case FaultKind::kDiskSlow:
      return "disk_slow";
    case FaultKind::kDiskFull:
      return "disk_full";
    case FaultKind::kClock:
      return "clock";
    case FaultKind::kDegrade:
      return "degrade";
    case FaultKind::kLeave:
      return "leave";
    case FaultKind::kJoin:
      return "join";
  }
  return "?";
}

namespace {

constexpr uint32_t kWholeRun = kWholeRunGroup;
constexpr size_t kNamesShown = 8;

// What starting a fault did: what the fault log says of it, whom it hit, how to undo it.
struct Effect {
  std::string targets, detail;
  std::function<void()> undo;    // empty: nothing to undo
  std::vector<NodeId> nodes;     // crash, pause: whom it holds
  std::vector<NodeId> affected;  // every node it hit (the fault log's `nodes`)
  std::shared_ptr<const Cut> installed;
};

// A partition's cut, and how the fault log describes it.
struct PlannedCut {
  Cut cut;
  std::string targets, detail;
};

// A random order of `nodes` (Fisher-Yates, from the back).
void shuffle(std::vector<NodeId>& nodes, Rng& rng) {
  for (size_t i = nodes.size(); i > 1; --i)
    std::swap(nodes[i - 1], nodes[rng.below64(i)]);
}

// The fault log's detail of a clock fault: the steps drawn, then the new drift.
std::string clock_detail(const FaultSpec& f, const std::vector<Duration>& steps) {
  std::string detail;
  if (f.step) {
    detail = "step";
    for (auto s : steps)
      detail += " " + (s < Duration::zero() ? "-" + format_duration(-s) : format_duration(s));
  }
  if (f.drift_ppm)
    detail += std::string(detail.empty() ? "" : "; ") + "drift_ppm " + f.drift_ppm->describe();
  return detail;
}

// The injector lives as long as any scheduled action (they share it).
class Injector : public std::enable_shared_from_this<Injector> {
 public:
  explicit Injector(Engine& engine) : engine_(engine) {}

  // Starts a fault now. `lasts`: when to end it (none: it lasts until healed or until the
  // run ends).
  void start(const FaultSpec& f, std::optional<Duration> lasts, Rng& rng) {
    using K = FaultKind;
    const uint64_t id = ++next_id_;
    resolved_ = 0;
    Effect e = apply(f, id, lasts, rng);
    const bool no_target = f.kind != K::kHeal && resolved_ == 0;
    const std::string kind(fault_kind_name(f.kind));
    // Restart, resume, heal and a clock change without `for` happen at an instant; the
    // others last until `for` runs out, a heal, or the end of the run.
    const bool lasting = e.undo && !(f.kind == K::kClock && !lasts);
    FaultEvent event{engine_.now(),
                     lasting ? FaultPhase::kStart : FaultPhase::kInstant,
                     id,
                     kind,
                     e.targets,
                     e.detail,
                     std::move(e.affected),
                     std::move(e.installed),
                     no_target,
                     {}};
    if (no_target) {
      for (const auto& term : f.target.terms)
        event.aimed_groups.push_back(term.group);
    }
    engine_.record_fault(std::move(event));
    if (f.kind == K::kRestart)
      end_released(K::kCrash, [this](NodeId n) { return engine_.status(n) == NodeStatus::kDown; });
    if (f.kind == K::kResume) {
      end_released(K::kPause,
                   [this](NodeId n) { return engine_.status(n) == NodeStatus::kPaused; });
    }
    if (f.kind == K::kJoin) {
      end_released(K::kLeave,
                   [this](NodeId n) { return engine_.outside(n) || engine_.leaving(n); });
    }
    if (!lasting) return;
    active_.emplace(id, Active{f.kind, std::move(e.undo), kind, e.targets, std::move(e.nodes)});
    if (!lasts) return;
    engine_.at(saturating_add(engine_.now(), *lasts),
               [self = shared_from_this(), id](Engine&) { self->end(id); });
  }

  void end(uint64_t id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;  // already ended (healed)
    Active a = std::move(it->second);
    active_.erase(it);
    if (a.undo) a.undo();
    engine_.record_fault(
        {engine_.now(), FaultPhase::kEnd, id, a.kind_name, a.targets, "", {}, {}, false, {}});
  }

 private:
  struct Active {
    FaultKind kind;
    std::function<void()> undo;
    std::string kind_name;
    std::string targets;
    std::vector<NodeId> nodes;
  };

  // Does what the fault does, now.
  Effect apply(const FaultSpec& f, uint64_t id, std::optional<Duration> lasts, Rng& rng) {
    using K = FaultKind;
    switch (f.kind) {
      case K::kPartition:
        return start_partition(f.partition, id, rng);
      case K::kHeal:
        return heal();
      case K::kCrash:
        return crash(f.target, lasts, rng);
      case K::kRestart:
        return on_nodes(
            each_target(f.target, rng, [this](NodeId n) { return engine_.restart(n); }));
      case K::kPause:
        return held(each_target(f.target, rng, [this](NodeId n) { return engine_.pause(n); }),
                    [this](NodeId n) { engine_.resume(n); });
      case K::kResume:
        return on_nodes(each_target(f.target, rng, [this](NodeId n) { return engine_.resume(n); }));
      case K::kSlow:
      case K::kDiskSlow:
      case K::kDiskFull:
        return slow(f, rng);
      case K::kClock:
        return clock(f, rng);
      case K::kDegrade:
        return degrade(f, id, rng);
      case K::kLeave:
        return held(each_target(f.target, rng, [this](NodeId n) { return engine_.leave(n); }),
                    [this](NodeId n) { engine_.join(n); });
      case K::kJoin: {
        joining_ = true;  // random targets: of the nodes outside their groups
        Effect e =
            on_nodes(each_target(f.target, rng, [this](NodeId n) { return engine_.join(n); }));
        joining_ = false;
        return e;
      }
    }
    return {};
  }

  // The nodes of the target that `act` changed (crashing a node that is down changes
  // nothing).
  template <class Act>
  std::vector<NodeId> each_target(const TargetSpec& t, Rng& rng, Act act) {
    std::vector<NodeId> hit;
    for (NodeId n : resolve(t, rng)) {
      if (act(n)) hit.push_back(n);
    }
    return hit;
  }

  Effect on_nodes(std::vector<NodeId> hit) const {
    Effect e;
    e.targets = names(hit);
    e.affected = std::move(hit);
    return e;
  }

  // Crash, pause: the fault holds the nodes it hit until `release` undoes it on each.
  template <class Release>
  Effect held(std::vector<NodeId> hit, Release release) const {
    Effect e = on_nodes(hit);
    e.nodes = hit;
    e.undo = [hit, release] {
      for (NodeId n : hit)
        release(n);
    };
    return e;
  }

  Effect crash(const TargetSpec& target, std::optional<Duration> lasts, Rng& rng) {
    Effect e = held(each_target(target, rng, [this](NodeId n) { return engine_.crash(n); }),
                    [this](NodeId n) { engine_.restart(n); });
    if (lasts) e.detail = "restart after " + format_duration(*lasts);
    return e;
  }

  // Ends every partition: those started here, and any other cut of the network.
  Effect heal() {
    std::vector<uint64_t> ids;
    for (const auto& [pid, a] : active_) {
      if (a.kind == FaultKind::kPartition) ids.push_back(pid);
    }
    for (uint64_t pid : ids)
      end(pid);
    engine_.network().clear_cuts();
    Effect e;
    e.detail = "all partitions";
    return e;
  }

  // slow, disk_slow, disk_full: undone by setting back what each node had before.
  Effect slow(const FaultSpec& f, Rng& rng) {
    Effect e = on_nodes(resolve(f.target, rng));
    std::vector<double> before;
    for (NodeId n : e.affected) {
      before.push_back(slowness(f.kind, n));
      set_slowness(f.kind, n, f.kind == FaultKind::kDiskFull ? 1 : f.factor);
    }
    if (f.kind != FaultKind::kDiskFull) e.detail = "x" + format_number(f.factor);
    e.undo = [this, hit = e.affected, before, kind = f.kind] {
      for (size_t i = 0; i < hit.size(); ++i)
        set_slowness(kind, hit[i], before[i]);
    };
    return e;
  }

  // A node's factor for a slow or disk_slow fault; for disk_full, 1 when its disk is full.
  double slowness(FaultKind kind, NodeId n) {
    if (kind == FaultKind::kSlow) return engine_.slowdown(n);
    if (kind == FaultKind::kDiskSlow) return engine_.disk(n).fault_slowdown();
    return engine_.disk(n).full_fault() ? 1 : 0;
  }

  void set_slowness(FaultKind kind, NodeId n, double value) {
    if (kind == FaultKind::kSlow) {
      engine_.set_slowdown(n, value);
    } else if (kind == FaultKind::kDiskSlow) {
      engine_.set_disk_slowdown(n, value);
    } else {
      engine_.set_disk_full(n, value != 0);
    }
  }

  // Steps each node's clock by a draw of its own and/or sets a drift drawn for it; undone
  // by stepping back and setting back the drift it had.
  Effect clock(const FaultSpec& f, Rng& rng) {
    Effect e = on_nodes(resolve(f.target, rng));
    std::vector<Duration> steps;
    std::vector<double> drifts;
    for (NodeId n : e.affected) {
      if (f.step) {
        const double x = f.step->sample(rng);
        const Duration by = Duration::from_ns(std::isfinite(x) ? std::llround(x) : 0);
        engine_.clock_step(n, by);
        steps.push_back(by);
      }
      if (f.drift_ppm) {
        drifts.push_back(engine_.clock_drift_ppm(n));
        engine_.clock_set_drift(n, f.drift_ppm->sample(rng));
      }
    }
    e.detail = clock_detail(f, steps);
    e.undo = [this, hit = e.affected, steps, drifts] {
      for (size_t i = 0; i < hit.size(); ++i) {
        if (i < steps.size()) engine_.clock_step(hit[i], -steps[i]);
        if (i < drifts.size()) engine_.clock_set_drift(hit[i], drifts[i]);
      }
    };
    return e;
  }

  Effect degrade(const FaultSpec& f, uint64_t id, Rng& rng) {
    Degrade d;
    d.nodes = resolve(f.target, rng);
    Effect e = on_nodes(d.nodes);
    d.outbound = f.outbound;
    d.inbound = f.inbound;
    d.loss = f.loss;
    d.duplicate = f.duplicate;
    d.delay = f.delay;
    e.detail = f.text;
    engine_.network().add_degrade(id, std::move(d));
    e.undo = [this, id] { engine_.network().remove_degrade(id); };
    return e;
  }

  Effect start_partition(const PartitionSpec& p, uint64_t id, Rng& rng) {
    PlannedCut planned = plan_cut(p, rng);
    Effect e;
    e.targets = std::move(planned.targets);
    e.detail = std::move(planned.detail);
    for (const auto& [node, mask] : planned.cut.masks)
      e.affected.push_back(node);
    e.installed = std::make_shared<const Cut>(planned.cut);
    engine_.network().add_cut(id, std::move(planned.cut));
    e.undo = [this, id] { engine_.network().remove_cut(id); };
    return e;
  }

  PlannedCut plan_cut(const PartitionSpec& p, Rng& rng) {
    using S = PartitionSpec::Shape;
    switch (p.shape) {
      case S::kGroups:
        return plan_groups(p, rng);
      case S::kIsolate: {
        const auto nodes = resolve(p.nodes, rng);
        return {cut_isolate(nodes), names(nodes), "isolate"};
      }
      case S::kHalves:
      case S::kBridge:
        return plan_halves(p, rng);
      case S::kRing:
        return plan_ring(p, rng);
      case S::kOneWay:
        return plan_one_way(p, rng);
    }
    return {};
  }

  PlannedCut plan_groups(const PartitionSpec& p, Rng& rng) {
    std::vector<std::vector<NodeId>> groups;
    for (const auto& g : p.groups)
      groups.push_back(resolve(g, rng));
    PlannedCut c;
    for (const auto& g : groups)
      c.targets += (c.targets.empty() ? "[" : " | [") + names(g) + "]";
    c.detail = "groups";
    c.cut = cut_groups(groups);
    return c;
  }

  // Halves, or a bridge: two halves and a node of the larger one that belongs to both.
  PlannedCut plan_halves(const PartitionSpec& p, Rng& rng) {
    using S = PartitionSpec::Shape;
    // A random order: the first (n-1)/2 form the minority.
    std::vector<NodeId> shuffled = resolve(p.nodes, rng);
    shuffle(shuffled, rng);
    const size_t minority = (shuffled.size() - (p.shape == S::kBridge ? 1 : 0)) / 2;
    std::vector<NodeId> a(shuffled.begin(),
                          shuffled.begin() + static_cast<std::ptrdiff_t>(minority));
    std::vector<NodeId> b(shuffled.begin() + static_cast<std::ptrdiff_t>(minority), shuffled.end());
    const NodeId bridge = b.empty() ? kNoNode : b.front();
    // The bridge node (the first of the larger side) belongs to both sides.
    if (p.shape == S::kBridge && bridge != kNoNode) a.push_back(bridge);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    PlannedCut c;
    c.targets = "[" + names(a) + "] | [" + names(b) + "]";
    c.detail = p.shape == S::kBridge && bridge != kNoNode ? "bridge " + engine_.node_name(bridge)
                                                          : "halves";
    c.cut = cut_groups({a, b});
    return c;
  }

  PlannedCut plan_ring(const PartitionSpec& p, Rng& rng) {
    auto nodes = resolve(p.nodes, rng);
    shuffle(nodes, rng);
    return {cut_majorities_ring(nodes), "ring " + names(nodes), "majorities_ring"};
  }

  PlannedCut plan_one_way(const PartitionSpec& p, Rng& rng) {
    const auto from = resolve(p.nodes, rng);
    const auto to = p.to_rest ? std::vector<NodeId>{} : resolve(p.to, rng);
    return {
        cut_one_way(from, to, p.to_rest),
        "[" + names(from) + "] -> [" + (p.to_rest ? std::string("everyone else") : names(to)) + "]",
        "one_way"};
  }

  // Ends the crash (pause, leave) faults none of whose nodes is still down (paused, leaving
  // or outside): an explicit restart (resume, join) released them.
  template <class Held>
  void end_released(FaultKind kind, Held held) {
    std::vector<uint64_t> done;
    for (const auto& [id, a] : active_) {
      if (a.kind != kind) continue;
      bool any = false;
      for (NodeId n : a.nodes)
        any = any || held(n);
      if (!any) done.push_back(id);
    }
    for (uint64_t id : done)
      end(id);
  }

  std::vector<NodeId> resolve(const TargetSpec& t, Rng& rng) const {
    std::vector<NodeId> out;
    for (const auto& term : t.terms)
      add_term(term, rng, out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    resolved_ += out.size();
    return out;
  }

  // The nodes a term chooses from: its group's, or the whole run's.
  std::vector<NodeId> scope_of(const TargetSpec::Term& term) const {
    if (term.group != kWholeRun) return engine_.groups()[term.group].nodes;
    std::vector<NodeId> scope(engine_.node_count());
    for (NodeId i = 0; i < scope.size(); ++i)
      scope[i] = i;
    return scope;
  }

  void add_term(const TargetSpec::Term& term, Rng& rng, std::vector<NodeId>& out) const {
    const std::vector<NodeId> scope = scope_of(term);
    using K = TargetSpec::Term::Kind;
    switch (term.kind) {
      case K::kNode:
        out.push_back(term.node);
        return;
      case K::kGroup:
      case K::kAll:
        out.insert(out.end(), scope.begin(), scope.end());
        return;
      case K::kRandom:
        return add_random(scope, rng, out);
      case K::kSample:
        return add_sample(term, scope, rng, out);
      case K::kMinority:
      case K::kMajority: {
        const size_t n = scope.size();
        const size_t k = term.kind == K::kMinority ? (n - 1) / 2 : n / 2 + 1;
        auto picked = sample(scope, k, rng);
        out.insert(out.end(), picked.begin(), picked.end());
        return;
      }
      case K::kRole:
        for (NodeId n : scope) {
          if (engine_.role(n) == term.role) out.push_back(n);
        }
        return;
      case K::kRegion: {
        const auto& loc = engine_.network().locations();
        for (NodeId n : scope) {
          if (n < loc.size() && loc[n].region == term.region) out.push_back(n);
        }
        return;
      }
    }
  }

  // `count` (or a share) of the nodes that are not down; of all of them when too few are up.
  void add_sample(const TargetSpec::Term& term, const std::vector<NodeId>& scope, Rng& rng,
                  std::vector<NodeId>& out) const {
    const size_t k =
        term.count > 0
            ? term.count
            : std::max<size_t>(1, static_cast<size_t>(std::llround(term.share * scope.size())));
    const std::vector<NodeId> live = up(scope);
    if (joining_) {  // of the nodes outside, as many as there are
      auto picked = sample(live, std::min(k, live.size()), rng);
      out.insert(out.end(), picked.begin(), picked.end());
      return;
    }
    auto picked = sample(live.size() >= k ? live : scope, k, rng);
    out.insert(out.end(), picked.begin(), picked.end());
  }

  // One of the nodes that are not down (all of them when every one is).
  void add_random(const std::vector<NodeId>& scope, Rng& rng, std::vector<NodeId>& out) const {
    const std::vector<NodeId> live = up(scope);
    const auto& from = live.empty() && !joining_ ? scope : live;
    if (!from.empty()) out.push_back(from[rng.below64(from.size())]);
  }

  // The nodes of `scope` that are not down (up or paused), in scope order; for a join,
  // those outside their groups.
  std::vector<NodeId> up(const std::vector<NodeId>& scope) const {
    std::vector<NodeId> live;
    for (NodeId n : scope) {
      if (joining_ ? engine_.outside(n) : engine_.status(n) != NodeStatus::kDown) live.push_back(n);
    }
    return live;
  }

  // k distinct nodes of `from`, chosen uniformly (partial Fisher-Yates), in node order.
  static std::vector<NodeId> sample(std::vector<NodeId> from, size_t k, Rng& rng) {
    k = std::min(k, from.size());
    for (size_t i = 0; i < k; ++i) {
      const size_t j = i + rng.below64(from.size() - i);
      std::swap(from[i], from[j]);
    }
    from.resize(k);
    std::sort(from.begin(), from.end());
    return from;
  }

  std::string names(const std::vector<NodeId>& nodes) const {
    std::string s;
    for (size_t i = 0; i < nodes.size() && i < kNamesShown; ++i)
      s += (i ? " " : "") + engine_.node_name(nodes[i]);
    if (nodes.size() > kNamesShown)
      s += " +" + std::to_string(nodes.size() - kNamesShown) + " more";
    return s;
  }

  Engine& engine_;
  uint64_t next_id_ = 0;
  // Nodes the targets of the fault being started resolved to, over every resolve(): 0 means
  // it hit nobody. Counting is a side effect of the const target resolution.
  mutable size_t resolved_ = 0;
  bool joining_ = false;  // resolving a join's targets
  std::map<uint64_t, Active> active_;
};

struct NemesisState {
  NemesisSpec spec;
  Rng rng;
};

void nemesis_next(const std::shared_ptr<Injector>& inj, const std::shared_ptr<NemesisState>& st,
                  Engine& engine, SimTime from) {
  const SimTime at = saturating_add(from, st->spec.interval.sample_duration(st->rng));
  if (at >= st->spec.stop) return;
  engine.at(at, [inj, st](Engine& e) {
    const Duration d = st->spec.duration.sample_duration(st->rng);
    inj->start(st->spec.fault, d, st->rng);
    nemesis_next(inj, st, e, saturating_add(e.now(), d));
  });
}

// Occurrence k of a repeating timeline fault: at its base time, draw the jitter and
// schedule the fault itself, and schedule the next occurrence's base time.
void repeat_next(const std::shared_ptr<Injector>& inj, const std::shared_ptr<const FaultSpec>& f,
                 const std::shared_ptr<Rng>& rng, const std::shared_ptr<Rng>& jitter_rng,
                 Engine& engine, SimTime base) {
  if (base >= f->repeat->until) return;
  engine.at(base, [inj, f, rng, jitter_rng](Engine& e) {
    const Duration jitter =
        f->repeat->jitter ? f->repeat->jitter->sample_duration(*jitter_rng) : Duration::zero();
    const SimTime base_now = e.now();
    if (jitter <= Duration::zero()) {
      inj->start(*f, f->lasts, *rng);
    } else {
      e.at(saturating_add(base_now, jitter),
           [inj, f, rng](Engine&) { inj->start(*f, f->lasts, *rng); });
    }
    repeat_next(inj, f, rng, jitter_rng, e, saturating_add(base_now, f->repeat->every));
  });
}

}  // namespace

void install_faults(Engine& engine, const std::vector<FaultSpec>& timeline,
                    const std::vector<NemesisSpec>& nemeses, uint64_t seed) {
  if (timeline.empty() && nemeses.empty()) return;
  auto inj = std::make_shared<Injector>(engine);
  for (size_t i = 0; i < timeline.size(); ++i) {
    auto rng = std::make_shared<Rng>(seed, stream_id("fault", i));
    const FaultSpec& f = timeline[i];
    if (f.repeat) {
      auto jitter_rng = std::make_shared<Rng>(seed, stream_id("fault_repeat", i));
      repeat_next(inj, std::make_shared<const FaultSpec>(f), rng, jitter_rng, engine, f.at);
      continue;
    }
    engine.at(f.at, [inj, rng, f](Engine&) { inj->start(f, f.lasts, *rng); });
  }
  for (size_t i = 0; i < nemeses.size(); ++i) {
    auto st = std::make_shared<NemesisState>(
        NemesisState{nemeses[i], Rng(seed, stream_id("nemesis", i))});
    nemesis_next(inj, st, engine, st->spec.start);
  }
}

}  // namespace dsim
