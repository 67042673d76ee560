// Micro-benchmarks of the engine's hot pieces: the event queue, random streams,
// distributions and histograms.
#include <benchmark/benchmark.h>

#include "sim/core/distribution.h"
#include "sim/core/event_queue.h"
#include "sim/core/histogram.h"
#include "sim/core/rng.h"

#include <cmath>

namespace dsim {
namespace {

// Hold-model: a queue of n pending events; each step pops the earliest and pushes one
// at an exponentially distributed offset from it.
void BM_EventQueueHold(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  EventQueue q;
  Rng rng(1, 1);
  for (size_t i = 0; i < n; ++i) {
    q.push(SimTime::from_ns(static_cast<int64_t>(-std::log(rng.uniform_open01()) * 1e6)), i);
  }
  for (auto _ : state) {
    const QueuedEvent e = q.top();
    q.pop();
    q.push(SimTime::from_ns(e.at + static_cast<int64_t>(-std::log(rng.uniform_open01()) * 1e6)),
           e.ref);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventQueueHold)->RangeMultiplier(10)->Range(100, 1'000'000);

void BM_RngNext(benchmark::State& state) {
  Rng rng(1, 2);
  for (auto _ : state)
    benchmark::DoNotOptimize(rng.next_u32());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RngNext);

void BM_DistributionSample(benchmark::State& state) {
  const Distribution dists[] = {
      Distribution::exponential(1e6),
      Distribution::lognormal_median_p99(5e5, 2e6),
      Distribution::pareto(2e5, 3),
      Distribution::zipf(1'000'000, 0.99),
      Distribution::mixture(
          {{0.9, Distribution::exponential(1e6)}, {0.1, Distribution::pareto(5e6, 2)}}),
  };
  const Distribution& d = dists[state.range(0)];
  Rng rng(1, 3);
  for (auto _ : state)
    benchmark::DoNotOptimize(d.sample(rng));
  state.SetLabel(d.describe());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DistributionSample)->DenseRange(0, 4);

void BM_HistogramRecord(benchmark::State& state) {
  Histogram h;
  Rng rng(1, 4);
  int64_t v = 0;
  for (auto _ : state) {
    v = static_cast<int64_t>(rng.next_u32() >> 8);
    h.record(v);
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

}  // namespace
}  // namespace dsim
