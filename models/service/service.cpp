#include "models/service/service.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "models/kit/timer.h"
#include "models/kv/history.h"
#include "models/rate_limiter/analysis.h"
#include "sim/core/assert.h"

namespace dsim::service {

namespace {
// Latencies an edge keeps for its hedging percentile, and how often it recomputes it.
constexpr size_t kRecentLatencies = 1000;
constexpr size_t kPercentileEvery = 100;
uint64_t call_handle(uint64_t visit, uint32_t sub) {
  return (visit << kSubCallBits) | sub;
}
// Where edge `edge` is in `step` (step.calls.size() when it is not there).
size_t position(const Step& step, size_t edge) {
  size_t i = 0;
  while (i < step.calls.size() && step.calls[i].edge != edge)
    ++i;
  return i;
}
}  // namespace

// The call layer of one edge: its RpcClient, whose host it is.
class Service::Edge final : public kit::CallHost {
 public:
  Edge(Service& service, size_t edge, const Call& call)
      : rpc(call.policy, kit::TimerSpace(static_cast<Timer>(kFirstEdgeTimer + edge)), *this),
        service_(&service),
        edge_(edge) {}
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t /*request*/) override {
    service_->send_request(ctx, edge_, handle, header, to);
  }
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override {
    service_->edge_failed(ctx, edge_, handle, end);
  }
  kit::RpcClient rpc;

 private:
  Service* service_;
  size_t edge_;
};

Service::Config Service::parse(ParamReader& r) {
  Config c;
  kit::read_worker_pool(r, c.pool);
  c.service = r.distribution_map("service", c.service.front().second,
                                 "the node's own work on a request, before its calls: one "
                                 "distribution, or a map op -> distribution (key 'default' for "
                                 "the others)");
  c.blocking = r.boolean("blocking", c.blocking,
                         "a worker is held until the answer is sent, its calls included (thread "
                         "per request); false: it is free once its own work is done");
  c.drop_expired = r.boolean("drop_expired", c.drop_expired,
                             "a worker refuses, without working on it, a request whose caller "
                             "no longer awaits the answer (its timeout or deadline has passed)");
  c.plan = read_call_plan(r);
  ratelimit::read_gate(r, c.rate_limit);
  c.response_bytes = r.size("response_size", c.response_bytes, "size of a response on the wire");
  return c;
}

void Service::declare(const Config& c, MetricDecls& d) {
  for (const char* n :
       {"served", "failed", "fallbacks", "rejected", "expired", "cancelled", "late_responses"})
    d.counter(n);
  kit::WorkerPool<Job>::declare(d);
  d.timing("residence");
  d.timing("self_time");
  d.level("in_flight");
  for (const auto& to : c.plan.callees()) {
    d.timing("call_" + to);
    for (const char* suffix : {"_failed", "_short_circuited", "_hedged"})
      d.counter("call_" + to + suffix);
  }
  for (const Call* call : c.plan.edges()) {
    if (call->bulkhead.enabled()) d.counter("call_" + call->to + "_bulkhead_full");
  }
  d.counter("breaker_opened");
  d.counter("cancels_sent");
  kit::RpcClient::declare(d);
  ratelimit::Gate::declare(c.rate_limit, d);
  if (c.plan.stores().empty()) return;
  d.history(kv::kKvFamily.name);
  d.counter("write_values_exhausted");
  for (const Call* call : c.plan.edges()) {
    if (call->contract == Contract::kKv && call->aside == Aside::kNone)
      d.operation(kv::kv_op_name(call->kv_op));
  }
}

Service::Service(const Config& config)
    : config_(config),
      pool_(config.pool),
      service_times_(config.service),
      gate_(config.rate_limit, kit::TimerSpace(Timer::kRateLimit), *this, config.response_bytes) {
  edges_ = config.plan.edges();
  DSIM_ASSERT(edges_.size() + kFirstEdgeTimer < static_cast<size_t>(Timer::kRateLimit),
              "too many edges: ", edges_.size());
  for (size_t e = 0; e < edges_.size(); ++e) {
    edge_hosts_.push_back(std::make_unique<Edge>(*this, e, *edges_[e]));
    breakers_.emplace_back(edges_[e]->breaker);
    bulkheads_.emplace_back(edges_[e]->bulkhead);
  }
  bulkhead_armed_.assign(edges_.size(), false);
  const std::vector<std::string> stores = config.plan.stores();
  store_tokens_.assign(stores.size(), 0);
  for (const Call* call : edges_) {
    const auto it = std::find(stores.begin(), stores.end(), call->to);
    edge_store_.push_back(static_cast<size_t>(it - stores.begin()));
  }
}

Service::~Service() = default;

kit::RpcClient& Service::rpc_of(size_t edge) {
  return edge_hosts_[edge]->rpc;
}

void Service::on_start(Context& ctx) {
  pool_.start(ctx);
  m_served_ = ctx.intern("served");
  m_failed_ = ctx.intern("failed");
  m_fallbacks_ = ctx.intern("fallbacks");
  m_rejected_ = ctx.intern("rejected");
  m_expired_ = ctx.intern("expired");
  m_cancelled_ = ctx.intern("cancelled");
  m_late_ = ctx.intern("late_responses");
  m_residence_ = ctx.intern("residence");
  m_self_ = ctx.intern("self_time");
  m_in_flight_ = ctx.intern("in_flight");
  order_.resize(edges_.size());
  for (size_t e = 0; e < edges_.size(); ++e) {
    const std::vector<NodeId> nodes = kit::entry_points(ctx, edges_[e]->to);
    Edge& host = *edge_hosts_[e];
    host.rpc.share_call_ids(next_call_seq_);
    host.rpc.start(ctx, nodes, 0);
    order_[e].resize(nodes.size());
    std::iota(order_[e].begin(), order_[e].end(), size_t{0});
    shard_order_.emplace_back(nodes.size() / edges_[e]->replicas);
    std::iota(shard_order_[e].begin(), shard_order_[e].end(), size_t{0});
    m_call_.push_back(ctx.intern("call_" + edges_[e]->to));
    m_call_failed_.push_back(ctx.intern("call_" + edges_[e]->to + "_failed"));
    m_short_circuited_.push_back(ctx.intern("call_" + edges_[e]->to + "_short_circuited"));
    m_hedged_.push_back(ctx.intern("call_" + edges_[e]->to + "_hedged"));
    m_bulkhead_full_.push_back(ctx.intern("call_" + edges_[e]->to + "_bulkhead_full"));
    edge_op_.push_back(edges_[e]->op.empty() ? Symbol{} : ctx.intern(edges_[e]->op));
  }
  recent_.assign(edges_.size(), {});
  recent_next_.assign(edges_.size(), 0);
  since_percentile_.assign(edges_.size(), 0);
  percentile_.assign(edges_.size(), std::nullopt);
  m_breaker_opened_ = ctx.intern("breaker_opened");
  m_cancels_ = ctx.intern("cancels_sent");
  start_store_names(ctx);
  gate_.start(ctx, next_call_seq_);
  pool_.report(ctx);
  ctx.record().level(m_in_flight_, 0);
}

void Service::on_message(Context& ctx, const Envelope& env) {
  if (const auto* resp = env.msg.get<queueing::Response>()) {
    if (gate_.on_response(ctx, *resp, env.from)) return;
    for (size_t e = 0; e < edge_hosts_.size(); ++e) {
      kit::RpcClient& rpc = edge_hosts_[e]->rpc;
      if (!rpc.handle_of(resp->call)) continue;
      const auto out = rpc.on_answer(ctx, resp->call, env.from,
                                     resp->accepted ? kit::Answer::kDone : kit::Answer::kRefused);
      if (out.status == kit::RpcClient::Outcome::Status::kDone)
        call_result(ctx, e, out.handle, true);
      return;
    }
    ctx.record().count(m_late_);  // its call was given up (timed out, or no longer needed)
    return;
  }
  if (const auto* kv_resp = env.msg.get<kv::KvResponse>()) {
    on_store_response(ctx, env.from, *kv_resp);
    return;
  }
  if (const auto* cancel = env.msg.get<queueing::Cancel>()) {
    on_cancel(ctx, env.from, *cancel);
    return;
  }
  if (const auto* tied = env.msg.get<queueing::TiedRequest>()) {
    if (ties_.take(tied->req.call.reply_to, tied->tie, ctx.monotonic())) {
      ctx.record().count(m_cancelled_);  // the other copy was begun already
      return;
    }
    receive(ctx, env.from, tied->req, tied->tie, tied->peer);
    return;
  }
  if (const auto* req = env.msg.get<queueing::Request>()) {
    receive(ctx, env.from, *req, 0, kNoNode);
    return;
  }
  if (const auto* total = env.msg.get<ratelimit::SyncTotal>()) gate_.on_sync_total(ctx, *total);
}

void Service::receive(Context& ctx, NodeId from, const queueing::Request& req, uint64_t tie,
                      NodeId peer) {
  if (gate_.enabled()) {
    gate_.arrive(ctx, ratelimit::Held{from, req, tie, peer});
  } else {
    arrive(ctx, from, req, tie, peer);
  }
}

// A request arrives (`tie`: a tied request's tie, its other copy at `peer`).
void Service::arrive(Context& ctx, NodeId from, const queueing::Request& req, uint64_t tie,
                     NodeId peer) {
  const auto ticket = pool_.enter(ctx);
  if (!ticket) {  // shed by the concurrency limit
    ctx.send(req.call.reply_to,
             queueing::Response{req.call.id, false, static_cast<uint32_t>(config_.response_bytes)});
    return;
  }
  const uint64_t id = next_visit_++;
  Visit& v = visits_[id];
  v.request = req;
  v.from = from;
  v.arrived = ctx.now();
  v.tie = tie;
  v.tie_peer = peer;
  v.ticket = *ticket;
  ctx.record().level(m_in_flight_, static_cast<double>(visits_.size()));
  switch (pool_.admit(ctx, Job{id})) {
    case kit::WorkerPool<Job>::Admit::kStarted:
      if (!begin_work(ctx, pool_.worker(), id)) release_worker(ctx, pool_.worker());
      break;
    case kit::WorkerPool<Job>::Admit::kQueued:
      break;
    case kit::WorkerPool<Job>::Admit::kFull:
      finish(ctx, id, false, m_rejected_);
      break;
  }
}

// The caller no longer awaits a request, or the other copy of a tied one was begun: it is
// dropped if it still waits for a worker (work begun, or calls made, go on).
void Service::on_cancel(Context& ctx, NodeId from, const queueing::Cancel& c) {
  uint64_t dropped = 0;
  const bool found = pool_.cancel_waiting(ctx, [&](const Job& j) {
    const Visit& v = visits_.at(j.visit);
    const bool match = c.tie != 0 ? v.tie == c.tie && v.request.call.reply_to == c.caller
                                  : v.request.call.id == c.call && v.request.call.reply_to == from;
    if (!match) return false;
    dropped = j.visit;
    return true;
  });
  if (!found) {
    if (c.tie != 0) ties_.add(c.caller, c.tie, ctx.monotonic());  // dropped when it comes
    return;
  }
  pool_.leave(ctx, visits_.at(dropped).ticket, /*dropped=*/true);
  visits_.erase(dropped);
  ctx.record().count(m_cancelled_);
  ctx.record().level(m_in_flight_, static_cast<double>(visits_.size()));
}

// Worker `worker` takes visit `id`: false when it drops it at once (expired), the worker
// then being free for the next (release_worker()).
bool Service::begin_work(Context& ctx, size_t worker, uint64_t id) {
  Visit& v = visits_.at(id);
  const kit::CallHeader& call = v.request.call;
  if (config_.drop_expired && call.has_deadline() && ctx.now() - v.arrived >= call.budget) {
    finish(ctx, id, false, m_expired_);  // its caller has given up on it already
    return false;
  }
  v.worker = worker;
  // A tied request's other copy is no longer needed once this one is begun.
  if (v.tie != 0) ctx.send(v.tie_peer, queueing::Cancel{0, v.tie, call.reply_to});
  Duration work = service_times_.of(ctx, v.request.op).sample_duration(ctx.rng());
  // A slow node (gray failure) takes longer for the same work.
  if (const double f = ctx.slowdown(); f != 1.0)
    work = Duration::from_ns(std::llround(static_cast<double>(work.ns()) * f));
  ctx.set_timer(work, kit::timer_tag(Timer::kWork, worker));
  return true;
}

// Worker `w` is done with its request: it takes the waiting ones in turn until one needs
// work (a loop, not a recursion: a long queue of expired requests is dropped in one go).
void Service::release_worker(Context& ctx, size_t w) {
  auto next = pool_.release(ctx, w);
  while (next && !begin_work(ctx, next->worker, next->job.visit))
    next = pool_.release(ctx, next->worker);
}

void Service::work_done(Context& ctx, size_t worker) {
  const uint64_t id = pool_.job(worker).visit;
  if (!config_.blocking) {
    visits_.at(id).worker = kNoWorker;
    release_worker(ctx, worker);
  }
  run_steps(ctx, id);
}

void Service::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kWork) {
    work_done(ctx, static_cast<size_t>(value));
    return;
  }
  if (kind == Timer::kHedge) {
    hedge(ctx, value >> kEdgeBits, value & ((1u << kEdgeBits) - 1));
    return;
  }
  if (kind == Timer::kTie) {
    send_tie(ctx, value >> kEdgeBits, value & ((1u << kEdgeBits) - 1));
    return;
  }
  if (kind == Timer::kBulkhead) {
    bulkhead_expired(ctx, static_cast<size_t>(value));
    return;
  }
  if (kind == Timer::kRateLimit) {
    gate_.on_timer(ctx, value);
    return;
  }
  const size_t edge = static_cast<size_t>(kind) - kFirstEdgeTimer;
  DSIM_ASSERT(edge < edge_hosts_.size(), "a timer of edge ", edge, " of ", edge_hosts_.size());
  edge_hosts_[edge]->rpc.on_timer(ctx, value);
}

// Runs the visit's steps from its current one until one waits for answers, or the last
// is done and the request is answered.
void Service::run_steps(Context& ctx, uint64_t id) {
  Visit& v = visits_.at(id);
  while (v.step < config_.plan.steps.size()) {
    if (start_step(ctx, id, v)) return;  // waiting for its calls
    ++v.step;
  }
  finish(ctx, id, true, m_served_);
}

// Starts the visit's current step: true when it waits for calls, false when it has none
// to make (it does not apply to this operation, or chance skipped every call).
bool Service::start_step(Context& ctx, uint64_t id, Visit& v) {
  const Step& step = config_.plan.steps[v.step];
  if (!step.ops.empty()) {
    const std::string_view op = ctx.symbol_name(v.request.op);
    bool applies = false;
    for (const auto& o : step.ops)
      applies = applies || o == op;
    if (!applies) return false;
  }
  if (step.when_miss && v.cache_hit) return false;
  v.legs.assign(step.calls.size(), Leg{});
  v.step_began = ctx.now();
  v.starting = true;  // a call that fails at once does not move the visit on (leg_over)
  for (size_t i = 0; i < step.calls.size(); ++i) {
    const Call& call = step.calls[i];
    if (call.p < 1 && !ctx.rng().bernoulli(call.p)) continue;
    if (call.aside == Aside::kFill && !v.has_seen) continue;  // nothing read to fill with
    start_call(ctx, id, v, call, v.legs[i]);
    if (!visits_.count(id)) return true;  // a call failed at once and ended the request
  }
  v.starting = false;
  for (const Leg& l : v.legs) {
    if (!l.done) return true;
  }
  return false;
}

void Service::start_call(Context& ctx, uint64_t id, Visit& v, const Call& call, Leg& leg) {
  if (call.replicas > 1) {
    start_sharded(ctx, id, call, leg);
    return;
  }
  const auto group = static_cast<uint32_t>(order_[call.edge].size());
  const uint32_t k = call.fanout == 0 ? group : std::min(call.fanout, group);
  leg = Leg::open(call, k, ctx.now());
  if (k == 0) {  // an empty group: the call fails at once
    leg_over(ctx, id, v, call, false);
    return;
  }
  if (call.tied && group >= 2) {
    start_tied(ctx, id, call, leg);
    return;
  }
  if (k > 1) kit::pick_distinct(order_[call.edge], k, ctx.rng());
  for (uint32_t j = 0; j < k; ++j) {
    ++leg.sent;
    admit_call(ctx, call, call_handle(id, j), k > 1 ? order_[call.edge][j] : kit::kNoCandidate);
    if (!visits_.count(id) || leg.done) return;
  }
  if (call.hedged() && k == 1) arm_hedge(ctx, id, call);
}

// A tied call: its first copy now to one node, its second to another after tie_delay
// (send_tie()); either answer ends it.
void Service::start_tied(Context& ctx, uint64_t id, const Call& call, Leg& leg) {
  kit::pick_distinct(order_[call.edge], 2, ctx.rng());
  leg.tied[0] = order_[call.edge][0];
  leg.tied[1] = order_[call.edge][1];
  leg.sent = 2;  // the second copy counts from the start: the first failing does not end it
  leg.need = 1;
  const size_t second = leg.tied[1];
  admit_call(ctx, call, call_handle(id, 0), leg.tied[0]);
  if (!visits_.count(id) || leg.done) return;
  if (call.tie_delay > Duration::zero()) {
    ctx.set_timer(call.tie_delay, kit::timer_tag(Timer::kTie, (id << kEdgeBits) | call.edge));
  } else {
    admit_call(ctx, call, call_handle(id, 1), second);
  }
}

// The tie delay of the call on `edge` of visit `id` is over: its second copy goes, unless
// the first has been answered.
void Service::send_tie(Context& ctx, uint64_t id, size_t edge) {
  const Leg* leg = open_leg(id, edge);
  if (!leg) return;
  if (edges_[edge]->replicas > 1) {
    tie_shards(ctx, id, *edges_[edge]);
  } else {
    admit_call(ctx, *edges_[edge], call_handle(id, 1), leg->tied[1]);
  }
}

// The leg of visit `id`'s current step that calls on `edge`, while it waits for answers;
// null when the visit is over, has moved on, or the leg is done.
Service::Leg* Service::open_leg(uint64_t id, size_t edge) {
  const auto it = visits_.find(id);
  if (it == visits_.end()) return nullptr;
  const Step& step = config_.plan.steps[it->second.step];
  const size_t pos = position(step, edge);
  if (pos == step.calls.size() || it->second.legs[pos].done) return nullptr;
  return &it->second.legs[pos];
}

void Service::admit_call(Context& ctx, const Call& call, uint64_t handle, size_t pinned) {
  switch (bulkheads_[call.edge].acquire(handle, ctx.now())) {
    case kit::Bulkhead::Admit::kGo:
      make_call(ctx, call, handle, pinned);
      return;
    case kit::Bulkhead::Admit::kWait:
      waiting_pins_[{call.edge, handle}] = pinned;
      arm_bulkhead(ctx, call.edge);
      return;
    case kit::Bulkhead::Admit::kFull:  // the call fails at once, unsent
      ctx.record().count(m_bulkhead_full_[call.edge]);
      call_result(ctx, call.edge, handle, false, /*made=*/false);
      return;
  }
}

void Service::make_call(Context& ctx, const Call& call, uint64_t handle, size_t pinned) {
  if (!breakers_[call.edge].allow(ctx.monotonic())) {  // open: the call fails at once, unsent
    ctx.record().count(m_short_circuited_[call.edge]);
    call_result(ctx, call.edge, handle, false, /*made=*/false);
    return;
  }
  Visit& v = visits_.at(handle >> kSubCallBits);
  kit::RpcClient::Options o = call_options(ctx, v);
  o.pinned = pinned;
  if (call.contract == Contract::kKv) begin_store_op(ctx, call, handle, v, o);
  edge_hosts_[call.edge]->rpc.begin(ctx, handle, o);
}

// A place in the edge's bulkhead freed up for waiting call `handle`: it is made now.
void Service::grant(Context& ctx, size_t edge, uint64_t handle) {
  const auto it = waiting_pins_.find({edge, handle});
  DSIM_ASSERT(it != waiting_pins_.end(), "call ", handle, " granted a place it did not wait for");
  const size_t pinned = it->second;
  waiting_pins_.erase(it);
  make_call(ctx, *edges_[edge], handle, pinned);
}

// Sets the timer for the edge's oldest waiting call, unless one is set (it is never later).
void Service::arm_bulkhead(Context& ctx, size_t edge) {
  if (bulkhead_armed_[edge]) return;
  const std::optional<SimTime> at = bulkheads_[edge].next_expiry();
  if (!at) return;
  bulkhead_armed_[edge] = true;
  ctx.set_timer(*at - ctx.now(), kit::timer_tag(Timer::kBulkhead, edge));
}

// The calls that waited their max_wait for a place in the edge's bulkhead fail, unsent.
void Service::bulkhead_expired(Context& ctx, size_t edge) {
  bulkhead_armed_[edge] = false;
  for (const uint64_t handle : bulkheads_[edge].expired(ctx.now())) {
    waiting_pins_.erase({edge, handle});
    ctx.record().count(m_bulkhead_full_[edge]);
    call_result(ctx, edge, handle, false, /*made=*/false);
  }
  arm_bulkhead(ctx, edge);
}

kit::RpcClient::Options Service::call_options(Context& ctx, const Visit& v) const {
  kit::RpcClient::Options o;
  o.pick.key = v.request.key;
  o.pick.client = v.request.call.reply_to;
  o.origin = v.request.call.origin;
  if (v.request.call.has_deadline())
    o.inherited_budget = v.request.call.budget - (ctx.now() - v.arrived);
  return o;
}

// Sets the timer after which the call is sent again (hedge()): the edge's hedge_after, or
// its latency percentile once it has one.
void Service::arm_hedge(Context& ctx, uint64_t id, const Call& call) {
  const std::optional<Duration> after =
      call.hedge_after ? call.hedge_after : percentile_[call.edge];
  if (!after) return;
  ctx.set_timer(*after, kit::timer_tag(Timer::kHedge, (id << kEdgeBits) | call.edge));
}

// The call on `edge` of visit `id` is still unanswered: a copy goes to another node.
void Service::hedge(Context& ctx, uint64_t id, size_t edge) {
  Leg* open = open_leg(id, edge);
  if (!open) return;  // answered, or moved on
  Leg& leg = *open;
  const Call& call = *edges_[edge];
  if (call.replicas > 1) {
    hedge_shards(ctx, id, call);
    return;
  }
  const std::span<const NodeId> nodes = edge_hosts_[edge]->rpc.targets();
  if (nodes.size() < 2) return;
  // Any node but the first one asked, uniformly.
  size_t pick = static_cast<size_t>(ctx.rng().below64(nodes.size() - 1));
  if (nodes[pick] == leg.first) pick = nodes.size() - 1;
  const uint64_t handle = call_handle(id, leg.sent);
  if (bulkheads_[edge].acquire(handle, ctx.now(), /*may_wait=*/false) != kit::Bulkhead::Admit::kGo)
    return;  // a hedge is sent only when the edge's bulkhead has room
  kit::RpcClient::Options o = call_options(ctx, visits_.at(id));
  o.pinned = pick;
  ++leg.sent;
  ++leg.hedges;
  ctx.record().count(m_hedged_[edge]);
  edge_hosts_[edge]->rpc.begin(ctx, handle, o);
  if (const Leg* still = open_leg(id, edge); still && still->hedges < call.hedges)
    arm_hedge(ctx, id, call);
}

void Service::observe_latency(size_t edge, Duration latency) {
  const Call& call = *edges_[edge];
  if (call.hedge_percentile <= 0) return;
  std::vector<Duration>& ring = recent_[edge];
  if (ring.size() < kRecentLatencies) {
    ring.push_back(latency);
  } else {
    ring[recent_next_[edge]] = latency;
    recent_next_[edge] = (recent_next_[edge] + 1) % kRecentLatencies;
  }
  if (++since_percentile_[edge] < kPercentileEvery) return;
  since_percentile_[edge] = 0;
  std::vector<Duration> sorted = ring;
  const size_t k =
      std::min(sorted.size() - 1,
               static_cast<size_t>(call.hedge_percentile * static_cast<double>(sorted.size())));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  percentile_[edge] = sorted[k];
}

void Service::send_request(Context& ctx, size_t edge, uint64_t handle,
                           const kit::CallHeader& header, NodeId to) {
  const Call& call = *edges_[edge];
  if (call.contract == Contract::kKv) {
    send_store_request(ctx, edge, handle, header, to);
    return;
  }
  Visit& v = visits_.at(handle >> kSubCallBits);
  const Step& step = config_.plan.steps[v.step];
  const size_t pos = position(step, edge);
  Leg* leg = pos < step.calls.size() ? &v.legs[pos] : nullptr;
  // The first request of the leg's call: where a hedge must not go.
  if ((handle & ((1u << kSubCallBits) - 1)) == 0 && leg && leg->first == kNoNode) leg->first = to;
  const Symbol op = call.op.empty() ? v.request.op : edge_op_[edge];
  const queueing::Request req{header, op, static_cast<uint32_t>(call.request_bytes), v.request.key};
  if (leg && call.tied && call.replicas > 1) {
    send_shard_tied(ctx, edge, handle, req, *leg, to);
    return;
  }
  if (leg && leg->tied[0] != kit::kNoCandidate) {
    // Each copy names the other's node; the tie is this visit's call on this edge.
    const size_t other = leg->tied[(handle & 1) == 0 ? 1 : 0];
    const uint64_t tie = ((handle >> kSubCallBits) << kEdgeBits | edge) + 1;
    ctx.send(to, queueing::TiedRequest{req, tie, rpc_of(edge).targets()[other]});
    return;
  }
  ctx.send(to, req);
}

// Call `handle` on `edge` failed every attempt it was allowed.
void Service::edge_failed(Context& ctx, size_t edge, uint64_t handle, const kit::CallEnd& end) {
  if (edges_[edge]->contract == Contract::kKv) {
    end_store_op(ctx, edge, handle,
                 end.maybe_applied ? HistoryOutcome::kUnknown : HistoryOutcome::kFail,
                 end.maybe_applied ? Outcome::kTimeout : Outcome::kRejected, end.requests);
  }
  call_result(ctx, edge, handle, false);
}

// A call of the visit's current step ended: answered (ok), or failed every attempt, or
// was refused by the edge's open circuit breaker without being made (!made).
void Service::call_result(Context& ctx, size_t edge, uint64_t handle, bool ok, bool made) {
  const std::optional<uint64_t> next = bulkheads_[edge].release(handle);
  settle_call(ctx, edge, handle, ok, made);
  if (next) grant(ctx, edge, *next);
}

void Service::settle_call(Context& ctx, size_t edge, uint64_t handle, bool ok, bool made) {
  const uint64_t id = handle >> kSubCallBits;
  auto it = visits_.find(id);
  if (it == visits_.end()) return;
  Visit& v = it->second;
  const Step& step = config_.plan.steps[v.step];
  const Call& call = *edges_[edge];
  const size_t pos = position(step, edge);
  DSIM_ASSERT(pos < step.calls.size(), "an answer on edge ", edge, " outside the current step");
  Leg& leg = v.legs[pos];
  if (leg.done) return;
  kit::CircuitBreaker& breaker = breakers_[edge];
  if (made) {
    const uint64_t opened = breaker.opened();
    breaker.record(ctx.monotonic(), ok, ctx.now() - leg.began);
    if (breaker.opened() != opened) ctx.record().count(m_breaker_opened_);
  }
  if (call.replicas > 1) {
    settle_shard(ctx, id, v, call, static_cast<uint32_t>(handle & kMaxFanout), ok);
    return;
  }
  ok ? ++leg.ok : ++leg.failed;
  if (leg.ok >= leg.need) {
    leg_over(ctx, id, v, call, true);
  } else if (leg.sent - leg.failed < leg.need) {
    leg_over(ctx, id, v, call, false);
  }
}

// One call of the step is over (its fan-out had the answers it needs, or can no longer
// get them): the rest of its sub-calls are dropped, and the step goes on when it was the
// last, or the request ends when a failure says so.
void Service::leg_over(Context& ctx, uint64_t id, Visit& v, const Call& call, bool ok) {
  Leg& leg = v.legs[position(config_.plan.steps[v.step], call.edge)];
  leg.done = true;
  cancel_leg(ctx, id, call, leg);
  ctx.record().observe(m_call_[call.edge], ctx.now() - leg.began);
  // (A fan-out to shards observes each shard's answer instead: its hedges are per shard.)
  if (ok && call.replicas == 1) observe_latency(call.edge, ctx.now() - leg.began);
  if (!ok) {
    ctx.record().count(m_call_failed_[call.edge]);
    if (call.on_error != OnError::kIgnore) {
      cancel_step(ctx, id, v);
      v.waited_calls = v.waited_calls + (ctx.now() - v.step_began);
      const bool fallback = call.on_error == OnError::kFallback;
      finish(ctx, id, fallback, fallback ? m_fallbacks_ : m_failed_);
      return;
    }
  }
  if (v.starting) return;  // start_step sees the step through
  for (const Leg& l : v.legs) {
    if (!l.done) return;
  }
  v.waited_calls = v.waited_calls + (ctx.now() - v.step_began);
  ++v.step;
  run_steps(ctx, id);
}

Service::Leg& Service::leg_of(Visit& v, size_t edge) {
  const Step& step = config_.plan.steps[v.step];
  const size_t pos = position(step, edge);
  DSIM_ASSERT(pos < step.calls.size(), "edge ", edge, " is not in the visit's step");
  return v.legs[pos];
}

void Service::cancel_step(Context& ctx, uint64_t id, const Visit& v) {
  const Step& step = config_.plan.steps[v.step];
  for (size_t i = 0; i < step.calls.size(); ++i)
    cancel_leg(ctx, id, step.calls[i], v.legs[i]);
}

void Service::cancel_leg(Context& ctx, uint64_t id, const Call& call, const Leg& leg) {
  kit::Bulkhead& bulkhead = bulkheads_[call.edge];
  for (uint32_t j = 0; j < leg.sent; ++j) {  // first those waiting: none is granted a place
    if (bulkhead.forget(call_handle(id, j))) waiting_pins_.erase({call.edge, call_handle(id, j)});
  }
  std::vector<uint64_t> granted;
  for (uint32_t j = 0; j < leg.sent; ++j) {
    const auto c = edge_hosts_[call.edge]->rpc.cancel(ctx, call_handle(id, j));
    if (!c.live) continue;
    breakers_[call.edge].abandon();
    if (const auto next = bulkhead.release(call_handle(id, j))) granted.push_back(*next);
    if (call.contract == Contract::kKv) {  // a request may be out: it may yet be applied
      end_store_op(ctx, call.edge, call_handle(id, j), HistoryOutcome::kUnknown, Outcome::kTimeout,
                   1);
    } else if (call.cancel && c.attempt != 0) {
      ctx.send(c.to, queueing::Cancel{c.attempt});
      ctx.record().count(m_cancels_);
    }
  }
  for (const uint64_t g : granted)
    grant(ctx, call.edge, g);
}

// Answers the visit's request and frees what it held.
void Service::finish(Context& ctx, uint64_t id, bool accepted, Symbol counter) {
  auto it = visits_.find(id);
  DSIM_ASSERT(it != visits_.end(), "visit ", id, " finished twice");
  const Visit v = std::move(it->second);
  visits_.erase(it);
  ctx.record().count(counter);
  if (counter != m_rejected_) {
    const Duration residence = ctx.now() - v.arrived;
    ctx.record().observe(m_residence_, residence);
    ctx.record().observe(m_self_, residence - v.waited_calls);
  }
  ctx.send(v.request.call.reply_to,
           queueing::Response{v.request.call.id, accepted,
                              static_cast<uint32_t>(config_.response_bytes)});
  pool_.leave(ctx, v.ticket, /*dropped=*/counter != m_served_);
  ctx.record().level(m_in_flight_, static_cast<double>(visits_.size()));
  if (v.worker != kNoWorker) release_worker(ctx, v.worker);
}

void Service::on_stop(Context& ctx) {
  pool_.report(ctx);
  gate_.stop(ctx);
}

AnalysisOutput Service::analyze(const AnalysisInput& in) {
  return ratelimit::analyze_rate_limits(in, kName);
}

void Service::check_invariants() const {
  pool_.check_invariants();
  DSIM_ASSERT(visits_.size() >= pool_.busy() + pool_.waiting(), "visits ", visits_.size(),
              " fewer than the jobs held ", pool_.busy() + pool_.waiting());
  DSIM_ASSERT(pool_.inflight() == static_cast<int64_t>(visits_.size()), "requests let in ",
              pool_.inflight(), " but visits ", visits_.size());
}

}  // namespace dsim::service
