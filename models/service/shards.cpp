// A service's fan-out to shards of replicas (Call::replicas > 1): the group's nodes are
// shards of r replicas; a call goes to `fanout` distinct shards (every one with 0), each at
// one replica drawn uniformly, and needs `wait` shards' answers. A shard is answered by
// its first copy to answer (the others are dropped, and cancelled at their nodes), and has
// failed when every copy sent to it failed. Hedging ("The Tail at Scale", Dean and
// Barroso, CACM 2013: "issue the same request to multiple replicas and use the results
// from whichever replica responds first") sends, for every shard still unanswered after
// `hedge_after` (or the percentile of the edge's recent shard answers), a copy to another
// replica of that shard, up to `hedges` rounds. Tied requests send each shard's call to two
// of its replicas, the second copy `tie_delay` after the first, each naming the other's
// node: the replica that begins one first has the other dropped (queueing::TiedRequest).
#include "models/service/service.h"

#include "sim/core/assert.h"

namespace dsim::service {

namespace {
uint64_t sub_handle(uint64_t visit, uint32_t sub) {
  return (visit << kSubCallBits) | sub;
}
// Marks the ties of shards' copies apart from those of calls to single nodes (service.cpp).
constexpr uint64_t kShardTie = uint64_t{1} << 63;
}  // namespace

void Service::start_sharded(Context& ctx, uint64_t id, const Call& call, Leg& leg) {
  std::vector<size_t>& order = shard_order_[call.edge];
  const auto shards = static_cast<uint32_t>(order.size());
  const uint32_t k = call.fanout == 0 ? shards : std::min(call.fanout, shards);
  leg = Leg::open(call, k, ctx.now());
  if (k == 0) {  // an empty group: the call fails at once
    leg_over(ctx, id, visits_.at(id), call, false);
    return;
  }
  if (k < shards) kit::pick_distinct(order, k, ctx.rng());
  leg.shards.reserve(k);
  for (uint32_t j = 0; j < k; ++j) {
    const auto replica = ctx.rng().below(call.replicas);
    uint32_t second = replica;
    if (call.tied) {  // another replica
      second = ctx.rng().below(call.replicas - 1);
      if (second >= replica) ++second;
    }
    const auto shard = static_cast<uint32_t>(order[j]);
    // A tied shard counts its second copy from the start: the first failing does not end it.
    leg.shards.push_back(Leg::Shard{shard, replica, second, call.tied ? 2u : 1u, false});
    leg.sub_shard.push_back(j);
    ++leg.sent;
    admit_call(ctx, call, sub_handle(id, j), size_t{shard} * call.replicas + replica);
    if (!visits_.count(id) || leg.done) return;
  }
  if (call.hedged()) arm_hedge(ctx, id, call);
  if (!call.tied) return;
  if (call.tie_delay > Duration::zero()) {
    ctx.set_timer(call.tie_delay, kit::timer_tag(Timer::kTie, (id << kEdgeBits) | call.edge));
  } else {
    tie_shards(ctx, id, call);
  }
}

void Service::tie_shards(Context& ctx, uint64_t id, const Call& call) {
  Visit& v = visits_.at(id);
  Leg& leg = leg_of(v, call.edge);
  for (uint32_t at = 0; at < leg.shards.size(); ++at) {
    if (leg.shards[at].done) continue;  // answered already (its count of copies is moot)
    const uint32_t sub = leg.sent++;
    leg.sub_shard.push_back(at);
    const Leg::Shard& shard = leg.shards[at];
    admit_call(ctx, call, sub_handle(id, sub), size_t{shard.shard} * call.replicas + shard.second);
    if (!visits_.count(id) || leg.done) return;
  }
}

void Service::send_shard_tied(Context& ctx, size_t edge, uint64_t handle,
                              const queueing::Request& req, const Leg& leg, NodeId to) {
  const Call& call = *edges_[edge];
  const auto sub = static_cast<uint32_t>(handle & kMaxFanout);
  const uint32_t at = leg.sub_shard.at(sub);
  const Leg::Shard& shard = leg.shards[at];
  const uint32_t peer = sub < leg.shards.size() ? shard.second : shard.first;
  const NodeId peer_node = rpc_of(edge).targets()[size_t{shard.shard} * call.replicas + peer];
  // The tie, unique among this node's: the visit, the edge, and the shard's place in the call.
  const uint64_t visit = handle >> kSubCallBits;
  const uint64_t tie = kShardTie | ((visit << kEdgeBits | edge) << kSubCallBits | at);
  ctx.send(to, queueing::TiedRequest{req, tie, peer_node});
}

// Copy `sub` of the visit's sharded call is over: answered (ok) or failed every attempt.
void Service::settle_shard(Context& ctx, uint64_t id, Visit& v, const Call& call, uint32_t sub,
                           bool ok) {
  Leg& leg = leg_of(v, call.edge);
  DSIM_ASSERT(sub < leg.sub_shard.size(), "copy ", sub, " of ", leg.sub_shard.size());
  const uint32_t at = leg.sub_shard[sub];
  Leg::Shard& shard = leg.shards[at];
  DSIM_ASSERT(shard.out > 0, "shard ", shard.shard, " answered with no copy out");
  --shard.out;
  if (shard.done) return;
  std::vector<uint64_t> granted;  // calls the dropped copies' bulkhead places go to, after
  if (ok) {
    shard.done = true;
    ++leg.ok;
    observe_latency(call.edge, ctx.now() - leg.began);  // hedge_after: pNN is per shard
    // The shard's other copies still out, if any: its first (sub `at`), and hedges or tied
    // second copies, numbered after every shard's first.
    const auto drop = [&](uint32_t other) {
      if (other == sub || leg.sub_shard[other] != at) return;
      if (const auto next = cancel_sub(ctx, id, call, other)) granted.push_back(*next);
    };
    if (shard.out > 0) {
      drop(at);
      for (auto other = static_cast<uint32_t>(leg.shards.size()); other < leg.sub_shard.size();
           ++other)
        drop(other);
    }
  } else if (shard.out == 0) {
    shard.done = true;
    ++leg.failed;
  }
  if (leg.ok >= leg.need) {
    leg_over(ctx, id, v, call, true);
  } else if (leg.shards.size() - leg.failed < leg.need) {
    leg_over(ctx, id, v, call, false);
  }
  for (const uint64_t g : granted)
    grant(ctx, call.edge, g);
}

// The hedge delay is over: every shard of the call still unanswered gets a copy at another
// replica (drawn uniformly among the others), as the edge's bulkhead has room.
void Service::hedge_shards(Context& ctx, uint64_t id, const Call& call) {
  Visit& v = visits_.at(id);
  Leg& leg = leg_of(v, call.edge);
  ++leg.hedges;
  for (uint32_t at = 0; at < leg.shards.size(); ++at) {
    Leg::Shard& shard = leg.shards[at];
    if (shard.done || leg.sent >= kMaxFanout) continue;
    uint32_t replica = ctx.rng().below(call.replicas - 1);
    if (replica >= shard.first) ++replica;  // any replica but the first one asked
    const uint64_t handle = sub_handle(id, leg.sent);
    if (bulkheads_[call.edge].acquire(handle, ctx.now(), /*may_wait=*/false) !=
        kit::Bulkhead::Admit::kGo)
      continue;  // a hedge is sent only when the edge's bulkhead has room
    kit::RpcClient::Options o = call_options(ctx, v);
    o.pinned = size_t{shard.shard} * call.replicas + replica;
    leg.sub_shard.push_back(at);
    ++leg.sent;
    ++shard.out;
    ctx.record().count(m_hedged_[call.edge]);
    rpc_of(call.edge).begin(ctx, handle, o);
  }
  if (leg.hedges < call.hedges) arm_hedge(ctx, id, call);
}

std::optional<uint64_t> Service::cancel_sub(Context& ctx, uint64_t id, const Call& call,
                                            uint32_t sub) {
  const uint64_t handle = sub_handle(id, sub);
  kit::Bulkhead& bulkhead = bulkheads_[call.edge];
  if (bulkhead.forget(handle)) {  // still waiting for a place: never sent
    waiting_pins_.erase({call.edge, handle});
    return std::nullopt;
  }
  const auto c = rpc_of(call.edge).cancel(ctx, handle);
  if (!c.live) return std::nullopt;
  breakers_[call.edge].abandon();
  if (call.cancel && c.attempt != 0) {
    ctx.send(c.to, queueing::Cancel{c.attempt});
    ctx.record().count(m_cancels_);
  }
  return bulkhead.release(handle);
}

}  // namespace dsim::service
