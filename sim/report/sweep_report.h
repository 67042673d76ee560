// The HTML report of a sweep's directory (sweep.csv, checks.csv): each figure of the end
// users against the swept values, its mean with the 95% confidence interval and its
// worst replication, and per point how many replications passed each check.
#pragma once

#include <optional>
#include <string>

#include "sim/report/run_report.h"

namespace dsim::report {

/// The report of the sweep whose files `files` gives (`where` names its directory).
/// Nullopt when sweep.csv is missing or malformed: *error names the file (and line).
std::optional<std::string> render_sweep_report(const RunFiles& files, const std::string& where,
                                               std::string* error);

}  // namespace dsim::report
