#!/usr/bin/env bash
# Runs one fuzz target of a DSIM_FUZZ build (tests/fuzz/CMakeLists.txt).
#
#   tests/fuzz/fuzz.sh BUILD_DIR TARGET replay
#   tests/fuzz/fuzz.sh BUILD_DIR TARGET SECONDS [libFuzzer flag...]
#
# TARGET is `load` (fuzz_scenario_load) or `run` (fuzz_scenario_run). `replay` runs every
# seed (scenarios/, tests/bad_input/, tests/fuzz/seeds/) and every regression
# (tests/fuzz/regressions/TARGET/) once, without fuzzing. SECONDS fuzzes for that long from
# the same inputs with the dictionary tests/fuzz/scenario.dict, one process; new inputs go
# to BUILD_DIR/fuzz-corpus/TARGET/ (kept between runs) and findings to
# BUILD_DIR/fuzz-findings/TARGET/. Any crash, timeout or out-of-memory fails the script.
# Extra flags go to libFuzzer, e.g. `-fork=1 -ignore_crashes=1 -ignore_timeouts=1
# -ignore_ooms=1` to keep going after a finding.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
if (($# < 3)); then
  sed -n '2,15p' "$0" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
target=$2
mode=$3
shift 3

case $target in
  load) timeout=30 ;;   # seconds one input may take
  run) timeout=120 ;;
  *) echo "fuzz.sh: TARGET is load or run, not '$target'" >&2; exit 2 ;;
esac
bin=$build/tests/fuzz/fuzz_scenario_$target
[[ -x $bin ]] || { echo "fuzz.sh: $bin is not built (cmake --preset fuzz)" >&2; exit 2; }

seeds=()
for dir in scenarios tests/bad_input tests/fuzz/seeds "tests/fuzz/regressions/$target"; do
  [[ -d $src/$dir ]] && seeds+=("$src/$dir")
done
limits=(-timeout=$timeout -rss_limit_mb=2048)
# Readable stacks: Debian's llvm-14 names its symbolizer with a version.
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[[ -x $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
findings=$build/fuzz-findings/$target
mkdir -p "$findings"
cd "$findings"   # where relative file names in inputs (empirical CDFs) resolve

if [[ $mode == replay ]]; then
  exec "$bin" -runs=0 "${limits[@]}" "${seeds[@]}"
fi
[[ $mode =~ ^[0-9]+$ ]] || { echo "fuzz.sh: '$mode' is neither replay nor seconds" >&2; exit 2; }
corpus=$build/fuzz-corpus/$target
mkdir -p "$corpus"
exec "$bin" -max_total_time="$mode" "${limits[@]}" -max_len=8192 \
  -dict="$src/tests/fuzz/scenario.dict" -artifact_prefix="$findings/" -print_final_stats=1 "$@" \
  "$corpus" "${seeds[@]}"
