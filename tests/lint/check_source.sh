#!/usr/bin/env bash
# Fails on what sim/ and models/ must not do (docs/writing-a-model.md, "Checklist"; README,
# "Determinism"): read wall clocks, draw ambient randomness or use the standard library's
# distributions (all break determinism), keep mutable statics, or reach past a model's
# Context (engine internals, YAML).
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
report() { echo "lint: $1"; echo "$2" | sed 's/^/  /'; status=1; }

banned='std::chrono::(system_clock|steady_clock|high_resolution_clock)|std::random_device|[^_a-zA-Z.]s?rand\(|std::(uniform_int|uniform_real|normal|exponential|lognormal|bernoulli|poisson|discrete|gamma|weibull)_distribution|std::mt19937|std::default_random_engine|\btime\(NULL\)|\btime\(nullptr\)|gettimeofday|clock_gettime|thread_local'
hits=$(grep -rnE "$banned" sim models docs/examples --include='*.h' --include='*.cpp' | grep -v 'dsim-lint: allow')
[ -n "$hits" ] && report "banned calls in sim/ or models/ (no wall clock, no randomness but the run's seeded streams, no <random> distributions: they break determinism; see docs/writing-a-model.md; mark a CLI-only line '// dsim-lint: allow(wall-clock)')" "$hits"

# Mutable statics: 'static' variables that are neither const nor constexpr.
statics=$(grep -rnE '^\s*(inline\s+)?static\s+[A-Za-z_:<>, ]+\s+[a-z_][a-zA-Z0-9_]*\s*(=|;|\{)' sim models \
  --include='*.h' --include='*.cpp' | grep -vE 'static\s+(const|constexpr)|constexpr|static_assert|\(' | grep -v 'dsim-lint: allow')
[ -n "$statics" ] && report "mutable static state (no ambient state: a run's state lives in its engine and models, so two runs can share a process; see docs/writing-a-model.md)" "$statics"

# One assertion macro for invariants: DSIM_ASSERT (sim/core/assert.h), on in every build.
asserts=$(grep -rnE '(^|[^_A-Za-z])assert\(|<cassert>|throw std::(logic_error|runtime_error)' sim models docs/examples \
  --include='*.h' --include='*.cpp' | grep -v 'dsim-lint: allow')
[ -n "$asserts" ] && report "assert or an exception for an invariant: use DSIM_ASSERT (sim/core/assert.h)" "$asserts"

# Models (and the example model) see the model API and the kit only; the kit sees no model.
layer=$(grep -rnE '#include\s+[<"](yaml-cpp/|CLI/|sim/core/engine\.h|sim/scenario/|sim/run/|sim/sweep/|sim/app/)' models docs/examples)
[ -n "$layer" ] && report "a model includes something beyond sim/core's model API" "$layer"
kit_up=$(grep -rnE '#include\s+[<"]models/' models/kit | grep -v '"models/kit/')
[ -n "$kit_up" ] && report "the model kit includes a model" "$kit_up"
core_up=$(grep -rnE '#include\s+[<"](yaml-cpp/|CLI/|sim/scenario/|sim/run/|sim/sweep/|sim/app/|models/)' sim/core)
[ -n "$core_up" ] && report "sim/core includes a higher layer" "$core_up"
scen_up=$(grep -rnE '#include\s+[<"](sim/run/|sim/sweep/|sim/app/|models/)' sim/scenario)
[ -n "$scen_up" ] && report "sim/scenario includes a higher layer" "$scen_up"
run_up=$(grep -rnE '#include\s+[<"](sim/sweep/|sim/report/|sim/app/|CLI/)' sim/run)
[ -n "$run_up" ] && report "sim/run includes a higher layer" "$run_up"
sweep_up=$(grep -rnE '#include\s+[<"](sim/report/|sim/app/|CLI/|models/)' sim/sweep)
[ -n "$sweep_up" ] && report "sim/sweep includes a higher layer (or a model)" "$sweep_up"
report_up=$(grep -rnE '#include\s+[<"](sim/app/|CLI/|models/)' sim/report)
[ -n "$report_up" ] && report "sim/report includes a higher layer (or a model)" "$report_up"

# Unordered containers must not be iterated where order could reach output or events.
unordered_iter=$(grep -rnE 'for\s*\(.*:\s*[a-z_]*(unordered|_by_id|pending_)[a-z_]*\s*\)' sim models --include='*.cpp' | grep -v 'dsim-lint: allow')
[ -n "$unordered_iter" ] && report "iteration over an unordered container" "$unordered_iter"

# Test names: ctest lists split at ';' and Catch reads '[' as the start of a tag, so such a
# name would become a ctest entry that matches no test case.
test_names=$(grep -rnE 'TEST_CASE\("[^"]*[;[]' tests --include='*.cpp')
[ -n "$test_names" ] && report "a test name with ';' or '[' (ctest could not select it)" "$test_names"

# Formatting.
if command -v clang-format >/dev/null; then
  unformatted=$(git ls-files -co --exclude-standard '*.h' '*.cpp' | while read -r f; do
    [ -f "$f" ] && ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1 && echo "$f"; done)
  [ -n "$unformatted" ] && report "not clang-formatted (run: make format)" "$unformatted"
fi
[ $status -eq 0 ] && echo "lint: ok"
exit $status
