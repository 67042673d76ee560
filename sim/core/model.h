// The only window a model has on the world.
//
// A model is a deterministic state machine per node, in the sans-IO style: it reacts to
// its start, to messages and to its own timers through a Context, and does nothing else —
// no I/O, no clocks but ctx.now(), no randomness but ctx.rng(). See docs/writing-a-model.md.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sim/core/disk.h"
#include "sim/core/history.h"
#include "sim/core/ids.h"
#include "sim/core/message.h"
#include "sim/core/metric_decls.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

/// How a client operation ended.
enum class Outcome : uint8_t {
  kOk,        ///< succeeded
  kRejected,  ///< refused by the service (queue full, not the leader, ...): it did not happen
  kTimeout,   ///< no answer in time: it may or may not have happened
  kError,     ///< failed in another definite way
};
std::string_view outcome_name(Outcome o);

/// Metrics a model reports. Every record is attributed to the node whose handler is
/// running and stamped with true (not local) time by the engine.
class Recorder {
 public:
  virtual ~Recorder() = default;
  /// A client operation of type `op` starts now.
  virtual OpToken begin_op(Symbol op) = 0;
  /// ...and ends now. Its latency is the true time between the two calls.
  virtual void end_op(OpToken token, Outcome outcome) = 0;
  /// Puts the live operation `token` in the history of `family`, with what it does
  /// (`invocation` points at the family's invocation struct). Call right after
  /// begin_op(); a family's header offers a typed helper (e.g. kv::record_invoke).
  virtual void op_invoke(OpToken /*token*/, const HistoryFamily& /*family*/,
                         const void* /*invocation*/) {}
  /// How a history operation ended and what it returned (`result` points at the family's
  /// result struct; null: nothing), after `attempts` requests; call just before end_op().
  /// Without it the history maps end_op's outcome: ok -> ok, timeout -> unknown, rejected
  /// and error -> fail.
  virtual void op_result(OpToken /*token*/, HistoryOutcome /*outcome*/,
                         const void* /*result*/ = nullptr, uint32_t /*attempts*/ = 1) {}
  /// Adds to a counter of this node's group (`elections_started`, `rejected`, ...).
  virtual void count(Symbol metric, int64_t delta = 1) = 0;
  /// Adds one observation of a time span to a histogram of this node's group.
  virtual void observe(Symbol metric, Duration value) = 0;
  /// Sets this node's current value of a level (busy workers, queue length): the summary
  /// reports its time-weighted mean over the measured period, averaged over the group's
  /// nodes, and its peak.
  virtual void level(Symbol metric, double value) = 0;
  /// Records a timeline mark: a fact `kind` (with two numbers the model gives meaning to,
  /// e.g. "leader" of term a) stamped with this node and the true time, for the model's
  /// post-run analysis (timeline.h). Record rare events only: the store is bounded.
  virtual void mark(Symbol /*kind*/, int64_t /*a*/ = 0, int64_t /*b*/ = 0) {}
};

/// A message as delivered to its destination.
struct Envelope {
  NodeId from;
  NodeId to;
  const Message& msg;
};

class Context {
 public:
  virtual ~Context() = default;

  virtual NodeId self() const = 0;
  /// This node's local clock (true time when the scenario gives no clock skew).
  virtual SimTime now() const = 0;
  /// This node's monotonic clock (its oscillator, like CLOCK_MONOTONIC): it runs at the
  /// clock's drifting rate, as timers do, but never jumps with steps or syncs. Measure
  /// local intervals (leases, timeouts) with it. Its origin is arbitrary.
  virtual SimTime monotonic() const { return now(); }
  /// Hands `msg` to the network; it arrives after the network's delay, or never.
  virtual void send(NodeId to, Message msg) = 0;
  /// Fires on_timer(tag) after `after` has passed on this node's clock.
  virtual TimerId set_timer(Duration after, TimerTag tag) = 0;
  virtual void cancel_timer(TimerId id) = 0;
  /// This node's own random stream.
  virtual Rng& rng() = 0;
  virtual Recorder& record() = 0;
  /// This node's durable store: survives crashes; writes and syncs take time (disk.h).
  virtual DurableStore& disk() = 0;
  /// How much slower than normal this node works now (1 = normal; a `slow` fault sets
  /// it). A model that draws its own service times multiplies them by this factor.
  virtual double slowdown() const { return 1.0; }

  /// Interns a name, e.g. an operation type or a metric, for the Recorder.
  virtual Symbol intern(std::string_view name) = 0;
  virtual std::string_view symbol_name(Symbol s) const = 0;

  /// The nodes of a group named in the scenario, in order; empty if there is none.
  virtual std::span<const NodeId> group_nodes(std::string_view group) const = 0;
  /// The virtual address of a group that has one (a balancer pair's VIP: its model says so,
  /// ModelFactory::virtual_address), or kNoNode. A message sent to it goes to the node that
  /// claimed it last (claim_address()), at first the group's first node, whether that node
  /// is up or not: the address moves only when another node claims it.
  virtual NodeId group_address(std::string_view /*group*/) const { return kNoNode; }
  /// This node takes its group's virtual address (a gratuitous ARP): messages sent to it
  /// from now on come here. The group must have one.
  virtual void claim_address() {}
  /// The typical one-way latency from this node to `to`: the mean latency of the network
  /// links between them as the scenario declares them (no queues, no faults) — the
  /// distance a latency-based DNS or anycast route knows. Zero with no network latency.
  virtual Duration typical_latency(NodeId /*to*/) const { return Duration::zero(); }
  /// "group.index", e.g. "replicas.2".
  virtual std::string node_name(NodeId id) const = 0;
  /// This node's index within its group.
  virtual uint32_t index_in_group() const = 0;
  /// The name of this node's group, e.g. "replicas" (group_nodes() of it lists its peers).
  virtual std::string_view group_name() const = 0;
  /// How many of the group's last nodes are outside it at time 0 and join it later (a
  /// `join` fault): the group's `joining` key.
  virtual uint32_t group_joining(std::string_view /*group*/) const { return 0; }
};

class Model {
 public:
  virtual ~Model() = default;
  /// Called when the node starts, and again after each restart (on a new instance).
  virtual void on_start(Context& ctx) = 0;
  virtual void on_message(Context& ctx, const Envelope& env) = 0;
  virtual void on_timer(Context& ctx, TimerId id, TimerTag tag) = 0;
  /// A sync requested with ctx.disk().sync(tag) has completed: what was written before it
  /// is durable.
  virtual void on_disk(Context& /*ctx*/, DiskOpId /*op*/, uint64_t /*tag*/) {}
  /// Called once at the end of the run on every live node (to report final levels).
  virtual void on_stop(Context& /*ctx*/) {}
  /// The node leaves its group gracefully (a `leave` fault): it may tell the others, and
  /// returns how long it goes on running to do so; then it stops as a crash does (what it
  /// has not synced by then is lost). Default: it stops at once.
  virtual Duration on_leave(Context& /*ctx*/) { return Duration::zero(); }
  /// Called after every handler with --check-invariants: DSIM_ASSERT each invariant.
  virtual void check_invariants() const {}
  /// A role other components can target ("leader", "follower"); empty when none.
  virtual std::string_view role() const { return {}; }
};

}  // namespace dsim
