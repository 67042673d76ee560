// Resolving `checks:` before the run: each check's group, operation and metric against
// what the scenario can report — its groups' models' declarations (MetricDecls), the
// figures of every operation type, the history checkers of the families its clients
// record, and the run's own figures. A misspelled check is bad input when the scenario
// loads, so a long run's results are never lost to it.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "sim/scenario/checks.h"
#include "sim/scenario/scenario.h"

namespace dsim {

/// Resolves every check of `spec` against its groups (their configs parsed): a check
/// naming a figure the run cannot report is an error at the check's line; a counter's
/// check gets absent_is_zero.
void resolve_checks(ScenarioSpec& spec, Diagnostics& diag);

/// The same for any checks (a golden test resolves every row a run produced): calls
/// `on_error` with the reason for each that names a figure `spec` cannot report.
void resolve_checks(const ScenarioSpec& spec, std::span<CheckSpec> checks,
                    const std::function<void(const CheckSpec&, const std::string&)>& on_error);

}  // namespace dsim
