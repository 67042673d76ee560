// What tests that load and run scenarios share: the built-in models, a scratch file per
// process for scenario text, and a run's file by name.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "models/builtin.h"
#include "sim/core/registry.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

namespace dsim::testing {

/// The built-in models; specs point into it, so it lives as long as the process.
inline const ModelRegistry& builtin_registry() {
  static const ModelRegistry r = [] {
    ModelRegistry reg;
    register_builtin_models(reg);
    return reg;
  }();
  return r;
}

/// A path under a directory of this process's own (ctest runs the test cases of one file
/// in parallel processes): <tmp>/dsim_test_<suite>.<pid>/<name>.
inline std::filesystem::path scratch_path(const std::string& suite, const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("dsim_test_" + suite + "." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

/// Writes `text` to <suite scratch>/<name>.yaml and returns its path.
inline std::string scenario_file(const std::string& suite, const std::string& name,
                                 const std::string& text) {
  const std::filesystem::path p = scratch_path(suite, name + ".yaml");
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

/// Loads scenario text (`name` names it in messages) with the built-in models and runs it;
/// fails the test, with the diagnostics, when it does not load.
inline RunOutput run_text(const std::string& yaml, const std::string& name = "scenario.yaml") {
  Diagnostics diag;
  auto spec = load_scenario_text(yaml, name, {}, builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return run_scenario(*spec);
}

/// The summary row group,op,metric of a run, if it has one.
inline std::optional<double> summary_figure(const RunOutput& out, const std::string& group,
                                            const std::string& op, const std::string& metric) {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op == op && r.metric == metric) return r.value;
  }
  return std::nullopt;
}

/// A group-level figure of the summary (op empty); fails the test when the run has none.
inline double metric(const RunOutput& out, const std::string& group, const std::string& name) {
  const auto v = summary_figure(out, group, "", name);
  INFO("no metric " << group << "." << name);
  REQUIRE(v);
  return *v;
}

/// A counter of a group: 0 when nothing was counted (such a counter has no summary row).
inline double counted(const RunOutput& out, const std::string& group, const std::string& name) {
  return summary_figure(out, group, "", name).value_or(0);
}

/// The rows of a CSV text, cells split at commas (a line ending in a comma ends in an empty
/// cell); comment lines are skipped, and the header too, into `header` when given.
inline std::vector<std::vector<std::string>> csv_rows(const std::string& csv,
                                                      std::vector<std::string>* header = nullptr) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(csv);
  bool first = true;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');)
      cells.push_back(cell);
    if (line.back() == ',') cells.emplace_back();
    if (first) {
      first = false;
      if (header) *header = std::move(cells);
      continue;
    }
    out.push_back(std::move(cells));
  }
  return out;
}

/// The content of the run's file `name` (fails the test when there is none).
inline const std::string& run_file(const RunOutput& out, const std::string& name) {
  for (const auto& [n, content] : out.files) {
    if (n == name) return content;
  }
  FAIL("no file " << name);
  static const std::string kNone;
  return kNone;
}

}  // namespace dsim::testing
