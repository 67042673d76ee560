// Rate limits: whether a request may pass at time `now`, by the classic algorithms, as
// plain deterministic classes over SimTime (no events, no randomness), plus the policy a
// model reads from its parameters and the keyed form that keeps one limiter per client or
// per key.
//
// Every limiter is fed non-decreasing times (a time earlier than the last breaks
// DSIM_ASSERT) and requests of a `cost` >= 1 (a request of cost c counts as c requests that
// come together and are admitted or refused together). Arithmetic is exact: rates are
// fractions `count` per `per` (Rate), never floating point, and the 128-bit state never
// rounds, so no drift builds up over a long run.
//
//   token_bucket   A bucket of at most `burst` tokens, full at the start, refilled
//                  continuously at `rate` (the fractions of a token are kept exactly). A
//                  request of cost c takes c tokens when the bucket holds at least c, and is
//                  refused otherwise (taking none). Hence: in any closed interval [s, s + t]
//                  the costs admitted sum to at most burst + floor(rate x t), and exactly
//                  that from a full bucket at s under demand that takes every token as soon
//                  as it is whole, provided the bucket never overflows (it holds < 1 token
//                  after such demand, so burst >= 2 with demand at least every
//                  (burst - 1)/rate suffices; with burst 1 the fraction of a token accrued
//                  between its becoming whole and the next request is lost to the cap, as
//                  in any token bucket). A cost above `burst` is never admitted.
//   leaky_bucket   The leaky bucket as a meter, by GCRA (the generic cell rate algorithm,
//                  virtual scheduling form): a theoretical arrival time TAT, emission
//                  interval T = 1/rate and tolerance (burst - 1) x T. A request of cost c
//                  at t is admitted when max(TAT, t) + c x T - t <= burst x T, and then
//                  TAT = max(TAT, t) + c x T. It makes exactly the token bucket's decisions
//                  (the bucket holds burst - (TAT - t)/T tokens), in one number of state.
//   leaky_queue    The leaky bucket as a queue: a FIFO drained at `rate`, holding at most
//                  `queue` waiting requests. A request leaves at d = max(t, next), where
//                  `next` is when the drain is free; then next = d + c x T. It is admitted,
//                  with delay d - t, when that delay is at most queue x T, else refused: at
//                  most `queue` admitted requests (costs) wait at any time, this one
//                  included. So requests that find the
//                  drain busy leave exactly T apart, and one that finds it free leaves at
//                  once (delay 0, not counted as waiting). Departure times are rounded up
//                  to the nanosecond, so a delay is never shorter than the exact one.
//   fixed_window   Windows [k x window, (k + 1) x window), aligned to time 0 (start
//                  inclusive, end exclusive). A request is admitted while the window's
//                  admitted costs plus its own stay <= limit. Up to 2 x limit can pass in a
//                  span much shorter than a window: `limit` at the end of one window and
//                  `limit` at the start of the next.
//   sliding_log    The times of the requests admitted in the last `window`: the half-open
//                  interval (t - window, t] (an entry admitted exactly `window` ago no
//                  longer counts). A request is admitted while their costs plus its own stay
//                  <= limit. Exact: any half-open interval of length `window` holds at most
//                  `limit` admitted, and a request is refused only when it would break that.
//                  Memory: at most `limit` entries of 16 bytes.
//   sliding_window The sliding window counter (Cloudflare's approximation of the log): the
//                  counts of the current fixed window (aligned to 0, as fixed_window) and of
//                  the previous one, which is taken as spread evenly. At elapsed time e into
//                  the current window, a request of cost c is admitted when
//                    prev x (window - e) / window + current + (c - 1) < limit
//                  (for c = 1, prev x (1 - e/window) + current < limit, compared exactly).
//                  The count of the current window never exceeds limit. Its error: let E
//                  be the admitted count of the previous window that really lies in
//                  (t - window, t] minus the estimate prev x (window - e)/window. Then the
//                  interval (t - window, t] holds at most limit + ceil(max(E, 0)) admitted,
//                  and always at most 2 x limit. When the previous window's requests came
//                  evenly E stays near 0 (within one request); when they all came at its
//                  end E nears prev and the counter lets nearly 2 x limit through, as a
//                  fixed window; when they all came at its start E < 0 and it refuses early.
//
// Keyed limiters (scope per_client or per_key) keep one limiter per key, made on the
// key's first request as a new (full, empty) limiter. Their memory is bounded by
// `max_keys`: a request of a new key when `max_keys` keys are held first drops the least
// recently used one (deterministic: recency is the order of admit() calls). Dropping a
// limiter that is idle (idle(): back to its starting state, the bucket full, the queue and
// windows empty) changes no decision; dropping a busy one gives the key a fresh limiter,
// more lenient than the one dropped. evicted() counts the drops. A key costs about 170
// bytes (128 for its slot, the rest for the index) plus a sliding log's entries: 10^5 keys
// take about 17MB.
//
// Metrics: a model with a rate limit reports the counters kRateLimitCounters,
// `rate_limit_allowed` (requests admitted, queued ones included) and `rate_limit_rejected`
// (requests refused), from RateLimiter::allowed() and rejected().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "sim/core/params.h"
#include "sim/core/time.h"

namespace dsim::kit {

__extension__ typedef unsigned __int128 RateWide;  ///< 128-bit state of the limiters

/// A rate as an exact fraction: `count` events per `per`.
struct Rate {
  uint64_t count = 100;
  Duration per = seconds(1);

  /// The fraction count/per closest to `per_second` whose period is a whole number of
  /// seconds up to 9 x 10^9 (a continued fraction), in lowest terms: exact for every rate
  /// written as a count over a duration of a few decimals ("7/3s" is 7 per 3 s, "100/30min"
  /// 1 per 18 s). `per_second` must be > 0 and finite.
  static Rate per_second(double per_second);
  double per_second_value() const { return static_cast<double>(count) / per.to_seconds(); }
  /// The same rate in lowest terms.
  Rate reduced() const;
};

/// A limiter's answer: admitted or not, and for leaky_queue the delay after which the
/// admitted request leaves the queue (zero for the other algorithms).
struct RateDecision {
  bool admitted = false;
  Duration delay = Duration::zero();
};

class TokenBucket {
 public:
  TokenBucket(Rate rate, uint64_t burst);
  bool try_acquire(SimTime now, uint32_t cost = 1);
  /// Whole tokens in the bucket at `now` (no time earlier than the last request).
  uint64_t tokens(SimTime now) const;
  bool idle(SimTime now) const { return credit_at(now) == cap_; }

 private:
  RateWide credit_at(SimTime now) const;

  uint64_t count_;   // the rate: count_ tokens per per_ns_ nanoseconds
  uint64_t per_ns_;  // one token is per_ns_ units of credit; a nanosecond adds count_
  RateWide cap_;     // burst x per_ns_
  RateWide credit_;
  SimTime last_;
};

class GcraMeter {
 public:
  GcraMeter(Rate rate, uint64_t burst);
  bool try_acquire(SimTime now, uint32_t cost = 1);
  bool idle(SimTime now) const { return tat_ <= wide(now); }

 private:
  RateWide wide(SimTime now) const;  // now in units of 1/count_ ns

  uint64_t count_;
  uint64_t per_ns_;  // the emission interval T, in units of 1/count_ ns
  uint64_t burst_;
  RateWide tat_ = 0;
  SimTime last_;
};

class LeakyQueue {
 public:
  LeakyQueue(Rate rate, uint64_t queue);
  RateDecision try_acquire(SimTime now, uint32_t cost = 1);
  bool idle(SimTime now) const { return next_ <= wide(now); }

 private:
  RateWide wide(SimTime now) const;

  uint64_t count_;
  uint64_t per_ns_;
  uint64_t queue_;
  RateWide next_ = 0;  // when the drain is free, in units of 1/count_ ns
  SimTime last_;
};

class FixedWindow {
 public:
  FixedWindow(uint64_t limit, Duration window);
  bool try_acquire(SimTime now, uint32_t cost = 1);
  bool idle(SimTime now) const { return used_ == 0 || now.ns() / window_ns_ != index_; }

 private:
  uint64_t limit_;
  int64_t window_ns_;
  int64_t index_ = 0;  // the window the count is of
  uint64_t used_ = 0;
  SimTime last_;
};

class SlidingLog {
 public:
  SlidingLog(uint64_t limit, Duration window);
  bool try_acquire(SimTime now, uint32_t cost = 1);
  /// The costs admitted in (now - window, now].
  uint64_t in_window(SimTime now);
  bool idle(SimTime now) const;
  size_t entries() const { return size_; }

 private:
  struct Entry {
    int64_t time_ns;
    uint64_t cost;
  };
  void expire(SimTime now);
  const Entry& at(size_t i) const { return ring_[(head_ + i) % ring_.size()]; }

  uint64_t limit_;
  int64_t window_ns_;
  std::vector<Entry> ring_;  // grows to at most limit_ entries
  size_t head_ = 0;
  size_t size_ = 0;
  uint64_t sum_ = 0;
  SimTime last_;
};

class SlidingWindowCounter {
 public:
  SlidingWindowCounter(uint64_t limit, Duration window);
  bool try_acquire(SimTime now, uint32_t cost = 1);
  bool idle(SimTime now) const;

 private:
  void advance(SimTime now);

  uint64_t limit_;
  int64_t window_ns_;
  int64_t index_ = 0;
  uint64_t prev_ = 0;
  uint64_t current_ = 0;
  SimTime last_;
};

/// Any one of the algorithms.
using Limiter =
    std::variant<TokenBucket, GcraMeter, LeakyQueue, FixedWindow, SlidingLog, SlidingWindowCounter>;
RateDecision try_acquire(Limiter& l, SimTime now, uint32_t cost = 1);
bool idle(const Limiter& l, SimTime now);

/// One limiter per key, made from `prototype` (copied) on the key's first request, at most
/// `max_keys` of them (least recently used dropped first).
class KeyedLimiters {
 public:
  KeyedLimiters(Limiter prototype, size_t max_keys);
  RateDecision admit(SimTime now, uint64_t key, uint32_t cost = 1);
  size_t keys() const { return index_.size(); }
  uint64_t evicted() const { return evicted_; }
  /// The key's limiter, or null when none is held.
  const Limiter* find(uint64_t key) const;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    uint64_t key;
    Limiter limiter;
    uint32_t newer = kNone;  // towards the most recently used
    uint32_t older = kNone;
  };
  uint32_t slot_for(uint64_t key);
  void unlink(uint32_t s);
  void push_newest(uint32_t s);

  Limiter prototype_;
  size_t max_keys_;
  std::vector<Slot> slots_;
  std::unordered_map<uint64_t, uint32_t> index_;  // key -> slot; looked up, never iterated
  uint32_t newest_ = kNone;
  uint32_t oldest_ = kNone;
  uint64_t evicted_ = 0;
};

struct RateLimitPolicy {
  enum class Algorithm : uint8_t {
    kNone,
    kTokenBucket,
    kLeakyBucket,
    kLeakyQueue,
    kFixedWindow,
    kSlidingLog,
    kSlidingWindow
  };
  enum class Scope : uint8_t { kGlobal, kPerClient, kPerKey };

  Algorithm algorithm = Algorithm::kNone;
  Rate rate{100, seconds(1)};    ///< token_bucket, leaky_bucket, leaky_queue
  uint64_t burst = 20;           ///< token_bucket, leaky_bucket
  uint64_t queue = 10;           ///< leaky_queue: requests that may wait
  uint64_t limit = 100;          ///< fixed_window, sliding_log, sliding_window
  Duration window = seconds(1);  ///< fixed_window, sliding_log, sliding_window
  Scope scope = Scope::kGlobal;
  uint64_t max_keys = 100'000;  ///< per_client, per_key: limiters held at most
  bool enabled() const { return algorithm != Algorithm::kNone; }
};

/// The largest `limit` of a sliding_log, which keeps an entry per admitted request.
constexpr uint64_t kMaxSlidingLogLimit = 1'000'000;

/// Reads the optional `rate_limit: {algorithm, rate, burst, queue, window, limit, scope,
/// max_keys}` map into `policy` (absent: none). Parameters the algorithm (or the scope)
/// does not use are errors. `extra`, when given, first reads the caller's own keys of the
/// same map (a distributed limit's `store`, say) and answers whether the algorithm's keys
/// are read too: false when the limit is run elsewhere (a central store's), and then only
/// `scope` and `max_keys` are, and the policy is enabled with the default algorithm.
void read_rate_limit(ParamReader& r, RateLimitPolicy& policy,
                     const std::function<bool(ParamReader&)>& extra = {});

/// The counters a model with a rate limit reports (see the file's comment).
inline constexpr std::string_view kRateLimitCounters[] = {"rate_limit_allowed",
                                                          "rate_limit_rejected"};

/// A policy's limiter, as a service, balancer or client calls it: admit(now, key) per
/// request. Scope global ignores the key; per_client and per_key keep a limiter per key
/// (the caller passes the client's node id, or the request's key).
class RateLimiter {
 public:
  /// Without an algorithm (kNone) every request is admitted.
  explicit RateLimiter(const RateLimitPolicy& policy);
  RateDecision admit(SimTime now, uint64_t key = 0, uint32_t cost = 1);

  uint64_t allowed() const { return allowed_; }
  uint64_t rejected() const { return rejected_; }
  /// Keyed scopes: limiters held, and those dropped to stay within max_keys.
  size_t keys() const { return keyed_ ? keyed_->keys() : 0; }
  uint64_t evicted() const { return keyed_ ? keyed_->evicted() : 0; }

 private:
  std::optional<Limiter> global_;       // scope global
  std::optional<KeyedLimiters> keyed_;  // per_client, per_key (neither: disabled)
  uint64_t allowed_ = 0;
  uint64_t rejected_ = 0;
};

/// The limiter a policy with an algorithm describes.
Limiter make_limiter(const RateLimitPolicy& policy);

}  // namespace dsim::kit
