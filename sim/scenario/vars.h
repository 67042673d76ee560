// Scenario variables: one setting that several keys follow.
//
//   vars: {tmin: 150ms}
//   ...
//   params: {election_timeout: "uniform(${tmin}, ${2 * tmin})", heartbeat: "${tmin / 2}"}
//
// Every `${...}` in a scalar is replaced by its value before the scenario is read: a
// variable's text, or arithmetic on variables and literals (+ - * / and parentheses;
// durations and plain numbers; a duration times or over a number is a duration, a duration
// over a duration a number). `--set vars.tmin=200ms` and `--grid vars.tmin=...` change one
// setting everywhere it is used. The `vars` block is removed: the resolved scenario holds
// the values. A variable no `${...}` uses, an unknown name or a bad expression is an error
// at the place it is written.
#pragma once

#include "sim/core/params.h"

namespace dsim {

/// Expands `${...}` in every scalar of `root` from its `vars` map, then removes the map.
/// Reports errors to `diag`; false when there were any.
bool expand_vars(ParamNode& root, Diagnostics& diag);

}  // namespace dsim
