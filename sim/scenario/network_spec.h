// The parts of a scenario about the network and topology, node placement, clocks, disks
// and faults (read by scenario.cpp, in this order: network before groups, faults after).
#pragma once

#include <string>
#include <vector>

#include "sim/core/params.h"
#include "sim/scenario/scenario.h"

namespace dsim {

/// `network:` (links, topology, per-kind delays, the built-in profiles).
void read_network(ParamReader& top, ScenarioSpec& spec);
/// A top-level `clock:` map: the default clock of every group.
ClockSpec read_clock(ParamReader& parent, const ClockSpec& def, const std::string& help);
/// A group's `placement`, `clock` and `disk`.
void read_group_extras(ParamReader& g, const ScenarioSpec& spec, const ClockSpec& clock_default,
                       GroupSpec& group);
/// `faults:` (the timeline) and `nemesis:`, after the groups are known.
void read_faults(const ParamNode* faults, const ParamNode* nemesis, ParamEnv& env,
                 ScenarioSpec& spec);

}  // namespace dsim
