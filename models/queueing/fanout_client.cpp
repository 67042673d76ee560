#include "models/queueing/fanout_client.h"

#include <algorithm>
#include <numeric>

namespace dsim::queueing {

FanoutClient::Config FanoutClient::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the group of server nodes requests fan out to");
  const kit::ArrivalKeys keys{/*bursty=*/false, /*closed=*/false, "request"};
  kit::read_load(r, keys, c.arrivals);
  c.fanout = r.integer("fanout", c.fanout,
                       "servers each request goes to, distinct, picked at random (0: every node "
                       "of the target group; more than the group holds is capped)",
                       0, kMaxFanout - 1);
  c.wait_for =
      r.integer("wait_for", c.wait_for,
                "answers a request needs to succeed (0: all of its fan-out)", 0, kMaxFanout - 1);
  c.timeout = r.duration("timeout", c.timeout, "a request not complete within this times out");
  kit::read_start_stop(r, keys, /*with_stop=*/false, c.arrivals);
  c.op = r.text("op", c.op, "the operation's name in the results");
  c.request_bytes = r.size("request_size", c.request_bytes, "size of each sub-request");
  if (c.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  if (c.fanout > 0 && c.wait_for > c.fanout) {
    r.error("wait_for", "cannot exceed fanout (" + std::to_string(c.fanout) + ")");
  }
  if (c.op.empty()) r.error("op", "must not be empty");
  return c;
}

void FanoutClient::declare(const Config& c, MetricDecls& d) {
  d.operation(c.op);
  d.counter("late_responses");
}

void FanoutClient::on_start(Context& ctx) {
  auto nodes = ctx.group_nodes(config_.target);
  targets_.assign(nodes.begin(), nodes.end());
  order_.resize(targets_.size());
  std::iota(order_.begin(), order_.end(), size_t{0});
  op_ = ctx.intern(config_.op);
  m_late_ = ctx.intern("late_responses");
  if (targets_.empty()) return;
  const auto group = static_cast<uint32_t>(targets_.size());
  fanout_ = config_.fanout == 0 ? group : std::min(group, static_cast<uint32_t>(config_.fanout));
  wait_for_ =
      config_.wait_for == 0 ? fanout_ : std::min(fanout_, static_cast<uint32_t>(config_.wait_for));
  arrivals_.start(ctx);
}

void FanoutClient::issue(Context& ctx) {
  const uint64_t id = next_id_++;
  Pending p;
  p.token = ctx.record().begin_op(op_);
  p.timeout = ctx.set_timer(config_.timeout, kit::timer_tag(Timer::kTimeout, id));
  p.first_call = next_call_;
  pending_.emplace(id, p);
  first_call_.emplace(next_call_, id);
  // fanout_ distinct servers: a partial Fisher-Yates shuffle of the target list.
  kit::pick_distinct(order_, fanout_, ctx.rng());
  for (uint32_t i = 0; i < fanout_; ++i) {
    kit::CallHeader call;
    call.id = kit::make_call_id(ctx.self(), next_call_++);
    call.origin = p.token.id;
    call.reply_to = ctx.self();
    ctx.send(targets_[order_[i]], Request{call, op_, static_cast<uint32_t>(config_.request_bytes)});
  }
}

void FanoutClient::finish(Context& ctx, uint64_t id, Outcome outcome) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (outcome != Outcome::kTimeout) ctx.cancel_timer(it->second.timeout);
  ctx.record().end_op(it->second.token, outcome);
  first_call_.erase(it->second.first_call);
  pending_.erase(it);
}

void FanoutClient::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<Response>();
  if (!resp) return;
  // The request whose consecutive sub-request calls hold this one.
  const uint64_t call = resp->call & ((uint64_t{1} << kit::kCallSeqBits) - 1);
  auto first = first_call_.upper_bound(call);
  const bool live = first != first_call_.begin() && call < std::prev(first)->first + fanout_;
  if (!live) {
    ctx.record().count(m_late_);  // its request already completed, failed or timed out
    return;
  }
  const uint64_t id = std::prev(first)->second;
  Pending& p = pending_.at(id);
  if (resp->accepted) {
    if (++p.ok >= wait_for_) finish(ctx, id, Outcome::kOk);
  } else if (fanout_ - ++p.rejected < wait_for_) {
    finish(ctx, id, Outcome::kRejected);  // too few servers left to answer
  }
}

void FanoutClient::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kArrivals) {
    arrivals_.on_timer(ctx, value, [&](uint64_t) { issue(ctx); });
  } else {
    finish(ctx, value, Outcome::kTimeout);
  }
}

}  // namespace dsim::queueing
