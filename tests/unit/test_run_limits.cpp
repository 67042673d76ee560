// The limits on what a run takes from the machine (sim/run/resource_limits.h) and the
// engine's watcher they work through: a watcher that lets a run go on changes nothing in
// it; one that stops it stops the set-up or the run cleanly; the memory estimate refuses
// what cannot fit before anything is built.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "sim/run/resource_limits.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

const ModelRegistry& registry() {
  return dsim::testing::builtin_registry();
}

ScenarioSpec load(const std::string& text) {
  Diagnostics diag;
  auto spec = load_scenario_text(text, "limits.yaml", {}, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return std::move(*spec);
}

const std::string kSmall = R"Y(
duration: 2s
groups:
  - {name: web, model: server, count: 3000}
  - {name: clients, model: client, count: 4, params: {target: web, rate: 2000/s}}
)Y";

using Phase = EngineActivity::Phase;

}  // namespace

TEST_CASE("limits: a watcher that lets the run go on sees every stage and changes nothing") {
  const ScenarioSpec spec = load(kSmall);
  std::set<Phase> seen;
  uint64_t calls = 0;
  auto watched = build_engine(
      spec, false,
      [&](const EngineActivity& a) -> std::optional<StopReason> {
        seen.insert(a.phase);
        ++calls;
        return std::nullopt;
      },
      64);
  const RunStats a = watched->run();
  const RunStats b = build_engine(spec)->run();
  CHECK(a.started);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.events == b.events);
  CHECK(seen == std::set<Phase>{Phase::kAddingNodes, Phase::kCreatingModels, Phase::kStartingNodes,
                                Phase::kRunning});
  // Every node started is reported, and the run every 64 events.
  CHECK(calls >= 3004 + a.events / 64);
}

TEST_CASE("limits: a watcher stops the set-up, which then runs nothing") {
  const ScenarioSpec spec = load(kSmall);
  SECTION("while adding nodes: the building stops there") {
    auto engine =
        build_engine(spec, false, [](const EngineActivity& a) -> std::optional<StopReason> {
          if (a.phase == Phase::kAddingNodes && a.done >= 2048) return StopReason::kMemoryLimit;
          return std::nullopt;
        });
    REQUIRE(engine->halted());
    CHECK(engine->node_count() == 2048);
    const RunStats s = engine->run();
    CHECK_FALSE(s.started);
    CHECK(s.reason == StopReason::kMemoryLimit);
    CHECK(s.events == 0);
  }
  SECTION("while starting nodes") {
    auto engine =
        build_engine(spec, false, [](const EngineActivity& a) -> std::optional<StopReason> {
          if (a.phase == Phase::kStartingNodes && a.done == 10) return StopReason::kWallLimit;
          return std::nullopt;
        });
    CHECK_FALSE(engine->halted());
    const RunStats s = engine->run();
    CHECK_FALSE(s.started);
    CHECK(engine->halted() == StopReason::kWallLimit);
    CHECK(s.events == 0);
  }
}

TEST_CASE("limits: a watcher stops the run like a limit, at the first look past its point") {
  const ScenarioSpec spec = load(kSmall);
  auto engine = build_engine(
      spec, false,
      [](const EngineActivity& a) -> std::optional<StopReason> {
        if (a.phase == Phase::kRunning && a.events >= 5000) return StopReason::kMemoryLimit;
        return std::nullopt;
      },
      100);
  const RunStats s = engine->run();
  CHECK(s.started);
  CHECK(s.reason == StopReason::kMemoryLimit);
  CHECK(aborted(s.reason));
  CHECK(s.events == 5000);
  CHECK(stop_reason_name(s.reason) == "memory limit reached");
}

TEST_CASE("limits: the estimate counts nodes and the events they schedule at start") {
  const ScenarioSpec plain = load(kSmall);
  const MemoryEstimate e = estimate_memory(plain);
  CHECK_THAT(e.breakdown, Catch::StartsWith("3004 nodes x "));
  CHECK(e.bytes > 3004 * 100);
  const ScenarioSpec users = load(R"Y(
duration: 1s
groups:
  - {name: web, model: server}
  - {name: c, model: client, count: 10, params: {target: web, load: closed, users: 1000}}
  - {name: p, model: phold, count: 3, params: {tokens: 500}}
)Y");
  CHECK_THAT(estimate_memory(users).breakdown,
             Catch::Contains("14 nodes x") && Catch::Contains("10500 events scheduled at start"));
  // An open-loop client schedules one arrival, whatever its `users` says.
  const ScenarioSpec open = load(R"Y(
duration: 1s
groups:
  - {name: web, model: server}
  - {name: c, model: client, count: 10, params: {target: web, rate: 5/s}}
)Y");
  CHECK_THAT(estimate_memory(open).breakdown, !Catch::Contains("scheduled at start"));
}

TEST_CASE("limits: a node costs the engine's share and its own model's object") {
  const ScenarioSpec phold = load(R"Y(
duration: 1s
groups:
  - {name: p, model: phold, count: 1000, params: {tokens: 0}}
)Y");
  const ScenarioSpec raft = load(R"Y(
duration: 1s
groups:
  - {name: r, model: raft, count: 1000}
)Y");
  const MemoryEstimate small = estimate_memory(phold);
  const MemoryEstimate large = estimate_memory(raft);
  CHECK_THAT(small.breakdown, Catch::Contains("their models (1000 phold x "));
  CHECK_THAT(large.breakdown, Catch::Contains("their models (1000 raft x "));
  // phold's node, engine share and model object, is the 320 B docs/scenario-format.md
  // measures at the least.
  CHECK(small.bytes - (uint64_t{8} << 20) >= 1000 * 300);
  CHECK(large.bytes > small.bytes);
  CHECK(large.bytes - small.bytes ==
        1000 * ((registry().find("raft")->model_bytes + 15) / 16 * 16 -
                (registry().find("phold")->model_bytes + 15) / 16 * 16));
}

TEST_CASE("limits: a scenario that cannot fit its budget is refused before it is built") {
  ScenarioSpec spec = load(kSmall);
  spec.limits.memory = uint64_t{1} << 20;
  const RunOutput out = run_scenario(spec);
  CHECK_THAT(out.refused, Catch::Contains("needs at least") &&
                              Catch::Contains("more than limits.memory (1 MiB)"));
  CHECK(out.files.empty());
  spec.limits.memory = 0;  // no limit
  CHECK_FALSE(refuse_by_estimate(spec));
  spec.limits.memory.reset();  // the default: half the machine's memory
  CHECK(memory_budget(spec.limits) == machine_memory_bytes() / 2);
  CHECK(machine_memory_bytes() > 0);
  CHECK(resident_memory_bytes() > 0);
}

TEST_CASE("limits: memory and wall are written to the resolved scenario only when given") {
  const ScenarioSpec plain = load(kSmall);
  const ParamNode* lim = plain.resolved.find("limits");
  REQUIRE(lim);
  CHECK_FALSE(lim->find("memory"));
  CHECK_FALSE(lim->find("wall"));
  CHECK_FALSE(plain.limits.memory);
  CHECK_FALSE(plain.limits.wall);
  const ScenarioSpec given = load(kSmall + "limits: {memory: 64MiB, wall: 30s}\n");
  CHECK(given.limits.memory == uint64_t{64} << 20);
  CHECK(given.limits.wall == seconds(30));
  REQUIRE(given.resolved.find("limits"));
  CHECK(given.resolved.find("limits")->find("memory"));
  CHECK(given.resolved.find("limits")->find("wall"));
}
