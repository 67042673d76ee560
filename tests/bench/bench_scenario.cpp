// The scenario loader on scenario texts of growing size: each must scale linearly (or
// n log n) in what the text holds, so that a large or hostile scenario is refused or
// accepted in time proportional to its size. Each benchmark fits the complexity of its
// runs (the "BigO" line of the output).
//
//   build/tests/bench/dsim_bench --benchmark_filter=Scenario
#include <benchmark/benchmark.h>

#include <string>

#include "models/builtin.h"
#include "sim/scenario/scenario.h"

namespace dsim {
namespace {

// Loads `text` once per iteration; the load must succeed.
void load_each_iteration(benchmark::State& state, const std::string& text) {
  ModelRegistry registry;
  register_builtin_models(registry);
  for (auto _ : state) {
    Diagnostics diag;
    auto spec = load_scenario_text(text, "bench.yaml", LoadOptions{}, registry, diag);
    if (!spec) state.SkipWithError(diag.render().substr(0, 200).c_str());
    benchmark::DoNotOptimize(spec);
  }
  state.SetComplexityN(state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

// One map of n keys: a client's operation mix of n operations (each key is checked for
// duplicates, then read as a weight).
void BM_ScenarioMapOfManyKeys(benchmark::State& state) {
  std::string text =
      "duration: 1s\ngroups:\n  - {name: s, model: server}\n"
      "  - name: c\n    model: client\n    params:\n      target: s\n      ops:\n";
  for (int64_t i = 0; i < state.range(0); ++i)
    text += "        op" + std::to_string(i) + ": 1\n";
  load_each_iteration(state, text);
}
BENCHMARK(BM_ScenarioMapOfManyKeys)
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 16)
    ->Unit(benchmark::kMillisecond)
    ->Complexity();

// n groups of clients, each naming the one server group as its target.
void BM_ScenarioManyGroups(benchmark::State& state) {
  std::string text = "duration: 1s\ngroups:\n  - {name: s, model: server}\n";
  for (int64_t i = 0; i < state.range(0); ++i) {
    text +=
        "  - {name: c" + std::to_string(i) + ", model: client, params: {target: s, rate: 1/s}}\n";
  }
  load_each_iteration(state, text);
}
BENCHMARK(BM_ScenarioManyGroups)
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 16)
    ->Unit(benchmark::kMillisecond)
    ->Complexity();

}  // namespace
}  // namespace dsim
