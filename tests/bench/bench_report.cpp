// Benchmarks of rendering a run's files over a long fault log (sim/run/report.cpp): a
// repeating fault makes one start and one end per occurrence, and summary.json (each
// fault with its end) and timeseries.csv (the faults active in each window) must cost
// time linear in the log, not the log's square. Complexity() fits the growth.
//
//   build/tests/bench/dsim_bench --benchmark_filter='Render'
#include <benchmark/benchmark.h>

#include <vector>

#include "sim/core/engine.h"
#include "sim/run/report.h"
#include "sim/run/runner.h"

namespace dsim {
namespace {

// `n` occurrences of a repeating crash, one every 10 ms, each lasting 4 ms: the log a
// `{every: 10ms, crash: ..., restart_after: 4ms}` fault writes.
std::vector<FaultEvent> repeating_faults(int64_t n) {
  std::vector<FaultEvent> log;
  log.reserve(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const auto id = static_cast<uint64_t>(i + 1);
    const SimTime start = SimTime::zero() + ms(10) * i;
    log.push_back(
        {start, FaultPhase::kStart, id, "crash", "web.3", "restart after 4ms", {}, {}, false, {}});
    log.push_back({start + ms(4), FaultPhase::kEnd, id, "crash", "web.3", "", {}, {}, false, {}});
  }
  return log;
}

void BM_RenderSummaryJsonFaults(benchmark::State& state) {
  ScenarioSpec spec;
  spec.name = "bench";
  RunOutput out;
  out.faults = repeating_faults(state.range(0));
  for (auto _ : state)
    benchmark::DoNotOptimize(render_summary_json(spec, out));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_RenderSummaryJsonFaults)
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 16)
    ->Unit(benchmark::kMillisecond)
    ->Complexity();

// timeseries.csv with one window per fault (10 ms windows over the faults' span).
void BM_RenderTimeseriesFaults(benchmark::State& state) {
  const int64_t n = state.range(0);
  ScenarioSpec spec;
  spec.name = "bench";
  spec.duration = ms(10) * n;
  spec.output.window = ms(10);
  EngineConfig cfg;
  cfg.end = SimTime::zero() + spec.duration;
  cfg.window = spec.output.window;
  Engine engine(cfg);
  for (auto& e : repeating_faults(n))
    engine.record_fault(std::move(e));
  for (auto _ : state)
    benchmark::DoNotOptimize(render_timeseries_csv(spec, engine));
  state.SetComplexityN(n);
}
BENCHMARK(BM_RenderTimeseriesFaults)
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 16)
    ->Unit(benchmark::kMillisecond)
    ->Complexity();

}  // namespace
}  // namespace dsim
