// The service model against closed forms that follow from independence. A front end fans
// each request out to n leaves; each leaf, independently, is slow with probability p (its
// work takes longer than the call's timeout) and otherwise answers in 1 ms with no queue.
// A request waiting for all n answers fails (here: ends with a fallback) with probability
// 1 - (1 - p)^n ("The Tail at Scale"); waiting for n - 1 of them, with probability
// 1 - (1 - p)^n - n p (1 - p)^(n - 1). And a call made with probability q is made in a
// share q of the requests. Each share is a binomial proportion over N requests, compared
// with its closed form within 3.29 standard deviations (99.9%, N large).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "models/builtin.h"
#include "sim/run/runner.h"

using namespace dsim;

namespace {

constexpr double kZ999 = 3.2905;  // two-sided 99.9% normal quantile

double metric(const RunOutput& out, const std::string& group, const std::string& name) {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op.empty() && r.metric == name) return r.value;
  }
  FAIL("no metric " << group << "/" << name);
  return 0;
}

RunOutput run(const std::string& yaml) {
  ModelRegistry registry;
  register_builtin_models(registry);
  Diagnostics diag;
  auto spec = load_scenario_text(yaml, "fanout.yaml", {}, registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  return run_scenario(*spec);
}

// Checks that `hits` of `n` trials agree with probability `p`.
void check_proportion(const char* what, double hits, double n, double p) {
  const double sd = std::sqrt(p * (1 - p) / n);
  INFO(what << ": " << hits << " of " << n << " = " << hits / n << ", theory " << p << " +- "
            << kZ999 * sd << " (99.9%)");
  CHECK(std::abs(hits / n - p) <= kZ999 * sd);
}

}  // namespace

TEST_CASE("service fan-out: a request waiting for k of n leaves fails as often as theory says") {
  const int n = 10;
  const double p = 0.01;
  const int wait = GENERATE(10, 9);
  const std::string yaml = R"Y(
seed: 17
duration: 61s
warmup: 1s
groups:
  - {name: users, model: client, params: {target: front, rate: 1000/s, timeout: 10s}}
  - name: front
    model: service
    params:
      workers: 256
      service: 0ms
      calls: [{to: leaves, fanout: 10, wait: )Y" +
                           std::to_string(wait) + R"Y(, timeout: 25ms, on_error: fallback}]
  - name: leaves
    model: server
    count: 10
    params: {workers: 256, service: "mixture(0.99*constant(1ms), 0.01*constant(50ms))"}
)Y";
  const RunOutput out = run(yaml);
  const double fallbacks = metric(out, "front", "fallbacks");
  const double served = metric(out, "front", "served");
  REQUIRE(fallbacks + served > 50000);
  const double all_fast = std::pow(1 - p, n);
  const double theory = wait == n ? 1 - all_fast : 1 - all_fast - n * p * std::pow(1 - p, n - 1);
  check_proportion("requests with too few leaves in time", fallbacks, fallbacks + served, theory);
}

TEST_CASE("service: a call made with probability q is made in a share q of the requests") {
  const RunOutput out = run(R"(
seed: 3
duration: 21s
warmup: 1s
groups:
  - {name: users, model: client, params: {target: app, rate: 2000/s}}
  - name: app
    model: service
    params: {workers: 64, service: 0.1ms, calls: [{to: cache}, {to: db, p: 0.2}]}
  - {name: cache, model: server, params: {workers: 64, service: 0.1ms}}
  - {name: db, model: server, params: {workers: 64, service: 0.1ms}}
)");
  const double requests = metric(out, "cache", "served");
  REQUIRE(requests > 30000);
  check_proportion("requests that went on to the database", metric(out, "db", "served"), requests,
                   0.2);
}
