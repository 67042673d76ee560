// The call graph of a scenario: which groups call which (each model says whom its groups
// call: ModelFactory::callees). A request that can reach its own group again would call
// itself without end, so a cycle is an error.
#pragma once

#include <set>
#include <string>

#include "sim/core/params.h"
#include "sim/scenario/scenario.h"

namespace dsim {

/// Reports a cycle of the call graph (one error, at the group where it closes, naming the
/// whole cycle: "app -> db -> app").
void check_call_graph(const ScenarioSpec& spec, Diagnostics& diag);

/// The groups some group calls: tiers inside the architecture, whose operations (a
/// service's calls to a store) are not the end users'.
std::set<std::string> called_groups(const ScenarioSpec& spec);

}  // namespace dsim
