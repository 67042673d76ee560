// The workload base every client model stands on (after ns-3's application base classes):
// when operations start (Arrivals), which key each touches (KeyChooser), which kind each is
// (WeightedChoice) and which session it belongs to (Sessions). A client model owns one of
// each it needs and keeps only what is its own: the requests it sends and what it records.
//
// Arrivals, open loop: operations arrive whether or not earlier ones were answered —
// Poisson (exponential gaps), fixed (evenly spaced), or bursty (Poisson switching between
// `rate` and `burst_rate`, each phase lasting a drawn time: a two-state Markov-modulated
// Poisson process). The rate can change over time for Poisson and fixed arrivals: a
// schedule of steps and linear ramps, and a daily (or any period) sine that multiplies it.
// A Poisson process with a changing rate is drawn by thinning (Lewis and Shedler 1979):
// candidates at the largest rate, each kept with probability rate(t) / largest.
// Closed loop: `users` per client node, each starting an operation, waiting for its end,
// thinking for a drawn time, and again.
//
// Times (`start`, `stop`, the schedule) count from the node's start on its own clock, as
// its timers do.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kit/timer.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kit {

/// One point of a rate schedule: from `at` on the rate is `rate`; with a ramp, it moves
/// linearly from the rate before to `rate` over [at, at + ramp].
struct RatePoint {
  Duration at;
  double rate = 0;  ///< per second
  Duration ramp = Duration::zero();
};

/// A rate that changes over time: the base rate, or the schedule's, times the sine.
struct RateProfile {
  double base = 100;  ///< per second, before the first schedule point (and without one)
  std::vector<RatePoint> schedule;  ///< in time order
  /// The sine: rate * (1 + amplitude * sin(2 pi (t - peak_at) / period + pi / 2)), so the
  /// rate peaks at `peak_at` (and every period after). amplitude 0: none.
  double amplitude = 0;
  Duration period = hours(24);
  Duration peak_at = hours(12);

  bool varies() const { return !schedule.empty() || amplitude > 0; }
  /// The rate at time t (since the node's start).
  double at(Duration t) const;
  /// The largest rate at any time.
  double max() const;
  /// The first time after t at which the rate is above zero (t itself if it is);
  /// nullopt when it never is again.
  std::optional<Duration> next_positive(Duration t) const;
};

struct ArrivalSpec {
  enum class Load : uint8_t { kOpen, kClosed };
  enum class Process : uint8_t { kPoisson, kFixed, kBursty };

  Load load = Load::kOpen;
  Process process = Process::kPoisson;
  RateProfile rate;          ///< open loop: operations per second per client node
  double burst_rate = 1000;  ///< bursty: the rate during a burst
  Distribution burst_length = Distribution::exponential(1e9).with_dim(Distribution::Dim::kTime);
  Distribution calm_length = Distribution::exponential(10e9).with_dim(Distribution::Dim::kTime);
  int64_t users = 10;  ///< closed loop: per client node
  Distribution think_time = Distribution::exponential(1e9).with_dim(Distribution::Dim::kTime);
  Duration start = Duration::zero();
  std::optional<Duration> stop;  ///< no operation starts from then on
  /// Open loop: the first operation arrives at `start` itself (true) or one drawn gap
  /// after it (false: a Poisson process that begins at `start`). Each client model says
  /// which it does.
  bool first_at_start = false;

  /// The defaults of a client whose first operation arrives at its start (the workload
  /// clients: kv, transactions, sagas, transfers).
  static ArrivalSpec starting_at_once() {
    ArrivalSpec a;
    a.first_at_start = true;
    return a;
  }
};

/// What a client model lets its users write: which processes, and the nouns of the help.
struct ArrivalKeys {
  bool bursty = true;  ///< `arrival: bursty` (with burst_rate, burst_length, calm_length)
  bool closed = true;  ///< `load: closed` (with users, think_time)
  std::string_view one = "operation";  ///< what the client starts ("request"), for the help
};

/// Reads `load`, `arrival`, `rate`, `rate_schedule`, `rate_sine` and, as `keys` allows,
/// the bursty and closed-loop keys, in that order, into `spec` (its values are the
/// defaults). Cross-field errors go to the reader.
void read_load(ParamReader& r, const ArrivalKeys& keys, ArrivalSpec& spec);
/// Reads `start` and, with `with_stop`, `stop`.
void read_start_stop(ParamReader& r, const ArrivalKeys& keys, bool with_stop, ArrivalSpec& spec);

/// When operations start. Give it one of the model's timer kinds; route that kind's
/// timers to on_timer().
class Arrivals {
 public:
  Arrivals(const ArrivalSpec& spec, TimerSpace timers) : spec_(&spec), timers_(timers) {}

  /// Sets the stop timer, then the first arrival (open loop) or every user's first start
  /// (closed loop), from now.
  void start(Context& ctx);
  /// A timer of its kind fired: calls begin(user) when an operation starts now (user 0 in
  /// open loop), then schedules what comes next.
  template <class Begin>
  void on_timer(Context& ctx, uint64_t value, Begin&& begin) {
    const uint64_t user = TimerSpace::value_of(value);
    switch (static_cast<Sub>(TimerSpace::sub_of(value))) {
      case Sub::kArrival:
        if (stopped_) return;
        if (!admit(ctx)) return;
        begin(uint64_t{0});
        schedule_next(ctx, Duration::zero());
        return;
      case Sub::kUser:
        if (!stopped_) begin(user);
        return;
      case Sub::kPhase:
        switch_phase(ctx);
        return;
      case Sub::kStop:
        stop(ctx);
        return;
    }
  }
  /// Closed loop: `user`'s operation ended; it thinks, then starts the next one.
  void done(Context& ctx, uint64_t user);
  /// No operation starts from now on.
  void stop(Context& ctx);
  bool stopped() const { return stopped_; }

 private:
  enum class Sub : uint8_t { kArrival, kUser, kPhase, kStop };
  double current_rate(Duration t) const;
  /// Schedules the next arrival one gap after `not_before` from now.
  void schedule_next(Context& ctx, Duration not_before);
  /// Thinning: false when the candidate arrival now is dropped (the next is scheduled).
  bool admit(Context& ctx);
  void switch_phase(Context& ctx);
  Duration since_start(Context& ctx) const { return ctx.monotonic() - origin_; }

  const ArrivalSpec* spec_;
  TimerSpace timers_;
  SimTime origin_;  // the node's monotonic clock when start() ran
  TimerId arrival_timer_;
  bool in_burst_ = false;
  bool stopped_ = false;
};

/// Which keys operations touch: `uniform(n)`, `zipf(n, s=0.99)`,
/// `hotspot(n, keys=10%, traffic=90%)` (that share of the traffic on that share of the
/// keys), or `sequential(n)` (0, 1, 2, ... n-1, 0, ... per client node).
struct KeySpec {
  enum class Kind : uint8_t { kUniform, kZipf, kHotspot, kSequential };
  Kind kind = Kind::kUniform;
  uint64_t n = 1000;
  double s = 0.99;
  double hot_keys = 0.1;
  double hot_traffic = 0.9;
  /// zipf: new objects per second (0: a fixed catalog). The keys drawn are then the n
  /// newest objects of a catalog that grows at this rate, the newest the most popular:
  /// rank r at time t is key floor(rate x t) + n - r, so popularity slides onto new
  /// objects and old ones fall out of the n (a news site's or a feed's catalog).
  double new_per_second = 0;
  /// zipf: the distribution of ranks, built once by parse_key_spec() and shared by every
  /// chooser made from this spec (a table of n entries: a group of 1,000 clients over 10^6
  /// keys builds it once, not 1,000 times); built by the chooser when absent.
  std::shared_ptr<const Distribution> zipf = nullptr;

  std::string describe() const;
};
/// Parses a KeySpec; nullopt and *error on bad input.
std::optional<KeySpec> parse_key_spec(const std::string& text, std::string* error);
/// Reads `keys` (the distribution's text, its current value the default) into `keys`; a
/// text that does not parse is an error at the key.
void read_key_spec(ParamReader& r, KeySpec& keys);

/// Draws keys first .. first + n - 1 by a KeySpec (rank 1 of Zipf is key `first`).
class KeyChooser {
 public:
  KeyChooser(const KeySpec& spec, uint64_t first);
  /// The next key; `now` (the node's clock) matters only to a growing catalog.
  uint64_t next(Rng& rng, SimTime now = SimTime::zero());

 private:
  KeySpec spec_;  // spec_.zipf: the rank distribution (zipf), shared with the group's nodes
  uint64_t first_;
  uint64_t next_sequential_ = 0;
};

/// One of several named options by weight (an operation mix). Draws a number only when
/// there are two or more.
class WeightedChoice {
 public:
  WeightedChoice() = default;
  explicit WeightedChoice(const std::vector<std::pair<std::string, double>>& weights);
  size_t pick(Rng& rng) const;
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;
};

/// Sessions of a client node: one per user in closed loop; in open loop `count`, given to
/// operations in turn.
class Sessions {
 public:
  Sessions(bool per_user, uint64_t count) : per_user_(per_user), count_(count) {}
  uint32_t next(uint64_t user) {
    return per_user_ ? static_cast<uint32_t>(user) : static_cast<uint32_t>(next_++ % count_);
  }

 private:
  bool per_user_;
  uint64_t count_;
  uint64_t next_ = 0;
};

}  // namespace dsim::kit
