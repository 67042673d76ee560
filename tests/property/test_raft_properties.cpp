// Raft under random faults, seed after seed: a cluster of random size and options, a
// key-value workload, and a nemesis of partitions (halves, isolated leaders, bridges,
// one-way cuts), crashes (random servers and leaders), pauses, message loss and
// duplication, and clock steps and drift. While the faults run, the cluster invariants of
// Raft Figure 3 are checked every few milliseconds (tests/support/raft_cluster.h) and every
// server's own invariants after every handler; the client history must be linearizable.
// Then everything is healed and, by the end of the run, there must be one leader and every
// live log must be the same, committed and applied.
//
// Seeds: DSIM_RAFT_SEEDS (default 200) starting at DSIM_RAFT_FIRST_SEED (default 1). The long
// run of docs/models/raft.md: DSIM_RAFT_SEEDS=100000 ./build/tests/property_tests "[raft]"
// With DSIM_RAFT_DUMP=<dir>, each failing seed's scenario is written there, to be run with
// `dsim run` (and --check-invariants) on its own.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "models/builtin.h"
#include "models/kv/check/linearizability.h"
#include "sim/run/runner.h"
#include "support/raft_cluster.h"

using namespace dsim;

namespace {

uint64_t env_or(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : def;
}

struct Setup {
  std::string yaml;
  std::string summary;  // for failure messages
};

// A random scenario for `seed`: cluster size and options, network and faults.
Setup make_setup(uint64_t seed) {
  Rng rng(seed, stream_id("raft_property"));
  auto pick = [&](uint32_t n) { return rng.below(n); };
  auto coin = [&]() { return pick(2) == 1; };
  const uint32_t sizes[] = {1, 2, 3, 3, 3, 4, 5, 5, 5, 7};
  const uint32_t n = sizes[pick(10)];
  const char* modes[] = {"log", "read_index", "lease"};
  const std::string mode = modes[pick(3)];
  const bool check_quorum = mode == "lease" || coin();
  const bool pre_vote = coin();
  const bool pipeline = coin();
  const int snapshot = pick(3) == 0 ? 0 : 20 + static_cast<int>(pick(60));
  const std::string batch = coin() ? "0s" : "2ms";
  std::ostringstream y;
  // The run ends 28.5 s after the heal: the slowest configuration drawn (no pipelining,
  // one entry per AppendEntries) catches a follower up by one entry per round trip and
  // fsync, about 7 ms here, and a follower may be missing most of a ~2,500-entry log.
  y << "name: raft-property\nseed: " << seed << "\nduration: 40s\n";
  y << "network:\n  latency: lognormal(median=1ms, p99=6ms)\n";
  y << "  loss: " << (pick(3) == 0 ? "0" : "1%") << "\n";
  y << "  duplicate: " << (coin() ? "0" : "1%") << "\n";
  y << "  reorder: " << (coin() ? "0" : "2%") << "\n";
  y << "clock:\n  offset: uniform(-200ms, 200ms)\n  drift_ppm: uniform(-100, 100)\n";
  y << "groups:\n";
  y << "  - name: replicas\n    model: raft\n    count: " << n << "\n";
  y << "    disk: {fsync: \"uniform(0.2ms, 3ms)\"}\n";
  y << "    params: {election_timeout: \"uniform(100ms, 200ms)\", heartbeat: 30ms, read_mode: "
    << mode << ", check_quorum: " << (check_quorum ? "true" : "false")
    << ", pre_vote: " << (pre_vote ? "true" : "false")
    << ", pipeline: " << (pipeline ? "true" : "false") << ", max_inflight: " << 1 + pick(8)
    << ", max_batch_entries: " << 1 + pick(16) << ", snapshot_threshold: " << snapshot
    << ", snapshot_keep: " << (snapshot ? pick(10) : 0) << ", snapshot_chunk: 512B"
    << ", batch_delay: " << batch << "}\n";
  y << "  - name: clients\n    model: kv_client\n    count: 3\n";
  y << "    params: {target: replicas, rate: 25/s, stop: 12s, timeout: 300ms, retry: fixed, "
       "retry_base: 100ms, max_attempts: 4, target_policy: sticky, keys: uniform(12), "
       "mix: {get: 0.4, put: 0.3, cas: 0.15, append: 0.15}}\n";
  y << "nemesis:\n";
  const std::string stop = "stop: 9s";
  y << "  - {partition: {halves: replicas}, interval: exponential(mean=2s), duration: "
       "\"uniform(0.2s, 2s)\", "
    << stop << "}\n";
  y << "  - {partition: {isolate: replicas.leader}, interval: exponential(mean=3s), "
       "duration: \"uniform(0.2s, 2s)\", "
    << stop << "}\n";
  y << "  - {crash: replicas.random, interval: exponential(mean=2s), duration: \"uniform(0.1s, "
       "2s)\", "
    << stop << "}\n";
  y << "  - {crash: replicas.leader, interval: exponential(mean=3s), duration: "
       "\"uniform(0.1s, 1s)\", "
    << stop << "}\n";
  y << "  - {pause: replicas.random, interval: exponential(mean=3s), duration: \"uniform(0.05s, "
       "1s)\", "
    << stop << "}\n";
  y << "  - {degrade: replicas.random, loss: 30%, duplicate: 10%, interval: "
       "exponential(mean=3s), duration: 1s, "
    << stop << "}\n";
  y << "  - {clock: replicas.random, step: \"uniform(-1s, 1s)\", interval: exponential(mean=3s), "
       "duration: 1s, "
    << stop << "}\n";
  if (n >= 3) {
    y << "  - {partition: {bridge: replicas}, interval: exponential(mean=4s), duration: 1s, "
      << stop << "}\n";
    y << "  - {partition: {from: replicas.leader, to: rest}, interval: exponential(mean=4s), "
         "duration: 1s, "
      << stop << "}\n";
  }
  // Heal everything: partitions end, crashed servers restart, paused ones resume.
  y << "faults:\n  - {at: 11.5s, heal: all}\n  - {at: 11.5s, restart: replicas}\n"
       "  - {at: 11.5s, resume: replicas}\n";
  Setup s;
  s.yaml = y.str();
  s.summary = "seed " + std::to_string(seed) + ": " + std::to_string(n) + " servers, read_mode " +
              mode + (check_quorum ? ", check_quorum" : "") + (pre_vote ? ", pre_vote" : "") +
              (pipeline ? ", pipeline" : "") + ", snapshot_threshold " + std::to_string(snapshot);
  return s;
}

}  // namespace

TEST_CASE("raft: safety under random faults, then liveness after healing", "[raft]") {
  ModelRegistry registry;
  register_builtin_models(registry);
  const uint64_t seeds = env_or("DSIM_RAFT_SEEDS", 200);
  const uint64_t first = env_or("DSIM_RAFT_FIRST_SEED", 1);
  uint64_t failed = 0, leaders = 0, committed = 0, checks = 0;
  std::string failures;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    const Setup setup = make_setup(seed);
    Diagnostics diag;
    auto spec = load_scenario_text(setup.yaml, "raft-property.yaml", {}, registry, diag);
    INFO(diag.render());
    REQUIRE(spec);
    auto engine = build_engine(*spec, /*check_invariants=*/true);
    testing::RaftClusterChecker checker(*engine, "replicas");
    std::string error;
    for (int t = 10; t < 40000; t += 10) {
      engine->at(SimTime::zero() + ms(t), [&checker](Engine&) { checker.check(); });
    }
    try {
      engine->run();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) checker.check_converged();
    kv::check::LinearizabilityConfig lin;
    lin.minimize = false;
    const auto verdict =
        kv::check::check_linearizability(*kv::kv_history(engine->metrics().history()), lin);
    const bool ok = error.empty() && checker.violations().empty() &&
                    verdict.verdict != kv::check::Verdict::kViolation;
    if (!ok) {
      ++failed;
      std::string why = error;
      for (const auto& v : checker.violations())
        why += (why.empty() ? "" : "; ") + v;
      if (verdict.verdict == kv::check::Verdict::kViolation) why += "; history not linearizable";
      if (failed <= 10) failures += setup.summary + ": " + why + "\n";
      if (const char* dir = std::getenv("DSIM_RAFT_DUMP")) {
        std::ofstream(std::string(dir) + "/raft-property-" + std::to_string(seed) + ".yaml")
            << "# " << setup.summary << "\n# " << why << "\n"
            << setup.yaml;
      }
    }
    leaders += checker.leaders_seen();
    committed += checker.committed_entries();
    checks += checker.checks();
  }
  INFO("terms with a leader " << leaders << ", committed entries " << committed << ", checks "
                              << checks);
  INFO(failures);
  CHECK(failed == 0);
  // The workload and faults did something: leaders came and went, entries committed.
  CHECK(leaders > seeds);
  CHECK(committed > seeds * 10);
}
