// The rate-limit figures of a model's groups (analysis.cpp), for every model that limits:
// service, load_balancer and rate_limiter call it from their analyses.
#pragma once

#include <string_view>

#include "models/rate_limiter/rate_limiter.h"
#include "sim/core/timeline.h"

namespace dsim::ratelimit {

AnalysisOutput analyze_rate_limits(const AnalysisInput& in, std::string_view model);

}  // namespace dsim::ratelimit
