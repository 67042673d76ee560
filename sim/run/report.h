// The files a run writes and the summary it prints, rendered from its results.
#pragma once

#include <string>
#include <vector>

#include "sim/core/csv.h"
#include "sim/core/engine.h"
#include "sim/run/runner.h"

namespace dsim {

/// "# dsim <version> scenario=<name> seed=<seed> schema_version=<n>": the first line of
/// every file a run writes.
std::string file_header(const ScenarioSpec& spec);

std::string render_summary_csv(const ScenarioSpec& spec, const std::vector<SummaryRow>& rows);
std::string render_summary_json(const ScenarioSpec& spec, const RunOutput& out);
std::string render_latency_csv(const ScenarioSpec& spec, const Engine& engine);
std::string render_timeseries_csv(const ScenarioSpec& spec, const Engine& engine);
std::string render_resolved_yaml(const ScenarioSpec& spec);
/// Per node: traffic as sender and receiver, drops by cause, faults, clock and disk.
std::string render_nodes_csv(const ScenarioSpec& spec, Engine& engine);
/// Per ordered pair of nodes that exchanged messages.
std::string render_links_csv(const ScenarioSpec& spec, const Engine& engine);
/// Per link of the graph topology: load, drops, queueing.
std::string render_graph_links_csv(const ScenarioSpec& spec, const Engine& engine);
/// Every fault start, end and instant.
std::string render_faults_csv(const ScenarioSpec& spec, const Engine& engine);
/// trace.json (output.trace): the engine's event trace, after dsim's identification.
std::string render_trace_json(const ScenarioSpec& spec, const Engine& engine);
/// The short human summary for the terminal, laid out for `width` columns. Figures are
/// rounded for people (the files keep every digit).
std::string render_terminal_summary(const ScenarioSpec& spec, const RunOutput& out,
                                    size_t width = 100);

}  // namespace dsim
