// Runs the (point, replication) runs of a sweep on threads. Each run builds its own
// engine from its own scenario; the model registry is only read. Results are stored by
// run, so the output does not depend on which thread ran what.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/registry.h"
#include "sim/sweep/plan.h"
#include "sim/sweep/results.h"

namespace dsim::sweep {

/// Which runs a process takes: run i = point * replications + replication belongs to
/// shard i mod shards; of a shard's runs, the k-th (in run order) belongs to MPI rank
/// k mod ranks.
struct Partition {
  uint32_t shard = 0, shards = 1;
  uint32_t rank = 0, ranks = 1;
};

/// The runs a partition takes, in run order.
std::vector<size_t> assigned_runs(size_t total_runs, const Partition& part);

struct ExecuteOptions {
  unsigned jobs = 1;  ///< threads
  Partition part;
  /// Non-empty: each run's directory is written under it, as p<point>-r<replication>.
  std::string runs_dir;
  /// Called after each run (from the worker threads, one call at a time).
  std::function<void(size_t done, size_t total)> progress;
};

/// The name of a run's directory: "p03-r1" (zero-padded to the sweep's widths).
std::string run_dir_name(const SweepPlan& plan, size_t point, uint32_t replication);

/// A run that gave no record: its point turned out invalid when it was to run (a point
/// load_sweep() did not check), or a limit refused it before it started.
struct RunProblem {
  uint32_t point = 0;
  uint32_t replication = 0;
  int exit_code = 2;    ///< 2 bad input, 3 refused by a limit
  std::string message;  ///< what went wrong, for people (may span lines)
};

struct ExecuteResult {
  std::vector<RunRecord> records;    ///< in run order, without the problems' runs
  std::vector<RunProblem> problems;  ///< in run order
};

/// Runs the partition's runs; a run with a problem is left out and the others go on.
/// Returns nullopt with *error set when a run's directory could not be written.
std::optional<ExecuteResult> execute(const SweepPlan& plan, const ModelRegistry& registry,
                                     const ExecuteOptions& options, std::string* error);

/// The problems as text (to send between MPI ranks), and back; parse_problems() returns
/// nullopt on text render_problems() did not write.
std::string render_problems(const std::vector<RunProblem>& problems);
std::optional<std::vector<RunProblem>> parse_problems(const std::string& text);

/// The meta data of a plan's files.
SweepMeta plan_meta(const SweepPlan& plan, const Partition& part);

}  // namespace dsim::sweep
