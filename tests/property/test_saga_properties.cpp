// Sagas end to end, over many seeds:
//   - in a failure-free run, every saga costs the messages and forced log writes its path
//     prescribes, derived here from how it ended (saga_states.csv) and compared with what
//     the nodes counted. Orchestrated, with n steps: completed, n commands, n replies, one
//     answer and n + 1 log records (its start, after each step but the last, its end);
//     compensated at step k (refused there), k + 1 commands to do, k to undo, as many
//     replies, one answer and 2k + 2 log records. Choreographed: completed, n - 1 events,
//     n - 1 acks and one answer; compensated at step k, k events forward and k back, as many
//     acks, one answer;
//   - orchestrated and choreographed sagas, with compensations failing now and then, through
//     crashes and restarts of the services and the orchestrators, partitions, message loss
//     and clock skew: every ended saga did all its steps or compensated every step it did,
//     no step ran after its compensation, and once the faults end every saga ends (the
//     compensations eventually succeed).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/scenarios.h"

using namespace dsim;
using dsim::testing::counted;
using dsim::testing::metric;

namespace {

struct Ends {
  int64_t completed = 0;
  std::vector<int64_t> failed_at;  // compensated sagas: the step that failed
};

Ends ends_of(const RunOutput& out) {
  Ends e;
  for (const auto& cells : testing::csv_rows(testing::run_file(out, "saga_states.csv"))) {
    REQUIRE(cells.size() >= 6);
    if (cells[4] == "completed") {
      ++e.completed;
    } else {
      REQUIRE(cells[4] == "compensated");
      e.failed_at.push_back(std::stoll(cells[5]));
    }
  }
  return e;
}

const char* kServices = R"Y(
  - name: s0
    model: saga_service
    count: 2
    params: {fail: 0.1, NEXT0}
  - name: s1
    model: saga_service
    count: 2
    params: {fail: 0.1, NEXT1}
  - name: s2
    model: saga_service
    count: 2
    params: {fail: 0.1, NEXT2}
)Y";

// The three services; `extra` joins the params of the middle one.
std::string services(bool choreographed, const std::string& extra = "") {
  std::string s = kServices;
  const char* links[3] = {"next: s1", "previous: s0, next: s2", "previous: s1"};
  for (int i = 0; i < 3; ++i) {
    const std::string key = "NEXT" + std::to_string(i);
    std::string params = choreographed ? links[i] : "service_time: 1ms";
    if (i == 1 && !extra.empty()) params += ", " + extra;
    s.replace(s.find(key), key.size(), params);
  }
  return s;
}

}  // namespace

TEST_CASE("saga failure-free: messages and log writes per saga as derived") {
  for (const bool choreographed : {false, true}) {
    INFO((choreographed ? "choreographed" : "orchestrated"));
    const auto out = testing::run_text(std::string(R"Y(
name: saga-costs
description: sagas of three steps, a tenth of the steps refused, no faults
seed: 3
duration: 30s
network: {latency: "lognormal(median=1ms, p99=5ms)"}
groups:)Y") + services(choreographed) + (choreographed ? "" : R"Y(
  - {name: orchestrator, model: saga_orchestrator, count: 2, params: {steps: [s0, s1, s2]}}
)Y") +
                                       R"Y(
  - name: clients
    model: saga_client
    count: 3
    params: {target: )Y" + (choreographed ? "s0" : "orchestrator") +
                                       R"Y(, rate: 30/s, stop: 20s}
)Y");
    const Ends e = ends_of(out);
    REQUIRE(e.completed > 500);
    REQUIRE(e.failed_at.size() > 100);
    CHECK(metric(out, "clients", "pending_at_end") == 0);
    const int64_t n = 3;
    int64_t service_messages = 0, orchestrator_messages = 0, forced = 0;
    if (choreographed) {
      service_messages = e.completed * (2 * (n - 1) + 1);
      for (int64_t k : e.failed_at)
        service_messages += 4 * k + 1;
    } else {
      service_messages = e.completed * n;
      orchestrator_messages = e.completed * (n + 1);
      forced = e.completed * (n + 1);
      for (int64_t k : e.failed_at) {
        service_messages += 2 * k + 1;
        orchestrator_messages += 2 * k + 2;
        forced += 2 * k + 2;
      }
    }
    CHECK(counted(out, "s0", "messages") + counted(out, "s1", "messages") +
              counted(out, "s2", "messages") ==
          static_cast<double>(service_messages));
    CHECK(counted(out, "orchestrator", "messages") == static_cast<double>(orchestrator_messages));
    CHECK(counted(out, "orchestrator", "forced_writes") == static_cast<double>(forced));
    CHECK(counted(out, "s0", "event_resends") + counted(out, "s1", "event_resends") == 0);
  }
}

TEST_CASE("saga under crashes partitions loss and skew: all done or all undone and none stuck") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    for (const bool choreographed : {false, true}) {
      INFO("seed " << seed << (choreographed ? ", choreographed" : ", orchestrated"));
      const auto out = testing::run_text(std::string(R"Y(
name: saga-faults
description: sagas through crashes, partitions, loss and clock skew, then a calm end
seed: )Y") + std::to_string(seed) +
                                         R"Y(
duration: 40s
network: {latency: "lognormal(median=1ms, p99=10ms)", loss: 2%}
clock: {drift_ppm: "uniform(-100, 100)", offset: "uniform(-50ms, 50ms)"}
groups:)Y" + services(choreographed, "compensation_fail: 0.3") +
                                         (choreographed ? "" : R"Y(
  - name: orchestrator
    model: saga_orchestrator
    count: 2
    params: {steps: [s0, s1, s2], step_timeout: 50ms, step_attempts: 2, compensation_attempts: 1000}
)Y") + R"Y(
  - name: clients
    model: saga_client
    count: 3
    params: {target: )Y" + (choreographed ? "s0" : "orchestrator") +
                                         R"Y(, rate: 30/s, stop: 25s, timeout: 1s,
             retry: fixed, retry_base: 200ms, max_attempts: 3}
faults:
  - {at: 2s, crash: s1.random, restart_after: 1s, every: 4s, until: 20s}
  - {at: 3s, crash: s2.random, restart_after: 500ms, every: 5s, until: 20s}
  - {at: 4s, partition: {isolate: s0.random}, for: 1s, every: 6s, until: 20s}
  - {at: 5s, crash: )Y" + (choreographed ? "s0" : "orchestrator") +
                                         R"Y(.random, restart_after: 2s, every: 7s, until: 20s}
)Y");
      CHECK(metric(out, "clients", "uncompensated") == 0);
      CHECK(metric(out, "clients", "incomplete") == 0);
      CHECK(metric(out, "clients", "late_steps") == 0);
      CHECK(metric(out, "clients", "conflicting_ends") == 0);
      CHECK(metric(out, "clients", "sagas_completed") > 200);
      CHECK(metric(out, "clients", "sagas_compensated") > 20);
      CHECK(counted(out, "s1", "compensation_failures") > 0);
      // The faults ended at 21 s and the load at 25 s: by 40 s every saga has ended.
      CHECK(metric(out, "clients", "pending_at_end") == 0);
      CHECK(metric(out, "clients", "residue_at_end") == 0);
    }
  }
}
