// Small helpers for the models' post-run analyses: a percentile of observed samples and the
// fixed three-decimal format their terminal lines and files use.
#pragma once

#include <string>
#include <vector>

namespace dsim::kit {

/// The q-quantile (0 < q <= 1) of `samples` by the nearest-rank method (the smallest sample
/// with at least q of them at or below it); 0 when there are none.
double nearest_rank(std::vector<double> samples, double q);

/// `v` with three decimals ("12.345").
std::string three_decimals(double v);

}  // namespace dsim::kit
