// Micro-benchmarks of the engine's hot pieces taken one at a time: random streams,
// distributions, histograms and messages. (The event queue: bench_event_queue.cpp; the
// whole engine: bench_engine.cpp.)
//
//   build/tests/bench/dsim_bench --benchmark_filter='Rng|Distribution|Histogram|Message'
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/phold/phold.h"
#include "sim/core/distribution.h"
#include "sim/core/histogram.h"
#include "sim/core/message.h"
#include "sim/core/rng.h"

namespace dsim {
namespace {

void BM_RngNextU32(benchmark::State& state) {
  Rng rng(1, 2);
  for (auto _ : state)
    benchmark::DoNotOptimize(rng.next_u32());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RngNextU32);

void BM_RngUniform01(benchmark::State& state) {
  Rng rng(1, 2);
  for (auto _ : state)
    benchmark::DoNotOptimize(rng.uniform01());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RngUniform01);

// Lemire's unbiased bounded integer: what picking a random peer costs.
void BM_RngBelow(benchmark::State& state) {
  Rng rng(1, 2);
  const auto n = static_cast<uint32_t>(state.range(0));
  for (auto _ : state)
    benchmark::DoNotOptimize(rng.below(n));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RngBelow)->Arg(99)->Arg(99'999);

void BM_RngBernoulli(benchmark::State& state) {
  Rng rng(1, 2);
  for (auto _ : state)
    benchmark::DoNotOptimize(rng.bernoulli(0.001));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RngBernoulli);

// Setting up a stream, as the engine does twice per node.
void BM_RngConstruct(benchmark::State& state) {
  uint64_t i = 0;
  for (auto _ : state) {
    Rng rng(1, stream_id("node", i++));
    benchmark::DoNotOptimize(rng);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RngConstruct);

const Distribution& distribution(int64_t i) {
  static const Distribution kDists[] = {
      Distribution::constant(5e5),
      Distribution::uniform(5e4, 5e5),
      Distribution::exponential(1e6),
      Distribution::normal(1e6, 1e5),
      Distribution::lognormal_median_p99(5e5, 2e6),
      Distribution::pareto(2e5, 3),
      Distribution::weibull(1e6, 1.5),
      Distribution::zipf(1'000'000, 0.99),
      Distribution::mixture(
          {{0.9, Distribution::exponential(1e6)}, {0.1, Distribution::pareto(5e6, 2)}}),
      Distribution::empirical_samples({1e5, 2e5, 3e5, 5e5, 8e5, 1.3e6, 2.1e6, 3.4e6}),
      Distribution::empirical_cdf({{1e5, 0}, {5e5, 0.5}, {1e6, 0.9}, {1e7, 1}}),
  };
  return kDists[i];
}

void BM_DistributionSample(benchmark::State& state) {
  const Distribution& d = distribution(state.range(0));
  Rng rng(1, 3);
  for (auto _ : state)
    benchmark::DoNotOptimize(d.sample(rng));
  state.SetLabel(d.describe());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DistributionSample)->DenseRange(0, 10);

// As models and the network draw times: redrawn below 0, rounded to nanoseconds.
void BM_DistributionSampleDuration(benchmark::State& state) {
  const Distribution& d = distribution(state.range(0));
  Rng rng(1, 3);
  for (auto _ : state)
    benchmark::DoNotOptimize(d.sample_duration(rng));
  state.SetLabel(d.describe());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DistributionSampleDuration)->Arg(0)->Arg(1)->Arg(2)->Arg(4);

// Recording latencies (ns, spread over six decades, drawn beforehand) at the summary's
// precision (8 bits) and the time series' (5 bits).
void BM_HistogramRecord(benchmark::State& state) {
  Histogram h(static_cast<int>(state.range(0)));
  Rng rng(1, 4);
  std::vector<int64_t> values(1 << 12);
  for (auto& v : values)
    v = static_cast<int64_t>(std::exp(rng.uniform01() * 14) * 1e3);
  size_t i = 0;
  for (auto _ : state)
    h.record(values[i++ & (values.size() - 1)]);
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord)->Arg(8)->Arg(5);

void BM_HistogramPercentile(benchmark::State& state) {
  Histogram h(8);
  Rng rng(1, 4);
  for (int i = 0; i < 1'000'000; ++i)
    h.record(static_cast<int64_t>(std::exp(rng.uniform01() * 14) * 1e3));
  for (auto _ : state)
    benchmark::DoNotOptimize(h.percentile(0.99));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramPercentile);

// A message built, moved into the engine's in-flight slot and out again, as a send and
// its delivery do: small payloads stay inline, a large one lives on the heap.
struct BigPayload {
  static constexpr std::string_view kName = "big";
  char bytes[256];
};

template <class T>
void BM_MessageSendDeliverMoves(benchmark::State& state) {
  Message slot;
  for (auto _ : state) {
    Message m{T{}};
    slot = std::move(m);
    const Message out = std::move(slot);
    benchmark::DoNotOptimize(out.type());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_MessageSendDeliverMoves, phold::Token)->Name("MessageMoves/inline_token");
BENCHMARK_TEMPLATE(BM_MessageSendDeliverMoves, BigPayload)->Name("MessageMoves/heap_256B");

}  // namespace
}  // namespace dsim
