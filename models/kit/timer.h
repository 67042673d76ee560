// Named timers. A model names its timers with an enum class of kinds, and a timer's tag
// carries its kind and one value (a request id, a peer's index, ...), packed here so that
// no model shifts bits by hand:
//
//   enum class Timer : uint8_t { kArrival, kTimeout, kCalls };
//   ctx.set_timer(after, kit::timer_tag(Timer::kTimeout, request_id));
//   ...
//   void on_timer(Context& ctx, TimerId id, TimerTag tag) {
//     const auto [kind, value] = kit::timer_of<Timer>(tag);
//     switch (kind) { case Timer::kTimeout: ...; case Timer::kCalls: calls_.on_timer(ctx, id,
//     value); }
//   }
//
// A kit component that needs timers of its own (RpcClient, Arrivals, ...) is given one of
// the model's kinds as a TimerSpace and packs its own sub-kinds into the value, so a model
// may hold several (one RpcClient per downstream) and routes each kind to its owner.
//
// Timeout is one timer for one concern that is running or not (an election timeout, a
// heartbeat), with an optional exponential backoff, after TigerBeetle's `Timeout`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "sim/core/assert.h"
#include "sim/core/ids.h"
#include "sim/core/model.h"
#include "sim/core/time.h"

namespace dsim::kit {

inline constexpr int kTimerValueBits = 56;
inline constexpr uint64_t kMaxTimerValue = (uint64_t{1} << kTimerValueBits) - 1;

template <class Kind>
concept TimerKind = std::is_enum_v<Kind> && sizeof(Kind) == 1;

/// The tag of a timer of `kind` carrying `value` (< 2^56).
template <TimerKind Kind>
constexpr TimerTag timer_tag(Kind kind, uint64_t value = 0) {
  DSIM_ASSERT(value <= kMaxTimerValue, "a timer value needs more than 56 bits: ", value);
  return (static_cast<uint64_t>(static_cast<uint8_t>(kind)) << kTimerValueBits) | value;
}

template <TimerKind Kind>
struct NamedTimer {
  Kind kind;
  uint64_t value;
};

/// The kind and value a tag made by timer_tag() carries.
template <TimerKind Kind>
constexpr NamedTimer<Kind> timer_of(TimerTag tag) {
  return {static_cast<Kind>(tag >> kTimerValueBits), tag & kMaxTimerValue};
}

/// The timers of one kit component: every tag it makes has the kind it was given, and its
/// own sub-kind (4 bits) and value (52 bits) inside the value.
class TimerSpace {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kValueBits = kTimerValueBits - kSubBits;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << kValueBits) - 1;

  constexpr TimerSpace() = default;
  template <TimerKind Kind>
  constexpr explicit TimerSpace(Kind kind) : kind_(static_cast<uint8_t>(kind)) {}

  constexpr TimerTag tag(uint8_t sub, uint64_t value) const {
    DSIM_ASSERT(sub < (1u << kSubBits) && value <= kMaxValue, "timer value out of range");
    return (uint64_t{kind_} << kTimerValueBits) | (uint64_t{sub} << kValueBits) | value;
  }
  /// The sub-kind of a value (the value part of a tag of this space).
  static constexpr uint8_t sub_of(uint64_t value) {
    return static_cast<uint8_t>(value >> kValueBits);
  }
  static constexpr uint64_t value_of(uint64_t value) { return value & kMaxValue; }

 private:
  uint8_t kind_ = 0;
};

/// One timer for one concern: stopped, or running until a known time. Backoff (for
/// retries of the same concern) multiplies `after` by 2 for each attempt since the last
/// reset, up to `max`, optionally with proportional jitter.
class Timeout {
 public:
  Timeout() = default;
  Timeout(TimerTag tag, Duration after) : tag_(tag), after_(after) {}

  /// (Re)starts it: it fires `after` from now (cancelling a running one).
  void start(Context& ctx) { start(ctx, after_); }
  void start(Context& ctx, Duration after) {
    stop(ctx);
    id_ = ctx.set_timer(after, tag_);
  }
  void stop(Context& ctx) {
    if (id_.valid()) ctx.cancel_timer(id_);
    id_ = TimerId{};
  }
  bool running() const { return id_.valid(); }
  /// Call from on_timer: true when `id` is this timeout's live timer, which is then
  /// stopped (a timer cancelled or restarted since it was set is not live).
  bool fired(TimerId id) {
    if (!id_.valid() || id != id_) return false;
    id_ = TimerId{};
    return true;
  }

  /// Restarts it after the backed-off delay for one more attempt: after * 2^attempts,
  /// capped at `max`, times uniform(1 - jitter, 1 + jitter) when jitter > 0.
  void backoff(Context& ctx, Duration max, double jitter = 0) {
    const double doublings = std::min<double>(attempts_, 62);
    double d = std::min(static_cast<double>(after_.ns()) * std::pow(2.0, doublings),
                        static_cast<double>(max.ns()));
    if (jitter > 0) d *= 1.0 - jitter + 2.0 * jitter * ctx.rng().uniform01();
    ++attempts_;
    start(ctx, Duration::from_ns(std::llround(std::max(0.0, d))));
  }
  void reset_backoff() { attempts_ = 0; }
  uint32_t attempts() const { return attempts_; }

  Duration after() const { return after_; }
  void set_after(Duration after) { after_ = after; }
  TimerTag tag() const { return tag_; }

 private:
  TimerTag tag_ = 0;
  Duration after_ = Duration::zero();
  TimerId id_;
  uint32_t attempts_ = 0;
};

/// The wait before the first of a node's periodic rounds: uniform in (0, period], so nodes
/// that start together (a gossip member, a SWIM prober) run at random phases, not in
/// lockstep.
inline Duration random_phase(Rng& rng, Duration period) {
  const int64_t p = period.ns();
  return Duration::from_ns(1 + static_cast<int64_t>(rng.uniform01() * static_cast<double>(p - 1)));
}

}  // namespace dsim::kit
