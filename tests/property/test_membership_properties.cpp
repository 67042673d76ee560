// gossip and swim end to end, over many seeds, under the faults each must survive:
//   - anti-entropy delivers every rumor to every node, through message loss, clock drift,
//     repeated partitions into random halves and pauses, once the network heals (push-pull
//     with digests: nothing is ever given up);
//   - SWIM without message loss never declares a member dead while it answers its pings,
//     whatever crashes and restarts the others go through; and every member that stays
//     down long enough is held dead by every live member; members that join and leave
//     reach every live member's view, and no leaver is declared dead.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/scenarios.h"

using namespace dsim;
using dsim::testing::csv_rows;
using dsim::testing::metric;

TEST_CASE("gossip anti-entropy: every rumor reaches every node after partitions, pauses and loss") {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    INFO("seed " << seed);
    const auto out = testing::run_text(R"Y(
name: gossip-heals
description: anti-entropy through partitions into random halves, pauses, loss and drift
seed: )Y" + std::to_string(seed) + R"Y(
duration: 60s
network: {latency: "lognormal(median=2ms, p99=20ms)", loss: 5%}
clock: {drift_ppm: "uniform(-100, 100)", offset: "uniform(-50ms, 50ms)"}
output: {links: false}
groups:
  - name: nodes
    model: gossip
    count: 40
    params: {protocol: anti_entropy, exchange: push_pull, content: digest, period: 200ms,
             rumors: 12, first_rumor: 500ms, rumor_every: 2s, rumor_rate: 0.5/s}
faults:
  - {at: 1s, partition: {halves: nodes}, for: 3s, every: 7s, until: 30s}
  - {at: 2s, pause: nodes.random, for: 2s, every: 5s, until: 30s}
)Y");
    // Every rumor started at least 10 s (50 rounds) before the end, during the faults or
    // after them, reached every node.
    size_t early = 0;
    for (const auto& row : csv_rows(testing::run_file(out, "rumors.csv"))) {
      if (std::stod(row.at(3)) >= 50) continue;
      ++early;
      INFO("rumor " << row.at(1) << " started at " << row.at(3) << " s");
      CHECK_FALSE(row.at(4).empty());  // time_to_all_ms
    }
    CHECK(early >= 12);
    CHECK(metric(out, "nodes", "rumors_reached_all") >= double(early));
  }
}

TEST_CASE(
    "swim without loss: no live member is declared dead and every long crash is seen by all") {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    for (const char* suspicion : {"true", "false"}) {
      INFO("seed " << seed << ", suspicion " << suspicion);
      const auto out = testing::run_text(R"Y(
name: swim-no-loss
description: members crash and restart while the others keep probing, no message lost
seed: )Y" + std::to_string(seed) + R"Y(
duration: 200s
network: {latency: "lognormal(median=1ms, p99=20ms)"}
clock: {drift_ppm: "uniform(-100, 100)"}
output: {links: false}
groups:
  - name: members
    model: swim
    count: 20
    params: {period: 500ms, ping_timeout: 150ms, indirect_probes: 2, suspicion: )Y" +
                                         std::string(suspicion) + R"Y(}
faults:
  - {at: 5s, crash: members.random, restart_after: 3s, every: 11s, until: 130s}
  - {at: 9s, crash: members.random, restart_after: 45s, every: 17s, until: 130s}
)Y");
      CHECK(metric(out, "members", "false_positives") == 0);
      CHECK(metric(out, "members", "crashes") >= 15);
      // A member down for 40 s or more is held dead by every live member before it returns
      // (suspicion timeout 4 x log10(20) x 0.5 s = 2.6 s, then a pass of 19 periods at most
      // for a member that restarted meanwhile and probes it itself).
      for (const auto& row : csv_rows(testing::run_file(out, "detections.csv"))) {
        if (row.at(6).empty()) continue;  // still down at the end
        const double down_s = std::stod(row.at(6)) - std::stod(row.at(2));
        if (down_s < 40) continue;
        INFO("member " << row.at(1) << " down " << down_s << " s");
        CHECK_FALSE(row.at(5).empty());  // all_dead_ms
      }
    }
  }
}

TEST_CASE(
    "swim without loss: every join and every leave reaches every live member and no "
    "leaver is declared dead") {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    INFO("seed " << seed);
    const auto out = testing::run_text(R"Y(
name: swim-joins-leaves
description: members join, leave and come back while others crash and restart, no loss
seed: )Y" + std::to_string(seed) + R"Y(
duration: 200s
network: {latency: "lognormal(median=1ms, p99=20ms)"}
clock: {drift_ppm: "uniform(-100, 100)"}
output: {links: false}
groups:
  - name: members
    model: swim
    count: 30
    joining: 10
    params: {period: 500ms, ping_timeout: 150ms, indirect_probes: 2, leave_linger: 1s}
faults:
  - {at: 5s, join: members.random, every: 7s, until: 80s}
  - {at: 20s, leave: members.random, for: 15s, every: 9s, until: 150s}
  - {at: 12s, crash: members.random, restart_after: 20s, every: 23s, until: 150s}
)Y");
    CHECK(metric(out, "members", "false_positives") == 0);
    CHECK(metric(out, "members", "joins") >= 20);
    CHECK(metric(out, "members", "leaves") >= 14);
    CHECK(metric(out, "members", "leaves_declared_dead") == 0);
    // Every join and leave reached every live member, unless the member changed again first
    // (a join picked a member that had just left, or a leave one that had just joined).
    const auto rows = csv_rows(testing::run_file(out, "members.csv"));
    size_t known = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!rows[i].at(4).empty()) {
        ++known;
        continue;
      }
      INFO(rows[i].at(1) << " " << rows[i].at(2) << " at " << rows[i].at(3) << " s");
      bool superseded = false;
      for (size_t j = i + 1; j < rows.size(); ++j)
        superseded = superseded || rows[j].at(1) == rows[i].at(1);
      CHECK(superseded);
    }
    CHECK(known >= rows.size() - 4);
  }
}
