#include "sim/core/clock.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace dsim {

namespace {

constexpr int64_t kBillion = 1'000'000'000;

// Floor of a / b for b > 0.
int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t sample_signed_ns(const Distribution& d, Rng& rng) {
  const double x = d.sample(rng);
  if (!std::isfinite(x)) return 0;
  return std::llround(std::clamp(x, -9.0e18, 9.0e18));
}

}  // namespace

bool ClockSpec::has_timer_jitter() const {
  return timer_jitter.kind() != Distribution::Kind::kConstant || timer_jitter.mean() != 0;
}

bool ClockSpec::is_ideal() const {
  return offset.kind() == Distribution::Kind::kConstant && offset.mean() == 0 &&
         drift_ppm.kind() == Distribution::Kind::kConstant && drift_ppm.mean() == 0 &&
         wobble_amplitude == Duration::zero() && sync_period == Duration::zero() && steps.empty() &&
         !has_timer_jitter();
}

NodeClock::NodeClock(const ClockSpec& spec, Rng rng, Rng jitter_rng) {
  // Draw order is fixed: offset, drift, wobble phase, sync phase.
  offset_ = sample_signed_ns(spec.offset, rng);
  const double ppm = std::clamp(spec.drift_ppm.sample(rng), -kMaxDriftPpm, kMaxDriftPpm);
  ppb_ = std::llround(ppm * 1000.0);
  if (spec.wobble_amplitude > Duration::zero()) {
    wobble_amp_ = spec.wobble_amplitude.ns();
    wobble_period_ = std::max<int64_t>(1, spec.wobble_period.ns());
    wobble_phase_ = 2.0 * std::numbers::pi * rng.uniform01();
  }
  if (spec.sync_period > Duration::zero()) {
    sync_period_ = spec.sync_period.ns();
    sync_error_ = spec.sync_error.ns();
    next_sync_ = static_cast<int64_t>(rng.below64(static_cast<uint64_t>(sync_period_)));
  }
  if (!spec.steps.empty()) steps_ = &spec.steps;
  rng_ = rng;
  if (spec.has_timer_jitter()) {
    jitter_ = &spec.timer_jitter;
    jitter_rng_ = jitter_rng;
  }
}

Duration NodeClock::timer_wait(Duration local) {
  if (!jitter_) return local;
  const int64_t late = std::max<int64_t>(0, jitter_->sample_duration(*jitter_rng_).ns());
  if (local.ns() > std::numeric_limits<int64_t>::max() - late) return Duration::max();
  return Duration::from_ns(local.ns() + late);
}

int64_t NodeClock::scaled(int64_t dt) const {
  if (ppb_ == 0) return dt;
  const int64_t q = floor_div(dt, kBillion);
  const int64_t r = dt - q * kBillion;  // in [0, 1e9)
  return dt + q * ppb_ + floor_div(r * ppb_, kBillion);
}

int64_t NodeClock::wobble(int64_t t) const {
  if (wobble_amp_ == 0) return 0;
  const double angle =
      2.0 * std::numbers::pi * static_cast<double>(t % wobble_period_) / wobble_period_ +
      wobble_phase_;
  return std::llround(static_cast<double>(wobble_amp_) * std::sin(angle));
}

void NodeClock::catch_up(int64_t t) {
  for (;;) {
    const bool step_due =
        steps_ && next_step_ < steps_->size() && (*steps_)[next_step_].at.ns() <= t;
    const bool sync_due = sync_period_ > 0 && next_sync_ <= t;
    if (!step_due && !sync_due) return;
    // Steps before syncs at the same instant: the sync corrects the step.
    if (step_due && (!sync_due || (*steps_)[next_step_].at.ns() <= next_sync_)) {
      offset_ += (*steps_)[next_step_].by.ns();
      ++next_step_;
      continue;
    }
    const int64_t s = next_sync_;
    const int64_t err =
        sync_error_ > 0
            ? static_cast<int64_t>(rng_->below64(static_cast<uint64_t>(2 * sync_error_ + 1))) -
                  sync_error_
            : 0;
    offset_ = s + err - mono(SimTime::from_ns(s)) - wobble(s);
    next_sync_ += sync_period_;
  }
}

SimTime NodeClock::wall(SimTime t) {
  catch_up(t.ns());
  return SimTime::from_ns(mono(t) + offset_ + wobble(t.ns()));
}

Duration NodeClock::true_duration(SimTime t, Duration local) const {
  if (local <= Duration::zero()) return Duration::zero();
  if (ppb_ == 0) return local;
  const int64_t m0 = mono(t);
  auto advanced = [&](int64_t d) { return mono(SimTime::from_ns(t.ns() + d)) - m0; };
  // Estimate local * 1e9 / (1e9 + ppb) without overflow, then correct the rounding.
  const int64_t rate = kBillion + ppb_;
  const int64_t a = local.ns() / rate;
  const int64_t b = local.ns() % rate;
  int64_t d = a * kBillion + (b * kBillion + rate - 1) / rate;
  while (advanced(d) < local.ns())
    ++d;
  while (d > 0 && advanced(d - 1) >= local.ns())
    --d;
  return Duration::from_ns(d);
}

void NodeClock::set_drift_ppm(SimTime t, double ppm) {
  catch_up(t.ns());
  const int64_t m = mono(t);
  base_t_ = t.ns();
  base_mono_ = m;
  ppb_ = std::llround(std::clamp(ppm, -kMaxDriftPpm, kMaxDriftPpm) * 1000.0);
}

void NodeClock::step(SimTime t, Duration by) {
  catch_up(t.ns());
  offset_ += by.ns();
}

}  // namespace dsim
