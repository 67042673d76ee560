// The files and the terminal summary a run renders (sim/run/report.h): the fault markers
// of timeseries.csv and summary.json, computed in one pass over the fault log, against
// their definition over many faults; and the terminal's figures, laid out and rounded for
// people.
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>

#include "sim/run/report.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

const ModelRegistry& registry() {
  return dsim::testing::builtin_registry();
}

const std::string& file(const RunOutput& out, const std::string& name) {
  return dsim::testing::run_file(out, name);
}

// Many faults that overlap, end, repeat and happen at an instant.
const std::string kFaulty = R"Y(
duration: 20s
network: {latency: 1ms}
output: {window: 100ms}
groups:
  - {name: web, model: server, count: 6}
  - {name: clients, model: client, params: {target: web, rate: 50/s}}
faults:
  - {at: 1s, every: 700ms, crash: web.random, restart_after: 300ms}
  - {at: 2s, pause: web.0, for: 2s}
  - {at: 3s, crash: web.1}
  - {at: 9s, restart: web}
nemesis:
  - {partition: {halves: web}, rate: 2/s, duration: "uniform(10ms, 400ms)"}
)Y";

// The faults column of a window by its definition: every fault whose span meets the
// window (an instant: falls in it), in log order.
std::string active_by_definition(const std::vector<FaultEvent>& log, SimTime end, SimTime ws,
                                 SimTime we) {
  struct Span {
    uint64_t id;
    std::string kind;
    SimTime from, to;
    bool instant;
  };
  std::vector<Span> spans;
  std::map<uint64_t, size_t> open;
  for (const auto& e : log) {
    if (e.phase == FaultPhase::kEnd) {
      if (open.count(e.id)) spans[open[e.id]].to = e.at;
      continue;
    }
    if (e.phase == FaultPhase::kStart) open[e.id] = spans.size();
    spans.push_back({e.id, e.kind, e.at, e.phase == FaultPhase::kStart ? end : e.at,
                     e.phase == FaultPhase::kInstant});
  }
  std::string out;
  for (const auto& s : spans) {
    const bool meets = s.instant ? (s.from >= ws && s.from < we) : (s.from < we && s.to > ws);
    if (meets) out += (out.empty() ? "" : " ") + s.kind + "#" + std::to_string(s.id);
  }
  return out;
}

}  // namespace

TEST_CASE("report: the fault markers of every window and fault match their definition") {
  Diagnostics diag;
  auto spec = load_scenario_text(kFaulty, "faulty.yaml", {}, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  REQUIRE(out.faults.size() > 40);
  const SimTime end = SimTime::zero() + spec->duration;
  std::istringstream ts(file(out, "timeseries.csv"));
  std::string line;
  size_t rows = 0;
  while (std::getline(ts, line)) {
    if (line.empty() || line[0] == '#' || line.starts_with("window_start_s")) continue;
    const size_t c1 = line.find(','), c2 = line.find(',', c1 + 1);
    const SimTime ws = SimTime::from_ns(std::llround(std::stod(line.substr(0, c1)) * 1e9));
    const SimTime we = SimTime::from_ns(std::llround(std::stod(line.substr(c1 + 1, c2)) * 1e9));
    INFO(line);
    CHECK(line.substr(line.rfind(',') + 1) == active_by_definition(out.faults, end, ws, we));
    ++rows;
  }
  CHECK(rows == 200);
  // summary.json: each start with the end of its id, instants ending where they start.
  const std::string& json = file(out, "summary.json");
  std::map<uint64_t, SimTime> ends;
  for (const auto& e : out.faults) {
    if (e.phase == FaultPhase::kEnd) ends[e.id] = e.at;
  }
  for (const auto& e : out.faults) {
    if (e.phase == FaultPhase::kEnd) continue;
    const std::string end_s = ends.count(e.id)                  ? format_seconds(ends[e.id])
                              : e.phase == FaultPhase::kInstant ? format_seconds(e.at)
                                                                : "null";
    const std::string entry = "{\"id\": " + std::to_string(e.id) + ", \"kind\": \"" + e.kind +
                              "\", \"start_s\": " + format_seconds(e.at) + ", \"end_s\": " + end_s;
    CHECK(json.find(entry) != std::string::npos);
  }
}

namespace {

// A run's output with the given group figures and checks, for the terminal summary alone.
RunOutput output_with(std::vector<SummaryRow> rows, const std::vector<CheckSpec>& checks,
                      const std::vector<double>& values) {
  RunOutput out;
  out.summary = std::move(rows);
  for (size_t i = 0; i < checks.size(); ++i)
    out.checks.push_back({&checks[i], values[i], checks[i].holds(values[i])});
  out.stats.end_time = SimTime::from_ns(12'345'678'901);
  return out;
}

CheckSpec check(const std::string& text) {
  std::string err;
  auto c = parse_check(text, &err);
  INFO(err);
  REQUIRE(c);
  return *c;
}

}  // namespace

TEST_CASE("report: model figures are a block of aligned columns that fits the width") {
  std::vector<SummaryRow> rows;
  for (int i = 0; i < 40; ++i)
    rows.push_back({"replicas", "", "counter_number_" + std::to_string(i), 1000.0 * i});
  rows.push_back({"replicas", "", "commit_latency_ms_mean", 2.514336});
  ScenarioSpec spec;
  spec.name = "layout";
  for (size_t width : {60u, 100u, 120u}) {
    const std::string s = render_terminal_summary(spec, output_with(rows, {}, {}), width);
    std::istringstream in(s);
    std::string line;
    size_t block_lines = 0;
    while (std::getline(in, line)) {
      INFO(line);
      CHECK(line.size() <= width);
      block_lines += line.starts_with("    counter_") ? 1 : 0;
    }
    // Cells of 29 characters (the longest name, two blanks, the widest value) four blanks
    // apart, indented by four: one column in 60, three in 100 and in 120 (filled down
    // first: 14 rows, the first column all counters).
    CHECK(block_lines == (width == 60 ? 40 : 14));
    CHECK(s.find("commit_latency_ms_mean  2.514") != std::string::npos);
    const bool columns =
        s.find("counter_number_0            0    counter_number_14") != std::string::npos;
    CHECK(columns == (width != 60));
  }
}

TEST_CASE("report: the terminal rounds times and check values, never against the verdict") {
  ScenarioSpec spec;
  spec.name = "rounding";
  const std::vector<CheckSpec> checks{check("availability == 1"), check("availability >= 0.999"),
                                      check("latency_ms_p99 < 50")};
  const RunOutput out = output_with({}, checks, {0.99999996, 0.99912345678, 12.345678901});
  const std::string s = render_terminal_summary(spec, out);
  CHECK(s.find("rounding (seed 1): 12.346 s simulated") != std::string::npos);
  // 0.99999996 would round to 1 at four digits, which would seem to pass "== 1".
  CHECK(s.find("FAIL  availability == 1  (0.99999996)") != std::string::npos);
  CHECK(s.find("PASS  availability >= 0.999  (0.9991)") != std::string::npos);
  CHECK(s.find("PASS  latency_ms_p99 < 50  (12.35)") != std::string::npos);
}
