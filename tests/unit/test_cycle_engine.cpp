// The cycle engine (engine: cycles): when cycles and a group's own work fall, the order of
// the turns, the network's loss, and that a run repeats to the byte.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "sim/core/cycle_engine.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

// Records what the engine asks of it: each turn (cycle time, node) and each piece of its
// own work, due at the times it is given.
class LogGroup final : public CycleGroup {
 public:
  LogGroup(Duration period, std::vector<SimTime> due) : period_(period), due_(std::move(due)) {}
  Duration period() const override { return period_; }
  SimTime next_due() const override { return due_.empty() ? SimTime::max() : due_.front(); }
  void at(CycleWorld& w) override {
    work.push_back(w.now());
    due_.erase(due_.begin());
  }
  void turn(CycleWorld& w, uint32_t node) override {
    turns.push_back({w.now(), node});
    if (send_each_turn) lost += w.send(10) ? 1 : 0;
  }
  std::vector<std::pair<std::string, double>> finish(CycleWorld& w) override {
    finished_at = w.now();
    return {{"turns", double(turns.size())}};
  }

  struct Turn {
    SimTime at;
    uint32_t node;
  };
  std::vector<Turn> turns;
  std::vector<SimTime> work;
  SimTime finished_at;
  bool send_each_turn = false;
  int lost = 0;

 private:
  Duration period_;
  std::vector<SimTime> due_;
};

SimTime at_s(double s) {
  return SimTime::zero() + Duration::from_ns(int64_t(s * 1e9));
}

}  // namespace

TEST_CASE("cycle engine: cycles fall at multiples of the period up to the end and own work first") {
  CycleEngineConfig cfg;
  cfg.end = at_s(3);
  cfg.order = CycleOrder::kFixed;
  CycleEngine e(cfg);
  auto g = std::make_unique<LogGroup>(seconds(1), std::vector<SimTime>{at_s(0.5), at_s(2)});
  LogGroup* log = g.get();
  e.add_group("nodes", 3, std::move(g));
  const RunStats stats = e.run({});
  // Cycles at 1, 2 and 3 s (the end is inclusive), each node once, in index order.
  REQUIRE(log->turns.size() == 9);
  for (size_t i = 0; i < 9; ++i) {
    CHECK(log->turns[i].at == at_s(double(i / 3 + 1)));
    CHECK(log->turns[i].node == i % 3);
  }
  // The work due at 2 s runs before the cycle of 2 s.
  CHECK(log->work == std::vector<SimTime>{at_s(0.5), at_s(2)});
  CHECK(stats.events == 9 + 2);
  CHECK(stats.end_time == at_s(3));
  CHECK(log->finished_at == at_s(3));
  CHECK(e.rows()[0][0].second == 9);
  CHECK(e.node_name(2) == "nodes.2");
}

TEST_CASE("cycle engine: a random order is a new permutation each cycle") {
  CycleEngineConfig cfg;
  cfg.end = at_s(20);
  CycleEngine e(cfg);
  auto g = std::make_unique<LogGroup>(seconds(1), std::vector<SimTime>{});
  LogGroup* log = g.get();
  e.add_group("nodes", 50, std::move(g));
  e.run({});
  REQUIRE(log->turns.size() == 20 * 50);
  std::vector<std::vector<uint32_t>> orders(20);
  for (size_t i = 0; i < log->turns.size(); ++i)
    orders[i / 50].push_back(log->turns[i].node);
  std::vector<uint32_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0u);
  int differ = 0;
  for (size_t c = 0; c < orders.size(); ++c) {
    std::vector<uint32_t> sorted = orders[c];
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == identity);  // every node exactly once
    CHECK(orders[c] != identity);
    if (c > 0 && orders[c] != orders[c - 1]) ++differ;
  }
  CHECK(differ == 19);
}

TEST_CASE("cycle engine: the network loses messages at its loss rate") {
  CycleEngineConfig cfg;
  cfg.end = at_s(100);
  cfg.loss = 0.2;
  CycleEngine e(cfg);
  auto g = std::make_unique<LogGroup>(seconds(1), std::vector<SimTime>{});
  g->send_each_turn = true;
  LogGroup* log = g.get();
  e.add_group("nodes", 100, std::move(g));
  e.run({});
  const double n = 10000, p = 0.2;
  CHECK(e.traffic().sent == 10000);
  CHECK(e.traffic().lost == uint64_t(log->lost));
  CHECK(e.traffic().delivered + e.traffic().lost == 10000);
  // Binomial(10000, 0.2): within 5 standard deviations (40).
  CHECK(std::abs(double(log->lost) - n * p) < 5 * std::sqrt(n * p * (1 - p)));
}

TEST_CASE("engine cycles: a run repeats to the byte and the order changes it") {
  const std::string text = R"(
name: cycles
description: push-pull anti-entropy on the cycle engine
seed: 3
duration: 20.5s
engine: cycles
network: {loss: 0.05}
groups:
  - name: nodes
    model: gossip
    count: 500
    params: {protocol: anti_entropy, exchange: push_pull, rumors: 3, first_rumor: 0.5s,
             rumor_every: 5s}
)";
  const auto a = testing::run_text(text);
  const auto b = testing::run_text(text);
  CHECK(a.stats.fingerprint == b.stats.fingerprint);
  CHECK(testing::run_file(a, "spread.csv") == testing::run_file(b, "spread.csv"));
  CHECK(testing::run_file(a, "summary.csv") == testing::run_file(b, "summary.csv"));
  const auto fixed = testing::run_text(text + "cycles: {order: fixed}\n");
  CHECK(fixed.stats.fingerprint != a.stats.fingerprint);
  std::string reseeded = text;
  reseeded.replace(reseeded.find("seed: 3"), 7, "seed: 4");
  const auto seeded = testing::run_text(reseeded);
  CHECK(seeded.stats.fingerprint != a.stats.fingerprint);
}
