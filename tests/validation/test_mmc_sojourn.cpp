// Latency percentiles of an M/M/c station against the sojourn-time distribution of
// queueing theory (oracle::MMc::sojourn_quantile), over 20 replications with a 99.9%
// Student-t confidence interval, widened only by the histogram's error bound.
#include <catch2/catch.hpp>

#include "analysis/oracles/queueing.h"
#include "models/builtin.h"
#include "sim/run/runner.h"
#include "support/stats.h"

using namespace dsim;

TEST_CASE("M/M/4 at 75% utilisation: sojourn mean, p50, p99 and p99.9") {
  const oracle::MMc theory{3.0, 1.0, 4};  // per ms
  ModelRegistry registry;
  register_builtin_models(registry);
  const std::string yaml = R"yaml(
name: mm4
duration: 60s
warmup: 2s
groups:
  - name: station
    model: server
    params: {workers: 4, service: "exponential(mean=1ms)"}
  - name: arrivals
    model: client
    params: {target: station, rate: 3000/s, timeout: 1h}
output: {window: 10s}
)yaml";
  std::vector<double> mean, p50, p99, p999;
  for (int r = 0; r < 20; ++r) {
    Diagnostics diag;
    LoadOptions opts;
    opts.seed = 4000 + r;
    auto spec = load_scenario_text(yaml, "mm4.yaml", opts, registry, diag);
    REQUIRE(spec);
    const RunOutput out = run_scenario(*spec);
    auto get = [&](const std::string& m) {
      for (const auto& row : out.summary) {
        if (row.group == "arrivals" && row.op == "request" && row.metric == m) return row.value;
      }
      FAIL("no " << m);
      return 0.0;
    };
    mean.push_back(get("latency_ms_mean"));
    p50.push_back(get("latency_ms_p50"));
    p99.push_back(get("latency_ms_p99"));
    p999.push_back(get("latency_ms_p999"));
  }
  const double hist = Histogram::max_relative_error(kSummaryHistogramBits);
  auto check = [&](const char* what, const std::vector<double>& x, double expected, double bias) {
    const double m = testing::mean_of(x), hw = testing::ci_half_width(x, 0.999);
    INFO(what << ": simulated " << m << " +- " << hw << ", theory " << expected);
    CHECK(std::abs(m - expected) <= hw + bias);
  };
  check("mean", mean, theory.mean_sojourn(), 0);
  check("p50", p50, theory.sojourn_quantile(0.5), hist * theory.sojourn_quantile(0.5));
  check("p99", p99, theory.sojourn_quantile(0.99), hist * theory.sojourn_quantile(0.99));
  check("p99.9", p999, theory.sojourn_quantile(0.999), hist * theory.sojourn_quantile(0.999));
}
