// A large sweep is validated in bounded time: each axis value alone and a sample of
// points before it starts; a point that turns out invalid only when it is to run is
// reported with its coordinates, and the other points' results are kept.
#include <catch2/catch.hpp>

#include "sim/sweep/executor.h"
#include "sim/sweep/plan.h"
#include "support/scenarios.h"

using namespace dsim;
using namespace dsim::sweep;
using dsim::testing::builtin_registry;

namespace {

const ModelRegistry& registry() {
  return builtin_registry();
}

std::string scenario_file(const std::string& name, const std::string& text) {
  return dsim::testing::scenario_file("sweep_checks", name, text);
}

// Each value is valid on its own; duration 100ms with warmup 200ms is not (point 3).
const char* kScenario = R"yaml(
name: checks
duration: 2s
warmup: 10ms
groups:
  - name: web
    model: server
  - name: clients
    model: client
    params: {target: web, rate: 100/s}
sweep:
  grid:
    - {key: duration, values: [2s, 100ms]}
    - {key: warmup, values: [10ms, 200ms]}
)yaml";

}  // namespace

TEST_CASE("sweep checks: a small sweep is validated point by point before it starts") {
  Diagnostics diag;
  auto plan = load_sweep(scenario_file("small", kScenario), {}, registry(), diag);
  CHECK_FALSE(plan);
  CHECK_THAT(diag.render(), Catch::Contains("at sweep point 3 (duration=100ms warmup=200ms)"));
  CHECK_THAT(diag.render(), Catch::Contains("must be shorter than the duration"));
}

TEST_CASE("sweep checks: a large one checks each value alone and a sample of points") {
  SweepArgs args;
  args.checked_points = 1;  // point 0 only: point 3 is left for when it runs
  Diagnostics diag;
  auto plan = load_sweep(scenario_file("large", kScenario), args, registry(), diag);
  INFO(diag.render());
  REQUIRE(plan);
  CHECK_FALSE(plan->every_point_checked);
  CHECK(plan->points_checked == 1);

  // A value wrong on its own is found before the sweep starts, whatever the sample.
  SweepArgs bad = args;
  bad.grid = {"groups.clients.params.rate=100/s,0/s"};
  Diagnostics bad_diag;
  CHECK_FALSE(load_sweep(scenario_file("bad_value", kScenario), bad, registry(), bad_diag));
  CHECK_THAT(bad_diag.render(), Catch::Contains("with sweep value groups.clients.params.rate=0/s"));

  // The invalid point is found when it is to run; the others run.
  ExecuteOptions opts;
  opts.jobs = 2;
  std::string err;
  auto result = execute(*plan, registry(), opts, &err);
  INFO(err);
  REQUIRE(result);
  REQUIRE(result->records.size() == 3);
  CHECK(result->records[2].point == 2);
  REQUIRE(result->problems.size() == 1);
  CHECK(result->problems[0].point == 3);
  CHECK(result->problems[0].replication == 0);
  CHECK(result->problems[0].exit_code == 2);
  CHECK_THAT(result->problems[0].message, Catch::Contains("must be shorter than the duration"));
}

TEST_CASE("sweep checks: the sample spreads from the first point to the last") {
  const char* wide = R"yaml(
name: wide
duration: 1s
groups:
  - {name: web, model: server}
)yaml";
  SweepArgs args;
  args.checked_points = 3;
  args.grid = {"groups.web.params.workers=1,2,3,4,5,6,7,8,9,10"};
  Diagnostics diag;
  auto plan = load_sweep(scenario_file("wide", wide), args, registry(), diag);
  INFO(diag.render());
  REQUIRE(plan);
  CHECK(plan->points_checked == 3);
  CHECK_FALSE(plan->every_point_checked);
  CHECK(plan->name == "wide");
  // The last point is among them: an invalid last value (0 workers) is caught twice, alone
  // and as a point.
  args.grid = {"groups.web.params.workers=1,2,3,4,5,6,7,8,9,0"};
  Diagnostics d2;
  CHECK_FALSE(load_sweep(scenario_file("wide0", wide), args, registry(), d2));
  CHECK_THAT(d2.render(), Catch::Contains("at sweep point 9 (groups.web.params.workers=0)"));
}

TEST_CASE("sweep checks: problems travel between ranks as text and back") {
  const std::vector<RunProblem> problems{
      {3, 1, 2, "a.yaml:3:5: error: warmup\nsecond line\n"}, {7, 0, 3, ""}, {8, 2, 3, "x"}};
  const auto back = parse_problems(render_problems(problems));
  REQUIRE(back);
  REQUIRE(back->size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK((*back)[i].point == problems[i].point);
    CHECK((*back)[i].replication == problems[i].replication);
    CHECK((*back)[i].exit_code == problems[i].exit_code);
    CHECK((*back)[i].message == problems[i].message);
  }
  CHECK(parse_problems("")->empty());
  CHECK_FALSE(parse_problems("3 1 2 99\nshort"));
  CHECK_FALSE(parse_problems("garbage\n"));
}
