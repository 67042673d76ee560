#include "sim/core/distribution.h"

#include "sim/core/units.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace dsim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kMaxRedraws = 10'000;

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

// Zipf by rejection-inversion (Hoermann and Derflinger, "Rejection-inversion to generate
// variates from monotone discrete distributions", 1996): O(1) per draw, no table.
double helper_log1p_over_x(double x) {
  return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}
double helper_expm1_over_x(double x) {
  return std::abs(x) > 1e-8 ? std::expm1(x) / x
                            : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

std::string number_text(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

}  // namespace

struct Distribution::Table {
  // mixture
  std::vector<Component> components;
  std::vector<double> cumulative_weights;
  // empirical
  std::vector<Point> points;
  std::vector<double> samples;  // sorted
  // zipf
  uint64_t n = 0;
  double s = 0;
  double h_integral_x1 = 0;
  double h_integral_n = 0;
  double threshold = 0;
  double harmonic_n = 0;  // sum_{k=1..n} k^-s
  double zipf_mean = 0;

  double h(double x) const { return std::exp(-s * std::log(x)); }
  double h_integral(double x) const {
    const double log_x = std::log(x);
    return helper_expm1_over_x((1.0 - s) * log_x) * log_x;
  }
  double h_integral_inverse(double x) const {
    double t = x * (1.0 - s);
    if (t < -1.0) t = -1.0;
    return std::exp(helper_log1p_over_x(t) * x);
  }
  double sample_zipf(Rng& rng) const {
    for (;;) {
      const double u = h_integral_n + rng.uniform01() * (h_integral_x1 - h_integral_n);
      const double x = h_integral_inverse(u);
      double k = std::floor(x + 0.5);
      if (k < 1) k = 1;
      if (k > static_cast<double>(n)) k = static_cast<double>(n);
      if (k - x <= threshold || u >= h_integral(k + 0.5) - h(k)) return k;
    }
  }
};

Distribution Distribution::constant(double v) {
  require(std::isfinite(v), "constant: the value must be finite");
  Distribution d;
  d.kind_ = Kind::kConstant;
  d.a_ = v;
  return d;
}

Distribution Distribution::uniform(double lo, double hi) {
  require(std::isfinite(lo) && std::isfinite(hi), "uniform: bounds must be finite");
  require(lo <= hi, "uniform: the lower bound must not exceed the upper bound");
  Distribution d;
  d.kind_ = Kind::kUniform;
  d.a_ = lo;
  d.b_ = hi;
  return d;
}

Distribution Distribution::exponential(double mean) {
  require(std::isfinite(mean) && mean > 0, "exponential: mean must be > 0");
  Distribution d;
  d.kind_ = Kind::kExponential;
  d.a_ = mean;
  return d;
}

Distribution Distribution::normal(double mean, double stddev) {
  require(std::isfinite(mean), "normal: mean must be finite");
  require(std::isfinite(stddev) && stddev >= 0, "normal: stddev must be >= 0");
  Distribution d;
  d.kind_ = Kind::kNormal;
  d.a_ = mean;
  d.b_ = stddev;
  return d;
}

Distribution Distribution::lognormal(double mu, double sigma) {
  require(std::isfinite(mu), "lognormal: mu must be finite");
  require(std::isfinite(sigma) && sigma >= 0, "lognormal: sigma must be >= 0");
  Distribution d;
  d.kind_ = Kind::kLognormal;
  d.a_ = mu;
  d.b_ = sigma;
  return d;
}

Distribution Distribution::lognormal_median_p99(double median, double p99) {
  require(median > 0 && std::isfinite(median), "lognormal: median must be > 0");
  require(p99 > median && std::isfinite(p99), "lognormal: p99 must be greater than the median");
  constexpr double kZ99 = 2.3263478740408408;  // standard normal quantile at 0.99
  Distribution d = lognormal(std::log(median), (std::log(p99) - std::log(median)) / kZ99);
  d.c_ = 1;  // remember the form it was written in, for describe()
  return d;
}

Distribution Distribution::pareto(double xm, double alpha) {
  require(std::isfinite(xm) && xm > 0, "pareto: xm must be > 0");
  require(std::isfinite(alpha) && alpha > 0, "pareto: alpha must be > 0");
  Distribution d;
  d.kind_ = Kind::kPareto;
  d.a_ = xm;
  d.b_ = alpha;
  return d;
}

Distribution Distribution::weibull(double scale, double shape) {
  require(std::isfinite(scale) && scale > 0, "weibull: scale must be > 0");
  require(std::isfinite(shape) && shape > 0, "weibull: shape must be > 0");
  Distribution d;
  d.kind_ = Kind::kWeibull;
  d.a_ = scale;
  d.b_ = shape;
  return d;
}

Distribution Distribution::zipf(uint64_t n, double s) {
  require(n >= 1, "zipf: n must be >= 1");
  require(n <= (uint64_t{1} << 40), "zipf: n must be <= 2^40");
  require(std::isfinite(s) && s > 0, "zipf: s must be > 0");
  auto t = std::make_shared<Table>();
  t->n = n;
  t->s = s;
  t->h_integral_x1 = t->h_integral(1.5) - 1.0;
  t->h_integral_n = t->h_integral(static_cast<double>(n) + 0.5);
  t->threshold = 2.0 - t->h_integral_inverse(t->h_integral(2.5) - t->h(2.0));
  // Normalising constant and mean: exact sums up to 2^22 terms, the rest by the integral
  // of x^-s over [k - 1/2, n + 1/2] (midpoint rule; relative error far below 1e-9).
  constexpr uint64_t kExact = uint64_t{1} << 22;
  const uint64_t exact = std::min(n, kExact);
  double harmonic = 0, first_moment = 0;
  for (uint64_t k = exact; k >= 1; --k) {  // smallest terms first for accuracy
    const double p = std::pow(static_cast<double>(k), -s);
    harmonic += p;
    first_moment += p * static_cast<double>(k);
  }
  if (n > exact) {
    const double lo = static_cast<double>(exact) + 0.5, hi = static_cast<double>(n) + 0.5;
    auto integral = [](double e, double a, double b) {  // int_a^b x^-e dx
      return std::abs(e - 1.0) < 1e-12 ? std::log(b / a)
                                       : (std::pow(b, 1.0 - e) - std::pow(a, 1.0 - e)) / (1.0 - e);
    };
    harmonic += integral(s, lo, hi);
    first_moment += integral(s - 1.0, lo, hi);
  }
  t->harmonic_n = harmonic;
  t->zipf_mean = first_moment / harmonic;
  Distribution d;
  d.kind_ = Kind::kZipf;
  d.table_ = std::move(t);
  return d;
}

Distribution Distribution::mixture(std::vector<Component> components) {
  require(!components.empty(), "mixture: needs at least one component");
  auto t = std::make_shared<Table>();
  double total = 0;
  for (const auto& c : components) {
    require(std::isfinite(c.weight) && c.weight > 0, "mixture: weights must be > 0");
    total += c.weight;
    t->cumulative_weights.push_back(total);
  }
  for (double& w : t->cumulative_weights)
    w /= total;
  t->cumulative_weights.back() = 1.0;
  for (auto& c : components)
    c.weight /= total;
  Dim dim = components.front().dist.dim();
  t->components = std::move(components);
  Distribution d;
  d.kind_ = Kind::kMixture;
  d.dim_ = dim;
  d.table_ = std::move(t);
  return d;
}

Distribution Distribution::empirical_cdf(std::vector<Point> points) {
  require(points.size() >= 1, "empirical: needs at least one point");
  for (size_t i = 0; i < points.size(); ++i) {
    require(std::isfinite(points[i].value), "empirical: values must be finite");
    require(points[i].cumulative >= 0 && points[i].cumulative <= 1,
            "empirical: cumulative probabilities must lie in [0, 1]");
    if (i > 0) {
      require(points[i].value >= points[i - 1].value, "empirical: values must be ascending");
      require(points[i].cumulative >= points[i - 1].cumulative,
              "empirical: cumulative probabilities must be non-decreasing");
    }
  }
  require(std::abs(points.back().cumulative - 1.0) < 1e-9,
          "empirical: the last cumulative probability must be 1");
  points.back().cumulative = 1.0;
  auto t = std::make_shared<Table>();
  t->points = std::move(points);
  Distribution d;
  d.kind_ = Kind::kEmpirical;
  d.table_ = std::move(t);
  return d;
}

Distribution Distribution::empirical_samples(std::vector<double> samples) {
  require(!samples.empty(), "empirical: needs at least one sample");
  for (double v : samples)
    require(std::isfinite(v), "empirical: values must be finite");
  std::sort(samples.begin(), samples.end());
  auto t = std::make_shared<Table>();
  t->samples = std::move(samples);
  Distribution d;
  d.kind_ = Kind::kEmpirical;
  d.a_ = 1;  // the step form
  d.table_ = std::move(t);
  return d;
}

double Distribution::sample(Rng& rng) const {
  switch (kind_) {
    case Kind::kConstant:
      return a_;
    case Kind::kUniform:
      return a_ + (b_ - a_) * rng.uniform01();
    case Kind::kExponential:
      return -a_ * std::log(rng.uniform_open01());
    case Kind::kNormal: {
      // Box-Muller, cosine branch only: two draws per sample, no hidden state.
      const double u1 = rng.uniform_open01();
      const double u2 = rng.uniform01();
      return a_ + b_ * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
    case Kind::kLognormal: {
      const double u1 = rng.uniform_open01();
      const double u2 = rng.uniform01();
      return std::exp(a_ + b_ * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
    }
    case Kind::kPareto:
      return a_ * std::pow(rng.uniform_open01(), -1.0 / b_);
    case Kind::kWeibull:
      return a_ * std::pow(-std::log(rng.uniform_open01()), 1.0 / b_);
    case Kind::kZipf:
      return table_->sample_zipf(rng);
    case Kind::kMixture: {
      const Table& t = *table_;
      const double u = rng.uniform01();
      size_t i = 0;
      while (i + 1 < t.cumulative_weights.size() && u >= t.cumulative_weights[i])
        ++i;
      return t.components[i].dist.sample(rng);
    }
    case Kind::kEmpirical: {
      const Table& t = *table_;
      if (a_ == 1) return t.samples[rng.below64(t.samples.size())];
      const double u = rng.uniform01();
      auto it = std::lower_bound(t.points.begin(), t.points.end(), u,
                                 [](const Point& p, double v) { return p.cumulative < v; });
      if (it == t.points.begin()) return it->value;
      if (it == t.points.end()) return t.points.back().value;
      const Point& hi = *it;
      const Point& lo = *(it - 1);
      if (hi.cumulative <= lo.cumulative) return hi.value;
      return lo.value +
             (u - lo.cumulative) / (hi.cumulative - lo.cumulative) * (hi.value - lo.value);
    }
  }
  return 0;
}

double Distribution::sample_nonnegative(Rng& rng) const {
  if (min_value() >= 0) return sample(rng);
  for (int i = 0; i < kMaxRedraws; ++i) {
    const double x = sample(rng);
    if (x >= 0) return x;
  }
  return 0;  // only reachable when almost all mass is negative, which validation rejects
}

Duration Distribution::sample_duration_drawn(Rng& rng) const {
  // The common kinds whose draws cannot be negative skip the min_value() check.
  const bool nonnegative = kind_ == Kind::kExponential || kind_ == Kind::kLognormal ||
                           kind_ == Kind::kWeibull ||
                           ((kind_ == Kind::kConstant || kind_ == Kind::kUniform) && a_ >= 0);
  const double x = nonnegative ? sample(rng) : sample_nonnegative(rng);
  if (!(x < kMaxDurationNs)) return Duration::from_ns(static_cast<int64_t>(kMaxDurationNs));
  return round_ns(x);
}

uint64_t Distribution::sample_count(Rng& rng) const {
  const double x = sample_nonnegative(rng);
  if (!(x < 9.0e18)) return uint64_t{9'000'000'000'000'000'000ULL};
  return static_cast<uint64_t>(std::llround(x));
}

double Distribution::mean() const {
  switch (kind_) {
    case Kind::kConstant:
      return a_;
    case Kind::kUniform:
      return 0.5 * (a_ + b_);
    case Kind::kExponential:
      return a_;
    case Kind::kNormal:
      return a_;
    case Kind::kLognormal:
      return std::exp(a_ + 0.5 * b_ * b_);
    case Kind::kPareto:
      return b_ > 1 ? b_ * a_ / (b_ - 1) : kInf;
    case Kind::kWeibull:
      return a_ * std::tgamma(1.0 + 1.0 / b_);
    case Kind::kZipf:
      return table_->zipf_mean;
    case Kind::kMixture: {
      double m = 0;
      for (const auto& c : table_->components)
        m += c.weight * c.dist.mean();
      return m;
    }
    case Kind::kEmpirical: {
      const Table& t = *table_;
      double m = 0;
      if (a_ == 1) {
        for (double v : t.samples)
          m += v;
        return m / static_cast<double>(t.samples.size());
      }
      m = t.points.front().value * t.points.front().cumulative;
      for (size_t i = 1; i < t.points.size(); ++i) {
        const double w = t.points[i].cumulative - t.points[i - 1].cumulative;
        m += w * 0.5 * (t.points[i].value + t.points[i - 1].value);
      }
      return m;
    }
  }
  return 0;
}

double Distribution::cdf(double x) const {
  switch (kind_) {
    case Kind::kConstant:
      return x >= a_ ? 1.0 : 0.0;
    case Kind::kUniform:
      if (x < a_) return 0;
      if (x >= b_) return 1;
      return (x - a_) / (b_ - a_);
    case Kind::kExponential:
      return x <= 0 ? 0.0 : -std::expm1(-x / a_);
    case Kind::kNormal:
      if (b_ == 0) return x >= a_ ? 1.0 : 0.0;
      return 0.5 * std::erfc(-(x - a_) / (b_ * M_SQRT2));
    case Kind::kLognormal:
      if (x <= 0) return 0;
      if (b_ == 0) return std::log(x) >= a_ ? 1.0 : 0.0;
      return 0.5 * std::erfc(-(std::log(x) - a_) / (b_ * M_SQRT2));
    case Kind::kPareto:
      return x < a_ ? 0.0 : 1.0 - std::pow(a_ / x, b_);
    case Kind::kWeibull:
      return x <= 0 ? 0.0 : -std::expm1(-std::pow(x / a_, b_));
    case Kind::kZipf: {
      const Table& t = *table_;
      if (x < 1) return 0;
      if (x >= static_cast<double>(t.n)) return 1;
      const auto k = static_cast<uint64_t>(std::floor(x));
      double sum = 0;
      for (uint64_t i = k; i >= 1; --i)
        sum += std::pow(static_cast<double>(i), -t.s);
      return sum / t.harmonic_n;
    }
    case Kind::kMixture: {
      double p = 0;
      for (const auto& c : table_->components)
        p += c.weight * c.dist.cdf(x);
      return p;
    }
    case Kind::kEmpirical: {
      const Table& t = *table_;
      if (a_ == 1) {
        const auto n = std::upper_bound(t.samples.begin(), t.samples.end(), x) - t.samples.begin();
        return static_cast<double>(n) / static_cast<double>(t.samples.size());
      }
      if (x < t.points.front().value) return 0;
      if (x >= t.points.back().value) return 1;
      auto it = std::upper_bound(t.points.begin(), t.points.end(), x,
                                 [](double v, const Point& p) { return v < p.value; });
      const Point& hi = *it;
      const Point& lo = *(it - 1);
      if (hi.value <= lo.value) return hi.cumulative;
      return lo.cumulative +
             (x - lo.value) / (hi.value - lo.value) * (hi.cumulative - lo.cumulative);
    }
  }
  return 0;
}

double Distribution::quantile(double p) const {
  p = std::clamp(p, 0.0, 1.0);
  switch (kind_) {
    case Kind::kConstant:
      return a_;
    case Kind::kUniform:
      return a_ + p * (b_ - a_);
    case Kind::kExponential:
      return -a_ * std::log1p(-p);
    case Kind::kPareto:
      return a_ * std::pow(1.0 - p, -1.0 / b_);
    case Kind::kWeibull:
      return a_ * std::pow(-std::log1p(-p), 1.0 / b_);
    case Kind::kEmpirical:
      if (a_ == 1) {
        const Table& t = *table_;
        const auto n = t.samples.size();
        auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
        return t.samples[rank == 0 ? 0 : std::min(rank, n) - 1];
      }
      break;
    default:
      break;
  }
  // Bisection on the CDF: the smallest x with cdf(x) >= p.
  double lo = min_value();
  double hi = 1.0;
  if (!std::isfinite(lo)) {
    lo = -1.0;
    while (cdf(lo) > p && lo > -1e300)
      lo *= 2;
  }
  if (hi <= lo) hi = lo + 1.0;
  while (cdf(hi) < p && hi < 1e300)
    hi = lo + (hi - lo) * 2;
  if (kind_ == Kind::kZipf) {  // discrete: search the integers
    auto l = static_cast<uint64_t>(std::max(1.0, lo)), h = static_cast<uint64_t>(std::ceil(hi));
    while (l < h) {
      const uint64_t m = l + (h - l) / 2;
      if (cdf(static_cast<double>(m)) >= p) {
        h = m;
      } else {
        l = m + 1;
      }
    }
    return static_cast<double>(l);
  }
  for (int i = 0; i < 200; ++i) {
    const double m = 0.5 * (lo + hi);
    if (cdf(m) >= p) {
      hi = m;
    } else {
      lo = m;
    }
  }
  return hi;
}

double Distribution::min_value() const {
  switch (kind_) {
    case Kind::kConstant:
      return a_;
    case Kind::kUniform:
      return a_;
    case Kind::kExponential:
    case Kind::kLognormal:
    case Kind::kWeibull:
      return 0;
    case Kind::kNormal:
      return b_ == 0 ? a_ : -kInf;
    case Kind::kPareto:
      return a_;
    case Kind::kZipf:
      return 1;
    case Kind::kMixture: {
      double m = kInf;
      for (const auto& c : table_->components)
        m = std::min(m, c.dist.min_value());
      return m;
    }
    case Kind::kEmpirical:
      return a_ == 1 ? table_->samples.front() : table_->points.front().value;
  }
  return 0;
}

std::string Distribution::describe() const {
  auto v = [this](double x) {
    if (dim_ == Dim::kTime && std::isfinite(x) && std::abs(x) < 9e18 && x == std::floor(x)) {
      return format_duration(Duration::from_ns(static_cast<int64_t>(x)));
    }
    if (dim_ == Dim::kBytes && std::isfinite(x) && x >= 0 && x < 9e18 && x == std::floor(x)) {
      return format_bytes(static_cast<uint64_t>(x));
    }
    return number_text(x) + (dim_ == Dim::kTime ? "ns" : dim_ == Dim::kBytes ? "B" : "");
  };
  switch (kind_) {
    case Kind::kConstant:
      return v(a_);
    case Kind::kUniform:
      return "uniform(" + v(a_) + ", " + v(b_) + ")";
    case Kind::kExponential:
      return "exponential(mean=" + v(a_) + ")";
    case Kind::kNormal:
      return "normal(mean=" + v(a_) + ", stddev=" + v(b_) + ")";
    case Kind::kLognormal:
      if (c_ == 1) {
        // exp(log(x)) is x only up to rounding: undo it to whole ns or bytes, or to 12
        // significant digits for plain numbers (rounding those to integers would turn a
        // median of 0.5 into 0).
        auto tidy = [this](double x) {
          if (dim_ != Dim::kNumber) return std::round(x);
          char buf[32];
          double y = x;
          auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 12);
          if (ec == std::errc()) std::from_chars(buf, end, y);
          return y;
        };
        const double median = std::exp(a_);
        const double p99 = std::exp(a_ + b_ * 2.3263478740408408);
        return "lognormal(median=" + v(tidy(median)) + ", p99=" + v(tidy(p99)) + ")";
      }
      // For times, mu is the mean of ln(value in seconds), as parse_distribution reads it.
      return "lognormal(mu=" + number_text(dim_ == Dim::kTime ? a_ - std::log(1e9) : a_) +
             ", sigma=" + number_text(b_) + ")";
    case Kind::kPareto:
      return "pareto(xm=" + v(a_) + ", alpha=" + number_text(b_) + ")";
    case Kind::kWeibull:
      return "weibull(scale=" + v(a_) + ", shape=" + number_text(b_) + ")";
    case Kind::kZipf:
      return "zipf(n=" + std::to_string(table_->n) + ", s=" + number_text(table_->s) + ")";
    case Kind::kMixture: {
      std::string out = "mixture(";
      bool first = true;
      for (const auto& c : table_->components) {
        if (!first) out += ", ";
        first = false;
        out += number_text(c.weight) + "*" + c.dist.describe();
      }
      return out + ")";
    }
    case Kind::kEmpirical:
      return a_ == 1 ? "empirical(" + std::to_string(table_->samples.size()) + " samples)"
                     : "empirical(" + std::to_string(table_->points.size()) + " points)";
  }
  return "?";
}

}  // namespace dsim
