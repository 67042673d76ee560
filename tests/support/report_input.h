// A model's report hook fed the way `dsim report` feeds it: a run's files written to a
// directory, read back file by file (parse_csv_table), summary.csv's figures, and the faults
// of faults.csv as bands.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sim/core/csv_table.h"
#include "sim/core/report_figure.h"
#include "sim/report/run_sections.h"
#include "sim/run/runner.h"
#include "support/scenarios.h"

namespace dsim::testing {

/// Writes every file of a run to `dir`, as `dsim run --out dir` does.
inline void write_run_files(const RunOutput& out, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, content] : out.files)
    std::ofstream(dir / name, std::ios::binary) << content;
}

/// A file of the directory as text; nullopt when it is absent.
inline std::optional<std::string> read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The report hook's input for the groups `groups` of the run written to `dir`.
inline ReportInput report_input(const std::filesystem::path& dir, std::vector<std::string> groups) {
  ReportInput in;
  in.groups = std::move(groups);
  in.text = [dir](const std::string& file) { return read_text(dir / file); };
  in.table = [dir](const std::string& file) -> std::optional<CsvTable> {
    const auto text = read_text(dir / file);
    if (!text) return std::nullopt;
    return parse_csv_table(*text);
  };
  using Key = std::tuple<std::string, std::string, std::string>;
  auto figures = std::make_shared<std::map<Key, double>>();
  if (const auto summary = in.table("summary.csv")) {
    const auto g = summary->column("group"), op = summary->column("op"),
               metric = summary->column("metric"), value = summary->column("value");
    REQUIRE((g && op && metric && value));
    for (const auto& row : summary->rows) {
      if (const auto v = CsvTable::number(row[*value]))
        (*figures)[{row[*g], row[*op], row[*metric]}] = *v;
    }
  }
  in.figure = [figures](const std::string& group, const std::string& op,
                        const std::string& metric) -> std::optional<double> {
    const auto it = figures->find({group, op, metric});
    if (it == figures->end()) return std::nullopt;
    return it->second;
  };
  if (const auto faults = in.table("faults.csv")) {
    REQUIRE((faults->column("time_s") && faults->column("event") && faults->column("fault") &&
             faults->column("kind")));
    in.fault_bands = report::fault_bands(*faults, in.figure("run", "", "sim_seconds").value_or(0));
  }
  return in;
}

/// The sections the built-in model `model` gives for `in` (fails the test when it has no
/// report hook).
inline std::vector<ReportSection> model_report(const std::string& model, const ReportInput& in) {
  const ModelFactory* f = builtin_registry().find(model);
  REQUIRE(f);
  REQUIRE(f->report);
  return f->report(in);
}

}  // namespace dsim::testing
