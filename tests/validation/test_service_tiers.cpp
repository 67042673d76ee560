// Each tier of a service graph against M/M/c, and the end-to-end mean against their sum: an
// open Jackson network. Poisson arrivals (3 per ms) go to an asynchronous app tier (one
// node, 4 workers, exponential work of mean 1 ms: M/M/4 at 75%), whose every request then
// calls the database (one server, 2 workers, exponential service of mean 0.5 ms: M/M/2 at
// 75%). By Burke's theorem the app's departures are Poisson, so the database is M/M/2 on
// its own; a constant 0.1 ms per network hop only shifts times. So the app's self time is
// the M/M/4 sojourn, a call to the database the M/M/2 sojourn plus two hops, and the end
// user's mean latency the sum of the two means plus four hops. 20 replications, 99.9%
// Student-t confidence intervals, widened only by the histogram's error bound for
// percentiles.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "analysis/oracles/queueing.h"
#include "models/builtin.h"
#include "sim/run/runner.h"
#include "support/stats.h"

using namespace dsim;

namespace {

constexpr double kHopMs = 0.1;

std::map<std::string, double> run_once(uint64_t seed) {
  ModelRegistry registry;
  register_builtin_models(registry);
  Diagnostics diag;
  LoadOptions opts;
  opts.seed = seed;
  auto spec = load_scenario_text(R"yaml(
name: jackson
duration: 60s
warmup: 2s
network: {latency: 0.1ms}
groups:
  - name: users
    model: client
    count: 3
    params: {target: app, rate: 1000/s, timeout: 1h}
  - name: app
    model: service
    params:
      workers: 4
      blocking: false
      service: "exponential(mean=1ms)"
      calls: [{to: db, timeout: 1h}]
  - name: db
    model: server
    params: {workers: 2, service: "exponential(mean=0.5ms)"}
output: {window: 10s}
)yaml",
                                 "jackson.yaml", opts, registry, diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  std::map<std::string, double> v;
  for (const auto& r : out.summary) {
    if (r.group == "users" && r.op == "request") v["users." + r.metric] = r.value;
    if (r.group == "app" && r.op.empty()) v["app." + r.metric] = r.value;
  }
  return v;
}

}  // namespace

TEST_CASE("service tiers: each is M/M/c, and the end-to-end mean is their sum (Jackson)") {
  const oracle::MMc app{3.0, 1.0, 4};  // per ms
  const oracle::MMc db{3.0, 2.0, 2};
  std::map<std::string, std::vector<double>> runs;
  for (int r = 0; r < 20; ++r) {
    for (const auto& [k, x] : run_once(7000 + r))
      runs[k].push_back(x);
  }
  const double hist = Histogram::max_relative_error(kSummaryHistogramBits);
  auto check = [&](const std::string& what, double expected, bool percentile) {
    REQUIRE(runs[what].size() == 20);
    const double m = testing::mean_of(runs[what]);
    const double hw = testing::ci_half_width(runs[what], 0.999);
    INFO(what << ": simulated " << m << " +- " << hw << ", theory " << expected);
    CHECK(std::abs(m - expected) <= hw + (percentile ? hist * expected : 0));
  };
  check("app.self_time_ms_mean", app.mean_sojourn(), false);
  check("app.self_time_ms_p50", app.sojourn_quantile(0.5), true);
  check("app.self_time_ms_p99", app.sojourn_quantile(0.99), true);
  check("app.call_db_ms_mean", db.mean_sojourn() + 2 * kHopMs, false);
  check("app.call_db_ms_p99", db.sojourn_quantile(0.99) + 2 * kHopMs, true);
  check("users.latency_ms_mean", app.mean_sojourn() + db.mean_sojourn() + 4 * kHopMs, false);
}
