#include "models/queueing/fanout_client.h"

#include <algorithm>
#include <cmath>

namespace dsim::queueing {

namespace {
constexpr uint64_t kValueMask = (uint64_t{1} << 62) - 1;
}

FanoutClient::Config FanoutClient::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the group of server nodes requests fan out to");
  c.rate = r.rate("rate", c.rate, "Poisson requests per second sent by each client node");
  c.fanout = r.integer("fanout", c.fanout,
                       "servers each request goes to, distinct, picked at random (0: every node "
                       "of the target group; more than the group holds is capped)",
                       0, kMaxFanout - 1);
  c.wait_for =
      r.integer("wait_for", c.wait_for,
                "answers a request needs to succeed (0: all of its fan-out)", 0, kMaxFanout - 1);
  c.timeout = r.duration("timeout", c.timeout, "a request not complete within this times out");
  c.start = r.duration("start", c.start, "when this client sends its first request");
  c.op = r.text("op", c.op, "the operation's name in the results");
  c.request_bytes = r.size("request_size", c.request_bytes, "size of each sub-request");
  if (c.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  if (c.rate <= 0) r.error("rate", "must be > 0");
  if (c.fanout > 0 && c.wait_for > c.fanout) {
    r.error("wait_for", "cannot exceed fanout (" + std::to_string(c.fanout) + ")");
  }
  if (c.op.empty()) r.error("op", "must not be empty");
  return c;
}

void FanoutClient::on_start(Context& ctx) {
  auto nodes = ctx.group_nodes(config_.target);
  targets_.assign(nodes.begin(), nodes.end());
  op_ = ctx.intern(config_.op);
  m_late_ = ctx.intern("late_responses");
  if (targets_.empty()) return;
  const auto group = static_cast<uint32_t>(targets_.size());
  fanout_ = config_.fanout == 0 ? group : std::min(group, static_cast<uint32_t>(config_.fanout));
  wait_for_ =
      config_.wait_for == 0 ? fanout_ : std::min(fanout_, static_cast<uint32_t>(config_.wait_for));
  schedule_arrival(ctx, config_.start);
}

void FanoutClient::schedule_arrival(Context& ctx, Duration not_before) {
  const Duration gap =
      Duration::from_ns(std::llround(-std::log(ctx.rng().uniform_open01()) * 1e9 / config_.rate));
  ctx.set_timer(not_before + gap, tag(kArrival, 0));
}

void FanoutClient::issue(Context& ctx) {
  const uint64_t id = next_id_++;
  Pending p;
  p.token = ctx.record().begin_op(op_);
  p.timeout = ctx.set_timer(config_.timeout, tag(kTimeout, id));
  pending_.emplace(id, p);
  // fanout_ distinct servers: a partial Fisher-Yates shuffle of the target list.
  const auto n = static_cast<uint32_t>(targets_.size());
  for (uint32_t i = 0; i < fanout_; ++i) {
    const uint32_t j = i + ctx.rng().below(n - i);
    std::swap(targets_[i], targets_[j]);
    ctx.send(targets_[i],
             Request{id * kMaxFanout + i, op_, static_cast<uint32_t>(config_.request_bytes)});
  }
}

void FanoutClient::finish(Context& ctx, uint64_t id, Outcome outcome) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (outcome != Outcome::kTimeout) ctx.cancel_timer(it->second.timeout);
  ctx.record().end_op(it->second.token, outcome);
  pending_.erase(it);
}

void FanoutClient::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<Response>();
  if (!resp) return;
  const uint64_t id = resp->id / kMaxFanout;
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    ctx.record().count(m_late_);  // its request already completed, failed or timed out
    return;
  }
  Pending& p = it->second;
  if (resp->accepted) {
    if (++p.ok >= wait_for_) finish(ctx, id, Outcome::kOk);
  } else if (fanout_ - ++p.rejected < wait_for_) {
    finish(ctx, id, Outcome::kRejected);  // too few servers left to answer
  }
}

void FanoutClient::on_timer(Context& ctx, TimerId /*id*/, TimerTag t) {
  const auto kind = static_cast<TagKind>(t >> 62);
  if (kind == kArrival) {
    issue(ctx);
    schedule_arrival(ctx, Duration::zero());
  } else {
    finish(ctx, t & kValueMask, Outcome::kTimeout);
  }
}

}  // namespace dsim::queueing
