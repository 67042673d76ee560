#!/usr/bin/env bash
# Opens dsim's HTML reports in headless Chromium (check_page.py): a Raft failover with its
# message diagram, a quorum store under a partition, and a sweep. Each page must render
# with no script or console error and nothing failed to load, every chart drawn with
# data; the screenshots are kept in ARTIFACTS for a person to look at.
#   reports_in_browser.sh DSIM CHROMIUM WORK ARTIFACTS
set -euo pipefail
dsim=$1 chromium=$2 work=$3 artifacts=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rm -rf "$work"
mkdir -p "$work" "$artifacts"
check() { /usr/bin/python3 "$here/check_page.py" "$chromium" "$@"; }

# A Raft leader crash, with the messages around the election drawn.
"$dsim" run "$root/scenarios/raft/leader_crash.yaml" --quiet --report --out "$work/raft" \
  --set 'output.diagram={window: [10.18s, 10.2s], client: clients.0}'
check "$work/raft/report.html" "$artifacts/raft_failover.png" --min-charts=6 --min-diagrams=1

# A sloppy-quorum store cut by a partition.
"$dsim" run "$root/scenarios/quorum/partition_sloppy.yaml" --quiet --report --out "$work/quorum"
check "$work/quorum/report.html" "$artifacts/quorum_partition.png" --min-charts=6

# A sweep's report (one point fails its check by design: exit code 1).
rc=0
"$dsim" sweep "$root/tests/sweep/tiny_sweep.yaml" --quiet --out "$work/sweep" || rc=$?
[ "$rc" -le 1 ] || { echo "dsim sweep failed with exit code $rc" >&2; exit 1; }
"$dsim" report "$work/sweep" > /dev/null
check "$work/sweep/report.html" "$artifacts/sweep.png" --min-charts=2
