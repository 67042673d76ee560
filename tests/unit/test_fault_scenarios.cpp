// Faults from scenario text: selectors, the nemesis's reproducibility by seed, the fault
// log and its markers in the outputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "models/builtin.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

using namespace dsim;

namespace {

const std::string kBase = R"Y(
duration: 60s
network: {latency: 1ms}
groups:
  - {name: web, model: server, count: 5}
  - {name: clients, model: client, params: {target: web, rate: 20/s}}
)Y";

// The specs point into the registry: it outlives them.
const ModelRegistry& registry() {
  static const ModelRegistry r = [] {
    ModelRegistry m;
    register_builtin_models(m);
    return m;
  }();
  return r;
}

std::optional<ScenarioSpec> load(const std::string& extra, Diagnostics& diag,
                                 LoadOptions options = {}) {
  return load_scenario_text(kBase + extra, "test.yaml", options, registry(), diag);
}

const std::string& file(const RunOutput& out, const std::string& name) {
  for (const auto& [n, content] : out.files) {
    if (n == name) return content;
  }
  FAIL("no file " << name);
  static const std::string kNone;
  return kNone;
}

}  // namespace

TEST_CASE("the nemesis is reproducible by seed, and another seed gives other faults") {
  const std::string nemesis = R"Y(
nemesis:
  - {crash: web.random, rate: 4/min, duration: "uniform(1s, 3s)"}
  - {partition: {halves: web}, interval: exponential(mean=10s), duration: 2s}
)Y";
  Diagnostics diag;
  auto a = load(nemesis, diag);
  INFO(diag.render());
  REQUIRE(a);
  const RunOutput r1 = run_scenario(*a);
  const RunOutput r2 = run_scenario(*a);
  CHECK(file(r1, "faults.csv") == file(r2, "faults.csv"));
  CHECK(r1.faults.size() >= 4);
  LoadOptions other;
  other.seed = 99;
  auto b = load(nemesis, diag, other);
  REQUIRE(b);
  const RunOutput r3 = run_scenario(*b);
  // Same header line apart from the seed; different faults.
  const std::string f1 = file(r1, "faults.csv"), f3 = file(r3, "faults.csv");
  CHECK(f1.substr(f1.find('\n')) != f3.substr(f3.find('\n')));
}

TEST_CASE("fault markers: faults.csv and the faults column of timeseries.csv") {
  Diagnostics diag;
  auto s = load(R"Y(
faults:
  - {at: 10s, for: 5s, crash: web.1}
  - {at: 12s, pause: [web.2, web.3], for: 1500ms}
  - {at: 30s, restart: web}
)Y",
                diag);
  INFO(diag.render());
  REQUIRE(s);
  const RunOutput out = run_scenario(*s);
  const std::string faults = file(out, "faults.csv");
  CHECK(faults.find("10,start,1,crash,web.1,restart after 5s\n") != std::string::npos);
  CHECK(faults.find("15,end,1,crash,web.1,\n") != std::string::npos);
  CHECK(faults.find("12,start,2,pause,web.2 web.3,\n") != std::string::npos);
  CHECK(faults.find("13.5,end,2,pause,web.2 web.3,\n") != std::string::npos);
  // Nobody is down at 30 s: the restart hits no node, but is logged.
  CHECK(faults.find("30,instant,3,restart,,\n") != std::string::npos);
  const std::string ts = file(out, "timeseries.csv");
  CHECK(ts.find("\n10,11,clients,request,") != std::string::npos);
  CHECK(ts.find(",crash#1\n") != std::string::npos);
  CHECK(ts.find(",crash#1 pause#2\n") != std::string::npos);
  CHECK(ts.find(",restart#3\n") != std::string::npos);
  // The summary counts them.
  double n = -1;
  for (const auto& r : out.summary) {
    if (r.group == "run" && r.metric == "faults") n = r.value;
  }
  CHECK(n == 3);
  CHECK(file(out, "summary.json").find("\"kind\": \"pause\"") != std::string::npos);
}

TEST_CASE("a role the model does not report is bad input, naming the roles it does") {
  Diagnostics diag;
  CHECK_FALSE(load("faults:\n  - {at: 1s, crash: web.leader}\n", diag));
  CHECK(diag.render().find("'web.leader': the nodes of web (model server) report no roles") !=
        std::string::npos);
}

TEST_CASE("a role no node holds when the fault fires is a fault with no target, counted") {
  // Raft elects its first leader some 150-300 ms in: a crash of the leader at 1 ms finds
  // none, the one at 5 s finds it.
  const std::string yaml = R"Y(
duration: 10s
network: {latency: 1ms}
groups:
  - {name: replicas, model: raft, count: 3}
faults:
  - {at: 1ms, crash: replicas.leader}
  - {at: 5s, crash: replicas.leader}
checks:
  - faults_no_target == 1
)Y";
  Diagnostics diag;
  auto s = load_scenario_text(yaml, "roles.yaml", {}, registry(), diag);
  INFO(diag.render());
  REQUIRE(s);
  const RunOutput out = run_scenario(*s);
  REQUIRE(out.faults.size() == 2);
  CHECK(out.faults[0].no_target);
  CHECK(out.faults[0].targets.empty());
  CHECK_FALSE(out.faults[1].no_target);
  CHECK(out.faults[1].targets.rfind("replicas.", 0) == 0);
  CHECK(file(out, "faults.csv").find("0.001,start,1,crash,no target,\n") != std::string::npos);
  REQUIRE(out.checks.size() == 1);
  CHECK(out.checks[0].passed);
}

TEST_CASE("random(N) and random(P%) crash that many nodes that are up") {
  const std::string yaml = R"Y(
duration: 10s
network: {latency: 1ms}
groups:
  - {name: a, model: server, count: 40}
  - {name: b, model: server, count: 7}
faults:
  - {at: 1s, crash: a.random(10%)}
  - {at: 2s, crash: a.random(10%)}
  - {at: 3s, crash: [b.random(2), b.0]}
  - {at: 4s, crash: random(2.5%)}
)Y";
  Diagnostics diag;
  auto s = load_scenario_text(yaml, "sample.yaml", {}, registry(), diag);
  INFO(diag.render());
  REQUIRE(s);
  const RunOutput out = run_scenario(*s);
  REQUIRE(out.faults.size() == 4);
  auto count = [](const std::string& targets) {
    return std::count(targets.begin(), targets.end(), ' ') + 1;
  };
  CHECK(count(out.faults[0].targets) == 4);
  CHECK(count(out.faults[1].targets) == 4);
  // The second draw is among the 36 nodes still up: no node crashed twice.
  for (size_t from = 0; from < out.faults[1].targets.size();) {
    const size_t end =
        std::min(out.faults[1].targets.find(' ', from), out.faults[1].targets.size());
    const std::string node = out.faults[1].targets.substr(from, end - from);
    CHECK((" " + out.faults[0].targets + " ").find(" " + node + " ") == std::string::npos);
    from = end + 1;
  }
  const std::string& b = out.faults[2].targets;
  CHECK((count(b) == 2 || count(b) == 3));  // the two drawn, and b.0 unless drawn
  CHECK((b.rfind("b.0 ", 0) == 0 || b == "b.0"));
  CHECK(count(out.faults[3].targets) == 1);  // 2.5% of 47 rounds to 1
}

TEST_CASE("bad fault input is reported with its location") {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"faults:\n  - {at: 1s, crash: web.9}\n", "no node 'web.9': group web has 5 nodes"},
      {"faults:\n  - {at: 1s, crash: db.1}\n", "names group 'db', which is not defined"},
      {"faults:\n  - {at: 1s, crash: leader}\n", "no group or node named 'leader'"},
      {"faults:\n  - {at: 1s, partition: [[web.0, web.1], [web.1, web.2]]}\n", "groups overlap"},
      {"faults:\n  - {at: 70s, crash: web.0}\n", "is not within the run"},
      {"faults:\n  - {at: 50s, for: 20s, crash: web.0}\n", "after the run"},
      {"faults:\n  - {at: 5s, restart: web.0, for: 2s}\n", "happens at an instant"},
      {"faults:\n  - {at: 5s, crash: web.0, slow: web.1}\n", "exactly one fault kind"},
      {"faults:\n  - {at: 5s, slow: web.0}\n", "needs a factor"},
      {"faults:\n  - {at: 5s, crash: web.0, factor: 2}\n", "factor belongs to slow"},
      {"faults:\n  - {at: 5s, partition: {isolate: web.0, halves: web}}\n", "give one shape"},
      {"faults:\n  - {at: 5s, partition: {from: web.0}}\n", "needs to:"},
      {"faults:\n  - {at: 5s, clock: web.0}\n", "needs step: and/or drift_ppm:"},
      {"faults:\n  - {at: 5s, degrade: web.0}\n", "needs loss:, duplicate: and/or delay:"},
      {"faults:\n  - {at: 5s, crash: region:eu}\n", "the scenario has no regions"},
      {"faults:\n  - {at: 5s, crash: web.random(0)}\n", "cannot read target 'web.random(0)'"},
      {"faults:\n  - {at: 5s, crash: web.random(150%)}\n", "with 0 < P <= 100"},
      {"faults:\n  - {at: 5s, crash: random(x)}\n", "cannot read target 'random(x)'"},
      {"nemesis:\n  - {crash: web.random, rate: 1/min, stop: 2min}\n", "after the end of the run"},
      {"nemesis:\n  - {crash: web.random, at: 5s}\n", "belongs to the faults timeline"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    Diagnostics diag;
    CHECK_FALSE(load(c.yaml, diag));
    const std::string text = diag.render();
    INFO(text);
    CHECK(text.find(c.message) != std::string::npos);
    CHECK(text.find("test.yaml:") != std::string::npos);
  }
}
