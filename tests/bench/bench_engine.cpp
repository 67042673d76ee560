// The whole engine, with the phold model: a timer set, fired and re-armed, and a message
// sent, delayed by the network and delivered, each through the Context as any model does
// it. Each iteration runs an engine for a fixed number of events (setting it up is not
// timed), at pending-set sizes from a ping-pong to 10^5 tokens.
//
//   build/tests/bench/dsim_bench --benchmark_filter=Engine
#include <benchmark/benchmark.h>

#include <memory>

#include "models/phold/phold.h"
#include "sim/core/engine.h"

namespace dsim {
namespace {

constexpr uint64_t kEventsPerRun = 1 << 20;

void run_phold(benchmark::State& state, phold::Phold::Workload workload) {
  const auto nodes = static_cast<uint32_t>(state.range(0));
  phold::Phold::Config cfg;
  cfg.workload = workload;
  cfg.tokens = state.range(1);
  uint64_t events = 0;
  for (auto _ : state) {
    state.PauseTiming();
    EngineConfig ec;
    ec.max_events = kEventsPerRun;
    if (workload == phold::Phold::Workload::kNet) {
      ec.network.access_latency =
          Distribution::uniform(5e4, 5e5).with_dim(Distribution::Dim::kTime);
    }
    auto engine = std::make_unique<Engine>(ec);
    engine->add_group("hosts", nodes, [&cfg] { return std::make_unique<phold::Phold>(cfg); });
    state.ResumeTiming();
    events += engine->run().events;
    state.PauseTiming();
    engine.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
}

void BM_EngineTimer(benchmark::State& state) {
  run_phold(state, phold::Phold::Workload::kTimers);
}
BENCHMARK(BM_EngineTimer)
    ->Args({1, 1})
    ->Args({100, 1000})
    ->Args({10'000, 100'000})
    ->Unit(benchmark::kMillisecond);

void BM_EngineMessage(benchmark::State& state) {
  run_phold(state, phold::Phold::Workload::kNet);
}
BENCHMARK(BM_EngineMessage)
    ->Args({2, 1})
    ->Args({100, 1000})
    ->Args({10'000, 100'000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dsim
