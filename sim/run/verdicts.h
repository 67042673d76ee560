// Runs the checkers over a finished run's operation histories — each history family's own
// (registered with the models, e.g. the kv family's linearizability, staleness and history
// files) and the availability analysis every family shares (sim/check) — and turns their
// results into summary rows (verdicts the scenario's checks can require), output files
// (unavailability.csv, recovery.csv and the families' own) and lines for the terminal.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/check/availability.h"
#include "sim/core/engine.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

namespace dsim {

/// Adds the verdict rows to out.summary and the terminal lines to out.verdict_text, and
/// returns the files to write (name, content). Does nothing when no client recorded a
/// history. `faults` are the fault intervals of the run, for the time-to-recover figures.
/// `progress` (may be empty) hears which checker runs and how far it got.
std::vector<std::pair<std::string, std::string>> add_verdicts(
    const ScenarioSpec& spec, const Engine& engine, std::span<const check::FaultInterval> faults,
    RunOutput& out, const ProgressFn& progress = {});

/// True for the group-level figures add_verdicts() adds (the terminal shows them in the
/// verdict lines instead of the group lines).
bool is_verdict_metric(const ScenarioSpec& spec, std::string_view metric);

}  // namespace dsim
