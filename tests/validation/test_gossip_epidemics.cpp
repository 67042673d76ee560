// The gossip model against the epidemics theory it implements:
//   - push anti-entropy in lockstep rounds ("infect forever") reaches all n nodes in
//     log2 n + ln n + O(1) rounds (Pittel, "On spreading a rumor", SIAM J. Appl. Math.
//     1987). dsim's rounds-to-all over 120 rumors are compared with an independent Monte
//     Carlo of the synchronous push process (same n): the two means must agree within 5
//     standard errors of the two samples, and both must sit within 2 rounds of
//     log2 n + ln n (the O(1) term);
//   - push rumor mongering with feedback and coin (a node loses interest with probability
//     1/k each time it contacts a node that already knew) leaves a residue s, the share of
//     nodes never informed, that solves s = exp(-(k + 1)(1 - s)) (Demers et al., "Epidemic
//     Algorithms for Replicated Database Maintenance", PODC 1987, section 1.4: the fixed
//     point of their differential equations). With random phases the rounds are
//     asynchronous, as the equations assume; over 40 rumors at n = 2000 the mean residue
//     must be within 5 standard errors (from the rumors' own spread) of the fixed point.
//     The cycle engine (engine: cycles) must leave the same residue: the fixed point
//     depends on the ratio of contacts, not on how the rounds are timed;
//   - push-pull anti-entropy on the cycle engine, whose turns see what earlier turns of the
//     same cycle learned, has no closed form: its cycles-to-all over 60 rumors at
//     n = 1024 are compared with an independent Monte Carlo of that sequential process,
//     in a random order and in index order (PeerSim's shuffle and default), within 5
//     standard errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/scenarios.h"

using namespace dsim;

namespace {

// The values of column `name` of a CSV text (comment lines start with '#'); empty cells
// are skipped.
std::vector<double> column(const std::string& csv, const std::string& name) {
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> header;
  std::vector<double> out;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');)
      cells.push_back(cell);
    if (line.back() == ',') cells.emplace_back();
    if (header.empty()) {
      header = cells;
      continue;
    }
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i)
      if (header[i] == name && !cells[i].empty()) out.push_back(std::stod(cells[i]));
  }
  return out;
}

struct Stats {
  double mean = 0, var = 0;
  size_t n = 0;
};

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  s.n = v.size();
  for (double x : v)
    s.mean += x;
  s.mean /= static_cast<double>(s.n);
  for (double x : v)
    s.var += (x - s.mean) * (x - s.mean);
  s.var /= static_cast<double>(s.n - 1);
  return s;
}

// Synchronous push: each round every informed node tells one uniformly random other node;
// the rounds until all n know.
int push_rounds(uint32_t n, std::mt19937_64& g) {
  std::vector<uint8_t> knows(n, 0);
  knows[0] = 1;
  std::vector<uint32_t> informed{0};
  int rounds = 0;
  while (informed.size() < n) {
    ++rounds;
    const size_t callers = informed.size();
    for (size_t i = 0; i < callers; ++i) {
      uint32_t to = static_cast<uint32_t>(g() % (n - 1));
      if (to >= informed[i]) ++to;
      if (!knows[to]) knows[to] = 1, informed.push_back(to);
    }
  }
  return rounds;
}

// PeerSim's cycle-driven push-pull: each cycle every node in turn (a fresh random order, or
// index order) calls one uniformly random other node and both end up knowing what either
// knew. The rumor starts on node `origin`; the cycles until all n know.
int sequential_push_pull_cycles(uint32_t n, uint32_t origin, bool shuffled, std::mt19937_64& g) {
  std::vector<uint8_t> knows(n, 0);
  knows[origin] = 1;
  uint32_t informed = 1;
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i)
    order[i] = i;
  int cycles = 0;
  while (informed < n) {
    ++cycles;
    if (shuffled) std::shuffle(order.begin(), order.end(), g);
    for (const uint32_t x : order) {
      uint32_t y = static_cast<uint32_t>(g() % (n - 1));
      if (y >= x) ++y;
      if (knows[x] == knows[y]) continue;
      knows[x] = knows[y] = 1;
      ++informed;
    }
  }
  return cycles;
}

}  // namespace

TEST_CASE("gossip push anti-entropy reaches all n nodes in log2 n + ln n + O(1) lockstep rounds") {
  constexpr uint32_t n = 1024;
  constexpr int rumors = 120;
  const auto out = testing::run_text(R"(
name: pittel
description: push anti-entropy in lockstep rounds, one rumor every 30 rounds
seed: 11
duration: 3601s
network: {latency: 5ms}
output: {links: false}
groups:
  - name: nodes
    model: gossip
    count: 1024
    params: {protocol: anti_entropy, exchange: push, period: 1s, phase: aligned,
             rumors: 120, first_rumor: 1.5s, rumor_every: 30s}
)");
  // A rumor starting at 1.5 s is first pushed at 2 s (round 1); the last node hears it
  // 5 ms after the round that reached it: rounds = ceil((t_all - t_start) / period).
  std::vector<double> dsim_rounds;
  for (double p : column(testing::run_file(out, "rumors.csv"), "periods_to_all"))
    dsim_rounds.push_back(std::ceil(p));
  REQUIRE(dsim_rounds.size() == rumors);

  std::mt19937_64 g(20261203);
  std::vector<double> mc;
  for (int i = 0; i < 4000; ++i)
    mc.push_back(push_rounds(n, g));
  const Stats d = stats_of(dsim_rounds), m = stats_of(mc);
  const double se = std::sqrt(d.var / double(d.n) + m.var / double(m.n));
  const double pittel = std::log2(double(n)) + std::log(double(n));
  INFO("dsim " << d.mean << " (sd " << std::sqrt(d.var) << "), Monte Carlo " << m.mean << " (sd "
               << std::sqrt(m.var) << "), log2 n + ln n = " << pittel);
  CHECK(std::abs(d.mean - m.mean) < 5 * se);
  CHECK(std::abs(d.mean - pittel) < 2);
  CHECK(std::abs(m.mean - pittel) < 2);
}

TEST_CASE(
    "gossip rumor mongering (push with feedback and coin) leaves Demers' residue "
    "exp(-(k+1)(1-s))") {
  for (const char* engine : {"events", "cycles"})
    for (int k : {1, 2, 3}) {
      const bool cycles = std::string(engine) == "cycles";
      const auto out = testing::run_text(R"(
name: demers
description: push rumor mongering with feedback and coin, random phases
seed: )" + std::to_string(100 + k) + R"(
duration: 1600s
engine: )" + std::string(engine) + (cycles ? "" : "\nnetwork: {latency: 5ms}") +
                                         R"(
output: {links: false}
groups:
  - name: nodes
    model: gossip
    count: 2000
    params: {protocol: rumor, exchange: push, stop: feedback, loss: coin, k: )" +
                                         std::to_string(k) + R"(, period: 1s,
             rumors: 40, first_rumor: 1.5s, rumor_every: 40s}
)");
      const std::vector<double> residue = column(testing::run_file(out, "rumors.csv"), "residue");
      REQUIRE(residue.size() == 40);  // every rumor died out within its 40 s
      double s = 0.5;
      for (int i = 0; i < 200; ++i)
        s = std::exp(-(k + 1) * (1 - s));
      const Stats st = stats_of(residue);
      const double se = std::sqrt(st.var / double(st.n));
      INFO(engine << ", k = " << k << ": residue " << st.mean << " (se " << se << "), fixed point "
                  << s);
      CHECK(std::abs(st.mean - s) < 5 * se);
    }
}

TEST_CASE("gossip push-pull on the cycle engine matches a Monte Carlo of the sequential process") {
  for (const bool shuffled : {true, false}) {
    const auto out = testing::run_text(std::string(R"(
name: sequential-push-pull
description: push-pull anti-entropy on the cycle engine
seed: 5
duration: 1200s
engine: cycles
output: {links: false}
groups:
  - name: nodes
    model: gossip
    count: 1024
    params: {protocol: anti_entropy, exchange: push_pull, period: 1s, rumors: 60,
             first_rumor: 0.5s, rumor_every: 20s}
cycles: {order: )") + (shuffled ? "random" : "fixed") +
                                       "}\n");
    // A rumor starts half a cycle before the next: it reached all after periods + 0.5 cycles.
    std::vector<double> dsim_cycles =
        column(testing::run_file(out, "rumors.csv"), "periods_to_all");
    REQUIRE(dsim_cycles.size() == 60);
    for (double& c : dsim_cycles)
      c += 0.5;
    std::mt19937_64 g(11);
    std::vector<double> mc;
    for (int t = 0; t < 2000; ++t)
      mc.push_back(sequential_push_pull_cycles(1024, uint32_t(t % 60), shuffled, g));
    const Stats a = stats_of(dsim_cycles), b = stats_of(mc);
    const double se = std::sqrt(a.var / double(a.n) + b.var / double(b.n));
    INFO((shuffled ? "random" : "fixed")
         << " order: dsim " << a.mean << " (sd " << std::sqrt(a.var) << "), Monte Carlo " << b.mean
         << " (sd " << std::sqrt(b.var) << ")");
    CHECK(std::abs(a.mean - b.mean) < 5 * se);
  }
}
