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
#include "sim/run/diagram_recording.h"
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
  /// nullopt: the run did not produce the figure (resolved before the run, it is one the
  /// scenario can report, e.g. the latency of an operation that never succeeded); NaN: it
  /// did, but its value is unknown (e.g. linearizability undecided within its budget).
  /// Either way the check fails.
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
  /// Set when a limit refused the run before its first event (the memory estimate, or the
  /// memory or wall-clock limit while the engine was built or its nodes started): says
  /// why. Nothing else is set then, and no file is written.
  std::string refused;
  /// Set when a memory or wall-clock limit stopped the run: which, and what it found.
  std::string limit_message;
  /// Set when the event trace (output.trace) stopped at its budget: says where.
  std::string trace_message;
  /// With output.diagram: what the message diagram draws (diagram.svg is drawn from it by
  /// sim/report, above this layer; messages.csv is among the files).
  std::optional<DiagramRecording> diagram;

  bool checks_passed() const;
};

/// Where a run stands, for a progress display.
struct RunProgress {
  enum class Stage : uint8_t { kLoading, kBuilding, kStarting, kRunning, kChecking, kWriting };
  Stage stage = Stage::kLoading;
  std::string what;    ///< kChecking: the checker ("linearizability")
  uint64_t done = 0;   ///< nodes built or started; keys or items checked
  uint64_t total = 0;  ///< 0: not known
  SimTime now;         ///< kRunning: simulated time
  uint64_t events = 0;
};

using ProgressFn = std::function<void(const RunProgress&)>;

struct RunOptions {
  /// Told where the run stands, often (from the thread that runs it); never changes it.
  ProgressFn progress;
  /// Events between two looks at the limits and the progress.
  uint64_t watch_every = 1 << 10;
  bool check_invariants = false;
};

/// Builds the engine a scenario describes (not yet run). A watcher, when given, is set
/// first and sees the nodes being added; the engine's halted() then tells whether it
/// stopped the building (the engine must not be run further than run() returning).
std::unique_ptr<Engine> build_engine(const ScenarioSpec& spec, bool check_invariants = false,
                                     Engine::Watcher watcher = {}, uint64_t watch_every = 0);

RunOutput run_scenario(const ScenarioSpec& spec, const RunOptions& options = {});

/// The summary row a check reads (see checks.h), or nullptr when there is none.
const SummaryRow* checked_row(const std::vector<SummaryRow>& rows, const CheckSpec& check);
/// Finds a summary figure the way checks do (see checks.h); NaN when the figure exists but
/// is unknown.
std::optional<double> lookup_metric(const std::vector<SummaryRow>& rows, const CheckSpec& check);

}  // namespace dsim
