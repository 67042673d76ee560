// Whole-sweep verdicts: per point, each figure over the replications (mean, CI, min,
// median, max) with its worst replication, and each scenario check's pass count with its
// worst replication; plus the `dsim run` command that repeats one replication.
//
// The worst replication of a figure is the one with the value furthest in the direction a
// check on it would fail: with a check `x < t` or `x <= t` the largest, with `x > t` or
// `x >= t` the smallest, with `x == t` the furthest from t, with `x != t` the nearest to t
// (the first check on the figure decides). Without a check the largest, except for
// figures where more is better (see more_is_better()), where the smallest. A run where
// the figure is unknown (an empty cell: nothing succeeded, a verdict undecided) is worse
// than any value, as a check on it fails. The worst replication of a check is a failed
// one, the one that failed by most; when every replication passed, the one that passed by
// least (the smallest margin between the figure and the threshold). Ties go to the
// lowest replication. Everything is a function of the records alone, in (point,
// replication) order, so every way of running a sweep gives the same verdicts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/scenario/checks.h"
#include "sim/sweep/results.h"
#include "sim/sweep/stats.h"

namespace dsim::sweep {

/// Which replication is the worst for a figure or a check, and its value there.
struct Worst {
  uint32_t replication = 0;
  uint64_t seed = 0;
  double value = 0;  ///< NaN: unknown in that replication
  /// For a check: that replication did not produce the checked figure at all (a latency
  /// percentile where nothing succeeded), so the check failed.
  bool missing = false;
};

/// One figure (group, op, metric) at one point, over the replications that have it.
struct FigureVerdict {
  std::string group, op, metric;
  Aggregate stats;
  Worst worst;
};

/// One scenario check at one point.
struct CheckVerdict {
  std::string check;  ///< its text, as in the scenario
  size_t runs = 0;    ///< replications that evaluated it
  size_t passed = 0;
  /// Its worst replication; `value` is the checked figure's value there (NaN: unknown or
  /// missing).
  Worst worst;
  size_t failed() const { return runs - passed; }
};

struct PointVerdict {
  uint32_t point = 0;
  std::vector<FigureVerdict> figures;  ///< in the order the first replication lists them
  std::vector<CheckVerdict> checks;    ///< in the scenario's order
};

/// Verdicts of every point. Records must be sorted and complete.
std::vector<PointVerdict> point_verdicts(const std::vector<RunRecord>& records);

/// Figures where more is better, so that their worst value is the smallest (without a
/// check saying otherwise): availability*, throughput*, goodput*, ok, *_ok, linearizable.
bool more_is_better(const std::string& metric);

/// How far `value` is on the passing side of `check` (negative: failing; -inf: NaN).
double check_margin(const CheckSpec& check, double value);

/// The command that repeats one replication of a point: `dsim run <sweep_yaml> --seed <seed>
/// --set <key>=<value> ...` (sweep.yaml holds the scenario with the sweep's --set options
/// applied), each word quoted for a POSIX shell when it needs it.
std::string rerun_command(const SweepMeta& meta, uint32_t point, uint64_t seed,
                          const std::string& sweep_yaml);

/// A word as a POSIX shell reads it back: as is when it is plain, else in single quotes.
std::string shell_word(const std::string& word);

}  // namespace dsim::sweep
