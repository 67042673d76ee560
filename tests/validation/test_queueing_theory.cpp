// The simulator against queueing theory. Each figure is estimated from independent
// replications (different seeds), and compared with the closed form using a 99.9%
// Student-t confidence interval over the replications, widened only by the documented
// error bound of the latency histograms (0.39% for a percentile) where one is used.
#include <catch2/catch.hpp>

#include <string>

#include "analysis/oracles/queueing.h"
#include "models/builtin.h"
#include "sim/run/runner.h"
#include "support/stats.h"

using namespace dsim;
using dsim::testing::ci_half_width;
using dsim::testing::mean_of;

namespace {

constexpr int kReplications = 20;
constexpr double kConfidence = 0.999;

ModelRegistry& registry() {
  static ModelRegistry r = [] {
    ModelRegistry reg;
    register_builtin_models(reg);
    return reg;
  }();
  return r;
}

ScenarioSpec load(const std::string& yaml, uint64_t seed) {
  Diagnostics diag;
  LoadOptions opts;
  opts.seed = seed;
  auto spec = load_scenario_text(yaml, "validation.yaml", opts, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  return *spec;
}

double metric(const RunOutput& out, const std::string& group, const std::string& op,
              const std::string& name) {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op == op && r.metric == name) return r.value;
  }
  FAIL("no metric " << group << "/" << op << "/" << name);
  return 0;
}

// Checks that the replications' mean of an estimate agrees with `expected`.
void check_agrees(const char* what, const std::vector<double>& estimates, double expected,
                  double extra_bias_bound = 0) {
  const double m = mean_of(estimates);
  const double hw = ci_half_width(estimates, kConfidence);
  INFO(what << ": simulated " << m << " +- " << hw << " (99.9% CI over " << estimates.size()
            << " replications), bias bound " << extra_bias_bound << ", theory " << expected);
  CHECK(std::abs(m - expected) <= hw + extra_bias_bound);
}

}  // namespace

TEST_CASE("M/M/1 with lambda = 0.9, mu = 1 per ms: sojourn mean 10, p50 6.93, p99 46.05") {
  const oracle::MM1 theory{0.9, 1.0};  // per ms
  REQUIRE(theory.mean_sojourn() == Approx(10.0));
  REQUIRE(theory.sojourn_quantile(0.5) == Approx(6.931).epsilon(1e-3));
  REQUIRE(theory.sojourn_quantile(0.99) == Approx(46.05).epsilon(1e-3));
  const std::string yaml = R"yaml(
name: mm1
duration: 250s
warmup: 10s
groups:
  - name: station
    model: server
    params: {workers: 1, service: "exponential(mean=1ms)"
}
  - name: arrivals
    model: client
    params: {target: station, rate: 900/s, timeout: 1h}
output: {window: 10s}
)yaml";
  std::vector<double> mean, p50, p99, served;
  for (int r = 0; r < kReplications; ++r) {
    const ScenarioSpec spec = load(yaml, 1000 + r);
    const RunOutput out = run_scenario(spec);
    mean.push_back(metric(out, "arrivals", "request", "latency_ms_mean"));
    p50.push_back(metric(out, "arrivals", "request", "latency_ms_p50"));
    p99.push_back(metric(out, "arrivals", "request", "latency_ms_p99"));
    served.push_back(metric(out, "arrivals", "request", "ok"));
  }
  INFO("customers per replication: " << mean_of(served));
  const double hist = Histogram::max_relative_error(kSummaryHistogramBits);
  check_agrees("mean sojourn (ms)", mean, theory.mean_sojourn());
  check_agrees("p50 sojourn (ms)", p50, theory.sojourn_quantile(0.5),
               hist * theory.sojourn_quantile(0.5));
  check_agrees("p99 sojourn (ms)", p99, theory.sojourn_quantile(0.99),
               hist * theory.sojourn_quantile(0.99));
}

TEST_CASE("M/M/c Erlang C: 100 calls per 30 min, 180 s handling, 14 agents") {
  const oracle::MMc theory{1.0 / 18.0, 1.0 / 180.0, 14};  // per second
  REQUIRE(theory.offered_load() == Approx(10.0));
  REQUIRE(theory.p_wait() == Approx(0.1741).margin(5e-5));
  REQUIRE(theory.wait_cdf(20) == Approx(0.888).margin(5e-4));
  REQUIRE(theory.occupancy() == Approx(0.714).margin(5e-4));
  REQUIRE(theory.mean_wait() == Approx(7.84).margin(5e-3));
  // About 50,000 calls per replication.
  const std::string yaml = R"yaml(
name: erlang-c
duration: 920000s
warmup: 20000s
groups:
  - name: agents
    model: server
    params: {workers: 14, service: "exponential(mean=180s)"
  }
  - name: callers
    model: client
    params: {target: agents, rate: 100/30min, timeout: 30d}
output: {window: 10000s}
)yaml";
  std::vector<double> p_wait, answered_20s_lo, answered_20s_hi, occupancy, mean_wait;
  for (int r = 0; r < kReplications; ++r) {
    const ScenarioSpec spec = load(yaml, 2000 + r);
    auto engine = build_engine(spec);
    engine->run();
    const auto& m = engine->metrics();
    const uint32_t agents = 0;
    auto& sym = engine->symbols();
    const Histogram& waits = m.observations().at({agents, sym.intern("queue_wait")});
    const double n = static_cast<double>(waits.count());
    p_wait.push_back(static_cast<double>(m.counters().at({agents, sym.intern("waited")})) / n);
    mean_wait.push_back(waits.mean() / 1e9);
    // P(W <= 20 s) lies between the mass of buckets wholly below 20 s and of those
    // starting below it: both bounds are tested, so bucketing adds no tolerance.
    const int64_t limit = 20'000'000'000;
    double below = 0, straddle = 0;
    waits.for_each_bucket([&](const Histogram::Bucket& b) {
      if (b.hi <= limit)
        below += static_cast<double>(b.count);
      else if (b.lo <= limit)
        straddle += static_cast<double>(b.count);
    });
    answered_20s_lo.push_back(below / n);
    answered_20s_hi.push_back((below + straddle) / n);
    const double util_integral = m.levels().at({agents, sym.intern("utilization")}).integral;
    occupancy.push_back(util_integral / m.measured_seconds());
  }
  check_agrees("P(wait)", p_wait, theory.p_wait());
  check_agrees("mean wait (s)", mean_wait, theory.mean_wait());
  check_agrees("occupancy", occupancy, theory.occupancy());
  const double hw_lo = ci_half_width(answered_20s_lo, kConfidence);
  const double hw_hi = ci_half_width(answered_20s_hi, kConfidence);
  INFO("answered within 20 s: between " << mean_of(answered_20s_lo) << " and "
                                        << mean_of(answered_20s_hi) << ", theory "
                                        << theory.wait_cdf(20));
  CHECK(mean_of(answered_20s_lo) - hw_lo <= theory.wait_cdf(20));
  CHECK(theory.wait_cdf(20) <= mean_of(answered_20s_hi) + hw_hi);
}

TEST_CASE("M/M/c/K: requests finding the system full are rejected at the Erlang rate") {
  const oracle::MMcK theory{2.0, 1.0, 2, 4};  // per ms: A = 2, c = 2, K = 4
  REQUIRE(theory.blocking() == Approx(2.0 / 9.0));
  const std::string yaml = R"yaml(
name: mmck
duration: 60s
warmup: 1s
groups:
  - name: station
    model: server
    params: {workers: 2, queue_capacity: 2, service: "exponential(mean=1ms)"
  }
  - name: arrivals
    model: client
    params: {target: station, rate: 2000/s, timeout: 1h}
output: {window: 10s}
)yaml";
  std::vector<double> blocked;
  for (int r = 0; r < kReplications; ++r) {
    const RunOutput out = run_scenario(load(yaml, 3000 + r));
    blocked.push_back(metric(out, "arrivals", "request", "rejected") /
                      metric(out, "arrivals", "request", "requests"));
  }
  check_agrees("blocking probability", blocked, theory.blocking());
}
