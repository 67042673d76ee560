#include "sim/sweep/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/core/assert.h"

namespace dsim::sweep {

namespace {

// The continued fraction of the regularized incomplete beta function (modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-16;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < kEps) break;
  }
  return h;
}

// I_x(a, b), the regularized incomplete beta function.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

// The median of the finite values (at least one).
double median_of(const std::vector<double>& values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
  }
  DSIM_ASSERT(!v.empty());
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  if (v.size() % 2 == 1) return v[mid];
  // Halves first: no overflow, and the result stays between the two middle values.
  return v[mid - 1] / 2 + v[mid] / 2;
}

}  // namespace

double student_t_cdf(double t, double df) {
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // Bisection on the CDF: slow but exact to the last bit and the same on every machine
  // with the same libm. The bracket grows until it holds the quantile.
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, df) < p && hi < 1e300)
    hi *= 2;
  for (int i = 0; i < 2000 && lo < hi; ++i) {
    const double mid = lo + (hi - lo) / 2;
    if (mid == lo || mid == hi) break;
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return hi;
}

Aggregate aggregate(const std::vector<double>& values) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Aggregate a;
  double sum = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (a.n == 0 || v < a.min) a.min = v;
    if (a.n == 0 || v > a.max) a.max = v;
    sum += v;
    ++a.n;
  }
  if (a.n == 0) {
    a.mean = a.stddev = a.ci95_lo = a.ci95_hi = a.min = a.median = a.max = kNaN;
    return a;
  }
  a.median = median_of(values);
  const double n = static_cast<double>(a.n);
  // Rounding can put the mean of equal values an ulp outside them: keep it inside.
  a.mean = std::min(a.max, std::max(a.min, sum / n));
  if (a.n < 2) {
    a.stddev = a.ci95_lo = a.ci95_hi = kNaN;
    return a;
  }
  double ss = 0;
  for (double v : values) {
    if (std::isfinite(v)) ss += (v - a.mean) * (v - a.mean);
  }
  a.stddev = std::sqrt(ss / (n - 1));
  const double half = student_t_quantile(0.975, n - 1) * a.stddev / std::sqrt(n);
  a.ci95_lo = a.mean - half;
  a.ci95_hi = a.mean + half;
  return a;
}

}  // namespace dsim::sweep
