// primary_backup end to end, over many seeds: what each configuration promises about
// acknowledged writes, checked against the verdicts of sim/check.
//   - async failover loses exactly the acknowledged writes the promoted backup had not
//     received (the model's own record, read from the replicas, against the lost-write
//     verdict);
//   - sync replication with epoch fencing loses none, through crashes and restarts of
//     replicas and monitors, pauses and partitions of everything into random halves (at
//     most one replica crashed at a time, so an in-sync copy survives: state is in memory);
//   - without fencing, a partitioned primary's split brain is caught by the checkers.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "models/builtin.h"
#include "models/kv/check/staleness.h"
#include "models/primary_backup/replica.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

// The registry outlives the specs: they point at its model factories.
const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m;
    register_builtin_models(m);
    return m;
  }();
  return r;
}

std::optional<ScenarioSpec> load(const std::string& yaml) {
  Diagnostics diag;
  auto spec = load_scenario_text(yaml, "test.yaml", {}, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return spec;
}

double metric(const RunOutput& out, const std::string& group, const std::string& name) {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op.empty() && r.metric == name) return r.value;
  }
  FAIL("no metric " << group << "." << name);
  return NAN;
}

// Three replicas of one shard (replicas.0 the first primary), one monitor, appending
// clients reading back what they wrote at the end.
std::string async_crash(uint64_t seed) {
  return R"Y(
name: pb-async-exact
seed: )Y" +
         std::to_string(seed) +
         R"Y(
duration: 14s
network:
  latency: lognormal(median=0.5ms, p99=2ms)
groups:
  - name: replicas
    model: primary_backup
    count: 3
    params: {monitors: monitor, replication: async, batch_interval: 50ms, apply_delay: "uniform(0, 20ms)"}
  - name: monitor
    model: pb_monitor
    params: {replicas: replicas, heartbeat_interval: 100ms, failure_timeout: 600ms, round_timeout: 200ms}
  - name: clients
    model: kv_client
    count: 4
    params:
      target: replicas
      target_policy: sticky
      rate: 150/s
      mix: {append: 1}
      keys: uniform(3000)
      timeout: 200ms
      retry: exponential
      retry_base: 50ms
      max_attempts: 12
      stop: 11s
      read_back: true
      read_back_delay: 1s
consistency: {linearizability: false}
faults:
  - {at: 5s, crash: replicas.0}
)Y";
}

}  // namespace

TEST_CASE("pb async failover loses exactly the writes the primary had not replicated") {
  uint64_t lost_total = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    INFO("seed " << seed);
    auto spec = load(async_crash(seed));
    auto engine = build_engine(*spec);
    const GroupInfo* replicas = engine->find_group("replicas");
    REQUIRE(replicas);
    // The old primary's own record of what it acknowledged, just before it crashes.
    std::vector<pb::PrimaryBackup::Acked> acked_by_old;
    engine->at(SimTime::zero() + seconds(5) - nanoseconds(1), [&](Engine& e) {
      auto* p = dynamic_cast<pb::PrimaryBackup*>(e.model(replicas->nodes[0]));
      REQUIRE(p);
      REQUIRE(p->view(0)->role == pb::Role::kPrimary);
      acked_by_old = p->acknowledged(0);
    });
    engine->run();
    REQUIRE_FALSE(acked_by_old.empty());

    // The promoted backup's log: its entries from before the promotion are the epoch-1
    // prefix it held; every epoch-1 entry after that prefix never reached it.
    const pb::PrimaryBackup* promoted = nullptr;
    for (NodeId n : {replicas->nodes[1], replicas->nodes[2]}) {
      auto* p = dynamic_cast<pb::PrimaryBackup*>(engine->model(n));
      if (p && p->view(0)->role == pb::Role::kPrimary) promoted = p;
    }
    REQUIRE(promoted);
    const auto v = promoted->view(0);
    uint64_t held = v->received.index;
    for (const auto& es : v->history) {
      if (es.epoch != 1) {
        held = es.first - 1;
        break;
      }
    }
    std::set<int64_t> expected;  // acknowledged, not on the promoted backup
    for (const auto& a : acked_by_old) {
      REQUIRE(a.epoch == 1);
      if (a.index > held) expected.insert(a.write.value);
    }
    // Async with 50 ms batches and 600 appends a second: some writes are always in flight.
    CHECK_FALSE(expected.empty());

    // What the clients saw: acknowledged appends missing from the final read-back.
    REQUIRE(kv::kv_history(engine->metrics().history()));
    const kv::KvHistory& h = *kv::kv_history(engine->metrics().history());
    std::map<uint64_t, std::set<int64_t>> final_read;
    std::map<uint64_t, SimTime> final_at;
    for (const auto& op : h.ops()) {
      if (!op.final_read || !op.ok()) continue;
      if (final_at.count(op.key) && final_at[op.key] > op.invoke) continue;
      final_at[op.key] = op.invoke;
      const auto r = h.read_value(op);
      final_read[op.key] = std::set<int64_t>(r.begin(), r.end());
    }
    std::set<int64_t> missing;
    for (const auto& op : h.ops()) {
      if (op.kind != kv::KvOpKind::kAppend || !op.ok()) continue;
      REQUIRE(final_read.count(op.key));  // every written key was read back
      if (!final_read[op.key].count(op.value)) missing.insert(op.value);
    }
    CHECK(missing == expected);

    // And the lost-write verdict agrees.
    std::vector<uint32_t> node_group(engine->node_count());
    for (NodeId n = 0; n < node_group.size(); ++n)
      node_group[n] = engine->group_of(n);
    kv::check::StalenessConfig cfg;
    const auto st = kv::check::check_staleness(h, node_group, cfg);
    CHECK(st.total.unverified_writes == 0);
    CHECK(st.total.lost_writes == expected.size());
    lost_total += st.total.lost_writes;
  }
  CHECK(lost_total > 0);
}

namespace {

std::string sync_nemesis(uint64_t seed) {
  return R"Y(
name: pb-sync-fenced
seed: )Y" +
         std::to_string(seed) +
         R"Y(
duration: 30s
network:
  latency: lognormal(median=0.5ms, p99=2ms)
groups:
  - name: replicas
    model: primary_backup
    count: 3
    params:
      monitors: monitors
      replication: sync
      fencing: epoch
      min_in_sync: 1
      lag_timeout: 400ms
      ack_timeout: 300ms
  - name: monitors
    model: pb_monitor
    count: 3
    params: {replicas: replicas, heartbeat_interval: 100ms, failure_timeout: 500ms, round_timeout: 200ms}
  - name: clients
    model: kv_client
    count: 4
    params:
      target: replicas
      target_policy: sticky
      rate: 100/s
      mix: {get: 0.3, put: 0.3, append: 0.4}
      keys: uniform(2000)
      timeout: 250ms
      retry: exponential
      retry_base: 50ms
      retry_cap: 500ms
      max_attempts: 8
      stop: 20s
      read_back: true
      read_back_delay: 7s
      read_back_attempts: 20
consistency: {linearizability: false}
nemesis:
  - {crash: replicas.random, interval: "uniform(2s, 4s)", duration: "uniform(500ms, 2s)", start: 1s, stop: 24s}
  - {partition: {halves: all}, interval: "uniform(2s, 5s)", duration: "uniform(300ms, 3s)", start: 2s, stop: 24s}
  - {crash: monitors.random, interval: "uniform(2s, 6s)", duration: "uniform(500ms, 3s)", start: 2s, stop: 24s}
  - {pause: replicas.random, interval: "uniform(3s, 6s)", duration: "uniform(200ms, 1s)", start: 2s, stop: 24s}
)Y";
}

}  // namespace

TEST_CASE("pb sync replication with epoch fencing loses no acknowledged write") {
  double failovers = 0, acked = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    const RunOutput out = run_scenario(*load(sync_nemesis(seed)));
    CHECK(metric(out, "run", "lost_writes") == 0);  // NaN (unverified) fails too
    CHECK(metric(out, "run", "lost_writes_unverified") == 0);
    CHECK(metric(out, "replicas", "acked_writes_discarded") == 0);
    CHECK(metric(out, "run", "duplicate_appends") == 0);
    failovers += metric(out, "monitors", "failovers");
    acked += metric(out, "run", "acked_writes");
  }
  // The faults did bite: primaries were replaced while writes were acknowledged.
  CHECK(failovers >= 6);
  CHECK(acked > 12 * 3000);
}

namespace {

std::string split_brain(const std::string& fencing, const std::string& replication) {
  return R"Y(
name: pb-split
seed: 3
duration: 16s
network:
  latency: lognormal(median=0.5ms, p99=2ms)
groups:
  - name: replicas
    model: primary_backup
    count: 3
    params: {monitors: monitors, replication: )Y" +
         replication + ", fencing: " + fencing + R"Y(}
  - name: monitors
    model: pb_monitor
    count: 3
    params: {replicas: replicas, heartbeat_interval: 100ms, failure_timeout: 600ms, round_timeout: 200ms}
  - name: near
    model: kv_client
    count: 2
    params: &c
      target: replicas
      target_policy: sticky
      rate: 100/s
      mix: {get: 0.5, append: 0.5}
      keys: uniform(2000)
      timeout: 200ms
      retry: exponential
      retry_base: 50ms
      max_attempts: 10
      stop: 13s
      read_back: true
      read_back_delay: 1s
  - name: far
    model: kv_client
    count: 2
    params: *c
faults:
  - {at: 4s, partition: [[replicas.0, near], [replicas.1, replicas.2, monitors, far]], for: 5s}
)Y";
}

}  // namespace

TEST_CASE("pb split brain without fencing is caught by the checkers") {
  const RunOutput out = run_scenario(*load(split_brain("none", "async")));
  // Two primaries took writes; the old one's were thrown away when it rejoined.
  CHECK(metric(out, "monitors", "failovers") == 1);
  CHECK(metric(out, "run", "linearizable") == 0);
  CHECK(metric(out, "run", "stale_reads") > 0);
  CHECK(metric(out, "run", "read_your_writes_violations") > 0);
  const double lost = metric(out, "run", "lost_writes");
  CHECK(lost > 100);
  // Appends make every discarded acknowledged write visible in the read-back: the
  // verdict counts exactly what the old primary threw away.
  CHECK(metric(out, "replicas", "acked_writes_discarded") == lost);

  // The same partition with semi-synchronous replication and epoch fencing: the old
  // primary cannot gather an acknowledgement, and nothing acknowledged is lost.
  const RunOutput fenced = run_scenario(*load(split_brain("epoch", "semi_sync")));
  CHECK(metric(fenced, "monitors", "failovers") == 1);
  CHECK(metric(fenced, "run", "lost_writes") == 0);
  CHECK(metric(fenced, "replicas", "acked_writes_discarded") == 0);
  CHECK(metric(fenced, "replicas", "writes_discarded") > 0);  // unacknowledged, discarded
}
