// What happened in a run, in true time: the record a post-run analysis reads.
//
// Models see only their Context while the run goes on, and their own (possibly skewed)
// clock. Some figures are cross-node and need true time — how long a cluster had no
// leader after its leader crashed, say — so they are computed after the run from:
//   - timeline marks: small facts models record as they happen (Recorder::mark, e.g.
//     "became leader of term 7"), stamped by the engine with the true time and the node;
//   - node life events: every crash, restart, pause and resume, as the engine did them;
//   - the fault log: every fault's start, end or instant, with the nodes it hit and, for a
//     partition, the cut it installed (so connectivity at any time can be reconstructed).
// A model type contributes such an analysis as a static `analyze` function (registry.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/ids.h"
#include "sim/core/partition.h"
#include "sim/core/time.h"

namespace dsim {

/// A node's life: up, crashed (no model; messages to it are dropped), or paused (a frozen
/// process: its timers, messages and disk completions wait until it resumes).
enum class NodeStatus : uint8_t { kUp, kDown, kPaused };

enum class FaultPhase : uint8_t { kStart, kEnd, kInstant };

/// A fault target's group meaning "every node of the run" (TargetSpec::Term::group,
/// FaultEvent::aimed_groups).
inline constexpr uint32_t kWholeRunGroup = 0xffffffffu;

/// One start or end of a fault, for the trace, faults.csv and the time-series markers.
struct FaultEvent {
  SimTime at;
  FaultPhase phase;           ///< kInstant: a fault with no duration (restart, resume, heal, ...)
  uint64_t id;                ///< the fault's number, 1, 2, ... in the order faults start
  std::string kind;           ///< "partition", "crash", ...
  std::string targets;        ///< the nodes it hit, as resolved when it started (cut to 8 names)
  std::string detail;         ///< kind-specific: the shape, a factor, a step ...
  std::vector<NodeId> nodes;  ///< start and instant: every node it hit, in id order
  std::shared_ptr<const Cut> cut;  ///< a partition's start: the cut it installed
  /// Start and instant: its target resolved to no node then (a role nobody held, say), so
  /// it did nothing.
  bool no_target = false;
  /// With no_target: the groups its target chose from (kWholeRunGroup: the whole run), so an
  /// analysis can tell which trials it cost.
  std::vector<uint32_t> aimed_groups;
};

/// A fact a model recorded (Recorder::mark): `kind` with two numbers whose meaning the
/// model defines, at a true time, on a node.
struct TimelineMark {
  SimTime at;
  NodeId node = kNoNode;
  Symbol kind;
  int64_t a = 0;
  int64_t b = 0;
};

/// Why a node went down or came up: a fault (crash, restart, pause, resume), or a member
/// leaving its group gracefully, or joining it (a group's `joining` nodes are outside at
/// time 0: one kAbsent event each).
enum class LifeCause : uint8_t { kFault, kAbsent, kLeave, kJoin };

/// A node entered `status` (crash, leave: kDown; restart, resume, join: kUp; pause:
/// kPaused). Every node is up at time 0 but a group's `joining` ones (kAbsent at time 0).
struct NodeLifeEvent {
  SimTime at;
  NodeId node = kNoNode;
  NodeStatus status = NodeStatus::kUp;
  LifeCause cause = LifeCause::kFault;
  /// Down by a leave, absent, or up by a join: the node is outside its group, or enters it.
  bool graceful() const { return cause != LifeCause::kFault; }
};

/// What a model's analysis receives: the groups that run the model and the run's record.
struct AnalysisInput {
  struct Group {
    std::string name;
    std::vector<NodeId> nodes;
    const void* config = nullptr;  ///< the group's parsed Config (the model's own type)
    uint32_t index = 0;  ///< the group's number in the scenario (FaultEvent::aimed_groups)
  };
  std::vector<Group> groups;
  std::span<const TimelineMark> marks;  ///< every mark of the run, in time order
  bool marks_truncated = false;         ///< the mark store filled up: later marks are missing
  std::span<const NodeLifeEvent> life;  ///< in time order
  std::span<const FaultEvent> faults;   ///< in time order
  SimTime warmup_end;                   ///< figures count what began at or after this
  SimTime end;                          ///< when the run ended
  size_t node_count = 0;
  std::function<std::string_view(Symbol)> symbol_name;
  std::function<std::string(NodeId)> node_name;
};

/// What an analysis returns: summary rows (in its groups), files and terminal lines.
struct AnalysisOutput {
  struct Row {
    std::string group;
    std::string op;  ///< usually empty: a group-level figure
    std::string metric;
    double value;
  };
  std::vector<Row> rows;
  /// (file name, content without the header line): the run writes them with its header.
  std::vector<std::pair<std::string, std::string>> files;
  std::string text;  ///< lines for the terminal summary (each ends with '\n')
};

}  // namespace dsim
