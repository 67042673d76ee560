// The cycle-driven engine (engine: cycles), after PeerSim's: no event queue; time advances
// in cycles, and in each every node of a group takes one turn (CycleGroup::turn), in a
// random order drawn anew each cycle (PeerSim's `shuffle`) or in index order. A group's
// cycles fall at the multiples of its period; its own due work (CycleGroup::next_due)
// runs before the cycle of the same time. See cycles.h for what a group sees.
#pragma once

#if !defined(DSIM_ENGINE_ACCESS)
#error "models talk to the world only through Context or CycleWorld, not the engine"
#endif

#include <memory>
#include <string>
#include <vector>

#include "sim/core/cycles.h"
#include "sim/core/engine.h"
#include "sim/core/symbols.h"
#include "sim/core/timeline.h"

namespace dsim {

struct CycleEngineConfig {
  uint64_t seed = 1;
  SimTime end;                         ///< cycles run up to this time, inclusive
  Duration warmup = Duration::zero();  ///< excluded from the summary figures
  double loss = 0;                     ///< probability a message is lost
  CycleOrder order = CycleOrder::kRandom;
};

/// The traffic of a cycle-driven run (every message is sent and delivered in the same
/// instant, or lost).
struct CycleTraffic {
  uint64_t sent = 0, delivered = 0, lost = 0, bytes = 0;
};

class CycleEngine {
 public:
  explicit CycleEngine(CycleEngineConfig config) : config_(config) {}
  /// A group of `count` nodes; its nodes' ids follow the previous group's.
  uint32_t add_group(std::string name, uint32_t count, std::unique_ptr<CycleGroup> group);
  /// Runs every cycle up to the end; `watcher` is asked after each cycle whether to stop
  /// (a memory or wall-clock limit).
  RunStats run(const Engine::Watcher& watcher);

  const std::vector<GroupInfo>& groups() const { return groups_; }
  /// A group's summary rows (CycleGroup::finish), by group.
  const std::vector<std::vector<std::pair<std::string, double>>>& rows() const { return rows_; }
  const std::vector<TimelineMark>& marks() const { return marks_; }
  uint64_t marks_dropped() const { return marks_dropped_; }
  const SymbolTable& symbols() const { return symbols_; }
  const CycleTraffic& traffic() const { return traffic_; }
  size_t node_count() const { return nodes_; }
  std::string node_name(NodeId id) const;
  double measured_seconds() const;

 private:
  friend class CycleWorldImpl;
  struct Group {
    std::unique_ptr<CycleGroup> model;
    NodeId first = 0;
    uint32_t count = 0;
    int64_t cycle = 0;            // cycles run
    std::vector<uint32_t> order;  // CycleOrder::kRandom: this cycle's order
  };
  void run_cycle(class CycleWorldImpl& world, uint32_t g);
  uint64_t fingerprint(const RunStats& stats) const;

  CycleEngineConfig config_;
  std::vector<Group> state_;
  std::vector<GroupInfo> groups_;
  std::vector<std::vector<std::pair<std::string, double>>> rows_;
  std::vector<TimelineMark> marks_;
  uint64_t marks_dropped_ = 0;
  SymbolTable symbols_;
  CycleTraffic traffic_;
  size_t nodes_ = 0;
};

}  // namespace dsim
