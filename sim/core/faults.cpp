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
  }
  return "?";
}

namespace {

constexpr uint32_t kWholeRun = 0xffffffffu;
constexpr size_t kNamesShown = 8;

// The injector lives as long as any scheduled action (they share it).
class Injector : public std::enable_shared_from_this<Injector> {
 public:
  explicit Injector(Engine& engine) : engine_(engine) {}

  std::vector<NodeId> resolve(const TargetSpec& t, Rng& rng) const {
    std::vector<NodeId> out;
    for (const auto& term : t.terms) {
      std::vector<NodeId> scope;
      if (term.group == kWholeRun) {
        scope.resize(engine_.node_count());
        for (NodeId i = 0; i < scope.size(); ++i)
          scope[i] = i;
      } else {
        scope = engine_.groups()[term.group].nodes;
      }
      using K = TargetSpec::Term::Kind;
      switch (term.kind) {
        case K::kNode:
          out.push_back(term.node);
          break;
        case K::kGroup:
        case K::kAll:
          out.insert(out.end(), scope.begin(), scope.end());
          break;
        case K::kRandom: {
          // One of the nodes that are not down (all of them when every one is).
          std::vector<NodeId> live;
          for (NodeId n : scope) {
            if (engine_.status(n) != NodeStatus::kDown) live.push_back(n);
          }
          const auto& from = live.empty() ? scope : live;
          if (!from.empty()) out.push_back(from[rng.below64(from.size())]);
          break;
        }
        case K::kMinority:
        case K::kMajority: {
          const size_t n = scope.size();
          const size_t k = term.kind == K::kMinority ? (n - 1) / 2 : n / 2 + 1;
          auto picked = sample(scope, k, rng);
          out.insert(out.end(), picked.begin(), picked.end());
          break;
        }
        case K::kRole:
          for (NodeId n : scope) {
            if (engine_.role(n) == term.role) out.push_back(n);
          }
          break;
        case K::kRegion: {
          const auto& loc = engine_.network().locations();
          for (NodeId n : scope) {
            if (n < loc.size() && loc[n].region == term.region) out.push_back(n);
          }
          break;
        }
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
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

  // Starts a fault now; returns its id (0 when it hit nobody and left nothing to undo).
  // `lasts`: when to end it (none: it lasts until healed or until the run ends).
  void start(const FaultSpec& f, std::optional<Duration> lasts, Rng& rng) {
    const uint64_t id = ++next_id_;
    std::string targets, detail;
    std::function<void()> undo;
    std::vector<NodeId> nodes;     // crash, pause: whom it holds
    std::vector<NodeId> affected;  // every node it hit (the fault log's `nodes`)
    std::shared_ptr<const Cut> installed;
    using K = FaultKind;
    switch (f.kind) {
      case K::kPartition:
        undo = start_partition(f.partition, id, rng, &targets, &detail, &affected, &installed);
        break;
      case K::kHeal: {
        detail = "all partitions";
        std::vector<uint64_t> ids;
        for (const auto& [pid, a] : active_) {
          if (a.kind == K::kPartition) ids.push_back(pid);
        }
        for (uint64_t pid : ids)
          end(pid);
        engine_.network().clear_cuts();
        break;
      }
      case K::kCrash: {
        std::vector<NodeId> hit;
        for (NodeId n : resolve(f.target, rng)) {
          if (engine_.crash(n)) hit.push_back(n);
        }
        targets = names(hit);
        nodes = hit;
        affected = hit;
        undo = [this, hit] {
          for (NodeId n : hit)
            engine_.restart(n);
        };
        if (lasts) detail = "restart after " + format_duration(*lasts);
        break;
      }
      case K::kRestart: {
        std::vector<NodeId> hit;
        for (NodeId n : resolve(f.target, rng)) {
          if (engine_.restart(n)) hit.push_back(n);
        }
        targets = names(hit);
        affected = hit;
        break;
      }
      case K::kPause: {
        std::vector<NodeId> hit;
        for (NodeId n : resolve(f.target, rng)) {
          if (engine_.pause(n)) hit.push_back(n);
        }
        targets = names(hit);
        nodes = hit;
        affected = hit;
        undo = [this, hit] {
          for (NodeId n : hit)
            engine_.resume(n);
        };
        break;
      }
      case K::kResume: {
        std::vector<NodeId> hit;
        for (NodeId n : resolve(f.target, rng)) {
          if (engine_.resume(n)) hit.push_back(n);
        }
        targets = names(hit);
        affected = hit;
        break;
      }
      case K::kSlow:
      case K::kDiskSlow:
      case K::kDiskFull: {
        const auto hit = resolve(f.target, rng);
        targets = names(hit);
        affected = hit;
        std::vector<double> before;
        for (NodeId n : hit) {
          if (f.kind == K::kSlow) {
            before.push_back(engine_.slowdown(n));
            engine_.set_slowdown(n, f.factor);
          } else if (f.kind == K::kDiskSlow) {
            before.push_back(engine_.disk(n).fault_slowdown());
            engine_.set_disk_slowdown(n, f.factor);
          } else {
            before.push_back(engine_.disk(n).full_fault() ? 1 : 0);
            engine_.set_disk_full(n, true);
          }
        }
        if (f.kind != K::kDiskFull) detail = "x" + format_number(f.factor);
        undo = [this, hit, before, kind = f.kind] {
          for (size_t i = 0; i < hit.size(); ++i) {
            if (kind == K::kSlow) {
              engine_.set_slowdown(hit[i], before[i]);
            } else if (kind == K::kDiskSlow) {
              engine_.set_disk_slowdown(hit[i], before[i]);
            } else {
              engine_.set_disk_full(hit[i], before[i] != 0);
            }
          }
        };
        break;
      }
      case K::kClock: {
        const auto hit = resolve(f.target, rng);
        targets = names(hit);
        affected = hit;
        std::vector<Duration> steps;
        std::vector<double> drifts;
        for (NodeId n : hit) {
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
        if (f.step) {
          detail = "step";
          for (auto s : steps)
            detail += " " + (s < Duration::zero() ? "-" + format_duration(-s) : format_duration(s));
        }
        if (f.drift_ppm)
          detail +=
              std::string(detail.empty() ? "" : "; ") + "drift_ppm " + f.drift_ppm->describe();
        undo = [this, hit, steps, drifts] {
          for (size_t i = 0; i < hit.size(); ++i) {
            if (i < steps.size()) engine_.clock_step(hit[i], -steps[i]);
            if (i < drifts.size()) engine_.clock_set_drift(hit[i], drifts[i]);
          }
        };
        break;
      }
      case K::kDegrade: {
        Degrade d;
        d.nodes = resolve(f.target, rng);
        targets = names(d.nodes);
        affected = d.nodes;
        d.outbound = f.outbound;
        d.inbound = f.inbound;
        d.loss = f.loss;
        d.duplicate = f.duplicate;
        d.delay = f.delay;
        detail = f.text;
        engine_.network().add_degrade(id, std::move(d));
        undo = [this, id] { engine_.network().remove_degrade(id); };
        break;
      }
    }
    const std::string kind(fault_kind_name(f.kind));
    // Restart, resume, heal and a clock change without `for` happen at an instant; the
    // others last until `for` runs out, a heal, or the end of the run.
    const bool lasting = undo && !(f.kind == K::kClock && !lasts);
    engine_.record_fault({engine_.now(), lasting ? FaultPhase::kStart : FaultPhase::kInstant, id,
                          kind, targets, detail, std::move(affected), std::move(installed)});
    if (f.kind == K::kRestart) end_released(K::kCrash, NodeStatus::kDown);
    if (f.kind == K::kResume) end_released(K::kPause, NodeStatus::kPaused);
    if (!lasting) return;
    active_.emplace(id, Active{f.kind, std::move(undo), kind, targets, std::move(nodes)});
    if (lasts) {
      engine_.at(saturating_add(engine_.now(), *lasts),
                 [self = shared_from_this(), id](Engine&) { self->end(id); });
    }
  }

  // Ends the crash (pause) faults none of whose nodes is still down (paused): an explicit
  // restart (resume) released them.
  void end_released(FaultKind kind, NodeStatus held) {
    std::vector<uint64_t> done;
    for (const auto& [id, a] : active_) {
      if (a.kind != kind) continue;
      bool any = false;
      for (NodeId n : a.nodes)
        any = any || engine_.status(n) == held;
      if (!any) done.push_back(id);
    }
    for (uint64_t id : done)
      end(id);
  }

  void end(uint64_t id) {
    auto it = active_.find(id);
    if (it == active_.end()) return;  // already ended (healed)
    Active a = std::move(it->second);
    active_.erase(it);
    if (a.undo) a.undo();
    engine_.record_fault({engine_.now(), FaultPhase::kEnd, id, a.kind_name, a.targets, "", {}, {}});
  }

  std::function<void()> start_partition(const PartitionSpec& p, uint64_t id, Rng& rng,
                                        std::string* targets, std::string* detail,
                                        std::vector<NodeId>* affected,
                                        std::shared_ptr<const Cut>* installed) {
    using S = PartitionSpec::Shape;
    Cut cut;
    switch (p.shape) {
      case S::kGroups: {
        std::vector<std::vector<NodeId>> groups;
        for (const auto& g : p.groups)
          groups.push_back(resolve(g, rng));
        for (const auto& g : groups)
          *targets += (targets->empty() ? "[" : " | [") + names(g) + "]";
        *detail = "groups";
        cut = cut_groups(groups);
        break;
      }
      case S::kIsolate: {
        const auto nodes = resolve(p.nodes, rng);
        *targets = names(nodes);
        *detail = "isolate";
        cut = cut_isolate(nodes);
        break;
      }
      case S::kHalves:
      case S::kBridge: {
        // A random order: the first (n-1)/2 form the minority.
        std::vector<NodeId> shuffled = resolve(p.nodes, rng);
        for (size_t i = shuffled.size(); i > 1; --i)
          std::swap(shuffled[i - 1], shuffled[rng.below64(i)]);
        const size_t minority = (shuffled.size() - (p.shape == S::kBridge ? 1 : 0)) / 2;
        std::vector<NodeId> a(shuffled.begin(),
                              shuffled.begin() + static_cast<std::ptrdiff_t>(minority));
        std::vector<NodeId> b(shuffled.begin() + static_cast<std::ptrdiff_t>(minority),
                              shuffled.end());
        const NodeId bridge = b.empty() ? kNoNode : b.front();
        // The bridge node (the first of the larger side) belongs to both sides.
        if (p.shape == S::kBridge && bridge != kNoNode) a.push_back(bridge);
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        *targets = "[" + names(a) + "] | [" + names(b) + "]";
        *detail = p.shape == S::kBridge && bridge != kNoNode ? "bridge " + engine_.node_name(bridge)
                                                             : "halves";
        cut = cut_groups({a, b});
        break;
      }
      case S::kRing: {
        auto nodes = resolve(p.nodes, rng);
        for (size_t i = nodes.size(); i > 1; --i)
          std::swap(nodes[i - 1], nodes[rng.below64(i)]);
        *targets = "ring " + names(nodes);
        *detail = "majorities_ring";
        cut = cut_majorities_ring(nodes);
        break;
      }
      case S::kOneWay: {
        const auto from = resolve(p.nodes, rng);
        const auto to = p.to_rest ? std::vector<NodeId>{} : resolve(p.to, rng);
        *targets = "[" + names(from) + "] -> [" +
                   (p.to_rest ? std::string("everyone else") : names(to)) + "]";
        *detail = "one_way";
        cut = cut_one_way(from, to, p.to_rest);
        break;
      }
    }
    for (const auto& [node, mask] : cut.masks)
      affected->push_back(node);
    *installed = std::make_shared<const Cut>(cut);
    engine_.network().add_cut(id, std::move(cut));
    return [this, id] { engine_.network().remove_cut(id); };
  }

 private:
  struct Active {
    FaultKind kind;
    std::function<void()> undo;
    std::string kind_name;
    std::string targets;
    std::vector<NodeId> nodes;
  };
  Engine& engine_;
  uint64_t next_id_ = 0;
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
