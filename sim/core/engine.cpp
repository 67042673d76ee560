#include "sim/core/engine.h"

#include <algorithm>
#include <utility>

#include "sim/core/assert.h"

namespace dsim {

namespace {
// How often the watcher hears from the set-up loops: every this many nodes.
constexpr uint32_t kSetupWatchNodes = 1024;
}  // namespace

std::string_view stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kEndOfTime:
      return "end of time";
    case StopReason::kNoMoreEvents:
      return "no more events";
    case StopReason::kMaxEvents:
      return "event limit reached";
    case StopReason::kMaxPending:
      return "pending-event limit reached";
    case StopReason::kMemoryLimit:
      return "memory limit reached";
    case StopReason::kWallLimit:
      return "wall-clock limit reached";
  }
  return "?";
}

/// The Context handed to models: the engine, seen from the node whose handler runs.
class NodeContext final : public Context {
 public:
  explicit NodeContext(Engine* engine) : engine_(engine) {}
  /// Points the context at `node`, whose slot is `slot` (nodes_ does not move during a run).
  void set_node(NodeId node, Engine::NodeSlot* slot) {
    node_ = node;
    slot_ = slot;
  }

  NodeId self() const override { return node_; }
  SimTime now() const override { return engine_->local_now(node_); }
  SimTime monotonic() const override { return engine_->local_mono(node_); }
  void send(NodeId to, Message msg) override { engine_->send(node_, to, std::move(msg)); }
  TimerId set_timer(Duration after, TimerTag tag) override {
    return engine_->set_timer(node_, after, tag);
  }
  void cancel_timer(TimerId id) override { engine_->cancel_timer(id); }
  Rng& rng() override { return slot_->rng; }
  Recorder& record() override { return engine_->metrics_; }
  DurableStore& disk() override { return engine_->disk(node_); }
  double slowdown() const override { return slot_->slowdown; }
  Symbol intern(std::string_view name) override { return engine_->symbols_.intern(name); }
  std::string_view symbol_name(Symbol s) const override { return engine_->symbols_.name(s); }
  std::span<const NodeId> group_nodes(std::string_view group) const override {
    const GroupInfo* g = engine_->find_group(group);
    return g ? std::span<const NodeId>(g->nodes) : std::span<const NodeId>();
  }
  NodeId group_address(std::string_view group) const override {
    const GroupInfo* g = engine_->find_group(group);
    return g ? engine_->address_of(static_cast<uint32_t>(g - engine_->groups_.data())) : kNoNode;
  }
  void claim_address() override { engine_->claim_address(node_); }
  Duration typical_latency(NodeId to) const override {
    return engine_->network_.typical_latency(node_, to);
  }
  std::string node_name(NodeId id) const override { return engine_->node_name(id); }
  uint32_t index_in_group() const override { return slot_->index_in_group; }
  std::string_view group_name() const override { return engine_->groups_[slot_->group].name; }
  uint32_t group_joining(std::string_view group) const override {
    const GroupInfo* g = engine_->find_group(group);
    return g ? g->joining : 0;
  }

 private:
  Engine* engine_;
  NodeId node_ = 0;
  Engine::NodeSlot* slot_ = nullptr;
};

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      metrics_(&symbols_, config_.warmup, config_.window, config_.end),
      network_(config_.network),
      ctx_(std::make_unique<NodeContext>(this)) {
  network_.set_seed(config_.seed);
  metrics_.set_history_limit(config_.history_max_bytes);
}

Engine::~Engine() = default;

uint32_t Engine::add_group(std::string name, uint32_t count, ModelMaker make) {
  DSIM_ASSERT(!ran_);
  const auto g = static_cast<uint32_t>(groups_.size());
  GroupInfo info{std::move(name), {}};
  info.nodes.reserve(halted_ ? 0 : count);
  for (uint32_t i = 0; i < count && !halted_; ++i) {
    if (i % kSetupWatchNodes == 0 &&
        poll({EngineActivity::Phase::kAddingNodes, nodes_.size(), 0, SimTime::zero(), 0})) {
      break;
    }
    const auto id = static_cast<NodeId>(nodes_.size());
    nodes_.push_back(NodeSlot{nullptr, Rng(config_.seed, stream_id("node", id)),
                              Rng(config_.seed, stream_id("net", id)), g, i, 0, NodeStatus::kUp,
                              1.0, nullptr});
    metrics_.add_node(g);
    info.nodes.push_back(id);
  }
  groups_.push_back(std::move(info));
  makers_.push_back(std::move(make));
  group_clocks_.emplace_back();
  group_disks_.emplace_back();
  return g;
}

void Engine::add_address(uint32_t group) {
  DSIM_ASSERT(!ran_ && group < groups_.size() && address_of(group) == kNoNode);
  DSIM_ASSERT(!groups_[group].nodes.empty(), "a virtual address for an empty group");
  addresses_.push_back(Address{group, groups_[group].nodes.front()});
}

NodeId Engine::address_of(uint32_t group) const {
  for (size_t a = 0; a < addresses_.size(); ++a) {
    if (addresses_[a].group == group) return kFirstAddress + static_cast<NodeId>(a);
  }
  return kNoNode;
}

void Engine::claim_address(NodeId node) {
  const NodeId address = address_of(nodes_[node].group);
  DSIM_ASSERT(address != kNoNode, "node ", node, " claims an address its group does not have");
  addresses_[address - kFirstAddress].holder = node;
}

void Engine::set_clock(uint32_t group, ClockSpec spec) {
  DSIM_ASSERT(!ran_ && group < groups_.size());
  group_clocks_[group] = spec.is_ideal() ? nullptr : std::make_unique<ClockSpec>(std::move(spec));
}

void Engine::set_disk(uint32_t group, DiskSpec spec) {
  DSIM_ASSERT(!ran_ && group < groups_.size());
  group_disks_[group] = std::make_unique<DiskSpec>(std::move(spec));
}

void Engine::set_locations(std::vector<Location> locations, std::vector<std::string> names) {
  DSIM_ASSERT(!ran_ && locations.size() == nodes_.size());
  network_.set_locations(std::move(locations), std::move(names));
}

const GroupInfo* Engine::find_group(std::string_view name) const {
  for (const auto& g : groups_) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string Engine::node_name(NodeId id) const {
  if (id >= nodes_.size()) return "node#" + std::to_string(id);
  return groups_[nodes_[id].group].name + "." + std::to_string(nodes_[id].index_in_group);
}

void Engine::at(SimTime at, std::function<void(Engine&)> action) {
  const auto slot = static_cast<uint32_t>(controls_.size());
  controls_.push_back(std::move(action));
  queue_.push(at, ref(EventKind::kControl, slot));
}

void Engine::watch(uint64_t every_events, Watcher watcher) {
  watch_every_ = every_events;
  watcher_ = std::move(watcher);
}

bool Engine::poll(const EngineActivity& a) {
  if (!watcher_) return false;
  if (auto reason = watcher_(a)) {
    if (a.phase != EngineActivity::Phase::kRunning) halted_ = reason;
    return true;
  }
  return false;
}

SimTime Engine::local_now(NodeId node) {
  if (clocks_.empty()) return now_;
  return clocks_[node].wall(now_);
}

SimTime Engine::local_mono(NodeId node) const {
  if (clocks_.empty()) return now_;
  return SimTime::from_ns(clocks_[node].mono(now_));
}

uint32_t Engine::alloc_message() {
  if (!free_messages_.empty()) {
    const uint32_t slot = free_messages_.back();
    free_messages_.pop_back();
    return slot;
  }
  messages_.emplace_back();
  return static_cast<uint32_t>(messages_.size() - 1);
}

void Engine::free_message(uint32_t slot) {
  messages_[slot].msg.clear();
  free_messages_.push_back(slot);
}

void Engine::send(NodeId from, NodeId to, Message&& msg) {
  if (to >= kFirstAddress && to - kFirstAddress < addresses_.size()) to = holder_of(to);
  DSIM_ASSERT(to < nodes_.size(), "send to a node that does not exist");
  const uint32_t bytes = msg.size_bytes();
  const uint32_t pair = network_.pair(from, to);
  network_.count_sent(pair, from, bytes);
  Network::Path path;
  Duration extra;
  if (from == to) {
    path.stages = 0;  // a message to oneself arrives at once and is never lost
  } else {
    if (network_.cut(from, to)) {
      network_.count_dropped(pair, from, DropCause::kPartition);
      if (trace_) trace_->refuse(now_, from, to, msg.name(), bytes, "partition");
      return;
    }
    path = network_.path(from, to, pair);
  }
  bool duplicate = false;
  const uint32_t slot = alloc_message();
  InFlight& m = messages_[slot];
  m.msg = std::move(msg);
  m.from = from;
  m.to = to;
  m.pair = pair;
  m.stage = 0;
  m.path = path;
  m.at = now_;
  m.extra = Duration::zero();
  m.flow = trace_ ? trace_->send(now_, from, to, m.msg.name(), bytes) : 0;
  if (from != to && network_.access().enabled()) {
    // The sender's access link before the path, the receiver's after it.
    m.at = saturating_add(now_, network_.access().of(from));
    m.extra = network_.access().of(to);
  }
  if (from != to && network_.has_extras()) {
    const Network::Extras x = network_.extras(from, to, m.msg.type(), nodes_[from].net_rng);
    if (x.dropped) {
      network_.count_dropped(pair, from, DropCause::kLoss);
      if (trace_) trace_->drop(now_, m.flow, from, from, to, m.msg.name(), "loss");
      free_message(slot);
      return;
    }
    m.extra += x.delay;
    duplicate = x.duplicate;
  }
  if (duplicate) {
    network_.count_duplicated(pair, from);
    const uint32_t copy = alloc_message();
    messages_[copy] = messages_[slot];
    if (trace_) {
      InFlight& c = messages_[copy];
      c.flow = trace_->send(now_, from, to, c.msg.name(), bytes, true);
    }
    advance(copy);
  }
  advance(slot);
}

void Engine::advance(uint32_t slot) {
  for (;;) {
    InFlight& m = messages_[slot];
    if (m.stage >= m.path.stages) {
      queue_.push(saturating_add(m.at, m.extra), ref(EventKind::kMessage, slot));
      m.extra = Duration::zero();
      m.stage = m.path.stages + 1;  // arrived: the next event delivers it
      return;
    }
    if (m.at.ns() < (int64_t{1} << 52) && network_.plain(m.path)) {
      m.at = network_.cross_plain(m.path, m.at, nodes_[m.from].net_rng);
      ++m.stage;
      continue;
    }
    // A queueing stage is entered in time order: wait for the message's time there.
    if (m.at > now_ && network_.stage_queues(m.path, m.stage, m.pair)) {
      queue_.push(m.at, ref(EventKind::kMessage, slot));
      return;
    }
    const Network::Crossing c =
        network_.cross(m.path, m.stage, m.pair, m.msg.size_bytes(), m.at, nodes_[m.from].net_rng);
    if (c.dropped) {
      network_.count_dropped(m.pair, m.from, c.cause);
      if (trace_)
        trace_->drop(now_, m.flow, m.to, m.from, m.to, m.msg.name(), drop_cause_name(c.cause));
      free_message(slot);
      return;
    }
    if (c.duplicate_exit) {
      network_.count_duplicated(m.pair, m.from);
      const uint32_t copy = alloc_message();
      messages_[copy] = messages_[slot];  // (re-indexed: alloc may move messages_)
      messages_[copy].at = *c.duplicate_exit;
      // A copy made on the way (not in its sender's handler) has no arrow in the trace.
      messages_[copy].flow = 0;
      ++messages_[copy].stage;
      advance(copy);
    }
    InFlight& again = messages_[slot];
    again.at = c.exit;
    ++again.stage;
  }
}

void Engine::defer(NodeId node, uint64_t r) {
  deferred_[node].push_back(r);
}

TimerId Engine::set_timer(NodeId node, Duration after, TimerTag tag) {
  if (after < Duration::zero()) after = Duration::zero();
  uint32_t slot;
  if (!free_timers_.empty()) {
    slot = free_timers_.back();
    free_timers_.pop_back();
  } else {
    slot = static_cast<uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  TimerSlot& t = timers_[slot];
  t.tag = tag;
  t.node = node;
  t.incarnation = nodes_[node].incarnation;
  t.cancelled = false;
  t.deferred = false;
  ++t.stamp;
  Duration real = after;
  if (clocks_.empty()) {
    t.local_due = saturating_add(now_, after).ns();  // an ideal oscillator: true time
  } else {
    after = clocks_[node].timer_wait(after);
    t.local_due = clocks_[node].mono(now_) + after.ns();
    real = clocks_[node].true_duration(now_, after);
  }
  queue_.push(saturating_add(now_, real), timer_ref(slot, t.stamp));
  return TimerId{slot, t.generation};
}

void Engine::cancel_timer(TimerId id) {
  if (!id.valid() || id.slot >= timers_.size()) return;
  TimerSlot& t = timers_[id.slot];
  if (t.generation == id.generation && t.node != kNoNode) t.cancelled = true;
}

void Engine::enter(NodeId node) {
  ctx_->set_node(node, &nodes_[node]);
  metrics_.set_current_node(node);
}

void Engine::after_handler(NodeId node) {
  if (config_.check_invariants && nodes_[node].model) nodes_[node].model->check_invariants();
}

void Engine::fire_timer(uint32_t slot, uint32_t stamp) {
  TimerSlot& t = timers_[slot];
  if ((t.stamp & 0x3fffffffu) != stamp || t.node == kNoNode)
    return;  // rescheduled: a newer event stands
  const NodeId node = t.node;
  const bool live = !t.cancelled && t.incarnation == nodes_[node].incarnation;
  if (live && nodes_[node].status == NodeStatus::kPaused) {
    t.deferred = true;
    defer(node, timer_ref(slot, stamp));
    return;
  }
  const TimerTag tag = t.tag;
  const TimerId id{slot, t.generation};
  // Free the slot before the handler runs: the handler may set new timers.
  ++t.generation;
  t.node = kNoNode;
  t.deferred = false;
  free_timers_.push_back(slot);
  if (!live || !nodes_[node].model) return;
  trace(EventKind::kTimer, node);
  if (trace_) trace_->handler(now_, node, EventTrace::Handler::kTimer, {}, kNoNode, 0, tag);
  enter(node);
  nodes_[node].model->on_timer(*ctx_, id, tag);
  after_handler(node);
}

void Engine::on_message_event(uint32_t slot) {
  InFlight& m = messages_[slot];
  if (m.stage <= m.path.stages) {
    // Reached a queueing stage at its time: cross on.
    advance(slot);
    return;
  }
  deliver(slot);
}

void Engine::deliver(uint32_t slot) {
  InFlight& m = messages_[slot];
  const NodeId from = m.from, to = m.to;
  trace(EventKind::kMessage, to);
  if (from != to && network_.cut(from, to)) {  // a partition began while it was in flight
    network_.count_dropped(m.pair, from, DropCause::kPartition);
    if (trace_) trace_->drop(now_, m.flow, to, from, to, m.msg.name(), "partition");
    free_message(slot);
    return;
  }
  if (!nodes_[to].model) {
    network_.count_dropped(m.pair, from, DropCause::kNodeDown);
    if (trace_) trace_->drop(now_, m.flow, to, from, to, m.msg.name(), "node_down");
    free_message(slot);
    return;
  }
  if (nodes_[to].status == NodeStatus::kPaused) {
    defer(to, ref(EventKind::kMessage, slot));
    return;
  }
  // Move the message out first: the handler may send, which may grow messages_.
  const Message msg = std::move(m.msg);
  const uint32_t pair = m.pair;
  const uint64_t flow = m.flow;
  free_message(slot);
  network_.count_delivered(pair, from, to, msg.size_bytes());
  if (trace_) {
    trace_->handler(now_, to, EventTrace::Handler::kMessage, msg.name(), from, msg.size_bytes());
    trace_->arrive(now_, flow, to, msg.name());
  }
  enter(to);
  nodes_[to].model->on_message(*ctx_, Envelope{from, to, msg});
  after_handler(to);
}

NodeDisk& Engine::disk(NodeId id) {
  NodeSlot& n = nodes_[id];
  if (!n.disk) {
    const DiskSpec* spec = group_disks_[n.group] ? group_disks_[n.group].get() : &default_disk_;
    DiskScheduler* scheduler = this;
    n.disk = std::make_unique<NodeDisk>(spec, Rng(config_.seed, stream_id("disk", id)), id,
                                        scheduler, &now_);
    n.disk->set_node_slowdown(n.slowdown);
  }
  return *n.disk;
}

void Engine::schedule_disk(NodeId node, SimTime at) {
  const uint64_t epoch = nodes_[node].disk->epoch() & 0x3fffffffu;
  queue_.push(at, ref(EventKind::kDisk, (epoch << 32) | node));
}

void Engine::complete_disk(NodeId node, uint32_t epoch) {
  NodeSlot& n = nodes_[node];
  if (!n.disk || (n.disk->epoch() & 0x3fffffffu) != epoch || !n.model) return;  // crashed since
  if (n.status == NodeStatus::kPaused) {
    defer(node, ref(EventKind::kDisk, (uint64_t{epoch} << 32) | node));
    return;
  }
  const auto done = n.disk->complete_sync();
  if (!done) return;
  trace(EventKind::kDisk, node);
  if (trace_) trace_->handler(now_, node, EventTrace::Handler::kDisk, {});
  enter(node);
  n.model->on_disk(*ctx_, done->op, done->tag);
  after_handler(node);
}

bool Engine::crash(NodeId id) {
  if (nodes_[id].status == NodeStatus::kDown) return false;
  stop(id);
  ++fault_counts_[id].crashes;
  life_log_.push_back({now_, id, NodeStatus::kDown});
  if (trace_) trace_->life(now_, id, "crash");
  return true;
}

// Drops the node's model and everything pending for it.
void Engine::stop(NodeId id) {
  NodeSlot& n = nodes_[id];
  n.leaving = n.rejoin = false;
  n.model.reset();
  n.status = NodeStatus::kDown;
  ++n.incarnation;
  if (n.disk) n.disk->crash();
  // Events a paused node was holding: its timers and disk completions die with the
  // incarnation; messages to it are lost.
  if (auto it = deferred_.find(id); it != deferred_.end()) {
    for (uint64_t r : it->second) {
      if (static_cast<EventKind>(r >> kKindShift) == EventKind::kMessage) {
        const auto slot = static_cast<uint32_t>(r & 0xffffffffu);
        network_.count_dropped(messages_[slot].pair, messages_[slot].from, DropCause::kNodeDown);
        if (trace_) {
          const InFlight& m = messages_[slot];
          trace_->drop(now_, m.flow, id, m.from, id, m.msg.name(), "node_down");
        }
        free_message(slot);
      } else if (static_cast<EventKind>(r >> kKindShift) == EventKind::kTimer) {
        const auto slot = static_cast<uint32_t>(r & 0xffffffffu);
        timers_[slot].deferred = false;
        ++timers_[slot].generation;
        timers_[slot].node = kNoNode;
        free_timers_.push_back(slot);
      }
    }
    deferred_.erase(it);
  }
}

bool Engine::restart(NodeId id) {
  NodeSlot& n = nodes_[id];
  if (n.status != NodeStatus::kDown || n.outside) return false;
  ++fault_counts_[id].restarts;
  life_log_.push_back({now_, id, NodeStatus::kUp});
  start(id, "restart");
  return true;
}

void Engine::start(NodeId id, std::string_view why) {
  NodeSlot& n = nodes_[id];
  n.status = NodeStatus::kUp;
  n.model = makers_[n.group]();
  if (trace_) {
    trace_->life(now_, id, why);
    trace_->handler(now_, id, EventTrace::Handler::kStart, {});
  }
  enter(id);
  n.model->on_start(*ctx_);
  after_handler(id);
}

void Engine::set_joining(uint32_t group, uint32_t count) {
  DSIM_ASSERT(!ran_ && group < groups_.size() && count <= groups_[group].nodes.size());
  GroupInfo& g = groups_[group];
  g.joining = count;
  for (size_t i = g.nodes.size() - count; i < g.nodes.size(); ++i) {
    nodes_[g.nodes[i]].outside = true;
    nodes_[g.nodes[i]].status = NodeStatus::kDown;
    life_log_.push_back({SimTime::zero(), g.nodes[i], NodeStatus::kDown, LifeCause::kAbsent});
  }
}

bool Engine::leave(NodeId id) {
  NodeSlot& n = nodes_[id];
  if (n.status != NodeStatus::kUp || n.leaving) return false;
  n.leaving = true;
  if (trace_) trace_->handler(now_, id, EventTrace::Handler::kLeave, {});
  enter(id);
  const Duration linger = n.model->on_leave(*ctx_);
  after_handler(id);
  const uint32_t incarnation = n.incarnation;
  at(saturating_add(now_, std::max(linger, Duration::zero())),
     [id, incarnation](Engine& e) { e.left(id, incarnation); });
  return true;
}

// The end of a leave: the node stops, unless it crashed meanwhile.
void Engine::left(NodeId id, uint32_t incarnation) {
  NodeSlot& n = nodes_[id];
  if (n.incarnation != incarnation || !n.leaving) return;
  const bool rejoin = n.rejoin;
  n.rejoin = false;
  stop(id);
  n.outside = true;
  life_log_.push_back({now_, id, NodeStatus::kDown, LifeCause::kLeave});
  if (trace_) trace_->life(now_, id, "left");
  if (rejoin) join(id);
}

bool Engine::join(NodeId id) {
  NodeSlot& n = nodes_[id];
  if (n.leaving) {
    const bool first = !n.rejoin;
    n.rejoin = true;
    return first;
  }
  if (!n.outside) return false;
  n.outside = false;
  life_log_.push_back({now_, id, NodeStatus::kUp, LifeCause::kJoin});
  start(id, "join");
  return true;
}

bool Engine::pause(NodeId id) {
  NodeSlot& n = nodes_[id];
  if (n.status != NodeStatus::kUp) return false;
  n.status = NodeStatus::kPaused;
  ++fault_counts_[id].pauses;
  life_log_.push_back({now_, id, NodeStatus::kPaused});
  if (trace_) trace_->life(now_, id, "pause");
  return true;
}

bool Engine::resume(NodeId id) {
  NodeSlot& n = nodes_[id];
  if (n.status != NodeStatus::kPaused) return false;
  n.status = NodeStatus::kUp;
  life_log_.push_back({now_, id, NodeStatus::kUp});
  if (trace_) trace_->life(now_, id, "resume");
  // What waited runs now, in the order it arrived.
  if (auto it = deferred_.find(id); it != deferred_.end()) {
    for (uint64_t r : it->second) {
      if (static_cast<EventKind>(r >> kKindShift) == EventKind::kTimer)
        timers_[r & 0xffffffffu].deferred = false;
      queue_.push(now_, r);
    }
    deferred_.erase(it);
  }
  return true;
}

void Engine::set_slowdown(NodeId id, double factor) {
  nodes_[id].slowdown = factor;
  if (nodes_[id].disk) nodes_[id].disk->set_node_slowdown(factor);
}

void Engine::set_disk_slowdown(NodeId id, double factor) {
  disk(id).set_fault_slowdown(factor);
}

void Engine::set_disk_full(NodeId id, bool full) {
  disk(id).set_full_fault(full);
}

void Engine::clock_step(NodeId id, Duration by) {
  if (clocks_.empty()) clocks_.resize(nodes_.size());
  clocks_[id].step(now_, by);
}

void Engine::clock_set_drift(NodeId id, double ppm) {
  if (clocks_.empty()) clocks_.resize(nodes_.size());
  clocks_[id].set_drift_ppm(now_, ppm);
  reschedule_timers(id);
}

void Engine::reschedule_timers(NodeId node) {
  // The oscillator's rate changed: pending timers fire when it reaches their local due
  // time at the new rate. Rare (clock faults), so a scan of the timer slots is fine.
  const int64_t mono_now = clocks_[node].mono(now_);
  for (uint32_t slot = 0; slot < timers_.size(); ++slot) {
    TimerSlot& t = timers_[slot];
    if (t.node != node || t.cancelled || t.deferred) continue;
    const Duration left = Duration::from_ns(std::max<int64_t>(0, t.local_due - mono_now));
    ++t.stamp;
    queue_.push(saturating_add(now_, clocks_[node].true_duration(now_, left)),
                timer_ref(slot, t.stamp));
  }
}

std::string_view Engine::role(NodeId id) const {
  const Model* m = nodes_[id].model.get();
  return m ? m->role() : std::string_view();
}

void Engine::record_fault(FaultEvent e) {
  fingerprint_ = mix64(fingerprint_ ^ e.id) ^ static_cast<uint64_t>(e.phase);
  if (trace_) trace_->fault(e);
  fault_log_.push_back(std::move(e));
}

void Engine::run_control(uint32_t slot) {
  auto action = std::move(controls_[slot]);
  controls_[slot] = nullptr;
  trace(EventKind::kControl, kNoNode);
  action(*this);
}

void Engine::dispatch(uint64_t r) {
  const auto kind = static_cast<EventKind>(r >> kKindShift);
  const auto index = static_cast<uint32_t>(r & 0xffffffffu);
  switch (kind) {
    case EventKind::kTimer:
      fire_timer(index, static_cast<uint32_t>((r >> 32) & 0x3fffffffu));
      break;
    case EventKind::kMessage:
      on_message_event(index);
      break;
    case EventKind::kControl:
      run_control(index);
      break;
    case EventKind::kDisk:
      complete_disk(index, static_cast<uint32_t>((r >> 32) & 0x3fffffffu));
      break;
  }
}

bool Engine::start_nodes() {
  using Phase = EngineActivity::Phase;
  const uint64_t n = nodes_.size();
  for (NodeId id = 0; id < n; ++id) {
    if (id % kSetupWatchNodes == 0 && poll({Phase::kCreatingModels, id, n, now_, 0})) return false;
    if (!nodes_[id].outside) nodes_[id].model = makers_[nodes_[id].group]();
  }
  for (NodeId id = 0; id < n; ++id) {
    if (nodes_[id].outside) continue;
    if (trace_) trace_->handler(now_, id, EventTrace::Handler::kStart, {});
    enter(id);
    nodes_[id].model->on_start(*ctx_);
    after_handler(id);
    if (poll({Phase::kStartingNodes, id + uint64_t{1}, n, now_, 0})) return false;
  }
  return true;
}

void Engine::loop(RunStats& stats) {
  stats.reason = StopReason::kNoMoreEvents;
  uint64_t next_watch = watch_every_;
  while (!queue_.empty()) {
    const QueuedEvent e = queue_.top();
    if (e.at > config_.end.ns()) {
      stats.reason = StopReason::kEndOfTime;
      break;
    }
    if (config_.max_events && stats.events >= config_.max_events) {
      stats.reason = StopReason::kMaxEvents;
      break;
    }
    queue_.pop();
    DSIM_ASSERT(e.at >= now_.ns(), "an event in the past");
    now_ = SimTime::from_ns(e.at);
    metrics_.set_now(now_);
    ++stats.events;
    dispatch(e.ref);
    if (queue_.size() > stats.peak_pending) stats.peak_pending = queue_.size();
    if (config_.max_pending && queue_.size() > config_.max_pending) {
      stats.reason = StopReason::kMaxPending;
      break;
    }
    if (watch_every_ && stats.events >= next_watch) {
      next_watch += watch_every_;
      if (auto reason = watcher_({EngineActivity::Phase::kRunning, 0, 0, now_, stats.events})) {
        stats.reason = *reason;
        break;
      }
    }
  }
}

RunStats Engine::run() {
  DSIM_ASSERT(!ran_, "an engine runs once");
  ran_ = true;
  RunStats stats;
  now_ = SimTime::zero();
  metrics_.set_now(now_);
  fault_counts_.assign(nodes_.size(), NodeFaultCounters{});
  network_.prepare(nodes_.size());
  bool any_clock = false;
  for (const auto& c : group_clocks_)
    any_clock = any_clock || c != nullptr;
  if (any_clock) {
    clocks_.resize(nodes_.size());
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      if (const ClockSpec* spec = group_clocks_[nodes_[id].group].get())
        clocks_[id] = NodeClock(*spec, Rng(config_.seed, stream_id("clock", id)),
                                Rng(config_.seed, stream_id("timer_jitter", id)));
    }
  }
  if (config_.trace || config_.messages) {
    std::vector<uint32_t> node_group(nodes_.size());
    std::vector<std::string> names(nodes_.size());
    for (NodeId id = 0; id < nodes_.size(); ++id) {
      node_group[id] = nodes_[id].group;
      names[id] = node_name(id);
    }
    trace_ = std::make_unique<EventTrace>(config_.trace, std::move(node_group), std::move(names));
    if (config_.messages) trace_->record_messages(*config_.messages);
  }
  if (halted_ || !start_nodes()) {
    stats.started = false;
    stats.reason = *halted_;
    return stats;
  }
  loop(stats);
  // A run that ends normally lasts its whole duration, even if nothing happens at the end.
  if (!aborted(stats.reason) && config_.end != SimTime::max()) now_ = config_.end;
  metrics_.set_now(now_);
  stats.end_time = now_;
  if (trace_) trace_->close(now_);  // what on_stop does is not part of the run
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    if (!nodes_[id].model) continue;
    enter(id);
    nodes_[id].model->on_stop(*ctx_);
  }
  metrics_.finish(now_);
  stats.messages_delivered = network_.totals().delivered;
  stats.fingerprint = fingerprint_;
  return stats;
}

}  // namespace dsim
