// A parameter sweep: a scenario, the axes of values it is run at, and how many
// replications each point gets. Read from the scenario's `sweep:` block and the command
// line (--grid, --zip, --replications), validated before anything runs.
//
//   sweep:
//     replications: 5          # runs per point, each with its own seed
//     grid:                    # the cartesian product of these axes; the first varies slowest
//       - key: groups.web.params.workers
//         values: [1, 2, 4]
//       - zip:                 # keys that advance together: one axis
//           - {key: groups.clients.params.rate, values: [100/s, 200/s]}
//           - {key: groups.clients.params.timeout, values: [1s, 500ms]}
//
// A key is a path in the scenario with the syntax of --set. Replication r of every
// point runs with seed replication_seed(root, r): replication 0 with the root seed
// itself, the others with seeds hashed from it (common random numbers across points).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/params.h"
#include "sim/core/registry.h"
#include "sim/scenario/scenario.h"

namespace dsim::sweep {

/// One swept key and its values.
struct AxisKey {
  std::string key;
  std::vector<ParamNode> values;
  SourceLoc loc;
};

/// One axis of the grid: a single key, or several zipped keys of the same length.
struct Axis {
  std::vector<AxisKey> keys;
  size_t size() const { return keys.empty() ? 0 : keys.front().values.size(); }
};

struct SweepPlan {
  std::string file;  ///< the scenario file (for messages and relative paths)
  std::string name;  ///< the scenario's name
  ParamNode base;    ///< the scenario with --set applied, without its sweep block
  std::vector<Axis> axes;
  uint32_t replications = 1;
  uint64_t root_seed = 1;
  /// Whether load_sweep() validated every point; if not, a run checks its own point and
  /// an invalid one is reported when it was to run.
  bool every_point_checked = true;
  size_t points_checked = 0;  ///< how many points load_sweep() validated

  size_t points() const;
  size_t runs() const { return points() * replications; }
  /// Every swept key, axis by axis: the point columns of the output files.
  std::vector<std::string> columns() const;
  /// The value of each column at a point, as text ("4", "200/s", "{read: 1ms}").
  std::vector<std::string> point_values(size_t point) const;
  /// "workers=4 rate=200/s" for messages.
  std::string point_label(size_t point) const;
  /// The scenario tree of a point: the base with the point's values set.
  ParamNode point_tree(size_t point, Diagnostics& diag) const;
  /// The whole sweep as a scenario file (base + resolved sweep block and seed):
  /// `dsim sweep` on it repeats the sweep.
  std::string render_yaml() const;
};

/// The seed of replication r: the root itself for r = 0, else a 63-bit hash of (root, r).
uint64_t replication_seed(uint64_t root_seed, uint32_t replication);

struct SweepArgs {
  std::vector<std::string> overrides;  ///< --set key.path=value
  std::vector<std::string> grid;       ///< --grid key.path=v1,v2,...: an axis each
  std::vector<std::string> zip;        ///< --zip key.path=v1,v2,...: one axis together
  std::optional<uint32_t> replications;
  std::optional<uint64_t> seed;
  /// Sweeps of at most this many points are validated point by point before they start;
  /// larger ones each axis value alone and this many points spread over the grid.
  size_t checked_points = 1000;
};

inline constexpr size_t kMaxRuns = 10'000'000;

/// Reads a scenario and its sweep, and validates it: every point of a sweep of at most
/// args.checked_points points; otherwise each axis value set alone on the scenario and
/// args.checked_points points spread over the grid (so the time is bounded whatever the
/// grid's size), the other points being checked as they run. On any error returns
/// nullopt with every error in `diag`.
std::optional<SweepPlan> load_sweep(const std::string& path, const SweepArgs& args,
                                    const ModelRegistry& registry, Diagnostics& diag);

/// The scenario of one run, ready to run. Errors (none once load_sweep() succeeded)
/// go to `diag`.
std::optional<ScenarioSpec> run_scenario_spec(const SweepPlan& plan, size_t point,
                                              uint32_t replication, const ModelRegistry& registry,
                                              Diagnostics& diag);

/// Splits "v1,v2,..." at the commas outside brackets, parentheses and quotes.
std::vector<std::string> split_values(const std::string& text);

/// A value as one line of text: a scalar as written, lists and maps in YAML flow style.
std::string flow_text(const ParamNode& node);

}  // namespace dsim::sweep
