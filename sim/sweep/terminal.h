// What `dsim sweep` and `dsim merge` print for people: the sweep's verdicts (verdicts.h)
// rounded for reading. The files keep every digit.
#pragma once

#include <string>
#include <vector>

#include "sim/sweep/results.h"

namespace dsim::sweep {

/// Per point: its swept values; the headline figures (availability, throughput, p50 and
/// p99 latency over every client group) as mean ± half-width of the 95% confidence
/// interval, min, median, max and the worst replication with its seed; each scenario
/// check with how many replications passed it and its worst replication, and for a check
/// that failed the `dsim run` command that repeats that replication. Then, per check that
/// failed, at which points and in how many runs, and the runs aborted by a limit. `dir`
/// is the sweep's directory (the commands run its sweep.yaml). Records must be sorted and
/// complete.
std::string render_sweep_summary(const SweepMeta& meta, const std::vector<RunRecord>& records,
                                 const std::string& dir);

}  // namespace dsim::sweep
