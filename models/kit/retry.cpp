#include "models/kit/retry.h"

#include <algorithm>
#include <cmath>

namespace dsim::kit {

Duration RetryPolicy::delay(uint32_t retry, Rng& rng) const {
  double d = static_cast<double>(base.ns());
  if (backoff == Backoff::kExponential) {
    const double doublings = std::min<double>(retry > 0 ? retry - 1 : 0, 62);
    d = std::min(d * std::pow(2.0, doublings), static_cast<double>(cap.ns()));
  }
  switch (jitter) {
    case Jitter::kNone:
      break;
    case Jitter::kProportional:
      d *= 1.0 - jitter_fraction + 2.0 * jitter_fraction * rng.uniform01();
      break;
    case Jitter::kAdditive:
      d += static_cast<double>(jitter_max.ns()) * rng.uniform01();
      break;
  }
  return Duration::from_ns(std::llround(std::max(0.0, d)));
}

void read_retry_policy(ParamReader& r, RetryPolicy& p) {
  using B = RetryPolicy::Backoff;
  using J = RetryPolicy::Jitter;
  p.backoff = r.choice("retry", p.backoff,
                       {{"none", B::kNone}, {"fixed", B::kFixed}, {"exponential", B::kExponential}},
                       "retry policy for failed attempts: none, a fixed delay, or exponential "
                       "backoff");
  p.max_attempts = static_cast<uint32_t>(
      r.integer("max_attempts", p.max_attempts,
                "attempts per operation including the first (with retries)", 1, 1'000'000));
  p.base = r.duration("retry_base", p.base,
                      "fixed: the delay; exponential: the first retry's delay, doubling for each "
                      "further retry");
  p.cap = r.duration("retry_cap", p.cap, "exponential: the largest delay");
  p.jitter = r.choice(
      "jitter", p.jitter,
      {{"none", J::kNone}, {"proportional", J::kProportional}, {"additive", J::kAdditive}},
      "proportional: delay * uniform(1 - f, 1 + f); additive: delay + uniform(0, jitter_max)");
  p.jitter_fraction = r.probability("jitter_fraction", p.jitter_fraction, "proportional jitter: f");
  p.jitter_max = r.duration("jitter_max", p.jitter_max, "additive jitter: the largest addition");
  if (p.backoff == B::kExponential && p.cap < p.base) r.error("retry_cap", "must be >= retry_base");
}

void read_retry_budget(ParamReader& r, RetryBudgetSpec& spec) {
  ParamReader m = r.map("retry_budget",
                        "cap on retries, as Finagle's and Envoy's retry budgets: over a sliding "
                        "window at most ratio x requests + min_per_second x window retries "
                        "(absent: no cap)");
  spec.ratio = m.probability("ratio", 0.2, "retries allowed per request (20%: one in five)");
  spec.min_per_second =
      m.number("min_per_second", spec.min_per_second, "retries always allowed per second", 0);
  spec.window = m.duration("window", spec.window, "how long requests and retries count");
  m.finish();
  if (spec.window <= Duration::zero()) m.error("window", "must be > 0");
  if (!r.has("retry_budget")) spec.ratio = 0;  // absent: no budget
  r.adopt_if_given("retry_budget", m);
}

RetryBudget::RetryBudget(const RetryBudgetSpec& spec)
    : spec_(spec),
      width_ns_(std::max<int64_t>(1, spec.window.ns() / kBuckets)),
      buckets_(kBuckets) {}

RetryBudget::Bucket& RetryBudget::bucket(SimTime now) {
  const int64_t n = now.ns() / width_ns_;
  Bucket& b = buckets_[static_cast<size_t>(n % kBuckets)];
  if (b.start != n) b = Bucket{n, 0, 0};
  return b;
}

void RetryBudget::request(SimTime now) {
  if (spec_.enabled()) ++bucket(now).requests;
}

bool RetryBudget::try_retry(SimTime now) {
  if (!spec_.enabled()) return true;
  Bucket& current = bucket(now);
  const int64_t newest = now.ns() / width_ns_;
  uint64_t requests = 0, retries = 0;
  for (const Bucket& b : buckets_) {
    if (b.start >= 0 && b.start > newest - kBuckets) {
      requests += b.requests;
      retries += b.retries;
    }
  }
  const double allowed = spec_.ratio * static_cast<double>(requests) +
                         spec_.min_per_second * spec_.window.to_seconds();
  if (static_cast<double>(retries) + 1 > allowed) return false;
  ++current.retries;
  return true;
}

}  // namespace dsim::kit
