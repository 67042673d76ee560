// Statistics for validation tests: confidence intervals from independent replications,
// so tolerances follow from the number of samples rather than being picked to pass.
#pragma once

#include <cmath>
#include <vector>

namespace dsim::testing {

inline double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x)
    s += v;
  return s / static_cast<double>(x.size());
}

inline double stddev_of(const std::vector<double>& x) {
  const double m = mean_of(x);
  double s = 0;
  for (double v : x)
    s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}

/// Student's t CDF by Simpson integration of its density (accurate to ~1e-10 here).
inline double student_t_cdf(double t, double df) {
  const double c = std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI);
  auto pdf = [&](double x) { return c * std::pow(1 + x * x / df, -(df + 1) / 2); };
  const double a = 0, b = std::abs(t);
  const int n = 4000;
  const double h = (b - a) / n;
  double s = pdf(a) + pdf(b);
  for (int i = 1; i < n; ++i)
    s += pdf(a + i * h) * (i % 2 ? 4 : 2);
  const double half = s * h / 3;
  return t >= 0 ? 0.5 + half : 0.5 - half;
}

/// The p-quantile of Student's t with df degrees of freedom (p > 0.5), by bisection.
inline double student_t_quantile(double p, double df) {
  double lo = 0, hi = 100;
  for (int i = 0; i < 100; ++i) {
    const double m = 0.5 * (lo + hi);
    (student_t_cdf(m, df) < p ? lo : hi) = m;
  }
  return 0.5 * (lo + hi);
}

/// Half-width of the two-sided confidence interval of the mean of iid replications.
inline double ci_half_width(const std::vector<double>& x, double confidence) {
  const double df = static_cast<double>(x.size() - 1);
  return student_t_quantile(0.5 + confidence / 2, df) * stddev_of(x) /
         std::sqrt(static_cast<double>(x.size()));
}

}  // namespace dsim::testing
