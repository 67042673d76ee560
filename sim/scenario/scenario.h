// A scenario file, read and validated into plain structs. The whole file is checked
// before anything runs, and every error is reported (file:line:column, what was
// expected), not just the first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/clock.h"
#include "sim/core/durable_store.h"
#include "sim/core/event_trace.h"
#include "sim/core/faults.h"
#include "sim/core/network.h"
#include "sim/core/params.h"
#include "sim/core/registry.h"
#include "sim/core/time.h"
#include "sim/scenario/checks.h"

namespace dsim {

/// The most nodes a scenario may hold, every group's count added.
constexpr uint64_t kMaxNodes = 50'000'000;

struct GroupSpec {
  std::string name;
  std::string model;
  uint32_t count = 1;
  uint32_t joining = 0;  ///< the last nodes, outside the group at time 0 (join faults add them)
  SourceLoc loc;
  const ModelFactory* factory = nullptr;
  std::shared_ptr<const void> config;  ///< the model's parsed Config
  /// Locations the nodes are spread over (regions and graph topologies); empty: every
  /// region (or every host of the graph).
  std::vector<std::string> placement;
  ClockSpec clock;
  DiskSpec disk;
};

/// diagram.svg and messages.csv (output.diagram): the messages sent within a window, drawn
/// as a space-time diagram (sim/report/message_diagram.h).
struct DiagramSpec {
  static constexpr uint64_t kDefaultMaxMessages = 3000;
  SimTime from;                                 ///< first send time drawn
  SimTime to = SimTime::max();                  ///< last send time drawn (max: the end of the run)
  uint64_t max_messages = kDefaultMaxMessages;  ///< messages drawn at most
  std::string client;  ///< the node whose messages and operations are highlighted; "": none
};

struct OutputSpec {
  Duration window = seconds(1);  ///< time-series window
  bool links = true;             ///< links.csv, and the per-pair counters behind it
  /// trace.json (output.trace): the window (default the whole run) and the event budget.
  std::optional<TraceConfig> trace;
  std::optional<DiagramSpec> diagram;
};

struct LimitsSpec {
  uint64_t max_events = 0;   ///< 0: none
  uint64_t max_pending = 0;  ///< 0: none
  /// Resident memory the run may hold; nullopt: half of the machine's memory; 0: none.
  /// Enforced by sim/run (resource_limits.h), which reads /proc.
  std::optional<uint64_t> memory;
  /// Wall-clock time the run may take (building and running); nullopt: none.
  std::optional<Duration> wall;
};

/// `consistency:` recording the operation histories and checking them. Each history
/// family reads its own keys of the map (HistoryFamilyEntry::parse_settings).
struct ConsistencySpec {
  uint64_t history_memory = uint64_t{256} << 20;  ///< bytes the histories may hold
  /// Each family's parsed settings, by its index in the registry's families().
  std::vector<std::shared_ptr<const void>> family_settings;
};

/// `availability:` the availability analysis of the history.
struct AvailabilitySpec {
  std::optional<Duration> window;  ///< default: output.window
  Duration min_unavailable = ms(100);
  Duration baseline = seconds(10);
  double recovered_fraction = 0.9;
};

/// Which engine runs the scenario: discrete events (the default), or cycles (PeerSim's
/// cycle-driven set-up, for the models with a cycle form: sim/core/cycles.h).
enum class EngineKind : uint8_t { kEvents, kCycles };

struct ScenarioSpec {
  std::string file;  ///< where it was read from
  /// The models and history families it was read with (outlives the spec).
  const ModelRegistry* registry = nullptr;
  std::string name;
  std::string description;
  uint64_t seed = 1;
  Duration duration = seconds(60);
  Duration warmup = Duration::zero();
  EngineKind engine = EngineKind::kEvents;
  CycleOrder cycle_order = CycleOrder::kRandom;  ///< engine: cycles
  NetworkConfig network;
  std::vector<GroupSpec> groups;
  std::vector<CheckSpec> checks;
  OutputSpec output;
  LimitsSpec limits;
  std::string network_profile;       ///< "" or the built-in profile used
  std::vector<FaultSpec> faults;     ///< the timeline, in file order
  std::vector<NemesisSpec> nemesis;  ///< random fault generators
  ConsistencySpec consistency;
  AvailabilitySpec availability;
  /// The scenario with --set overrides applied and every default filled in: written as
  /// scenario.resolved.yaml so the run can be repeated exactly.
  ParamNode resolved;
};

struct LoadOptions {
  std::vector<std::string> overrides;  ///< "key.path=value", applied in order
  std::optional<uint64_t> seed;        ///< replaces the file's seed
};

/// Reads, overrides and validates a scenario. On any error returns nullopt; `diag`
/// holds every error found.
std::optional<ScenarioSpec> load_scenario(const std::string& path, const LoadOptions& options,
                                          const ModelRegistry& registry, Diagnostics& diag);

/// As load_scenario(), from text already in memory (`file` names it in messages).
std::optional<ScenarioSpec> load_scenario_text(const std::string& text, const std::string& file,
                                               const LoadOptions& options,
                                               const ModelRegistry& registry, Diagnostics& diag);

/// As load_scenario_text(), from a tree already parsed (the sweep layer builds one per
/// point; values keep the locations they were written at).
std::optional<ScenarioSpec> load_scenario_tree(ParamNode tree, const std::string& file,
                                               const LoadOptions& options,
                                               const ModelRegistry& registry, Diagnostics& diag);

/// Applies one "key.path=value" override to a tree. List elements are selected by index
/// or, for lists of maps with a `name`, by name (groups.clients.params.rate=500/s).
bool apply_override(ParamNode& root, const std::string& assignment, Diagnostics& diag);

/// Sets the value at `path` (the syntax of apply_override); errors are reported at `where`.
bool set_at_path(ParamNode& root, const std::string& path, ParamNode value, const SourceLoc& where,
                 Diagnostics& diag);

}  // namespace dsim
