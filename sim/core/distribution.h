// Probability distributions, implemented here rather than taken from <random>, whose
// distributions differ between standard libraries and would break determinism.
//
// A Distribution is an immutable value (cheap to copy). Values are plain doubles in the
// distribution's base unit: nanoseconds for time distributions, counts otherwise.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

class Distribution {
 public:
  enum class Kind {
    kConstant,
    kUniform,
    kExponential,
    kNormal,
    kLognormal,
    kPareto,
    kWeibull,
    kZipf,
    kMixture,
    kEmpirical,
  };
  /// What the values measure; only changes how describe() prints them.
  enum class Dim { kNumber, kTime, kBytes };

  struct Component;  // {weight, dist}, defined below the class
  struct Point {
    double value;
    double cumulative;  ///< P(X <= value), non-decreasing, the last one 1
  };

  Distribution() = default;  ///< constant 0
  static Distribution constant(double v);
  static Distribution uniform(double lo, double hi);
  static Distribution exponential(double mean);
  static Distribution normal(double mean, double stddev);
  static Distribution lognormal(double mu, double sigma);
  /// The lognormal whose median and 99th percentile are the given values (p99 > median > 0).
  static Distribution lognormal_median_p99(double median, double p99);
  static Distribution pareto(double xm, double alpha);
  static Distribution weibull(double scale, double shape);
  /// Ranks 1..n with P(k) proportional to k^-s (s > 0).
  static Distribution zipf(uint64_t n, double s);
  /// Weights need not sum to 1; they are normalised.
  static Distribution mixture(std::vector<Component> components);
  /// A piecewise-linear CDF through the points (value ascending, cumulative ascending to 1).
  static Distribution empirical_cdf(std::vector<Point> points);
  /// Each of the observed samples equally likely (a step CDF).
  static Distribution empirical_samples(std::vector<double> samples);

  Distribution with_dim(Dim d) const {
    Distribution c = *this;
    c.dim_ = d;
    return c;
  }

  Kind kind() const { return kind_; }
  Dim dim() const { return dim_; }

  double sample(Rng& rng) const;
  /// A draw as a time span: values below 0 are redrawn (a normal truncated at 0), rounded
  /// to whole nanoseconds. A constant (the usual fixed delay, or the default 0) draws
  /// nothing and is answered inline.
  Duration sample_duration(Rng& rng) const {
    if (kind_ == Kind::kConstant && a_ >= 0 && a_ < kMaxDurationNs) return round_ns(a_);
    return sample_duration_drawn(rng);
  }
  /// A draw of a count (Zipf rank, size): rounded to the nearest integer >= 0.
  uint64_t sample_count(Rng& rng) const;

  double mean() const;  ///< +inf where the mean does not exist (Pareto alpha <= 1)
  double cdf(double x) const;
  double quantile(double p) const;  ///< closed form where there is one, else bisection on cdf
  double min_value() const;         ///< the infimum of the support
  bool can_be_negative() const { return min_value() < 0; }

  /// The canonical scenario syntax, e.g. "exponential(mean=5ms)".
  std::string describe() const;

 private:
  struct Table;  // mixture components, empirical points, Zipf constants
  double sample_nonnegative(Rng& rng) const;
  Duration sample_duration_drawn(Rng& rng) const;
  /// std::llround for 0 <= x < 2^63, inline: x - trunc(x) is exact, and a half rounds up.
  static Duration round_ns(double x) {
    const auto whole = static_cast<int64_t>(x);
    return Duration::from_ns(whole + (x - static_cast<double>(whole) >= 0.5 ? 1 : 0));
  }
  /// Largest duration a draw may produce: 2^62 ns (about 146 years), so sums stay in range.
  static constexpr double kMaxDurationNs = 4.611686018427388e18;

  Kind kind_ = Kind::kConstant;
  Dim dim_ = Dim::kNumber;
  double a_ = 0, b_ = 0, c_ = 0;
  std::shared_ptr<const Table> table_;
};

struct Distribution::Component {
  double weight;
  Distribution dist;
};

}  // namespace dsim
