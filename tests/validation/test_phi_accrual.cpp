// Phi accrual's false positives against the model it assumes (Hayashibara et al., "The phi
// accrual failure detector", 2004). A monitor suspects its peer once phi, -log10 of the
// chance that the next heartbeat comes later than now, passes the threshold T. When the
// intervals between heartbeats follow the detector's model, a live peer is suspected
// before its next heartbeat with probability 10^-T per interval: that is the rate checked
// here, for the normal model (Akka) on normal intervals and the exponential one
// (Cassandra) on exponential intervals.
//
// The detector estimates the mean and spread from its last `window` intervals, so each
// interval's chance is that of the estimate, p_i = P(next interval > t*_i), t*_i being
// where phi crosses T. Two checks follow:
//   - the count of suspicions against the sum of p_i, computed here from the true
//     distribution and the window's own estimate (independently of the detector's code):
//     given the window, each interval is a Bernoulli(p_i) trial, so the count's variance
//     is sum p_i (1 - p_i);
//   - the rate against 10^-T, with a window large enough that the estimate's spread
//     changes the rate by well under the binomial tolerance (with W intervals, the
//     estimated mean and deviation are off by about sigma / sqrt(W) and
//     sigma / sqrt(2W), moving the threshold by about z / sqrt(2W) deviations, which
//     changes the rate by a relative (z^2 + 1) / (4W) on average: 0.03% at z = 3.1 with
//     W = 10,000).
// Tolerances: 4.5 standard deviations of the count.
#include <catch2/catch.hpp>

#include <cmath>
#include <deque>

#include "models/kit/failure_detector.h"
#include "sim/core/distribution.h"
#include "sim/core/rng.h"

using namespace dsim;
using namespace dsim::kit;

namespace {

struct Trial {
  uint64_t intervals = 0;
  uint64_t suspicions = 0;  ///< intervals in which phi passed T before the heartbeat came
  double expected = 0;      ///< sum of p_i
  double variance = 0;      ///< sum of p_i (1 - p_i)
};

// The normal upper tail Q(x) and its inverse (by bisection: no closed form).
double upper_tail(double x) {
  return 0.5 * std::erfc(x / std::sqrt(2.0));
}
double upper_quantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (upper_tail(mid) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Feeds `intervals` heartbeats drawn from `gap` (after `window` to fill the window) and
// counts the intervals at whose end phi was already above the threshold. `chance` gives
// p_i from the window's intervals (seconds).
template <class Chance>
Trial run(PhiAccrualDetector::Config config, const Distribution& gap, uint64_t intervals,
          uint64_t seed, Chance chance) {
  PhiAccrualDetector detector(config);
  Rng rng(seed, stream_id("phi"));
  std::deque<double> window;
  double sum = 0, sum_sq = 0;
  SimTime t = SimTime::zero();
  detector.heard(0, t);
  Trial trial;
  for (uint64_t i = 0; i < config.window + intervals; ++i) {
    const Duration g = gap.sample_duration(rng);
    const bool counted = window.size() == config.window;
    if (counted) {
      const double n = static_cast<double>(window.size());
      const double p = chance(sum / n, std::sqrt(std::max(0.0, sum_sq / n - sum * sum / n / n)));
      trial.expected += p;
      trial.variance += p * (1 - p);
      ++trial.intervals;
      // Phi only grows between heartbeats: above T just before this one means it passed T.
      if (detector.suspected(0, t + g - Duration::from_ns(1))) ++trial.suspicions;
    }
    t = t + g;
    detector.heard(0, t);
    const double s = g.to_seconds();
    window.push_back(s);
    sum += s;
    sum_sq += s * s;
    if (window.size() > config.window) {
      sum -= window.front();
      sum_sq -= window.front() * window.front();
      window.pop_front();
    }
  }
  return trial;
}

}  // namespace

TEST_CASE("phi accrual: normal intervals are suspected at the rate the threshold promises",
          "[validation][phi]") {
  const double mean = 1.0, sd = 0.2;  // seconds; above the detector's 100 ms floor
  const Distribution gap = Distribution::normal(mean * 1e9, sd * 1e9);  // in ns
  for (const double threshold : {1.0, 2.0, 3.0}) {
    const double nominal = std::pow(10.0, -threshold);
    const double z = upper_quantile(nominal);
    PhiAccrualDetector::Config c;
    c.threshold = threshold;
    for (const uint32_t window : {100u, 10000u}) {
      c.window = window;
      const uint64_t n = 2'000'000;
      const Trial t = run(c, gap, n, 7 + window, [&](double m, double s) {
        return upper_tail((m + z * std::max(s, 0.1) - mean) / sd);
      });
      INFO("threshold " << threshold << " window " << window << ": " << t.suspicions
                        << " suspicions in " << t.intervals << " intervals; expected " << t.expected
                        << " from the window's estimates, " << nominal * static_cast<double>(n)
                        << " from the model");
      CHECK(std::abs(static_cast<double>(t.suspicions) - t.expected) <=
            4.5 * std::sqrt(t.variance));
      if (window == 10000) {
        const double sd_count = std::sqrt(static_cast<double>(n) * nominal * (1 - nominal));
        CHECK(std::abs(static_cast<double>(t.suspicions) - nominal * static_cast<double>(n)) <=
              4.5 * sd_count);
      }
    }
  }
}

TEST_CASE("phi accrual: exponential intervals under the exponential model", "[validation][phi]") {
  const double mean = 1.0;
  const Distribution gap = Distribution::exponential(mean * 1e9);  // in ns
  for (const double threshold : {1.0, 2.0, 3.0}) {
    const double nominal = std::pow(10.0, -threshold);
    PhiAccrualDetector::Config c;
    c.model = PhiAccrualDetector::Model::kExponential;
    c.threshold = threshold;
    c.window = 10000;
    const uint64_t n = 2'000'000;
    // phi = t / m * log10(e) passes T at t* = T m / log10(e) = T m ln 10.
    const Trial t = run(c, gap, n, 11, [&](double m, double) {
      return std::exp(-threshold * m * std::log(10.0) / mean);
    });
    INFO("threshold " << threshold << ": " << t.suspicions << " suspicions in " << t.intervals
                      << " intervals; expected " << t.expected);
    CHECK(std::abs(static_cast<double>(t.suspicions) - t.expected) <= 4.5 * std::sqrt(t.variance));
    const double sd_count = std::sqrt(static_cast<double>(n) * nominal * (1 - nominal));
    CHECK(std::abs(static_cast<double>(t.suspicions) - nominal * static_cast<double>(n)) <=
          4.5 * sd_count);
  }
}
