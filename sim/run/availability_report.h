// The availability analysis of a run (sim/check/availability.h) turned into summary rows,
// files and terminal lines: pooled over each client group's operations, and per operation
// type — so an outage of every write while reads kept succeeding shows as the writes'
// unavailability, not as nothing.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sim/check/availability.h"
#include "sim/core/engine.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

namespace dsim {

/// Adds the availability rows to out.summary and its line to out.verdict_text, and returns
/// unavailability.csv and recovery.csv. `client_groups`: the groups whose clients recorded
/// operations; `header`: the first line of every file.
std::vector<std::pair<std::string, std::string>> add_availability(
    const ScenarioSpec& spec, const Engine& engine, std::span<const check::FaultInterval> faults,
    std::span<const uint32_t> client_groups, const std::string& header, RunOutput& out);

}  // namespace dsim
