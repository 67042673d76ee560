// The rate-limit algorithms, their keyed form and the rate_limit parameter map (rate_limit.h).
#include "models/kit/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "sim/core/assert.h"

namespace dsim::kit {

namespace {

// Continued fractions stop at a period of 9e9 s (9e18 ns, below INT64_MAX) and a count of
// 1e18.
constexpr uint64_t kMaxPeriodSeconds = 9'000'000'000;
constexpr double kMaxCount = 1e18;

void check_time(SimTime& last, SimTime now) {
  DSIM_ASSERT(now >= last, "a rate limiter asked at ", now.ns(), "ns after ", last.ns(), "ns");
  last = now;
}

void check_cost(uint32_t cost) {
  DSIM_ASSERT(cost >= 1, "a request of cost 0 asked a rate limiter");
}

struct Fraction {
  uint64_t num;
  uint64_t den;
};

// The last convergent of x's continued fraction with num <= kMaxCount and
// den <= kMaxPeriodSeconds, stopping early at one within a few ulps of x.
Fraction closest_fraction(double x) {
  uint64_t h0 = 0, h1 = 1, k0 = 1, k1 = 0;
  double rest = x;
  for (int i = 0; i < 64; ++i) {
    const double a = std::floor(rest);
    if (a * static_cast<double>(h1) + static_cast<double>(h0) > kMaxCount ||
        a * static_cast<double>(k1) + static_cast<double>(k0) > kMaxPeriodSeconds) {
      break;
    }
    const auto ai = static_cast<uint64_t>(a);
    const uint64_t h2 = ai * h1 + h0, k2 = ai * k1 + k0;
    h0 = std::exchange(h1, h2);
    k0 = std::exchange(k1, k2);
    const double value = static_cast<double>(h1) / static_cast<double>(k1);
    if (std::abs(value - x) <= x * 1e-15) break;
    const double frac = rest - a;
    if (frac <= 0) break;
    rest = 1 / frac;
  }
  return {h1, k1};
}

}  // namespace

Rate Rate::per_second(double per_second) {
  DSIM_ASSERT(per_second > 0 && std::isfinite(per_second), "rate ", per_second, "/s");
  const Fraction f = closest_fraction(per_second);
  if (f.num == 0 || f.den == 0) return Rate{1, Duration::max()};  // slower than 1 per 285 y
  return Rate{f.num, seconds(static_cast<int64_t>(f.den))}.reduced();
}

Rate Rate::reduced() const {
  DSIM_ASSERT(count > 0 && per > Duration::zero(), "rate ", count, " per ", per.ns(), "ns");
  const uint64_t g = std::gcd(count, static_cast<uint64_t>(per.ns()));
  return Rate{count / g, Duration::from_ns(per.ns() / static_cast<int64_t>(g))};
}

// --- token bucket ---

TokenBucket::TokenBucket(Rate rate, uint64_t burst) {
  rate = rate.reduced();
  DSIM_ASSERT(burst >= 1, "a token bucket of burst 0");
  count_ = rate.count;
  per_ns_ = static_cast<uint64_t>(rate.per.ns());
  cap_ = static_cast<RateWide>(burst) * per_ns_;
  credit_ = cap_;
}

RateWide TokenBucket::credit_at(SimTime now) const {
  DSIM_ASSERT(now >= last_, "a token bucket asked at ", now.ns(), "ns after ", last_.ns(), "ns");
  const auto elapsed = static_cast<uint64_t>((now - last_).ns());
  const RateWide room = cap_ - credit_;
  const RateWide added = static_cast<RateWide>(elapsed) * count_;
  return added >= room ? cap_ : credit_ + added;
}

bool TokenBucket::try_acquire(SimTime now, uint32_t cost) {
  check_cost(cost);
  credit_ = credit_at(now);
  last_ = now;
  const RateWide need = static_cast<RateWide>(cost) * per_ns_;
  if (credit_ < need) return false;
  credit_ -= need;
  return true;
}

uint64_t TokenBucket::tokens(SimTime now) const {
  return static_cast<uint64_t>(credit_at(now) / per_ns_);
}

// --- GCRA ---

GcraMeter::GcraMeter(Rate rate, uint64_t burst) : burst_(burst) {
  rate = rate.reduced();
  DSIM_ASSERT(burst >= 1, "a leaky bucket of burst 0");
  count_ = rate.count;
  per_ns_ = static_cast<uint64_t>(rate.per.ns());
}

RateWide GcraMeter::wide(SimTime now) const {
  return static_cast<RateWide>(static_cast<uint64_t>(now.ns())) * count_;
}

bool GcraMeter::try_acquire(SimTime now, uint32_t cost) {
  check_cost(cost);
  check_time(last_, now);
  const RateWide t = wide(now);
  const RateWide tat = std::max(tat_, t) + static_cast<RateWide>(cost) * per_ns_;
  if (tat - t > static_cast<RateWide>(burst_) * per_ns_) return false;
  tat_ = tat;
  return true;
}

// --- leaky queue ---

LeakyQueue::LeakyQueue(Rate rate, uint64_t queue) : queue_(queue) {
  rate = rate.reduced();
  count_ = rate.count;
  per_ns_ = static_cast<uint64_t>(rate.per.ns());
}

RateWide LeakyQueue::wide(SimTime now) const {
  return static_cast<RateWide>(static_cast<uint64_t>(now.ns())) * count_;
}

RateDecision LeakyQueue::try_acquire(SimTime now, uint32_t cost) {
  check_cost(cost);
  check_time(last_, now);
  const RateWide t = wide(now);
  const RateWide leave = std::max(next_, t);
  if (leave - t > static_cast<RateWide>(queue_) * per_ns_) return {};
  next_ = leave + static_cast<RateWide>(cost) * per_ns_;
  // Rounded up to the nanosecond: never earlier than the exact departure.
  const RateWide leave_ns = (leave + count_ - 1) / count_;
  return {true, Duration::from_ns(static_cast<int64_t>(leave_ns) - now.ns())};
}

// --- fixed window ---

FixedWindow::FixedWindow(uint64_t limit, Duration window) : limit_(limit), window_ns_(window.ns()) {
  DSIM_ASSERT(window_ns_ > 0, "a fixed window of ", window_ns_, "ns");
}

bool FixedWindow::try_acquire(SimTime now, uint32_t cost) {
  check_cost(cost);
  check_time(last_, now);
  const int64_t index = now.ns() / window_ns_;
  if (index != index_) {
    index_ = index;
    used_ = 0;
  }
  if (used_ + cost > limit_) return false;
  used_ += cost;
  return true;
}

// --- sliding log ---

SlidingLog::SlidingLog(uint64_t limit, Duration window) : limit_(limit), window_ns_(window.ns()) {
  DSIM_ASSERT(window_ns_ > 0, "a sliding log of window ", window_ns_, "ns");
}

void SlidingLog::expire(SimTime now) {
  while (size_ > 0 && now.ns() - at(0).time_ns >= window_ns_) {
    sum_ -= at(0).cost;
    head_ = (head_ + 1) % ring_.size();
    --size_;
  }
}

uint64_t SlidingLog::in_window(SimTime now) {
  check_time(last_, now);
  expire(now);
  return sum_;
}

bool SlidingLog::idle(SimTime now) const {
  return size_ == 0 || now.ns() - at(size_ - 1).time_ns >= window_ns_;
}

bool SlidingLog::try_acquire(SimTime now, uint32_t cost) {
  check_cost(cost);
  if (in_window(now) + cost > limit_) return false;
  if (size_ == ring_.size()) {
    // Grow, keeping the order; costs are >= 1 and sum to at most limit_, so limit_ entries
    // always suffice.
    std::vector<Entry> grown(std::min<uint64_t>(limit_, std::max<size_t>(4, 2 * size_)));
    for (size_t i = 0; i < size_; ++i)
      grown[i] = at(i);
    ring_ = std::move(grown);
    head_ = 0;
  }
  DSIM_ASSERT(size_ < ring_.size(), "a sliding log over its limit of ", limit_);
  ring_[(head_ + size_) % ring_.size()] = Entry{now.ns(), cost};
  ++size_;
  sum_ += cost;
  return true;
}

// --- sliding window counter ---

SlidingWindowCounter::SlidingWindowCounter(uint64_t limit, Duration window)
    : limit_(limit), window_ns_(window.ns()) {
  DSIM_ASSERT(window_ns_ > 0, "a sliding window of ", window_ns_, "ns");
}

void SlidingWindowCounter::advance(SimTime now) {
  check_time(last_, now);
  const int64_t index = now.ns() / window_ns_;
  if (index == index_) return;
  prev_ = index == index_ + 1 ? current_ : 0;
  current_ = 0;
  index_ = index;
}

bool SlidingWindowCounter::idle(SimTime now) const {
  const int64_t index = now.ns() / window_ns_;
  return (prev_ == 0 && current_ == 0) || index > index_ + 1 ||
         (index == index_ + 1 && current_ == 0);
}

bool SlidingWindowCounter::try_acquire(SimTime now, uint32_t cost) {
  check_cost(cost);
  advance(now);
  const auto w = static_cast<uint64_t>(window_ns_);
  const auto elapsed = static_cast<uint64_t>(now.ns() - index_ * window_ns_);
  // prev x (w - e) / w + current + cost - 1 < limit, times w.
  const RateWide estimate =
      static_cast<RateWide>(prev_) * (w - elapsed) + static_cast<RateWide>(current_ + cost - 1) * w;
  if (estimate >= static_cast<RateWide>(limit_) * w) return false;
  current_ += cost;
  return true;
}

// --- any limiter ---

RateDecision try_acquire(Limiter& l, SimTime now, uint32_t cost) {
  return std::visit(
      [&](auto& x) -> RateDecision {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, LeakyQueue>) {
          return x.try_acquire(now, cost);
        } else {
          return {x.try_acquire(now, cost), Duration::zero()};
        }
      },
      l);
}

bool idle(const Limiter& l, SimTime now) {
  return std::visit([&](const auto& x) { return x.idle(now); }, l);
}

// --- keyed ---

KeyedLimiters::KeyedLimiters(Limiter prototype, size_t max_keys)
    : prototype_(std::move(prototype)), max_keys_(max_keys) {
  DSIM_ASSERT(max_keys_ >= 1 && max_keys_ < kNone, "keyed limiters bounded to ", max_keys_);
}

void KeyedLimiters::unlink(uint32_t s) {
  Slot& x = slots_[s];
  if (x.newer != kNone) slots_[x.newer].older = x.older;
  if (x.older != kNone) slots_[x.older].newer = x.newer;
  if (newest_ == s) newest_ = x.older;
  if (oldest_ == s) oldest_ = x.newer;
  x.newer = x.older = kNone;
}

void KeyedLimiters::push_newest(uint32_t s) {
  slots_[s].older = newest_;
  slots_[s].newer = kNone;
  if (newest_ != kNone) slots_[newest_].newer = s;
  newest_ = s;
  if (oldest_ == kNone) oldest_ = s;
}

uint32_t KeyedLimiters::slot_for(uint64_t key) {
  if (const auto it = index_.find(key); it != index_.end()) {
    unlink(it->second);
    push_newest(it->second);
    return it->second;
  }
  uint32_t s;
  if (index_.size() < max_keys_) {
    s = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{key, prototype_});
  } else {
    s = oldest_;
    unlink(s);
    index_.erase(slots_[s].key);
    slots_[s].key = key;
    slots_[s].limiter = prototype_;
    ++evicted_;
  }
  index_.emplace(key, s);
  push_newest(s);
  return s;
}

RateDecision KeyedLimiters::admit(SimTime now, uint64_t key, uint32_t cost) {
  return try_acquire(slots_[slot_for(key)].limiter, now, cost);
}

const Limiter* KeyedLimiters::find(uint64_t key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &slots_[it->second].limiter;
}

// --- the policy ---

Limiter make_limiter(const RateLimitPolicy& p) {
  using A = RateLimitPolicy::Algorithm;
  switch (p.algorithm) {
    case A::kNone:
    case A::kTokenBucket:
      return TokenBucket(p.rate, p.burst);
    case A::kLeakyBucket:
      return GcraMeter(p.rate, p.burst);
    case A::kLeakyQueue:
      return LeakyQueue(p.rate, p.queue);
    case A::kFixedWindow:
      return FixedWindow(p.limit, p.window);
    case A::kSlidingLog:
      return SlidingLog(p.limit, p.window);
    case A::kSlidingWindow:
      return SlidingWindowCounter(p.limit, p.window);
  }
  return TokenBucket(p.rate, p.burst);
}

RateLimiter::RateLimiter(const RateLimitPolicy& p) {
  if (!p.enabled()) return;
  if (p.scope == RateLimitPolicy::Scope::kGlobal) {
    global_.emplace(make_limiter(p));
  } else {
    keyed_.emplace(make_limiter(p), static_cast<size_t>(p.max_keys));
  }
}

RateDecision RateLimiter::admit(SimTime now, uint64_t key, uint32_t cost) {
  RateDecision d{true, Duration::zero()};
  if (global_) {
    d = try_acquire(*global_, now, cost);
  } else if (keyed_) {
    d = keyed_->admit(now, key, cost);
  }
  ++(d.admitted ? allowed_ : rejected_);
  return d;
}

namespace {

// `rate`, kept as an exact fraction.
void read_rate(ParamReader& m, Rate& out) {
  const double rate = m.rate("rate", out.per_second_value(),
                             "token_bucket, leaky_bucket: tokens added; leaky_queue: requests "
                             "let out (kept as an exact fraction: 7/3s is 7 per 3 s)");
  if (rate <= 0) {
    m.error("rate", "must be > 0");
  } else {
    out = Rate::per_second(rate);
  }
}

}  // namespace

// The algorithm and its own keys.
void read_algorithm(ParamReader& m, RateLimitPolicy& p) {
  using A = RateLimitPolicy::Algorithm;
  p.algorithm = m.choice("algorithm", A::kTokenBucket,
                         {{"token_bucket", A::kTokenBucket},
                          {"leaky_bucket", A::kLeakyBucket},
                          {"leaky_queue", A::kLeakyQueue},
                          {"fixed_window", A::kFixedWindow},
                          {"sliding_log", A::kSlidingLog},
                          {"sliding_window", A::kSlidingWindow}},
                         "token_bucket, leaky_bucket (GCRA: the token bucket's decisions), "
                         "leaky_queue (admitted requests wait to leave at `rate`), fixed_window, "
                         "sliding_log or sliding_window (the counter approximating the log)");
  const bool doc = m.doc_mode();
  const bool metered = p.algorithm == A::kTokenBucket || p.algorithm == A::kLeakyBucket;
  const bool windowed = p.algorithm == A::kFixedWindow || p.algorithm == A::kSlidingLog ||
                        p.algorithm == A::kSlidingWindow;
  if (metered || p.algorithm == A::kLeakyQueue || doc) read_rate(m, p.rate);
  if (metered || doc) {
    p.burst = static_cast<uint64_t>(m.integer(
        "burst", static_cast<int64_t>(p.burst),
        "token_bucket, leaky_bucket: the bucket's size, the most requests admitted at once", 1,
        1'000'000'000));
  }
  if (p.algorithm == A::kLeakyQueue || doc) {
    p.queue = static_cast<uint64_t>(m.integer("queue", static_cast<int64_t>(p.queue),
                                              "leaky_queue: requests that may wait to leave", 0,
                                              1'000'000'000));
  }
  if (windowed || doc) {
    p.limit = static_cast<uint64_t>(
        m.integer("limit", static_cast<int64_t>(p.limit),
                  "fixed_window, sliding_log, sliding_window: requests admitted per window", 1,
                  1'000'000'000));
    p.window = m.duration("window", p.window,
                          "fixed_window, sliding_log, sliding_window: the window (fixed ones "
                          "aligned to time 0)");
  }
  if (windowed && p.window <= Duration::zero()) m.error("window", "must be > 0");
  if (p.algorithm == A::kSlidingLog && p.limit > kMaxSlidingLogLimit) {
    m.error("limit",
            "sliding_log keeps one entry per request: at most 1000000 (sliding_window "
            "approximates it in constant memory)");
  }
}

void read_rate_limit(ParamReader& r, RateLimitPolicy& p,
                     const std::function<bool(ParamReader&)>& extra) {
  using A = RateLimitPolicy::Algorithm;
  using S = RateLimitPolicy::Scope;
  ParamReader m = r.map("rate_limit",
                        "a rate limit on the requests (default: none): {algorithm: "
                        "token_bucket, rate: 100/s, burst: 20, scope: global}");
  const bool doc = m.doc_mode();
  const bool local = extra ? extra(m) : true;
  if (local) {
    read_algorithm(m, p);
  } else {
    p.algorithm = A::kTokenBucket;
  }
  p.scope =
      m.choice("scope", p.scope,
               {{"global", S::kGlobal}, {"per_client", S::kPerClient}, {"per_key", S::kPerKey}},
               "one limiter for all requests, one per client, or one per request key");
  if (p.scope != S::kGlobal || doc) {
    p.max_keys = static_cast<uint64_t>(m.integer(
        "max_keys", static_cast<int64_t>(p.max_keys),
        "per_client, per_key: limiters held at most; the least recently used is dropped first", 1,
        1'000'000'000));
  }
  m.finish();
  if (!r.has("rate_limit")) p.algorithm = A::kNone;
  r.adopt_if_given("rate_limit", m);
}

}  // namespace dsim::kit
