// Retries: when a failed attempt is tried again (RetryPolicy) and how many retries a caller
// may make in all (RetryBudget), for the call layer (rpc_client.h).
//
// The backoff is the Modern System Design - Interview Prep Guide's pattern: doubling from a
// base delay up to a cap ("delays: 1 s, 2 s, 4 s, 8 s, 16 s... capped at max_delay", five
// retries at most), with jitter. The guide gives two jitters, so both are offered: proportional,
// the delay times a uniform factor in [1 - f, 1 + f] ("random ±25%"), and additive, the delay plus
// a uniform draw up to jitter_max.
//
// A retry budget caps retries at a share of the requests, as Finagle's RetryBudget and
// Envoy's retry budgets do, so that retries cannot multiply the load of a struggling
// service (a retry storm): over a sliding window, retries may not exceed ratio x requests
// plus a floor of min_per_second x window (so a quiet caller can still retry).
#pragma once

#include <cstdint>
#include <vector>

#include "sim/core/params.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim::kit {

struct RetryPolicy {
  enum class Backoff : uint8_t { kNone, kFixed, kExponential };
  enum class Jitter : uint8_t { kNone, kProportional, kAdditive };

  Backoff backoff = Backoff::kNone;
  uint32_t max_attempts = 5;  ///< attempts per call including the first (with retries)
  Duration base = seconds(1);
  Duration cap = seconds(60);
  Jitter jitter = Jitter::kProportional;
  double jitter_fraction = 0.25;
  Duration jitter_max = seconds(1);

  /// Attempts a call gets: 1 without retries.
  uint32_t attempts() const { return backoff == Backoff::kNone ? 1 : max_attempts; }
  /// The delay before retry number `retry` (1 = the first retry), drawing the jitter from
  /// `rng`. Without a backoff (a call given attempts anyway, e.g. a final read) the delay
  /// is `base`, as with a fixed one.
  Duration delay(uint32_t retry, Rng& rng) const;
};

/// Reads `retry`, `max_attempts`, `retry_base`, `retry_cap`, `jitter`, `jitter_fraction`,
/// `jitter_max` (in that order) into `policy`, whose values are the defaults.
void read_retry_policy(ParamReader& r, RetryPolicy& policy);

struct RetryBudgetSpec {
  double ratio = 0;               ///< retries per request allowed (0.2: 20%); 0: no budget
  double min_per_second = 10;     ///< retries always allowed per second of the window
  Duration window = seconds(10);  ///< how long requests and retries count
  bool enabled() const { return ratio > 0; }
};

/// Reads the optional `retry_budget: {ratio, min_per_second, window}` map (absent: none).
void read_retry_budget(ParamReader& r, RetryBudgetSpec& spec);

class RetryBudget {
 public:
  explicit RetryBudget(const RetryBudgetSpec& spec = {});
  /// A first attempt was sent at `now`.
  void request(SimTime now);
  /// A retry may be sent at `now`: true (and counted) when the budget allows it.
  bool try_retry(SimTime now);

 private:
  static constexpr int kBuckets = 10;
  struct Bucket {
    int64_t start = -1;  // bucket number (time / width); -1: unused
    uint64_t requests = 0;
    uint64_t retries = 0;
  };
  Bucket& bucket(SimTime now);

  RetryBudgetSpec spec_;
  int64_t width_ns_;
  std::vector<Bucket> buckets_;
};

}  // namespace dsim::kit
