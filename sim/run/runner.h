// Runs a validated scenario: builds the engine from the spec, runs it, and turns the
// metrics into a summary, check verdicts and the output files (all in memory; writing
// them to disk is output_dir.h's job).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/engine.h"
#include "sim/scenario/scenario.h"

namespace dsim {

inline constexpr int kSchemaVersion = 1;

/// One figure of the summary: tidy, one row per (group, op, metric).
struct SummaryRow {
  std::string group;  ///< a group, "all" (every client group) or "run" (the whole run)
  std::string op;     ///< an operation type, "all", or "" for group-level metrics
  std::string metric;
  double value;
};

struct CheckResult {
  const CheckSpec* check;
  /// nullopt: the run did not produce the metric; NaN: it did, but its value is unknown
  /// (e.g. linearizability undecided within its budget), and the check fails.
  std::optional<double> value;
  bool passed;
};

struct RunOutput {
  RunStats stats;
  std::vector<SummaryRow> summary;
  std::vector<CheckResult> checks;
  std::vector<FaultEvent> faults;  ///< every fault start, end and instant, in time order
  /// File name -> content, in the order they are written.
  std::vector<std::pair<std::string, std::string>> files;
  /// The consistency and availability verdicts for the terminal (empty without a history).
  std::string verdict_text;
  /// What the models' post-run analyses print (ModelFactory::analyze; empty without one).
  std::string analysis_text;

  bool checks_passed() const;
  /// A check named a metric the run did not produce (bad input, exit code 2).
  bool checks_unresolved() const;
};

struct RunOptions {
  std::function<void(SimTime, uint64_t)> progress;  ///< called every progress_every events
  uint64_t progress_every = 1 << 18;
  bool check_invariants = false;
};

/// Builds the engine a scenario describes (not yet run).
std::unique_ptr<Engine> build_engine(const ScenarioSpec& spec, bool check_invariants = false);

RunOutput run_scenario(const ScenarioSpec& spec, const RunOptions& options = {});

/// The summary row a check reads (see checks.h), or nullptr when there is none.
const SummaryRow* checked_row(const std::vector<SummaryRow>& rows, const CheckSpec& check);
/// Finds a summary figure the way checks do (see checks.h); NaN when the figure exists but
/// is unknown.
std::optional<double> lookup_metric(const std::vector<SummaryRow>& rows, const CheckSpec& check);

}  // namespace dsim
