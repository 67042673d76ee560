// Per-node clocks. A node's clock has two faces:
//
//   - its oscillator (monotonic time): runs at rate 1 + drift, drift in parts per
//     million, and may change rate at a clock fault. Timers measure oscillator time: a
//     timer set for 1 s on a node whose clock runs 100 ppm fast fires after 1 s / 1.0001
//     of true time. Steps do not move timers (like CLOCK_MONOTONIC).
//   - its wall clock (what Context::now() returns): oscillator time + an offset. The
//     offset starts at the node's initial offset, jumps at steps (clock faults, scheduled
//     steps), oscillates by the periodic wobble, and is reset to within +-error of true
//     time at every NTP-like sync.
//
// All arithmetic is on integer nanoseconds (drift in parts per 10^9), exact and the same
// on every platform, except the wobble (a sine, rounded to the nanosecond).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sim/core/distribution.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

/// How the clocks of a group's nodes behave. Distributions are drawn once per node
/// (from the node's own clock stream) at the start of the run.
struct ClockSpec {
  /// Initial offset of the wall clock from true time (a time; may be negative).
  Distribution offset = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  /// Oscillator drift in ppm (a plain number; + runs fast).
  Distribution drift_ppm = Distribution::constant(0);
  Duration wobble_amplitude = Duration::zero();  ///< 0: no wobble
  Duration wobble_period = seconds(60);
  Duration sync_period = Duration::zero();  ///< 0: no sync
  Duration sync_error = Duration::zero();   ///< after a sync, |wall - true| <= this
  struct Step {
    SimTime at;
    Duration by;
  };
  std::vector<Step> steps;  ///< scheduled jumps of the wall clock, in time order (shared)
  /// How late a timer fires past its due time on the oscillator (scheduling latency, timer
  /// slack), drawn anew for every timer set; non-negative.
  Distribution timer_jitter = Distribution::constant(0).with_dim(Distribution::Dim::kTime);

  /// True when timers fire late by a draw of timer_jitter.
  bool has_timer_jitter() const;
  /// True when the clock is just true time (no offset, drift, wobble, sync, steps or
  /// timer jitter).
  bool is_ideal() const;
};

/// The largest drift accepted, in ppm (a clock at -50% still moves forward).
inline constexpr double kMaxDriftPpm = 500'000;

class NodeClock {
 public:
  NodeClock() = default;  ///< an ideal clock
  /// A clock set up from `spec`, drawing its initial offset, drift and phases from `rng`,
  /// and its timers' jitter from `jitter_rng`.
  NodeClock(const ClockSpec& spec, Rng rng, Rng jitter_rng);
  NodeClock(const NodeClock&) = default;
  NodeClock& operator=(const NodeClock&) = default;

  /// Oscillator time at true time t (t must not precede the last change).
  int64_t mono(SimTime t) const { return base_mono_ + scaled(t.ns() - base_t_); }
  /// Wall-clock time at true time t. Applies any sync due up to t first, so t must be
  /// non-decreasing across calls.
  SimTime wall(SimTime t);
  /// How much true time passes, from t, while the oscillator advances `local` (>= 0):
  /// the smallest D with mono(t + D) - mono(t) >= local.
  Duration true_duration(SimTime t, Duration local) const;

  /// A timer set for `local` of oscillator time fires after this much oscillator time:
  /// `local` plus a draw of the timer jitter (none for an ideal clock).
  Duration timer_wait(Duration local);

  /// Changes the drift from true time t on.
  void set_drift_ppm(SimTime t, double ppm);
  double drift_ppm() const { return static_cast<double>(ppb_) / 1000.0; }
  /// Jumps the wall clock by `by` at true time t.
  void step(SimTime t, Duration by);
  /// The wall clock's current offset from true time (wall - true) at t.
  Duration skew(SimTime t) { return wall(t) - t; }

 private:
  int64_t scaled(int64_t dt) const;  // dt * (1 + ppb/1e9), floored
  int64_t wobble(int64_t t) const;
  void catch_up(int64_t t);  // applies syncs due at or before t

  int64_t base_t_ = 0;     // true time of the last rate change
  int64_t base_mono_ = 0;  // oscillator time then
  int64_t ppb_ = 0;        // drift in parts per 10^9
  int64_t offset_ = 0;     // wall = mono + offset + wobble
  int64_t wobble_amp_ = 0;
  int64_t wobble_period_ = 1;
  double wobble_phase_ = 0;  // radians
  int64_t sync_period_ = 0;
  int64_t sync_error_ = 0;
  int64_t next_sync_ = 0;
  const std::vector<ClockSpec::Step>* steps_ = nullptr;  // the group's scheduled steps
  size_t next_step_ = 0;
  std::optional<Rng> rng_;                // sync errors, drawn in sync order
  const Distribution* jitter_ = nullptr;  // the group's timer jitter; null: none
  std::optional<Rng> jitter_rng_;         // its draws, one per timer set
};

}  // namespace dsim
