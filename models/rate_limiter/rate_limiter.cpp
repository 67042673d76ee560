// The rate_limiter store: checks answered by running the algorithm centrally, and the
// synchronised counts of the nodes that push theirs (rate_limiter.h).
#include "models/rate_limiter/rate_limiter.h"

#include <string>

#include "models/kit/timer.h"

namespace dsim::ratelimit {

RateLimiterNode::Config RateLimiterNode::parse(ParamReader& r) {
  Config c;
  c.policy.algorithm = kit::RateLimitPolicy::Algorithm::kTokenBucket;
  kit::read_rate_limit(r, c.policy);
  if (!c.policy.enabled()) {
    c.policy.algorithm = kit::RateLimitPolicy::Algorithm::kTokenBucket;  // the default
  }
  if (c.policy.algorithm == kit::RateLimitPolicy::Algorithm::kLeakyQueue)
    r.error("rate_limit", "a check answers yes or no: leaky_queue shapes traffic at the node");
  c.response_bytes = r.size("response_size", c.response_bytes, "a check's answer on the wire");
  return c;
}

void RateLimiterNode::declare(const Config& /*c*/, MetricDecls& d) {
  for (std::string_view n : kit::kRateLimitCounters)
    d.counter(std::string(n));
  d.counter("sync_pushes");
  declare_figures(d);
}

void RateLimiterNode::on_start(Context& ctx) {
  m_allowed_ = ctx.intern(kit::kRateLimitCounters[0]);
  m_rejected_ = ctx.intern(kit::kRateLimitCounters[1]);
  m_pushes_ = ctx.intern("sync_pushes");
}

void RateLimiterNode::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<queueing::Request>()) {
    if (!reporting_) {  // a store that only sums synchronised counts reports no windows
      reporting_ = true;
      report_.start(ctx, config_.policy, WindowReport::Spec::kShared,
                    kit::TimerSpace(Timer::kReport), 0);
    }
    const bool ok = limiter_.admit(ctx.monotonic(), req->key).admitted;
    ctx.record().count(ok ? m_allowed_ : m_rejected_);
    report_.count(ok, req->call.reply_to);
    ctx.send(req->call.reply_to,
             queueing::Response{req->call.id, ok, static_cast<uint32_t>(config_.response_bytes)});
    return;
  }
  if (const auto* push = env.msg.get<SyncPush>()) on_push(ctx, env.from, *push);
}

void RateLimiterNode::on_push(Context& ctx, NodeId from, const SyncPush& p) {
  ctx.record().count(m_pushes_);
  uint64_t& total = totals_[p.window];
  total += p.admitted;
  const uint64_t now_total = total;
  while (!totals_.empty() && totals_.begin()->first < p.window - 1)
    totals_.erase(totals_.begin());
  ctx.send(from, SyncTotal{p.window, now_total, static_cast<uint32_t>(config_.response_bytes)});
}

void RateLimiterNode::on_timer(Context& ctx, TimerId /*id*/, TimerTag /*tag*/) {
  report_.on_timer(ctx);
}

void RateLimiterNode::on_stop(Context& ctx) {
  if (reporting_) report_.stop(ctx);
}

}  // namespace dsim::ratelimit
