// TC/C balance transfers end to end, over many seeds: through crashes and restarts of the
// coordinators and the shards, partitions, message loss and clock skew, money is neither
// created nor lost (the balances the shards wrote, plus what is reserved in flight, add up
// to the initial total), no balance goes negative, no transfer is confirmed on one side and
// cancelled on the other or applied twice, and once the faults and the load end every tried
// transfer is confirmed or cancelled.
#include <catch2/catch.hpp>

#include <string>

#include "support/scenarios.h"

using namespace dsim;
using dsim::testing::metric;

namespace {

std::string faulty_wallet(uint64_t seed) {
  return R"Y(
name: tcc-faults
description: TC/C transfers through crashes, partitions, loss and clock skew, then a calm end
seed: )Y" +
         std::to_string(seed) + R"Y(
duration: 40s
network: {latency: "lognormal(median=1ms, p99=10ms)", loss: 2%}
clock: {drift_ppm: "uniform(-100, 100)", offset: "uniform(-50ms, 50ms)"}
groups:
  - name: shards
    model: wallet_shard
    count: 4
    params: {initial_balance: 100}
  - name: coordinators
    model: tcc_coordinator
    count: 2
    params: {shards: shards, try_timeout: 200ms, resend: 100ms}
  - name: clients
    model: wallet_client
    count: 6
    params: {target: coordinators, rate: 40/s, stop: 25s, keys: "zipf(300, s=0.9)",
             amount: "uniform(1, 60)", timeout: 500ms, retry: fixed, retry_base: 50ms,
             max_attempts: 3}
faults:
  - {at: 2s, crash: coordinators.random, restart_after: 2s, every: 5s, until: 20s}
  - {at: 3s, crash: shards.random, restart_after: 1s, every: 4s, until: 20s}
  - {at: 4s, partition: {isolate: shards.random}, for: 1s, every: 6s, until: 20s}
  - {at: 5s, partition: {isolate: coordinators.random}, for: 1s, every: 7s, until: 20s}
)Y";
}

}  // namespace

TEST_CASE("tcc transfers under crashes partitions loss and skew: money conserved, none stuck") {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    INFO("seed " << seed);
    const auto out = testing::run_text(faulty_wallet(seed));
    CHECK(metric(out, "shards", "money_created") == 0);
    CHECK(metric(out, "shards", "negative_balances") == 0);
    CHECK(metric(out, "shards", "half_applied") == 0);
    // The faults ended at 21 s and the load at 25 s: by 40 s every transfer is finished.
    CHECK(metric(out, "shards", "in_flight_at_end") == 0);
    CHECK(metric(out, "shards", "transfers_tried") > 1000);
    CHECK(metric(out, "coordinators", "confirmed") > 500);
    CHECK(metric(out, "coordinators", "cancelled") > 0);
  }
}
