// A Context for driving one model without an engine, in the manner of etcd raft's
// interaction tests: the test feeds messages and fires timers, and asserts on what the
// model sent, which timers it set, and what it recorded.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/kv/history.h"
#include "sim/core/durable_store.h"
#include "sim/core/model.h"
#include "sim/core/symbols.h"
#include "sim/core/timeline.h"

namespace dsim::testing {

class RecordingRecorder final : public Recorder {
 public:
  struct Op {
    Symbol op;
    SimTime begin;
    std::optional<SimTime> end;
    std::optional<Outcome> outcome;
    std::optional<kv::KvInvocation> invocation;  ///< from op_invoke() (the kv family)
    std::optional<HistoryOutcome> history;       ///< from op_result()
    std::vector<int64_t> read;                   ///< from op_result()
    uint32_t attempts = 0;                       ///< from op_result()
  };
  explicit RecordingRecorder(const SimTime* now) : now_(now) {}

  OpToken begin_op(Symbol op) override {
    Op o;
    o.op = op;
    o.begin = *now_;
    ops.push_back(std::move(o));
    return OpToken{ops.size()};
  }
  void end_op(OpToken token, Outcome outcome) override {
    Op& o = ops.at(token.id - 1);
    if (o.end) return;
    o.end = *now_;
    o.outcome = outcome;
  }
  void op_invoke(OpToken token, const HistoryFamily& family, const void* what) override {
    if (&family == &kv::kKvFamily) {
      ops.at(token.id - 1).invocation = *static_cast<const kv::KvInvocation*>(what);
    }
  }
  void op_result(OpToken token, HistoryOutcome outcome, const void* result,
                 uint32_t attempts) override {
    Op& o = ops.at(token.id - 1);
    if (o.end) return;
    o.history = outcome;
    if (o.invocation && result) {
      const auto read = static_cast<const kv::KvResult*>(result)->read;
      o.read.assign(read.begin(), read.end());
    }
    o.attempts = attempts;
  }
  void count(Symbol metric, int64_t delta) override { counters[metric.id] += delta; }
  void observe(Symbol metric, Duration value) override { observations[metric.id].push_back(value); }
  void level(Symbol metric, double value) override { levels[metric.id] = value; }
  void mark(Symbol kind, int64_t a, int64_t b) override {
    marks.push_back(TimelineMark{*now_, kNoNode, kind, a, b});
  }

  std::vector<Op> ops;
  std::vector<TimelineMark> marks;
  std::map<uint32_t, int64_t> counters;
  std::map<uint32_t, std::vector<Duration>> observations;
  std::map<uint32_t, double> levels;

 private:
  const SimTime* now_;
};

class RecordingContext final : public Context {
 public:
  struct Sent {
    NodeId to;
    Message msg;
    SimTime at;
  };
  struct Timer {
    TimerId id;
    SimTime at;
    TimerTag tag;
    bool cancelled = false;
    bool fired = false;
  };

  explicit RecordingContext(NodeId self, uint64_t seed = 1)
      : self_(self), rng_(seed, stream_id("node", self)), recorder_(&now_) {}

  // --- Context ---
  NodeId self() const override { return self_; }
  SimTime now() const override { return now_; }
  /// The monotonic clock: the wall clock minus `wall_minus_mono` (0 unless a test sets it).
  SimTime monotonic() const override { return now_ - wall_minus_mono; }
  void send(NodeId to, Message msg) override { sent.push_back({to, std::move(msg), now_}); }
  TimerId set_timer(Duration after, TimerTag tag) override {
    TimerId id{static_cast<uint32_t>(timers.size()), 0};
    timers.push_back({id, now_ + after, tag});
    queue_.insert({now_ + after, id.slot});
    return id;
  }
  void cancel_timer(TimerId id) override {
    if (!id.valid() || id.slot >= timers.size()) return;
    Timer& t = timers[id.slot];
    if (!t.fired && !t.cancelled) queue_.erase({t.at, id.slot});
    t.cancelled = true;
  }
  Rng& rng() override { return rng_; }
  Recorder& record() override { return recorder_; }
  DurableStore& disk() override { return node_disk(); }
  double slowdown() const override { return slowdown_; }
  Symbol intern(std::string_view name) override { return symbols_.intern(name); }
  std::string_view symbol_name(Symbol s) const override { return symbols_.name(s); }
  std::span<const NodeId> group_nodes(std::string_view group) const override {
    auto it = groups.find(std::string(group));
    return it == groups.end() ? std::span<const NodeId>() : std::span<const NodeId>(it->second);
  }
  NodeId group_address(std::string_view group) const override {
    auto it = addresses.find(std::string(group));
    return it == addresses.end() ? kNoNode : it->second;
  }
  void claim_address() override { ++claims; }
  std::string node_name(NodeId id) const override {
    auto it = names.find(id);
    return it != names.end() ? it->second : "node" + std::to_string(id);
  }
  uint32_t index_in_group() const override { return index_; }
  std::string_view group_name() const override { return group_; }
  uint32_t group_joining(std::string_view group) const override {
    auto it = joining.find(std::string(group));
    return it == joining.end() ? 0 : it->second;
  }

  // --- driving the model ---
  /// The disk (its spec may be changed before the first use).
  NodeDisk& node_disk() {
    if (!disk_) {
      disk_ = std::make_unique<NodeDisk>(&disk_spec, Rng(1, stream_id("disk", self_)), self_,
                                         &disk_scheduler_, &now_);
    }
    return *disk_;
  }
  /// Completes the oldest pending sync (moving the clock to its time) and tells the model.
  bool complete_sync(Model& m) {
    if (disk_scheduler_.due.empty()) return false;
    now_ = std::max(now_, disk_scheduler_.due.front());
    disk_scheduler_.due.pop_front();
    if (auto done = node_disk().complete_sync()) m.on_disk(*this, done->op, done->tag);
    return true;
  }
  void set_slowdown(double f) { slowdown_ = f; }
  void set_now(SimTime t) { now_ = t; }
  /// Places this node at `index` of group `name` (whose members `groups[name]` lists).
  void set_group(std::string name, uint32_t index) {
    group_ = std::move(name);
    index_ = index;
  }
  void advance(Duration d) { now_ += d; }
  /// Pending (set, not fired, not cancelled) timers, earliest first (ties by set order).
  std::vector<const Timer*> pending() const {
    std::vector<const Timer*> out;
    for (const auto& [at, slot] : queue_)
      out.push_back(&timers[slot]);
    return out;
  }
  /// Fires the earliest pending timer (moving the clock to it); false if none.
  bool fire_next(Model& m) {
    if (queue_.empty()) return false;
    Timer& t = timers[queue_.begin()->second];
    queue_.erase(queue_.begin());
    t.fired = true;
    now_ = std::max(now_, t.at);
    m.on_timer(*this, t.id, t.tag);
    return true;
  }
  void deliver(Model& m, NodeId from, Message msg) {
    m.on_message(*this, Envelope{from, self_, msg});
  }
  /// Messages sent of type T, in order.
  template <class T>
  std::vector<std::pair<NodeId, T>> sent_of() const {
    std::vector<std::pair<NodeId, T>> out;
    for (const auto& s : sent) {
      if (const T* p = s.msg.get<T>()) out.emplace_back(s.to, *p);
    }
    return out;
  }
  int64_t counter(std::string_view name) {
    auto it = recorder_.counters.find(intern(name).id);
    return it == recorder_.counters.end() ? 0 : it->second;
  }

  RecordingRecorder& recorder() { return recorder_; }
  Duration wall_minus_mono = Duration::zero();
  DiskSpec disk_spec;
  std::map<std::string, std::vector<NodeId>> groups;
  std::map<std::string, NodeId> addresses;  ///< group_address() of the groups that have one
  std::map<std::string, uint32_t> joining;  ///< group_joining() of the groups that have some
  int claims = 0;                           ///< claim_address() calls
  std::map<NodeId, std::string> names;      ///< node_name() overrides ("store.1")
  std::vector<Sent> sent;
  std::vector<Timer> timers;

 private:
  NodeId self_;
  uint32_t index_ = 0;
  std::string group_ = "group";
  SimTime now_;
  Rng rng_;
  SymbolTable symbols_;
  RecordingRecorder recorder_;
  std::set<std::pair<SimTime, uint32_t>> queue_;  // pending timers by (time, set order)
  struct SyncTimes final : DiskScheduler {
    std::deque<SimTime> due;
    void schedule_disk(NodeId, SimTime at) override { due.push_back(at); }
  };
  SyncTimes disk_scheduler_;
  std::unique_ptr<NodeDisk> disk_;
  double slowdown_ = 1.0;
};

}  // namespace dsim::testing
