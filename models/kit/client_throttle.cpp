#include "models/kit/client_throttle.h"

namespace dsim::kit {

void read_client_rate_limit(ParamReader& r, RateLimitPolicy& policy) {
  read_rate_limit(r, policy);
  if (policy.scope == RateLimitPolicy::Scope::kPerClient && !r.doc_mode()) {
    r.error("rate_limit",
            "per_client: a client's limit is its own already (scope global: the node's "
            "requests; per_key: each key's)");
  }
}

void ClientThrottle::declare(const RateLimitPolicy& policy, MetricDecls& d) {
  if (!policy.enabled()) return;
  for (const std::string_view n : kRateLimitCounters)
    d.counter(n);
}

void ClientThrottle::start(Context& ctx, const RateLimitPolicy& policy) {
  if (!policy.enabled()) return;
  limiter_ = std::make_unique<RateLimiter>(policy);
  allowed_ = ctx.intern(kRateLimitCounters[0]);
  rejected_ = ctx.intern(kRateLimitCounters[1]);
}

ClientThrottle::Verdict ClientThrottle::check(Context& ctx, uint64_t key) {
  if (!limiter_) return {};
  const RateDecision d = limiter_->admit(ctx.monotonic(), key);
  ctx.record().count(d.admitted ? allowed_ : rejected_);
  return Verdict{!d.admitted, d.admitted ? d.delay : Duration::zero()};
}

}  // namespace dsim::kit
