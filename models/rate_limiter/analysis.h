// The rate-limit figures of a model's groups (analysis.cpp), for every model that limits:
// service, load_balancer and rate_limiter call it from their analyses and report hooks.
#pragma once

#include <string_view>
#include <vector>

#include "models/rate_limiter/rate_limiter.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::ratelimit {

AnalysisOutput analyze_rate_limits(const AnalysisInput& in, std::string_view model);

/// The report section of the model's rate-limiting groups (report.cpp): admitted and
/// rejected per window against the limit, overshoot and fairness; none without figures.
std::vector<ReportSection> rate_limit_report(const ReportInput& in, std::string_view model);

}  // namespace dsim::ratelimit
