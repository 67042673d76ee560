// The engine's side of Recorder: aggregates what models report, per node group, into
// histograms, counters, levels and per-window series. Operations and counters are
// attributed to the group of the node that recorded them; operations that began before
// the warmup ended are left out of the summary figures but kept in the windows.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/histogram.h"
#include "sim/core/history.h"
#include "sim/core/model.h"
#include "sim/core/symbols.h"
#include "sim/core/timeline.h"

namespace dsim {

inline constexpr int kOutcomeCount = 4;
/// Precision of the summary latency histograms (0.39% relative error) and of the
/// per-window ones (3.1%).
inline constexpr int kSummaryHistogramBits = 8;
inline constexpr int kWindowHistogramBits = 5;

/// One time window of one operation type. Operations are attributed to the window they
/// started in (so an outage shows where it happened, not a timeout later), except
/// `ok_completed`, which counts successes by the window they completed in (throughput).
struct OpWindow {
  uint64_t started = 0;
  std::array<uint64_t, kOutcomeCount> outcomes{};  ///< of the operations started here
  uint64_t ok_completed = 0;
  Histogram latency_ok{kWindowHistogramBits};  ///< of the operations started here
};

struct OpStats {
  std::array<uint64_t, kOutcomeCount> completed{};  ///< measured (begun after warmup)
  Histogram latency_ok{kSummaryHistogramBits};      ///< measured, ok only
  uint64_t in_flight_at_end = 0;                    ///< measured, never completed
  std::vector<OpWindow> windows;                    ///< whole run
};

struct LevelStats {
  double integral = 0;  ///< sum over the group's nodes of value * seconds (measured period)
  double peak = 0;      ///< largest per-node value seen
};

class MetricsRecorder final : public Recorder {
 public:
  MetricsRecorder(SymbolTable* symbols, Duration warmup, Duration window, SimTime end);

  /// Node -> group attribution, set up by the engine before the run.
  void add_node(uint32_t group);
  void set_now(SimTime now) { now_ = now; }
  void set_current_node(NodeId node) { node_ = node; }

  OpToken begin_op(Symbol op) override;
  void end_op(OpToken token, Outcome outcome) override;
  void count(Symbol metric, int64_t delta) override;
  void observe(Symbol metric, Duration value) override;
  void level(Symbol metric, double value) override;
  void op_invoke(OpToken token, const HistoryFamily& family, const void* invocation) override;
  void op_result(OpToken token, HistoryOutcome outcome, const void* result,
                 uint32_t attempts) override;
  void mark(Symbol kind, int64_t a, int64_t b) override;

  /// Every timeline mark, in time order; at most kMaxMarks (later ones are counted only).
  static constexpr size_t kMaxMarks = size_t{1} << 22;
  const std::vector<TimelineMark>& marks() const { return marks_; }
  uint64_t marks_dropped() const { return marks_dropped_; }

  /// Bounds the memory of the operation histories (see Histories).
  void set_history_limit(uint64_t max_bytes) { history_.set_max_bytes(max_bytes); }
  /// Every operation a client put in a history, from the start of the run.
  const Histories& history() const { return history_; }

  /// Closes the books at `end`: integrates levels up to it and counts open operations.
  void finish(SimTime end);

  // Results, keyed by (group index, symbol), in key order.
  const std::map<std::pair<uint32_t, Symbol>, OpStats>& ops() const { return ops_; }
  const std::map<std::pair<uint32_t, Symbol>, int64_t>& counters() const { return counters_; }
  const std::map<std::pair<uint32_t, Symbol>, Histogram>& observations() const {
    return observations_;
  }
  const std::map<std::pair<uint32_t, Symbol>, LevelStats>& levels() const { return levels_; }
  Duration window() const { return window_; }
  Duration warmup() const { return warmup_; }
  /// Seconds in the measured period [warmup, end].
  double measured_seconds() const;

 private:
  struct OpSlot {
    SimTime begin;
    Symbol op;
    uint32_t group = 0;
    uint32_t generation = 0;
    Histories::Ref history;   // where the client recorded it, if it did
    bool in_history = false;  // op_invoke() was called (even if the history was full)
    bool live = false;
  };
  struct NodeLevel {
    double value = 0;
    SimTime since;
  };
  size_t window_index(SimTime t) const { return static_cast<size_t>(t.ns() / window_.ns()); }
  OpWindow& window_of(OpStats& s, SimTime t);
  bool measured(SimTime t) const { return t.since_start() >= warmup_; }
  OpSlot* live_slot(OpToken token);
  void integrate(LevelStats& stats, NodeLevel& node_level, SimTime until);

  SymbolTable* symbols_;
  Duration warmup_;
  Duration window_;
  SimTime end_;
  SimTime now_;
  NodeId node_ = 0;
  std::vector<uint32_t> node_group_;
  std::vector<OpSlot> op_slots_;
  std::vector<uint32_t> free_op_slots_;
  std::map<std::pair<uint32_t, Symbol>, OpStats> ops_;
  std::map<std::pair<uint32_t, Symbol>, int64_t> counters_;
  std::map<std::pair<uint32_t, Symbol>, Histogram> observations_;
  std::map<std::pair<uint32_t, Symbol>, LevelStats> levels_;
  std::map<std::pair<NodeId, Symbol>, NodeLevel> node_levels_;
  Histories history_;
  std::vector<TimelineMark> marks_;
  uint64_t marks_dropped_ = 0;
};

}  // namespace dsim
