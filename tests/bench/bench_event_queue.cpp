// The pending-event set, measured with the classic hold model: n events pending;
// each step pops the earliest and schedules one at its time plus a random increment, so
// the set keeps n events. Run for every candidate structure, at n = 10^2..10^6, and for
// increments of several shapes:
//   exp      Exp(mean 1 ms): PHOLD timers;
//   hop      U(0.1 ms, 1 ms): PHOLD messages (the sum of two access-link latencies);
//   ties     whole milliseconds 1..10: many events at equal times;
//   bimodal  90% Exp(mean 100 us), 10% 1 s: messages among far-off timeouts.
// The increments are drawn beforehand, so the figures are the structure's alone.
//
//   build/tests/bench/dsim_bench --benchmark_filter=Hold
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "queue_variants.h"
#include "sim/core/event_queue.h"
#include "sim/core/rng.h"

namespace dsim {
namespace {

enum Shape { kExp, kHop, kTies, kBimodal };

std::vector<int64_t> increments(Shape shape) {
  std::vector<int64_t> v(1 << 16);
  Rng rng(7, static_cast<uint64_t>(shape));
  for (auto& x : v) {
    switch (shape) {
      case kExp:
        x = static_cast<int64_t>(-1e6 * std::log(rng.uniform_open01()));
        break;
      case kHop:
        x = 100'000 + static_cast<int64_t>(900'000 * rng.uniform01());
        break;
      case kTies:
        x = 1'000'000 * (1 + static_cast<int64_t>(rng.below(10)));
        break;
      case kBimodal:
        x = rng.uniform01() < 0.9 ? static_cast<int64_t>(-1e5 * std::log(rng.uniform_open01()))
                                  : 1'000'000'000;
        break;
    }
  }
  return v;
}

template <class Queue>
void BM_Hold(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto inc = increments(static_cast<Shape>(state.range(1)));
  const size_t mask = inc.size() - 1;
  Queue q;
  size_t i = 0;
  for (size_t k = 0; k < n; ++k, ++i)
    q.push(SimTime::from_ns(inc[i & mask]), k);
  // Reach the steady state before measuring: every initial event replaced once.
  for (size_t k = 0; k < n; ++k, ++i) {
    const QueuedEvent e = q.top();
    q.pop();
    q.push(SimTime::from_ns(e.at + inc[i & mask]), e.ref);
  }
  for (auto _ : state) {
    const QueuedEvent e = q.top();
    q.pop();
    q.push(SimTime::from_ns(e.at + inc[i++ & mask]), e.ref);
  }
  benchmark::DoNotOptimize(q.size());
  state.SetItemsProcessed(state.iterations());
  static const char* const kShapes[] = {"exp", "hop", "ties", "bimodal"};
  state.SetLabel(kShapes[state.range(1)]);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int shape = kExp; shape <= kBimodal; ++shape) {
    for (int64_t n = 100; n <= 1'000'000; n *= 10)
      b->Args({n, shape});
  }
}
// A calendar queue with many equal times piles them into a few sorted buckets, where each
// insertion costs O(n): 10^5 'ties' takes ~3 us an event, 10^6 does not finish.
void CalendarSizes(benchmark::internal::Benchmark* b) {
  for (int shape = kExp; shape <= kBimodal; ++shape) {
    for (int64_t n = 100; n <= (shape == kTies ? 100'000 : 1'000'000); n *= 10)
      b->Args({n, shape});
  }
}

BENCHMARK_TEMPLATE(BM_Hold, EventQueue)->Name("Hold/radix_heap_6bit")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, BasicEventQueue<1>)->Name("Hold/radix_heap_1bit")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, BasicEventQueue<2>)->Name("Hold/radix_heap_2bit")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, BasicEventQueue<4>)->Name("Hold/radix_heap_4bit")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, queues::DaryHeap<2>)->Name("Hold/binary_heap")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, queues::DaryHeap<4>)->Name("Hold/4ary_heap")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, queues::PairingHeap)->Name("Hold/pairing_heap")->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Hold, queues::CalendarQueue)
    ->Name("Hold/calendar_queue")
    ->Apply(CalendarSizes);

}  // namespace
}  // namespace dsim
