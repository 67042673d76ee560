// Availability per operation type, end to end: a primary-backup store whose backups serve
// reads loses its primary, so every write fails until the monitors promote a backup while
// reads keep succeeding. Pooled over the clients' operations there is no unavailability
// interval; the writes' own analysis shows the outage, and checks can name it.
#include <catch2/catch.hpp>

#include "models/builtin.h"
#include "sim/run/runner.h"
#include "sim/scenario/checks.h"

using namespace dsim;

namespace {

const std::string kScenario = R"(
name: writes-out
description: reads from any replica; the primary crashes at 5 s
duration: 12s
warmup: 1s
network: {latency: 1ms}
groups:
  - name: replicas
    model: primary_backup
    count: 3
    params: {monitors: monitors, backups: 2, read_from: any}
  - name: monitors
    model: pb_monitor
    count: 3
    params: {replicas: replicas, heartbeat_interval: 100ms, failure_timeout: 1s}
  - name: clients
    model: kv_client
    count: 4
    params: {target: replicas, rate: 50/s, mix: {get: 0.5, put: 0.5}, keys: uniform(100),
             timeout: 300ms}
faults:
  - {at: 5s, crash: replicas.primary}
checks:
  - unavailable_intervals == 0
  - unavailable_intervals[put] == 1
  - unavailable_seconds[put] > 1
  - unavailable_intervals[get] == 0
  - clients.availability[get] > 0.5
)";

std::optional<double> figure(const RunOutput& out, const std::string& group, const std::string& op,
                             const std::string& metric) {
  for (const auto& r : out.summary)
    if (r.group == group && r.op == op && r.metric == metric) return r.value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("availability by operation: a write-only outage shows in the writes' figures") {
  ModelRegistry registry;
  register_builtin_models(registry);
  Diagnostics diag;
  auto spec = load_scenario_text(kScenario, "writes_out.yaml", {}, registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  for (const auto& c : out.checks) {
    INFO(c.check->text << " = " << (c.value ? std::to_string(*c.value) : "not produced"));
    CHECK(c.passed);
  }
  // The outage lasts from the crash to the promotion: failure detection (1 s) and a Paxos
  // round among the monitors, within the run.
  const double outage = figure(out, "all", "put", "unavailable_seconds").value_or(0);
  CHECK(outage > 1.0);
  CHECK(outage < 4.0);
  CHECK(figure(out, "run", "", "unavailable_seconds") == 0.0);
  std::string csv;
  for (const auto& [name, content] : out.files)
    if (name == "unavailability.csv") csv = content;
  CHECK(csv.find("\nclients,put,5.0") != std::string::npos);
  CHECK(out.verdict_text.find("by operation put: 1, ") != std::string::npos);
}

TEST_CASE("availability by operation: checks name an operation in brackets") {
  std::string err;
  auto c = parse_check("availability[put] >= 0.99", &err);
  REQUIRE(c);
  CHECK(c->group == "all");
  CHECK(c->op == "put");
  CHECK(c->metric == "availability");
  auto g = parse_check("clients.unavailable_seconds[ get ] < 1", &err);
  REQUIRE(g);
  CHECK(g->group == "clients");
  CHECK(g->op == "get");
  CHECK_FALSE(parse_check("clients.put.availability[get] > 0", &err));
  CHECK(err.find("names the operation twice") != std::string::npos);
  CHECK_FALSE(parse_check("[put] > 0", &err));
  CHECK_FALSE(parse_check("availability[p ut] > 0", &err));
}

TEST_CASE("availability by operation: one group's outage is not hidden by another group") {
  // The CAP lab: a partition cuts the west clients (with the old leader) off the majority
  // for 10 s while the east clients keep succeeding. Per operation over every group, the
  // west's own intervals are counted: pooling both groups into one stream would hide them.
  ModelRegistry registry;
  register_builtin_models(registry);
  Diagnostics diag;
  auto spec = load_scenario(std::string(DSIM_SOURCE_DIR) + "/scenarios/labs/cap_raft.yaml", {},
                            registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  for (const char* op : {"get", "append"}) {
    INFO(op);
    const auto west = figure(out, "west", op, "unavailable_seconds");
    const auto all = figure(out, "all", op, "unavailable_seconds");
    REQUIRE(west);
    CHECK(*west > 9.0);
    CHECK(figure(out, "east", op, "unavailable_seconds") == 0.0);
    CHECK(all == west);
    CHECK(figure(out, "all", op, "unavailable_intervals") ==
          figure(out, "west", op, "unavailable_intervals"));
  }
}
