// A client's own rate limit (models/queueing/client.cpp, models/kv/client.cpp): requests it refuses
// end at once as rejected and are never sent; under leaky_queue the admitted ones leave in their
// turn.
#include <catch2/catch.hpp>

#include "support/scenarios.h"

using namespace dsim;

namespace {

double figure(const RunOutput& out, const std::string& group, const std::string& op,
              const std::string& metric) {
  const auto v = dsim::testing::summary_figure(out, group, op, metric);
  INFO(group << "," << op << "," << metric);
  REQUIRE(v);
  return *v;
}

}  // namespace

TEST_CASE("client: its token bucket sends burst + rate x t requests under saturating demand") {
  // 100 requests a second, evenly spaced, against 10 per second and a burst of 5: from a
  // full bucket, the requests sent by time t are 5 + floor(10 t) (the kit's exact bucket).
  const RunOutput out = dsim::testing::run_text(R"(
duration: 10s
groups:
  - {name: users, model: client, params: {target: web, rate: 100/s, arrival: fixed, rate_limit: {algorithm: token_bucket, rate: 10/s, burst: 5}}}
  - {name: web, model: server, params: {workers: 4, service: 1ms}}
)");
  const double allowed = figure(out, "users", "", "rate_limit_allowed");
  const double rejected = figure(out, "users", "", "rate_limit_rejected");
  CHECK(allowed + rejected == figure(out, "users", "request", "requests"));
  CHECK(allowed >= 5 + 99);  // the last request at 9.99 s or 10 s
  CHECK(allowed <= 5 + 100);
  CHECK(figure(out, "users", "request", "rejected") == rejected);  // refused: never sent
  CHECK(figure(out, "web", "", "served") == allowed);
}

TEST_CASE("client: a leaky queue shapes its requests to the rate, delaying instead of refusing") {
  const RunOutput out = dsim::testing::run_text(R"(
duration: 10s
groups:
  - {name: users, model: client, params: {target: web, rate: 20/s, rate_schedule: [{at: 2s, rate: 0/s}], arrival: fixed, timeout: 10s, rate_limit: {algorithm: leaky_queue, rate: 10/s, queue: 100}}}
  - {name: web, model: server, params: {workers: 4, service: 1ms}}
)");
  // 39 requests in the first 2 s (at 0.05 s, 0.10 s, ..., 1.95 s) leave at 10 a second, the
  // i-th at 0.05 + 0.1 (i - 1) s: none refused, the last 1.9 s after it arrived.
  CHECK(figure(out, "users", "", "rate_limit_allowed") == 39);
  CHECK(dsim::testing::summary_figure(out, "users", "", "rate_limit_rejected").value_or(0) == 0);
  CHECK(figure(out, "users", "request", "ok") == 39);
  CHECK(figure(out, "users", "request", "latency_ms_max") > 1900);  // + service and network
  CHECK(figure(out, "users", "request", "latency_ms_max") < 1950);
}

TEST_CASE("kv_client: operations its own limit refuses fail unsent, and the history says so") {
  const RunOutput out = dsim::testing::run_text(R"(
duration: 10s
groups:
  - {name: users, model: kv_client, params: {target: db, rate: 100/s, arrival: fixed, keys: uniform(10), mix: {put: 1}, rate_limit: {algorithm: fixed_window, limit: 20, window: 1s}}}
  - {name: db, model: kv_store}
checks: [linearizable]
)");
  // 100 operations a second against 20 per 1-second window: 20 in each of the 10 windows
  // (the run's last arrival at 10 s opens an eleventh), the rest refused.
  const double allowed = figure(out, "users", "", "rate_limit_allowed");
  CHECK(allowed >= 200);
  CHECK(allowed <= 201);
  CHECK(allowed + figure(out, "users", "", "rate_limit_rejected") ==
        figure(out, "users", "put", "requests"));
  CHECK(figure(out, "db", "", "served") == allowed);
  REQUIRE(out.checks.size() == 1);
  CHECK(out.checks[0].passed);  // refused writes are failed operations: never applied
}
