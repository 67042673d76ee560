// The discrete-event engine: nodes, their models, the event queue, timers, the network
// and the metrics. This is the engine's own interface, for the layers that set up and
// run a simulation (sim/run, the CLI, tests). Models never see it: they see Context.
#pragma once

#if !defined(DSIM_ENGINE_ACCESS)
#error "models talk to the world only through Context (sim/core/model.h), not the engine"
#endif

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/clock.h"
#include "sim/core/durable_store.h"
#include "sim/core/event_queue.h"
#include "sim/core/event_trace.h"
#include "sim/core/message.h"
#include "sim/core/metrics.h"
#include "sim/core/model.h"
#include "sim/core/network.h"
#include "sim/core/rng.h"
#include "sim/core/symbols.h"
#include "sim/core/time.h"
#include "sim/core/timeline.h"

namespace dsim {

struct EngineConfig {
  uint64_t seed = 1;
  SimTime end = SimTime::max();        ///< simulated time at which the run stops
  Duration warmup = Duration::zero();  ///< excluded from the summary figures
  Duration window = seconds(1);        ///< width of the time-series windows
  uint64_t max_events = 0;             ///< 0: no limit
  uint64_t max_pending = 0;            ///< 0: no limit on the pending-event set
  bool check_invariants = false;       ///< call Model::check_invariants() after each handler
  uint64_t history_max_bytes = Histories::kDefaultMaxBytes;  ///< memory for the histories
  NetworkConfig network;
  /// Record the run's events (output.trace); nullopt: no trace, and nothing else changes.
  std::optional<TraceConfig> trace;
  /// Keep the messages of a window as records (output.diagram); nullopt: none.
  std::optional<MessageLogConfig> messages;
};

/// Why a run stopped. The memory and wall-clock limits are decided by a watcher (see
/// Engine::watch): the engine itself reads neither.
enum class StopReason {
  kEndOfTime,
  kNoMoreEvents,
  kMaxEvents,
  kMaxPending,
  kMemoryLimit,
  kWallLimit
};
std::string_view stop_reason_name(StopReason r);
/// True when the run was cut short by a limit (not by reaching its end).
inline bool aborted(StopReason r) {
  return r != StopReason::kEndOfTime && r != StopReason::kNoMoreEvents;
}

/// What the engine is busy with, as a watcher sees it.
struct EngineActivity {
  enum class Phase : uint8_t { kAddingNodes, kCreatingModels, kStartingNodes, kRunning };
  Phase phase = Phase::kRunning;
  uint64_t done = 0;   ///< nodes added, created or started so far (set-up phases)
  uint64_t total = 0;  ///< of how many (0 while adding: the total is not known yet)
  SimTime now;         ///< simulated time (running)
  uint64_t events = 0;
};

struct RunStats {
  /// False when a watcher stopped the engine while it was set up or its nodes started:
  /// no event ran and no figure of the run means anything.
  bool started = true;
  uint64_t events = 0;
  SimTime end_time;  ///< when the run stopped (its end, or when a limit hit)
  StopReason reason = StopReason::kEndOfTime;
  uint64_t peak_pending = 0;
  uint64_t messages_delivered = 0;
  /// A hash of every handler run, in order, by (true time, kind, node): equal
  /// fingerprints mean the same trace. Independent of how the queue and pools are built;
  /// golden tests pin it.
  uint64_t fingerprint = 0;
};

struct GroupInfo {
  std::string name;
  std::vector<NodeId> nodes;
  uint32_t joining = 0;  ///< the last nodes, outside the group at time 0 (set_joining)
};

/// Per-node fault counters (nodes.csv).
struct NodeFaultCounters {
  uint32_t crashes = 0;
  uint32_t restarts = 0;
  uint32_t pauses = 0;
};

class Engine final : private DiskScheduler {
 public:
  using ModelMaker = std::function<std::unique_ptr<Model>()>;
  /// Told what the engine does, often; returns a reason to stop (a resource limit) or
  /// nullopt to go on. It must not touch the engine: it cannot change a run it lets go on.
  using Watcher = std::function<std::optional<StopReason>(const EngineActivity&)>;

  explicit Engine(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Adds `count` nodes named "<name>.<i>", each with a model from `make`. Returns the
  /// group's index. Call before run().
  uint32_t add_group(std::string name, uint32_t count, ModelMaker make);
  /// The group's last `count` nodes start outside it: not running until a join().
  void set_joining(uint32_t group, uint32_t count);
  /// Runs `action` at true time `at` (fault injection, scenario events).
  void at(SimTime at, std::function<void(Engine&)> action);
  /// Calls `watcher` every `every_events` events, every few nodes while adding them and
  /// creating their models, and after each node's on_start (one can schedule millions
  /// of events). Set it before add_group(). When it returns a reason, the engine stops:
  /// during set-up it adds no more nodes and run() returns at once (started = false).
  void watch(uint64_t every_events, Watcher watcher);
  /// The reason a watcher gave while the engine was set up, if it stopped it then.
  std::optional<StopReason> halted() const { return halted_; }

  /// Starts every node (in id order) at time 0 and runs until the end, the queue empties
  /// or a limit is hit. Call once.
  RunStats run();

  SimTime now() const { return now_; }
  const EngineConfig& config() const { return config_; }
  const MetricsRecorder& metrics() const { return metrics_; }
  SymbolTable& symbols() { return symbols_; }
  const SymbolTable& symbols() const { return symbols_; }
  const NetworkCounters& network_counters() const { return network_.totals(); }
  /// The run's event trace (EngineConfig::trace and ::messages), or null; complete once
  /// run() returned.
  const EventTrace* event_trace() const { return trace_.get(); }
  const std::vector<GroupInfo>& groups() const { return groups_; }
  const GroupInfo* find_group(std::string_view name) const;
  /// Gives group `group` a virtual address (Context::group_address), held at first by its
  /// first node.
  void add_address(uint32_t group);
  /// The group's virtual address, or kNoNode.
  NodeId address_of(uint32_t group) const;
  /// The node that holds address `address` now.
  NodeId holder_of(NodeId address) const { return addresses_.at(address - kFirstAddress).holder; }
  /// Node `node` takes its group's virtual address.
  void claim_address(NodeId node);
  /// Virtual addresses are NodeIds from here up; nodes are numbered below.
  static constexpr NodeId kFirstAddress = 0xF000'0000u;
  size_t node_count() const { return nodes_.size(); }
  std::string node_name(NodeId id) const;
  uint32_t group_of(NodeId id) const { return nodes_[id].group; }
  /// The node's model, for inspection by tests; null while the node is down.
  Model* model(NodeId id) { return nodes_[id].model.get(); }

  // --- set-up (before run) ---
  /// Clocks of a group's nodes (ideal by default).
  void set_clock(uint32_t group, ClockSpec spec);
  /// Disks of a group's nodes (DiskSpec defaults otherwise).
  void set_disk(uint32_t group, DiskSpec spec);
  /// Where every node runs (regions and graph topologies).
  void set_locations(std::vector<Location> locations, std::vector<std::string> names = {});

  // --- control: faults (from control actions, see at()) ---
  NodeStatus status(NodeId id) const { return nodes_[id].status; }
  /// Crashes a node: its model (volatile state) is dropped, its disk loses what was not
  /// durable, pending timers and disk completions are void. False if already down.
  bool crash(NodeId id);
  /// Restarts a crashed node: a new model instance from the group's maker, on_start.
  bool restart(NodeId id);
  bool pause(NodeId id);
  bool resume(NodeId id);
  /// A running node leaves its group gracefully: Model::on_leave, then, after the time it
  /// asks for, it stops as in a crash (what it has not synced is lost) and is outside the
  /// group. False if it is not up, or already leaving.
  bool leave(NodeId id);
  /// A node outside its group (joining at time 0, or left) starts and joins it: a new model
  /// instance, on_start. A node still leaving joins again as soon as it has left. False if
  /// it is neither.
  bool join(NodeId id);
  /// Outside its group: not yet joined, or left (not crashed).
  bool outside(NodeId id) const { return nodes_[id].outside; }
  /// Between a leave() and its stop.
  bool leaving(NodeId id) const { return nodes_[id].leaving; }
  /// Service and disk times of the node multiplied by `factor` (gray failure); 1 = normal.
  void set_slowdown(NodeId id, double factor);
  double slowdown(NodeId id) const { return nodes_[id].slowdown; }
  void set_disk_slowdown(NodeId id, double factor);
  void set_disk_full(NodeId id, bool full);
  void clock_step(NodeId id, Duration by);
  void clock_set_drift(NodeId id, double ppm);
  double clock_drift_ppm(NodeId id) const { return clocks_.empty() ? 0 : clocks_[id].drift_ppm(); }
  /// The node's role as its model reports it ("" when down or none).
  std::string_view role(NodeId id) const;
  Network& network() { return network_; }
  const Network& network() const { return network_; }
  /// Records a fault's start or end (the engine traces it).
  void record_fault(FaultEvent e);
  const std::vector<FaultEvent>& fault_log() const { return fault_log_; }
  /// Every crash, restart, pause and resume, in time order.
  const std::vector<NodeLifeEvent>& life_log() const { return life_log_; }
  /// The node's wall clock now (its local time) and its skew from true time.
  SimTime local_time(NodeId id) { return local_now(id); }
  /// The node's oscillator (monotonic) time now.
  SimTime local_monotonic(NodeId id) const { return local_mono(id); }
  /// The node's disk (created on first use).
  NodeDisk& disk(NodeId id);
  bool has_disk(NodeId id) const { return nodes_[id].disk != nullptr; }
  const std::vector<NodeFaultCounters>& node_fault_counters() const { return fault_counts_; }

 private:
  friend class NodeContext;

  enum class EventKind : uint64_t { kTimer = 0, kMessage = 1, kControl = 2, kDisk = 3 };
  static constexpr int kKindShift = 62;
  static uint64_t ref(EventKind k, uint64_t index) {
    return (static_cast<uint64_t>(k) << kKindShift) | index;
  }
  // A timer's event carries its slot and the stamp it was scheduled with.
  static uint64_t timer_ref(uint32_t slot, uint32_t stamp) {
    return ref(EventKind::kTimer, (static_cast<uint64_t>(stamp & 0x3fffffffu) << 32) | slot);
  }

  struct NodeSlot {
    std::unique_ptr<Model> model;
    Rng rng;      // the model's stream
    Rng net_rng;  // the network's draws for messages this node sends
    uint32_t group;
    uint32_t index_in_group;
    uint32_t incarnation = 0;
    NodeStatus status = NodeStatus::kUp;
    double slowdown = 1;
    std::unique_ptr<NodeDisk> disk;  // created on first use; survives crashes
    bool outside = false;            // not yet joined, or left
    bool leaving = false;            // between a leave() and its stop
    bool rejoin = false;             // join() while leaving: join at the stop
  };
  struct TimerSlot {
    TimerTag tag = 0;
    NodeId node = kNoNode;
    uint32_t generation = 0;
    uint32_t incarnation = 0;
    uint32_t stamp = 0;  // bumped when rescheduled: older queued events are stale
    bool cancelled = false;
    bool deferred = false;  // due while its node was paused
    int64_t local_due = 0;  // oscillator time at which it fires
  };
  struct InFlight {
    Message msg;
    NodeId from = kNoNode;
    NodeId to = kNoNode;
    uint32_t pair = 0;
    uint32_t stage = 0;  // next stage of the path to cross; == path.stages: arrived
    Network::Path path;
    SimTime at;         // when it reaches the next stage (or its destination)
    Duration extra;     // per-message delay added on arrival
    uint64_t flow = 0;  // its arrow in the event trace (0: none)
  };

  // Context operations, for the node whose handler runs.
  SimTime local_now(NodeId node);
  SimTime local_mono(NodeId node) const;
  void send(NodeId from, NodeId to, Message&& msg);
  TimerId set_timer(NodeId node, Duration after, TimerTag tag);
  void cancel_timer(TimerId id);

  void dispatch(uint64_t ref);
  void fire_timer(uint32_t slot, uint32_t stamp);
  void on_message_event(uint32_t slot);
  void advance(uint32_t slot);  // crosses stages until one must wait for its time
  void deliver(uint32_t slot);
  void run_control(uint32_t slot);
  void stop(NodeId id);                         // drops the model and what is pending for it
  void start(NodeId id, std::string_view why);  // a new model instance, on_start
  void left(NodeId id, uint32_t incarnation);   // a leave's end
  void complete_disk(NodeId node, uint32_t epoch);
  void schedule_disk(NodeId node, SimTime at) override;
  uint32_t alloc_message();
  void free_message(uint32_t slot);
  void defer(NodeId node, uint64_t ref);
  void reschedule_timers(NodeId node);
  bool poll(const EngineActivity& a);  // asks the watcher; true: stop
  bool start_nodes();                  // models and on_start; false: a watcher stopped it
  void loop(RunStats& stats);          // the event loop
  void enter(NodeId node);             // points the context and the recorder at node
  void after_handler(NodeId node);
  void trace(EventKind kind, NodeId node) {
    fingerprint_ = mix64(fingerprint_ ^ static_cast<uint64_t>(now_.ns())) ^
                   ((static_cast<uint64_t>(kind) << 32) | node);
  }

  EngineConfig config_;
  SimTime now_;
  EventQueue queue_;
  SymbolTable symbols_;
  MetricsRecorder metrics_;
  Network network_;
  std::vector<NodeSlot> nodes_;
  std::vector<std::unique_ptr<ClockSpec>> group_clocks_;  // per group; null: ideal
  std::vector<std::unique_ptr<DiskSpec>> group_disks_;    // per group; null: defaults
  DiskSpec default_disk_;
  std::vector<NodeClock> clocks_;                     // per node; empty when every clock is ideal
  std::map<NodeId, std::vector<uint64_t>> deferred_;  // paused nodes' waiting events
  std::vector<FaultEvent> fault_log_;
  std::vector<NodeLifeEvent> life_log_;
  std::vector<NodeFaultCounters> fault_counts_;
  std::vector<GroupInfo> groups_;
  struct Address {
    uint32_t group;
    NodeId holder;
  };
  std::vector<Address> addresses_;  // by address - kFirstAddress
  std::vector<ModelMaker> makers_;  // per group
  std::vector<TimerSlot> timers_;
  std::vector<uint32_t> free_timers_;
  std::vector<InFlight> messages_;
  std::vector<uint32_t> free_messages_;
  std::vector<std::function<void(Engine&)>> controls_;
  std::unique_ptr<class NodeContext> ctx_;
  Watcher watcher_;
  uint64_t watch_every_ = 0;
  std::optional<StopReason> halted_;
  uint64_t fingerprint_ = 0;
  std::unique_ptr<EventTrace> trace_;  // null unless EngineConfig::trace or ::messages
  bool ran_ = false;
};

}  // namespace dsim
