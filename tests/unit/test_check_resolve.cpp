// Checks are resolved when the scenario loads, against what its groups' models declare
// (MetricDecls): a misspelled one is an error before the run; a counter that was never
// counted reads 0; a figure the scenario can report but this run did not produce fails
// the check without losing the run's results.
#include <catch2/catch.hpp>

#include "models/builtin.h"
#include "sim/run/runner.h"
#include "sim/scenario/check_resolve.h"

using namespace dsim;

namespace {

const std::string kBase = R"(
name: resolve
duration: 2s
network: {latency: 1ms}
groups:
  - {name: web, model: server, count: 2, params: {workers: 2}}
  - name: clients
    model: client
    params: {target: web, rate: 50/s, ops: {read: 0.5, write: 0.5}, timeout: 100ms}
checks:
)";

std::optional<ScenarioSpec> load(const std::string& checks, Diagnostics& diag) {
  static ModelRegistry registry = [] {
    ModelRegistry r;
    register_builtin_models(r);
    return r;
  }();
  return load_scenario_text(kBase + checks, "resolve.yaml", {}, registry, diag);
}

}  // namespace

TEST_CASE("check resolution: what the models declare resolves, anything else is an error") {
  Diagnostics diag;
  auto spec = load(
      "  - web.utilization_mean < 1\n"
      "  - clients.read.latency_ms_p99 < 100\n"
      "  - clients.retries >= 0\n"
      "  - web.queue_wait_ms_p99 >= 0\n"
      "  - run.faults_pause == 0\n"
      "  - clients.availability > 0.5\n",
      diag);
  INFO(diag.render());
  REQUIRE(spec);
  Diagnostics bad;
  CHECK_FALSE(load("  - web.utilisation_mean < 1\n  - clients.delete.ok > 0\n", bad));
  const std::string text = bad.render();
  CHECK(text.find("resolve.yaml:11:5") != std::string::npos);
  CHECK(text.find("did you mean 'utilization_mean'") != std::string::npos);
  CHECK(text.find("resolve.yaml:12:5") != std::string::npos);
  CHECK(text.find("records no operation 'delete' (its operations: read, write)") !=
        std::string::npos);
}

TEST_CASE("check resolution: a counter never counted reads 0") {
  Diagnostics diag;
  // No fault, no disk: faults_crash and disk_full_rejects never counted. No retries
  // configured: the clients' retries counter stays absent.
  auto spec = load(
      "  - run.faults_crash == 0\n"
      "  - web.disk_full_rejects == 0\n"
      "  - clients.retries == 0\n"
      "  - web.queue_wait_ms_p99 >= 0\n",
      diag);
  INFO(diag.render());
  REQUIRE(spec);
  REQUIRE(spec->checks.size() == 4);
  CHECK(spec->checks[0].absent_is_zero);
  CHECK(spec->checks[1].absent_is_zero);
  CHECK_FALSE(spec->checks[3].absent_is_zero);
  const RunOutput out = run_scenario(*spec);
  REQUIRE(out.checks.size() == 4);
  for (int i = 0; i < 3; ++i) {
    INFO(out.checks[i].check->text);
    REQUIRE(out.checks[i].value);
    CHECK(*out.checks[i].value == 0);
    CHECK(out.checks[i].passed);
  }
  CHECK_FALSE(out.files.empty());
}

TEST_CASE("check resolution: a declared figure this run did not produce fails the check") {
  Diagnostics diag;
  // The servers crash at the start and never come back: no read succeeds, so there is no
  // ok latency to read. The check fails; the run still has its results.
  auto spec =
      load("  - clients.read.latency_ms_p99 < 100\nfaults:\n  - {at: 0s, crash: web}\n", diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  REQUIRE(out.checks.size() == 1);
  CHECK_FALSE(out.checks[0].value);
  CHECK_FALSE(out.checks[0].passed);
  CHECK_FALSE(out.checks_passed());
  CHECK_FALSE(out.files.empty());
}
