// A circuit breaker: a caller's guard in front of a dependency that is failing, so it
// fails fast instead of piling requests onto it (and waiting for their timeouts). The
// state machine every variant shares: CLOSED (calls go through; failures are counted) ->
// OPEN after enough failures (every call is refused at once) -> HALF_OPEN once `open_for`
// has passed (a few trial calls go through) -> CLOSED after enough trial successes, or
// OPEN again after a trial failure.
//
// What "enough failures" means differs between sources, so each is a variant:
//   consecutive  `failures` failures in a row; a success resets the count (a
//                failure_threshold with success_threshold in half-open, as in the state
//                machine of the "Infrastructure - Hard Level" problem set and the Python
//                breaker of the Modern System Design - Interview Prep Guide)
//   cumulative   `failures` failures since the breaker last closed, successes in between
//                not resetting the count (the Python breaker of the "System Design -
//                Advanced Level" guide, which never
//                resets failure_count while closed; it closes on the first trial success)
//   rate         over the last `window` calls (at least `min_calls` of them), a share of
//                failures of at least `failure_rate` (Resilience4j's count-based window)
//   slow_rate    the same, counting as failures the calls slower than `slow_call`
//                (Resilience4j's slow-call rate threshold)
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "sim/core/params.h"
#include "sim/core/time.h"

namespace dsim::kit {

struct CircuitBreakerSpec {
  enum class Kind : uint8_t { kNone, kConsecutive, kCumulative, kRate, kSlowRate };
  Kind kind = Kind::kNone;
  uint32_t failures = 5;            ///< consecutive, cumulative: failures that open it
  Duration open_for = seconds(60);  ///< time open before trial calls go through
  uint32_t half_open_calls = 1;     ///< trial calls let through at once when half-open
  uint32_t successes = 1;           ///< trial successes that close it
  uint32_t window = 100;            ///< rate, slow_rate: the calls the rate is taken over
  uint32_t min_calls = 10;          ///< rate, slow_rate: calls needed before it may open
  double failure_rate = 0.5;        ///< rate, slow_rate: the share that opens it
  Duration slow_call = seconds(1);  ///< slow_rate: a call at least this long is slow
  bool enabled() const { return kind != Kind::kNone; }
};

/// Reads the optional `breaker: {kind, failures, open_for, ...}` map into `spec` (absent:
/// no breaker); parameters the kind does not use are errors.
void read_circuit_breaker(ParamReader& r, CircuitBreakerSpec& spec);

class CircuitBreaker {
 public:
  enum class State : uint8_t { kClosed, kOpen, kHalfOpen };

  /// `spec` outlives the breaker; without one, none (every call goes through).
  explicit CircuitBreaker(const CircuitBreakerSpec& spec) : spec_(&spec) {}
  CircuitBreaker() = default;

  /// May a call start at `now`? True (and, half-open, one trial call taken) or false: the
  /// call is refused without being made.
  bool allow(SimTime now);
  /// A call let through ended: `ok`, and how long it took.
  void record(SimTime now, bool ok, Duration latency);
  /// A call let through was given up without an outcome (no longer needed): a trial call
  /// of half-open frees its place.
  void abandon() {
    if (state_ == State::kHalfOpen && trials_ > 0) --trials_;
  }

  State state() const { return state_; }
  uint64_t opened() const { return opened_; }  ///< times it opened

 private:
  void open(SimTime now);
  void close();
  bool tripped(bool failed);

  bool enabled() const { return spec_ && spec_->enabled(); }

  const CircuitBreakerSpec* spec_ = nullptr;  // null: none
  State state_ = State::kClosed;
  SimTime opened_at_;
  uint32_t failures_ = 0;          // consecutive, cumulative
  uint32_t trials_ = 0;            // half-open: trial calls in flight
  uint32_t successes_ = 0;         // half-open: trial successes
  std::vector<uint8_t> outcomes_;  // rate kinds: the last calls, 1 = failure (a ring)
  size_t next_ = 0;
  uint32_t failed_in_window_ = 0;
  uint64_t opened_ = 0;
};

std::string_view breaker_state_name(CircuitBreaker::State s);

}  // namespace dsim::kit
