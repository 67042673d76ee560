// Atomic commitment end to end, over many seeds:
//   - in a failure-free run, every transaction costs exactly the messages and forced writes
//     its protocol prescribes, derived here from its keys (which shards it touched, which of
//     them it wrote on) and compared with what the nodes counted: with N shards touched and
//     W of them written, the execution takes N messages each way; 2PC N prepares, N votes,
//     W decisions and, unless commits are presumed, W acks, its forced writes being W
//     prepare records plus W commit records and the coordinator's commit record (presumed
//     abort or nothing), or the coordinator's collecting and commit records (presumed
//     commit); Paxos Commit with 3 acceptors N prepares, 3N phase 2a, 3N phase 2b and W
//     decisions, forcing W prepare records and 3N acceptor records; and the decision reaches
//     the shards 3 message delays after the prepares (2PC), 4 (Paxos Commit);
//   - 2PC (every variant, with and without cooperative termination, and with its log in a
//     Raft group whose nodes crash), and Paxos Commit (with crashing acceptors too) never
//     decide a transaction both ways and keep the committed
//     history serializable, through crashes and restarts of coordinators and shards,
//     partitions, message loss and clock skew; and once the faults end and every node is
//     up, no shard is left in doubt;
//   - 3PC decides both ways under partitions in some of the seeds, as the theory says.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "models/kit/hash_slots.h"
#include "support/scenarios.h"

using namespace dsim;
using dsim::testing::counted;
using dsim::testing::metric;

namespace {

struct Cost {
  double coordinator_messages = 0, shard_messages = 0;
  double coordinator_forced = 0, shard_forced = 0;
  double execution_messages = 0;  // each way
  double acceptor_messages = 0, acceptor_forced = 0;
  size_t txns = 0;
};

// What each committed transaction of txn_history.csv costs under `presumption`, from the
// shards its keys hash to (4 shards) and which of them it writes on.
Cost derive(const RunOutput& out, const std::string& presumption) {
  std::vector<std::string> header;
  const auto rows = testing::csv_rows(testing::run_file(out, "txn_history.csv"), &header);
  const auto col = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    REQUIRE(it != header.end());
    return static_cast<size_t>(it - header.begin());
  };
  const size_t outcome = col("outcome"), ops = col("ops");
  Cost c;
  for (const auto& row : rows) {
    REQUIRE(row.at(outcome) == "ok");  // failure-free and uncontended: everything commits
    std::set<uint32_t> touched, written;
    std::istringstream in(row.at(ops));
    for (std::string op; in >> op;) {
      const bool write = op[0] == 'w';
      const uint64_t key = std::stoull(op.substr(1, op.find('=') - 1));
      const uint32_t shard = kit::slot_shard(kit::hash_slot(key), 4);
      touched.insert(shard);
      if (write) written.insert(shard);
    }
    const auto n = static_cast<double>(touched.size());
    const auto w = static_cast<double>(written.size());
    c.execution_messages += n;        // an execute to each shard, and its answer
    c.coordinator_messages += n + w;  // prepares, then decisions to the shards that wrote
    ++c.txns;
    if (presumption == "paxos") {
      // Every shard proposes to the 3 acceptors, each of which answers the leader; the
      // shards that wrote force their prepare records, the acceptors what they accepted.
      c.shard_messages += 3 * n;
      c.acceptor_messages += 3 * n;
      c.shard_forced += w;
      c.acceptor_forced += 3 * n;
      continue;
    }
    const bool acks = presumption != "commit";
    c.shard_messages += n + (acks ? w : 0);  // votes, and acks of commits
    c.coordinator_forced += (w > 0 ? 1 : 0) + (presumption == "commit" ? 1 : 0);
    c.shard_forced += (acks ? 2 : 1) * w;  // prepare records, and forced commit records
  }
  return c;
}

}  // namespace

TEST_CASE("txn 2PC and Paxos Commit failure-free: messages and forced writes as derived") {
  for (const std::string presumption : {"nothing", "abort", "commit", "paxos"}) {
    INFO("variant " << presumption);
    const std::string params =
        presumption == "paxos"
            ? "{participants: shards, protocol: paxos_commit, acceptors: acceptors, faults: 1}"
            : "{participants: shards, presumption: " + presumption + "}";
    const auto out = testing::run_text(R"Y(
name: txn-counts
description: failure-free commitment, uncontended, every transaction committed
seed: 4
duration: 6s
network: {latency: "lognormal(median=0.5ms, p99=2ms)"}
groups:
  - {name: shards, model: txn_participant, count: 4}
  - {name: acceptors, model: txn_acceptor, count: 3}
  - name: coordinator
    model: txn_coordinator
    count: 1
    params: )Y" + params + R"Y(
  - name: clients
    model: txn_client
    count: 4
    params: {target: coordinator, rate: 20/s, stop: 4s, keys: uniform(1000000), ops: 5,
             write_share: 40%, read_only: 20%}
)Y");
    const Cost c = derive(out, presumption);
    CHECK(c.txns > 200);
    CHECK(metric(out, "coordinator", "committed") == double(c.txns));
    CHECK(metric(out, "coordinator", "messages") == c.coordinator_messages);
    CHECK(metric(out, "shards", "messages") == c.shard_messages);
    CHECK(metric(out, "coordinator", "execution_messages") == c.execution_messages);
    CHECK(metric(out, "shards", "execution_messages") == c.execution_messages);
    CHECK(counted(out, "coordinator", "forced_writes") == c.coordinator_forced);
    CHECK(metric(out, "shards", "forced_writes") == c.shard_forced);
    // Message delays from the prepare to the decision's arrival: prepare, vote, decision;
    // Paxos Commit's prepare, phase 2a, phase 2b, decision (Gray and Lamport count one more
    // each, the request that begins the commit).
    const double delays = presumption == "paxos" ? 4 : 3;
    CHECK(metric(out, "shards", "message_delays_mean") == delays);
    CHECK(metric(out, "shards", "message_delays_max") == delays);
    if (presumption != "paxos") continue;
    CHECK(metric(out, "acceptors", "messages") == c.acceptor_messages);
    CHECK(metric(out, "acceptors", "forced_writes") == c.acceptor_forced);
  }
}

TEST_CASE("txn commit under crashes partitions loss and skew: atomic serializable never stuck") {
  // DSIM_TXN_SEEDS: how many seeds (25; the sanitizer build runs fewer).
  const char* seeds_env = std::getenv("DSIM_TXN_SEEDS");
  const uint64_t seeds = seeds_env ? std::strtoull(seeds_env, nullptr, 10) : 25;
  REQUIRE(seeds > 0);
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    for (const char* variant :
         {"presumption: abort", "presumption: commit, cooperative_termination: true",
          "presumption: nothing, cooperative_termination: true",
          "protocol: paxos_commit, acceptors: acceptors, faults: 1", "log: txn_log"}) {
      INFO("seed " << seed << ", " << variant);
      const auto out = testing::run_text(R"Y(
name: txn-faults
description: 2PC through crashes, partitions, loss and clock skew, then a calm end
seed: )Y" + std::to_string(seed) + R"Y(
duration: 40s
network: {latency: "lognormal(median=1ms, p99=10ms)", loss: 2%}
clock: {drift_ppm: "uniform(-100, 100)", offset: "uniform(-50ms, 50ms)"}
groups:
  - name: shards
    model: txn_participant
    count: 4
    params: {deadlock: wound_wait, lock_timeout: 50ms, decision_timeout: 200ms}
  - {name: acceptors, model: txn_acceptor, count: 3}
  - name: txn_log
    model: raft
    count: 3
    params: {election_timeout: "uniform(150ms, 300ms)", heartbeat: 50ms}
  - name: coordinators
    model: txn_coordinator
    count: 2
    params: {participants: shards, )Y" + variant +
                                         R"Y(}
  - name: clients
    model: txn_client
    count: 6
    params: {target: coordinators, rate: 40/s, stop: 25s, keys: "zipf(200, s=0.9)", ops: 3,
             timeout: 500ms, retry: fixed, retry_base: 50ms, max_attempts: 3}
faults:
  - {at: 2s, crash: coordinators.random, restart_after: 2s, every: 5s, until: 20s}
  - {at: 3s, crash: shards.random, restart_after: 1s, every: 4s, until: 20s}
  - {at: 3500ms, crash: acceptors.random, restart_after: 1s, every: 6s, until: 20s}
  - {at: 4500ms, crash: txn_log.random, restart_after: 1s, every: 6s, until: 20s}
  - {at: 4s, partition: {isolate: shards.random}, for: 1s, every: 6s, until: 20s}
  - {at: 5s, partition: {isolate: coordinators.random}, for: 1s, every: 7s, until: 20s}
)Y");
      CHECK(metric(out, "shards", "atomicity_violations") == 0);
      CHECK(metric(out, "clients", "serializable") == 1);
      CHECK(metric(out, "coordinators", "committed") > 100);
      // The faults ended at 21 s and the load at 25 s: by 40 s every doubt is resolved.
      CHECK(metric(out, "shards", "blocked_at_end") == 0);
    }
  }
}

TEST_CASE("txn 3PC under partitions: some seeds decide both ways") {
  int violated = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    const auto out = testing::run_text(R"Y(
name: txn-3pc-partitions
description: 3PC through partitions that cut two shards off the coordinator
seed: )Y" + std::to_string(seed) + R"Y(
duration: 20s
network: {latency: "lognormal(median=1ms, p99=5ms)"}
groups:
  - name: shards
    model: txn_participant
    count: 4
    params: {lock_timeout: 50ms, decision_timeout: 200ms}
  - name: coordinator
    model: txn_coordinator
    count: 1
    params: {participants: shards, protocol: 3pc}
  - name: clients
    model: txn_client
    count: 4
    params: {target: coordinator, rate: 100/s, keys: uniform(100000), ops: 4, timeout: 2s}
faults:
  - {at: 2s, partition: [[coordinator.0, clients, shards.0, shards.1], [shards.2, shards.3]],
     for: 1s, every: 3s, until: 17s}
)Y");
    violated += metric(out, "shards", "atomicity_violations") > 0 ? 1 : 0;
  }
  CHECK(violated > 0);
}
