// Statistics over the replications of one sweep point: mean, sample standard deviation,
// the 95% Student-t confidence interval of the mean, min, median and max. Computed in a fixed
// order from values already in canonical (printed and re-read) form, so the same runs
// give the same bytes however they were scheduled.
#pragma once

#include <cstddef>
#include <vector>

namespace dsim::sweep {

/// Student's t cumulative distribution with `df` > 0 degrees of freedom.
double student_t_cdf(double t, double df);
/// The p-quantile (0 < p < 1) of Student's t with `df` > 0 degrees of freedom.
double student_t_quantile(double p, double df);

struct Aggregate {
  size_t n = 0;
  double mean = 0;
  double stddev = 0;   ///< sample standard deviation (n - 1); NaN when n < 2
  double ci95_lo = 0;  ///< mean -/+ t(0.975, n-1) * stddev / sqrt(n); NaN when n < 2
  double ci95_hi = 0;
  double min = 0;
  double median = 0;  ///< the middle value; the mean of the two middle ones when n is even
  double max = 0;
};

/// Aggregates finite values in the given order; non-finite values are left out.
Aggregate aggregate(const std::vector<double>& values);

}  // namespace dsim::sweep
