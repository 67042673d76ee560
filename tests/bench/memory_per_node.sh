#!/usr/bin/env bash
# Engine memory per idle node: peak RSS of `dsim bench phold` with no tokens at 10^5 and
# 10^6 nodes, the difference divided by the 900,000 extra nodes. Everything a node costs
# is counted (its engine slot, random streams, model instance, metrics and group entries);
# the fixed cost of the process cancels out. `net` adds the nodes' access links.
#
#   tests/bench/memory_per_node.sh [DSIM_BINARY]
set -euo pipefail
dsim=${1:-build/dsim}
rss_mb() {  # workload nodes -> peak RSS in MB, as dsim bench reports it on stderr
  "$dsim" bench phold --workload "$1" --nodes "$2" --tokens 0 --end-s 1 2>&1 >/dev/null |
    sed -n 's/.*peak RSS \([0-9.]*\) MB.*/\1/p'
}
printf '%-8s %14s %14s %16s\n' workload rss_1e5_mb rss_1e6_mb bytes_per_node
for w in timers net; do
  a=$(rss_mb "$w" 100000)
  b=$(rss_mb "$w" 1000000)
  printf '%-8s %14s %14s %16s\n' "$w" "$a" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.0f", (b - a) * 1048576 / 900000}')"
done
