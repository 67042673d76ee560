#!/usr/bin/env bash
# Side-by-side engine benchmark: the project's simulator against SimGrid (C++),
# SimPy (Python) and a bare binary-heap loop (the floor), on the same PHOLD-style
# workloads (see the *_phold.cpp / *_phold.py files beside this script for the exact
# definitions, and README.md here).
#
#   tests/bench/peers/compare.sh [DSIM_BINARY]    (DSIM_BINARY: build/dsim of this repository)
#
# Environment: CASES="timers:100:1000:5 net:100:1000:2 ..." (workload:nodes:tokens:end_seconds)
#              PEERS="bare simgrid simpy" (any subset), SEED=1
# Needs /usr/bin/time (Debian's time), g++ and libpcg-cpp-dev for bare, libsimgrid-dev
# for simgrid, python3-simpy for simpy; installs nothing.
# Prints one row per (case, engine): events, wall seconds, events/s, peak RSS,
# and the ratio of the project's events/s to each peer's. Each command runs once,
# A then B back to back, so the ratios are taken under the same machine load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dsim=${1:-$root/build/dsim}
cases=${CASES:-"timers:100:1000:5 net:100:1000:2 net:10000:100000:0.2"}
peers=${PEERS:-"bare simgrid simpy"}
seed=${SEED:-1}
work=${XDG_CACHE_HOME:-$HOME/.cache}/dsim-bench-peers
mkdir -p "$work"
if [[ $peers == *bare* ]] && [[ ! -x $work/bare_phold || $here/bare_phold.cpp -nt $work/bare_phold ]]; then
  g++ -O2 -std=c++17 "$here/bare_phold.cpp" -o "$work/bare_phold"
fi
if [[ $peers == *simgrid* ]] && [[ ! -x $work/simgrid_phold || $here/simgrid_phold.cpp -nt $work/simgrid_phold ]]; then
  g++ -O2 -std=c++17 "$here/simgrid_phold.cpp" -o "$work/simgrid_phold" -lsimgrid
fi

# run NAME CMD...: prints "events wall_s rss_kb"
run() {
  local out t0 t1
  t0=$EPOCHREALTIME
  out=$( { /usr/bin/time -f "TIME %e %M" "$@" 2>&1 1>&3 | grep '^TIME' ; } 3>&1 )
  t1=$EPOCHREALTIME
  local events wall rss
  events=$(sed -n 's/.*events=\([0-9]*\).*/\1/p' <<<"$out" | tail -n1)
  read -r _ _ rss < <(grep '^TIME' <<<"$out" | tail -n1)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  echo "${events:-0} ${wall:-0} ${rss:-0}"
}

printf '%-28s %-8s %12s %8s %12s %9s %s\n' case engine events wall_s events_per_s rss_mb "dsim/engine"
for c in $cases; do
  IFS=: read -r wl nodes tokens end <<<"$c"
  args=("$wl" "$nodes" "$tokens" "$end" "$seed")
  read -r de dw dr < <(run "$dsim" bench phold --workload "$wl" --nodes "$nodes" --tokens "$tokens" --end-s "$end" --seed "$seed")
  drate=$(awk -v e="$de" -v w="$dw" 'BEGIN{printf "%.0f", (w>0?e/w:0)}')
  printf '%-28s %-8s %12s %8s %12s %9.1f\n' "$c" dsim "$de" "$dw" "$drate" "$(awk -v r="$dr" 'BEGIN{print r/1024}')"
  for p in $peers; do
    case $p in
      bare) cmd=("$work/bare_phold" "${args[@]}") ;;
      simgrid) cmd=("$work/simgrid_phold" "${args[@]}" --log=root.thres:critical --cfg=network/model:CM02) ;;
      simpy) cmd=(/usr/bin/python3 "$here/simpy_phold.py" "${args[@]}") ;;
      *) continue ;;
    esac
    read -r pe pw pr < <(run timeout "${PEER_TIMEOUT:-300}" "${cmd[@]}")
    prate=$(awk -v e="$pe" -v w="$pw" 'BEGIN{printf "%.0f", (w>0?e/w:0)}')
    ratio=$(awk -v a="$drate" -v b="$prate" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}')
    printf '%-28s %-8s %12s %8s %12s %9.1f %s\n' "$c" "$p" "$pe" "$pw" "$prate" "$(awk -v r="$pr" 'BEGIN{print r/1024}')" "$ratio"
  done
done
