// The HTML report of a run: one self-contained page (styles inline, charts as inline SVG,
// nothing fetched from a network) telling the run's story from its directory's files —
// the scenario and its architecture, the summary and check verdicts, latency
// distributions, time series with the faults, load per node, the run's own figures, the
// message diagram when there is one, and each model's sections (ModelFactory::report).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dsim {

class ModelRegistry;
struct ScenarioSpec;

namespace report {

/// A run's files by name: the text, nullopt when the run has no such file.
using RunFiles = std::function<std::optional<std::string>(const std::string& name)>;

/// The files of a run directory on disk (each read whole, bounded by kMaxResultFileBytes).
RunFiles directory_files(const std::string& dir);
/// The files of a run still in memory (RunOutput::files), before they are written.
RunFiles memory_files(const std::vector<std::pair<std::string, std::string>>& files);

/// The report of the run whose files `files` gives (`where` names its directory in
/// messages). Its scenario is `spec` when given (the run just made), else its
/// scenario.resolved.yaml loaded with `registry`. Nullopt when a file it needs is missing or
/// malformed: *error then names the file (and its line). The same files give the same bytes.
std::optional<std::string> render_run_report(const RunFiles& files, const std::string& where,
                                             const ModelRegistry& registry, std::string* error,
                                             const ScenarioSpec* spec = nullptr);

/// The name of the report a run directory holds.
inline constexpr const char* kReportFile = "report.html";

}  // namespace report
}  // namespace dsim
