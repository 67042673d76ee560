// The discrete-event engine: nodes, their models, the event queue, timers, the network
// and the metrics. This is the engine's own interface, for the layers that set up and
// run a simulation (sim/run, the CLI, tests). Models never see it: they see Context.
#pragma once

#if !defined(DSIM_ENGINE_ACCESS)
#error "models talk to the world only through Context (sim/core/model.h), not the engine"
#endif

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/event_queue.h"
#include "sim/core/message.h"
#include "sim/core/metrics.h"
#include "sim/core/model.h"
#include "sim/core/network.h"
#include "sim/core/rng.h"
#include "sim/core/symbols.h"
#include "sim/core/time.h"

namespace dsim {

struct EngineConfig {
  uint64_t seed = 1;
  SimTime end = SimTime::max();        ///< simulated time at which the run stops
  Duration warmup = Duration::zero();  ///< excluded from the summary figures
  Duration window = seconds(1);        ///< width of the time-series windows
  uint64_t max_events = 0;             ///< 0: no limit
  uint64_t max_pending = 0;            ///< 0: no limit on the pending-event set
  bool check_invariants = false;       ///< call Model::check_invariants() after each handler
  uint64_t history_max_bytes = History::kDefaultMaxBytes;  ///< memory for the op history
  NetworkConfig network;
};

enum class StopReason { kEndOfTime, kNoMoreEvents, kMaxEvents, kMaxPending };
std::string_view stop_reason_name(StopReason r);
/// True when the run was cut short by a limit (not by reaching its end).
inline bool aborted(StopReason r) {
  return r == StopReason::kMaxEvents || r == StopReason::kMaxPending;
}

struct RunStats {
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
};

class Engine {
 public:
  using ModelMaker = std::function<std::unique_ptr<Model>()>;

  explicit Engine(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Adds `count` nodes named "<name>.<i>", each with a model from `make`. Returns the
  /// group's index. Call before run().
  uint32_t add_group(std::string name, uint32_t count, ModelMaker make);
  /// Runs `action` at true time `at` (fault injection, scenario events).
  void at(SimTime at, std::function<void(Engine&)> action);
  /// Calls `progress(now, events)` every `every_events` events (for progress bars).
  void on_progress(uint64_t every_events, std::function<void(SimTime, uint64_t)> progress);

  /// Starts every node (in id order) at time 0 and runs until the end, the queue empties
  /// or a limit is hit. Call once.
  RunStats run();

  SimTime now() const { return now_; }
  const EngineConfig& config() const { return config_; }
  const MetricsRecorder& metrics() const { return metrics_; }
  SymbolTable& symbols() { return symbols_; }
  const SymbolTable& symbols() const { return symbols_; }
  const NetworkCounters& network_counters() const { return net_counters_; }
  const std::vector<GroupInfo>& groups() const { return groups_; }
  const GroupInfo* find_group(std::string_view name) const;
  size_t node_count() const { return nodes_.size(); }
  std::string node_name(NodeId id) const;
  uint32_t group_of(NodeId id) const { return nodes_[id].group; }
  /// The node's model, for inspection by tests; null while the node is down.
  Model* model(NodeId id) { return nodes_[id].model.get(); }

 private:
  friend class NodeContext;

  enum class EventKind : uint64_t { kTimer = 0, kMessage = 1, kControl = 2 };
  static constexpr int kKindShift = 62;
  static uint64_t ref(EventKind k, uint64_t index) {
    return (static_cast<uint64_t>(k) << kKindShift) | index;
  }

  struct NodeSlot {
    std::unique_ptr<Model> model;
    Rng rng;      // the model's stream
    Rng net_rng;  // the network's draws for messages this node sends
    uint32_t group;
    uint32_t index_in_group;
    uint32_t incarnation = 0;
  };
  struct TimerSlot {
    TimerTag tag = 0;
    NodeId node = kNoNode;
    uint32_t generation = 0;
    uint32_t incarnation = 0;
    bool cancelled = false;
  };
  struct InFlight {
    Message msg;
    NodeId from = kNoNode;
    NodeId to = kNoNode;
  };

  // Context operations, for the node whose handler runs.
  SimTime local_now(NodeId node) const;
  void send(NodeId from, NodeId to, Message msg);
  TimerId set_timer(NodeId node, Duration after, TimerTag tag);
  void cancel_timer(TimerId id);

  void dispatch(uint64_t ref);
  void fire_timer(uint32_t slot);
  void deliver(uint32_t slot);
  void run_control(uint32_t slot);
  void enter(NodeId node);  // points the context and the recorder at node
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
  NetworkCounters net_counters_;
  std::vector<NodeSlot> nodes_;
  std::vector<GroupInfo> groups_;
  std::vector<ModelMaker> makers_;  // per group
  std::vector<TimerSlot> timers_;
  std::vector<uint32_t> free_timers_;
  std::vector<InFlight> messages_;
  std::vector<uint32_t> free_messages_;
  std::vector<std::function<void(Engine&)>> controls_;
  std::unique_ptr<class NodeContext> ctx_;
  std::function<void(SimTime, uint64_t)> progress_;
  uint64_t progress_every_ = 0;
  uint64_t fingerprint_ = 0;
  bool ran_ = false;
};

}  // namespace dsim
