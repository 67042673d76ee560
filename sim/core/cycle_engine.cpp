#include "sim/core/cycle_engine.h"

#include <algorithm>
#include <numeric>

#include "sim/core/assert.h"
#include "sim/core/metrics.h"

namespace dsim {

// What a group sees of the engine while it runs (cycles.h).
class CycleWorldImpl final : public CycleWorld {
 public:
  CycleWorldImpl(CycleEngine& e) : e_(e), net_rng_(e.config_.seed, stream_id("cycle-net")) {}

  SimTime now() const override { return now_; }
  Rng& rng() override { return *rng_; }
  bool send(uint32_t bytes) override {
    CycleTraffic& t = e_.traffic_;
    ++t.sent;
    t.bytes += bytes;
    const bool lost = e_.config_.loss > 0 && net_rng_.uniform01() < e_.config_.loss;
    ++(lost ? t.lost : t.delivered);
    return lost;
  }
  void mark(uint32_t node, Symbol kind, int64_t a, int64_t b) override {
    DSIM_ASSERT(node < group_->count, "node ", node, " is not in a group of ", group_->count);
    if (e_.marks_.size() >= MetricsRecorder::kMaxMarks) {
      ++e_.marks_dropped_;
      return;
    }
    e_.marks_.push_back({now_, group_->first + node, kind, a, b});
  }
  Symbol intern(std::string_view name) override { return e_.symbols_.intern(name); }
  bool measured() const override { return now_ >= SimTime::zero() + e_.config_.warmup; }

  void enter(CycleEngine::Group& g, Rng& rng, SimTime now) {
    group_ = &g;
    rng_ = &rng;
    now_ = now;
  }

 private:
  CycleEngine& e_;
  Rng net_rng_;
  CycleEngine::Group* group_ = nullptr;
  Rng* rng_ = nullptr;
  SimTime now_;
};

uint32_t CycleEngine::add_group(std::string name, uint32_t count,
                                std::unique_ptr<CycleGroup> group) {
  DSIM_ASSERT(group->period() > Duration::zero());
  const auto g = static_cast<uint32_t>(state_.size());
  Group s;
  s.model = std::move(group);
  s.first = static_cast<NodeId>(nodes_);
  s.count = count;
  GroupInfo info{std::move(name), std::vector<NodeId>(count)};
  std::iota(info.nodes.begin(), info.nodes.end(), s.first);
  nodes_ += count;
  state_.push_back(std::move(s));
  groups_.push_back(std::move(info));
  return g;
}

std::string CycleEngine::node_name(NodeId id) const {
  for (size_t g = 0; g < state_.size(); ++g) {
    if (id >= state_[g].first && id - state_[g].first < state_[g].count)
      return groups_[g].name + "." + std::to_string(id - state_[g].first);
  }
  return "node#" + std::to_string(id);
}

double CycleEngine::measured_seconds() const {
  return std::max(0.0, (config_.end - (SimTime::zero() + config_.warmup)).to_seconds());
}

// A hash of what the run did: every mark (each learned rumor, say), the turns and the
// traffic. Equal fingerprints mean the same run; golden tests pin it.
uint64_t CycleEngine::fingerprint(const RunStats& stats) const {
  uint64_t h = mix64(stats.events ^ mix64(traffic_.sent ^ mix64(traffic_.lost ^ traffic_.bytes)));
  for (const TimelineMark& m : marks_) {
    h = mix64(h ^ static_cast<uint64_t>(m.at.ns()));
    h = mix64(h ^ (uint64_t{m.node} << 32 | m.kind.id));
    h = mix64(h ^ static_cast<uint64_t>(m.a) ^ mix64(static_cast<uint64_t>(m.b)));
  }
  return h;
}

void CycleEngine::run_cycle(CycleWorldImpl& world, uint32_t g) {
  Group& s = state_[g];
  ++s.cycle;
  if (config_.order == CycleOrder::kFixed) {
    for (uint32_t i = 0; i < s.count; ++i)
      s.model->turn(world, i);
    return;
  }
  if (s.order.size() != s.count) {
    s.order.resize(s.count);
    std::iota(s.order.begin(), s.order.end(), 0u);
  }
  // Fisher-Yates with the group's stream: a uniform order, drawn anew each cycle.
  Rng& rng = world.rng();
  for (uint32_t i = s.count; i > 1; --i)
    std::swap(s.order[i - 1], s.order[rng.below(i)]);
  constexpr uint32_t kAhead = 16;  // turns ahead whose node's state is loaded early
  for (uint32_t k = 0; k < s.count; ++k) {
    if (k + kAhead < s.count) s.model->prefetch(s.order[k + kAhead]);
    s.model->turn(world, s.order[k]);
  }
}

RunStats CycleEngine::run(const Engine::Watcher& watcher) {
  RunStats stats;
  CycleWorldImpl world(*this);
  std::vector<Rng> rngs;
  for (uint32_t g = 0; g < state_.size(); ++g)
    rngs.emplace_back(config_.seed, stream_id("cycle-group", g));
  // The next thing due of each group: its own work, else its next cycle.
  auto next_of = [&](uint32_t g, bool* own) {
    const Group& s = state_[g];
    const SimTime cycle = SimTime::zero() + s.model->period() * (s.cycle + 1);
    const SimTime due = s.model->next_due();
    *own = due <= cycle;
    return std::min(due, cycle);
  };
  for (;;) {
    uint32_t best = 0;
    bool own = false;
    SimTime at = SimTime::max();
    for (uint32_t g = 0; g < state_.size(); ++g) {
      bool o = false;
      const SimTime t = next_of(g, &o);
      if (t < at) at = t, best = g, own = o;
    }
    if (at == SimTime::max() || at > config_.end) break;
    world.enter(state_[best], rngs[best], at);
    if (own) {
      state_[best].model->at(world);
      ++stats.events;
      continue;
    }
    run_cycle(world, best);
    stats.events += state_[best].count;
    stats.end_time = at;
    if (watcher) {
      EngineActivity a{EngineActivity::Phase::kRunning, 0, 0, at, stats.events};
      if (auto stop = watcher(a)) {
        stats.reason = *stop;
        break;
      }
    }
  }
  if (!aborted(stats.reason)) stats.end_time = config_.end;
  for (uint32_t g = 0; g < state_.size(); ++g) {
    world.enter(state_[g], rngs[g], stats.end_time);
    rows_.push_back(state_[g].model->finish(world));
  }
  stats.messages_delivered = traffic_.delivered;
  stats.fingerprint = fingerprint(stats);
  return stats;
}

}  // namespace dsim
