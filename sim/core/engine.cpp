#include "sim/core/engine.h"

#include <cassert>
#include <utility>

namespace dsim {

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
  }
  return "?";
}

std::string_view drop_cause_name(DropCause c) {
  switch (c) {
    case DropCause::kLoss:
      return "loss";
    case DropCause::kPartition:
      return "partition";
    case DropCause::kQueueOverflow:
      return "queue_overflow";
    case DropCause::kNodeDown:
      return "node_down";
    case DropCause::kCount:
      break;
  }
  return "?";
}

/// The Context handed to models: the engine, seen from the node whose handler runs.
class NodeContext final : public Context {
 public:
  explicit NodeContext(Engine* engine) : engine_(engine) {}
  void set_node(NodeId node) { node_ = node; }

  NodeId self() const override { return node_; }
  SimTime now() const override { return engine_->local_now(node_); }
  void send(NodeId to, Message msg) override { engine_->send(node_, to, std::move(msg)); }
  TimerId set_timer(Duration after, TimerTag tag) override {
    return engine_->set_timer(node_, after, tag);
  }
  void cancel_timer(TimerId id) override { engine_->cancel_timer(id); }
  Rng& rng() override { return engine_->nodes_[node_].rng; }
  Recorder& record() override { return engine_->metrics_; }
  Symbol intern(std::string_view name) override { return engine_->symbols_.intern(name); }
  std::string_view symbol_name(Symbol s) const override { return engine_->symbols_.name(s); }
  std::span<const NodeId> group_nodes(std::string_view group) const override {
    const GroupInfo* g = engine_->find_group(group);
    return g ? std::span<const NodeId>(g->nodes) : std::span<const NodeId>();
  }
  std::string node_name(NodeId id) const override { return engine_->node_name(id); }
  uint32_t index_in_group() const override { return engine_->nodes_[node_].index_in_group; }

 private:
  Engine* engine_;
  NodeId node_ = 0;
};

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      metrics_(&symbols_, config_.warmup, config_.window, config_.end),
      network_(config_.network),
      ctx_(std::make_unique<NodeContext>(this)) {
  metrics_.set_history_limit(config_.history_max_bytes);
}

Engine::~Engine() = default;

uint32_t Engine::add_group(std::string name, uint32_t count, ModelMaker make) {
  assert(!ran_);
  const auto g = static_cast<uint32_t>(groups_.size());
  GroupInfo info{std::move(name), {}};
  info.nodes.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const auto id = static_cast<NodeId>(nodes_.size());
    nodes_.push_back(NodeSlot{nullptr, Rng(config_.seed, stream_id("node", id)),
                              Rng(config_.seed, stream_id("net", id)), g, i, 0});
    metrics_.add_node(g);
    info.nodes.push_back(id);
  }
  groups_.push_back(std::move(info));
  makers_.push_back(std::move(make));
  return g;
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

void Engine::on_progress(uint64_t every_events, std::function<void(SimTime, uint64_t)> progress) {
  progress_every_ = every_events;
  progress_ = std::move(progress);
}

SimTime Engine::local_now(NodeId /*node*/) const {
  return now_;
}

void Engine::send(NodeId from, NodeId to, Message msg) {
  assert(to < nodes_.size() && "send to a node that does not exist");
  const uint32_t bytes = msg.size_bytes();
  ++net_counters_.sent;
  net_counters_.bytes_sent += bytes;
  const Fate fate = network_.transmit({from, to, bytes, msg.type(), now_}, nodes_[from].net_rng);
  if (!fate.delivered) {
    ++net_counters_.dropped[static_cast<size_t>(fate.cause)];
    return;
  }
  uint32_t slot;
  if (!free_messages_.empty()) {
    slot = free_messages_.back();
    free_messages_.pop_back();
  } else {
    slot = static_cast<uint32_t>(messages_.size());
    messages_.emplace_back();
  }
  InFlight& m = messages_[slot];
  m.msg = std::move(msg);
  m.from = from;
  m.to = to;
  queue_.push(saturating_add(now_, fate.delay), ref(EventKind::kMessage, slot));
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
  queue_.push(saturating_add(now_, after), ref(EventKind::kTimer, slot));
  return TimerId{slot, t.generation};
}

void Engine::cancel_timer(TimerId id) {
  if (!id.valid() || id.slot >= timers_.size()) return;
  TimerSlot& t = timers_[id.slot];
  if (t.generation == id.generation && t.node != kNoNode) t.cancelled = true;
}

void Engine::enter(NodeId node) {
  ctx_->set_node(node);
  metrics_.set_current_node(node);
}

void Engine::after_handler(NodeId node) {
  if (config_.check_invariants && nodes_[node].model) nodes_[node].model->check_invariants();
}

void Engine::fire_timer(uint32_t slot) {
  TimerSlot& t = timers_[slot];
  const NodeId node = t.node;
  const TimerTag tag = t.tag;
  const TimerId id{slot, t.generation};
  const bool live = !t.cancelled && t.incarnation == nodes_[node].incarnation;
  // Free the slot before the handler runs: the handler may set new timers.
  ++t.generation;
  t.node = kNoNode;
  free_timers_.push_back(slot);
  if (!live || !nodes_[node].model) return;
  trace(EventKind::kTimer, node);
  enter(node);
  nodes_[node].model->on_timer(*ctx_, id, tag);
  after_handler(node);
}

void Engine::deliver(uint32_t slot) {
  // Move the message out first: the handler may send, which may grow messages_.
  InFlight& m = messages_[slot];
  const Message msg = std::move(m.msg);
  const NodeId from = m.from, to = m.to;
  free_messages_.push_back(slot);
  trace(EventKind::kMessage, to);
  if (!nodes_[to].model) {
    ++net_counters_.dropped[static_cast<size_t>(DropCause::kNodeDown)];
    return;
  }
  ++net_counters_.delivered;
  net_counters_.bytes_delivered += msg.size_bytes();
  enter(to);
  nodes_[to].model->on_message(*ctx_, Envelope{from, to, msg});
  after_handler(to);
}

void Engine::run_control(uint32_t slot) {
  auto action = std::move(controls_[slot]);
  controls_[slot] = nullptr;
  trace(EventKind::kControl, kNoNode);
  action(*this);
}

void Engine::dispatch(uint64_t r) {
  const auto kind = static_cast<EventKind>(r >> kKindShift);
  const auto index = static_cast<uint32_t>(r & ((uint64_t{1} << kKindShift) - 1));
  switch (kind) {
    case EventKind::kTimer:
      fire_timer(index);
      break;
    case EventKind::kMessage:
      deliver(index);
      break;
    case EventKind::kControl:
      run_control(index);
      break;
  }
}

RunStats Engine::run() {
  assert(!ran_ && "an engine runs once");
  ran_ = true;
  RunStats stats;
  now_ = SimTime::zero();
  metrics_.set_now(now_);
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    nodes_[id].model = makers_[nodes_[id].group]();
  }
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    enter(id);
    nodes_[id].model->on_start(*ctx_);
    after_handler(id);
  }
  stats.reason = StopReason::kNoMoreEvents;
  uint64_t next_progress = progress_every_;
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
    assert(e.at >= now_.ns() && "an event in the past");
    now_ = SimTime::from_ns(e.at);
    metrics_.set_now(now_);
    ++stats.events;
    dispatch(e.ref);
    if (queue_.size() > stats.peak_pending) stats.peak_pending = queue_.size();
    if (config_.max_pending && queue_.size() > config_.max_pending) {
      stats.reason = StopReason::kMaxPending;
      break;
    }
    if (progress_every_ && stats.events >= next_progress) {
      next_progress += progress_every_;
      progress_(now_, stats.events);
    }
  }
  // A run that ends normally lasts its whole duration, even if nothing happens at the end.
  if (!aborted(stats.reason) && config_.end != SimTime::max()) now_ = config_.end;
  metrics_.set_now(now_);
  stats.end_time = now_;
  for (NodeId id = 0; id < nodes_.size(); ++id) {
    if (!nodes_[id].model) continue;
    enter(id);
    nodes_[id].model->on_stop(*ctx_);
  }
  metrics_.finish(now_);
  stats.messages_delivered = net_counters_.delivered;
  stats.fingerprint = fingerprint_;
  return stats;
}

}  // namespace dsim
