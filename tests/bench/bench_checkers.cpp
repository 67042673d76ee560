// Benchmarks of the consistency checkers (sim/check): linearizability and staleness on
// 100k-operation histories over many keys, and the linearizability search on one hard
// key, growing until its budget ends it in `unknown`.
//
//   build/tests/bench/dsim_bench --benchmark_filter='Checker'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <vector>

#include "models/kv/check/linearizability.h"
#include "models/kv/check/staleness.h"
#include "models/kv/history.h"
#include "sim/core/rng.h"

namespace dsim {
namespace {

// A history of `clients` clients doing `ops` operations each, one at a time, over `keys`
// keys, produced by a sequential object: each operation takes effect at a random instant
// between its invocation and completion (so the history is linearizable). 40% reads;
// the rest puts and compare-and-sets, or appends when `lists`.
kv::KvHistory sequential_history(int clients, int ops, uint32_t keys, bool lists, uint64_t seed) {
  Rng rng(seed, stream_id("bench-history"));
  struct Planned {
    kv::KvHistoryOp op;
    int64_t point;
  };
  std::vector<Planned> plan;
  plan.reserve(static_cast<size_t>(clients) * static_cast<size_t>(ops));
  int64_t next_value = 1;
  for (int c = 0; c < clients; ++c) {
    int64_t t = rng.below(1000);
    for (int i = 0; i < ops; ++i) {
      kv::KvHistoryOp o;
      o.client = static_cast<NodeId>(c);
      o.key = rng.below(keys);
      o.invoke = SimTime::from_ns(t);
      const int64_t length = 200 + rng.below(2000);
      o.complete = SimTime::from_ns(t + length);
      const uint32_t what = rng.below(10);
      o.kind = what < 4   ? kv::KvOpKind::kGet
               : lists    ? kv::KvOpKind::kAppend
               : what < 9 ? kv::KvOpKind::kPut
                          : kv::KvOpKind::kCas;
      o.value = next_value++;
      o.outcome = HistoryOutcome::kOk;
      plan.push_back({o, t + static_cast<int64_t>(rng.below64(static_cast<uint64_t>(length)))});
      t += length + 1 + rng.below(500);
    }
  }
  std::vector<size_t> order(plan.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return plan[a].point < plan[b].point; });
  std::map<uint64_t, std::vector<int64_t>> state;
  std::vector<std::vector<int64_t>> reads(plan.size());
  for (size_t i : order) {
    kv::KvHistoryOp& o = plan[i].op;
    auto& s = state[o.key];
    switch (o.kind) {
      case kv::KvOpKind::kGet:
        reads[i] = s;
        break;
      case kv::KvOpKind::kPut:
        s = {o.value};
        break;
      case kv::KvOpKind::kAppend:
        s.push_back(o.value);
        break;
      case kv::KvOpKind::kCas:
        o.expected = s.size() == 1 ? s[0] : -1;
        if (s.size() == 1) {
          s = {o.value};
        } else {
          o.outcome = HistoryOutcome::kFail;
        }
        break;
    }
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return plan[a].op.invoke < plan[b].op.invoke; });
  kv::KvHistory h;
  for (size_t i : order)
    h.add(plan[i].op, reads[i]);
  return h;
}

void BM_CheckerLinearizabilityManyKeys(benchmark::State& state) {
  const bool lists = state.range(0) != 0;
  const kv::KvHistory h = sequential_history(100, 1000, 1000, lists, 1);
  uint64_t steps = 0;
  for (auto _ : state) {
    const kv::check::LinearizabilityResult r = kv::check::check_linearizability(h, {});
    if (r.verdict != kv::check::Verdict::kOk) state.SkipWithError("expected linearizable");
    steps = r.steps;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(h.size()));
  state.counters["ops"] = static_cast<double>(h.size());
  state.counters["steps"] = static_cast<double>(steps);
  state.counters["steps_per_s"] =
      benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(lists ? "100k ops, 1000 list keys" : "100k ops, 1000 register keys");
}
BENCHMARK(BM_CheckerLinearizabilityManyKeys)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_CheckerStalenessManyKeys(benchmark::State& state) {
  const bool lists = state.range(0) != 0;
  const kv::KvHistory h = sequential_history(100, 1000, 1000, lists, 2);
  const std::vector<uint32_t> groups(100, 0);
  for (auto _ : state) {
    const kv::check::StalenessResult r = kv::check::check_staleness(h, groups, {});
    if (r.total.stale_reads != 0) state.SkipWithError("expected no stale read");
    benchmark::DoNotOptimize(r.total.reads);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(h.size()));
  state.SetLabel(lists ? "100k ops, 1000 list keys" : "100k ops, 1000 register keys");
}
BENCHMARK(BM_CheckerStalenessManyKeys)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// One key, n writes all concurrent with each other and with a read of a value none of
// them wrote: refuting it means trying every subset of the writes (2^n configurations
// for each of their n + 1 states), so the search grows until the default budget (20M
// steps) ends it in `unknown`. The `verdict` counter: 1 = not linearizable (decided),
// 2 = unknown.
void BM_CheckerLinearizabilityHardKey(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  kv::KvHistory h;
  for (int i = 0; i < n; ++i) {
    kv::KvHistoryOp w;
    w.kind = kv::KvOpKind::kPut;
    w.value = 100 + i;
    w.invoke = SimTime::from_ns(i);
    w.complete = SimTime::from_ns(1'000'000);
    w.outcome = HistoryOutcome::kOk;
    h.add(w);
  }
  kv::KvHistoryOp r;
  r.kind = kv::KvOpKind::kGet;
  r.invoke = SimTime::from_ns(n);
  r.complete = SimTime::from_ns(1'000'000);
  r.outcome = HistoryOutcome::kOk;
  const int64_t nobody[] = {7};
  h.add(r, nobody);
  std::vector<uint32_t> all(h.size());
  for (uint32_t i = 0; i < all.size(); ++i)
    all[i] = i;
  kv::check::SearchResult res;
  for (auto _ : state)
    res = kv::check::check_ops(h, all, kv::check::SearchBudget{});
  state.counters["steps"] = static_cast<double>(res.steps);
  state.counters["memo_entries"] = static_cast<double>(res.memo_entries);
  state.counters["verdict"] = static_cast<double>(static_cast<int>(res.verdict));
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(res.steps),
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(kv::check::verdict_name(res.verdict)));
}
BENCHMARK(BM_CheckerLinearizabilityHardKey)
    ->DenseRange(8, 22, 2)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace dsim
