// t-visibility of the quorum store against an independent Monte Carlo of PBS's WARS model
// (Bailis et al., "Probabilistically Bounded Staleness for Practical Partial Quorums",
// VLDB 2012):
//   - a coordinator sends a write to all N replicas; the leg to replica i takes W_i, its
//     acknowledgement A_i; the write commits when the coordinator holds W acknowledgements,
//     at the W-th smallest W_i + A_i;
//   - a read starts t after the commit and is sent to all N replicas: the request to
//     replica i takes R_i, the response S_i; the first R responses answer it;
//   - the read sees the write when one of those R replicas had received the write before
//     the read request reached it: W_i < commit + t + R_i.
// Every leg is an independent draw of its kind's distribution. dsim runs the same set-up
// end to end: a quorum group with one coordinator that holds no data (`coordinators: 1`),
// each leg a message kind with its own `network.message_delay`, a client with zero latency
// to the coordinator (so its acknowledgement time is the commit time) and visibility probes
// exactly t after each acknowledgement. Each probe time's share of probes that saw their
// write is compared with the Monte Carlo's at that t by a two-proportion z-test: the
// difference must stay within 5 standard errors of the two samples' sizes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sim/run/runner.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

double metric(const RunOutput& out, const std::string& group, const std::string& name) {
  for (const auto& r : out.summary) {
    if (r.group == group && r.op.empty() && r.metric == name) return r.value;
  }
  FAIL("no metric " << group << "/" << name);
  return NAN;
}

// A leg's delay in ms: the same law as the scenario's distribution text.
struct Leg {
  std::string yaml;
  std::function<double(std::mt19937_64&)> draw;
};

double uniform_open01(std::mt19937_64& g) {
  return (static_cast<double>(g() >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
}

Leg exponential_ms(double mean) {
  return {"exponential(mean=" + std::to_string(mean) + "ms)",
          [mean](std::mt19937_64& g) { return -mean * std::log(uniform_open01(g)); }};
}

Leg pareto_ms(double xm, double alpha) {
  return {"pareto(xm=" + std::to_string(xm) + "ms, alpha=" + std::to_string(alpha) + ")",
          [xm, alpha](std::mt19937_64& g) { return xm * std::pow(uniform_open01(g), -1 / alpha); }};
}

struct Wars {
  int n = 3, r = 1, w = 1;
  Leg write, ack, read, response;
  std::vector<double> t_ms;  // probe times
};

// The WARS definition, drawn directly: the share of reads started t after the commit that
// see the write, for each t (each read with its own R and S legs).
std::vector<double> monte_carlo(const Wars& m, int trials, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<double> seen(m.t_ms.size(), 0);
  std::vector<double> wl(m.n), done(m.n);
  std::vector<std::pair<double, bool>> replies(m.n);
  for (int k = 0; k < trials; ++k) {
    for (int i = 0; i < m.n; ++i) {
      wl[i] = m.write.draw(g);
      done[i] = wl[i] + m.ack.draw(g);
    }
    std::nth_element(done.begin(), done.begin() + (m.w - 1), done.end());
    const double commit = done[m.w - 1];
    for (size_t j = 0; j < m.t_ms.size(); ++j) {
      const double start = commit + m.t_ms[j];
      for (int i = 0; i < m.n; ++i) {
        const double arrives = start + m.read.draw(g);
        replies[i] = {arrives + m.response.draw(g), wl[i] < arrives};
      }
      std::sort(replies.begin(), replies.end());
      const bool fresh = std::any_of(replies.begin(), replies.begin() + m.r,
                                     [](const auto& x) { return x.second; });
      if (fresh) seen[j] += 1;
    }
  }
  for (double& s : seen)
    s /= trials;
  return seen;
}

std::string ms_text(double t) {
  return std::to_string(static_cast<int64_t>(std::llround(t * 1000))) + "us";
}

std::string scenario(const Wars& m, int coordinators) {
  std::string probes;
  for (double t : m.t_ms)
    probes += (probes.empty() ? "" : ", ") + ms_text(t);
  const int count = m.n + coordinators;
  return "name: wars\nduration: 21s\nwarmup: 1s\n"
         "network:\n  latency: 0s\n  message_delay:\n"
         "    quorum_write: " +
         m.write.yaml + "\n    quorum_write_ack: " + m.ack.yaml +
         "\n    quorum_read: " + m.read.yaml + "\n    quorum_read_reply: " + m.response.yaml +
         "\ngroups:\n  - name: store\n    model: quorum\n    count: " + std::to_string(count) +
         "\n    params: {n: " + std::to_string(m.n) + ", w: " + std::to_string(m.w) +
         ", r: " + std::to_string(m.r) + ", coordinators: " + std::to_string(coordinators) +
         ", versioning: lww, sloppy_quorum: false, read_repair: none, write_fanout: all, "
         "read_fanout: all, replica_timeout: 60s}\n"
         "  - name: clients\n    model: kv_client\n"
         "    params: {target: store, target_policy: fixed, target_node: " +
         std::to_string(count - 1) +
         ", arrival: fixed, rate: 500/s, mix: {put: 1}, keys: sequential(100000000), "
         "timeout: 60s, visibility_probes: [" +
         probes +
         "]}\n"
         "consistency: {linearizability: false, history_csv: false}\n";
}

struct Measured {
  std::vector<double> p;
  std::vector<double> pairs;
};

Measured run_dsim(const Wars& m, int coordinators, uint64_t seed) {
  Diagnostics diag;
  LoadOptions opts;
  opts.seed = seed;
  const std::string yaml = scenario(m, coordinators);
  auto spec = load_scenario_text(yaml, "wars.yaml", opts, testing::builtin_registry(), diag);
  INFO(yaml << diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  Measured got;
  for (double t : m.t_ms) {
    const std::string at = "_at_" + ms_text(t);
    // probe_label writes whole milliseconds as ms.
    const std::string label =
        std::llround(t * 1000) % 1000 == 0 ? "_at_" + std::to_string(std::llround(t)) + "ms" : at;
    got.pairs.push_back(metric(out, "clients", "visibility_pairs" + label));
    got.p.push_back(metric(out, "clients", "p_visible" + label));
    const double lo = metric(out, "clients", "p_visible_ci_lo" + label);
    const double hi = metric(out, "clients", "p_visible_ci_hi" + label);
    CHECK(lo <= got.p.back());
    CHECK(got.p.back() <= hi);
    // Wilson's 95% score interval: the roots in p of (p_hat - p)^2 = z^2 p (1 - p) / n.
    const double n = got.pairs.back(), ph = got.p.back(), z = 1.959963984540054;
    const double a2 = 1 + z * z / n, b2 = -(2 * ph + z * z / n), c2 = ph * ph;
    const double root = std::sqrt(std::max(0.0, b2 * b2 - 4 * a2 * c2));
    CHECK(lo == Approx((-b2 - root) / (2 * a2)).margin(1e-9));
    CHECK(hi == Approx((-b2 + root) / (2 * a2)).margin(1e-9));
  }
  return got;
}

// |p1 - p2| in standard errors of the difference (pooled), 0 when both are certain.
double z_of(double p1, double n1, double p2, double n2) {
  const double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se == 0) return p1 == p2 ? 0 : INFINITY;
  return std::abs(p1 - p2) / se;
}

constexpr int kTrials = 200000;

void compare(const Wars& m, uint64_t seed) {
  const std::vector<double> mc = monte_carlo(m, kTrials, seed);
  const Measured sim = run_dsim(m, 1, seed);
  for (size_t j = 0; j < m.t_ms.size(); ++j) {
    INFO("N=" << m.n << " R=" << m.r << " W=" << m.w << " W leg " << m.write.yaml
              << ", t = " << m.t_ms[j] << " ms: dsim " << sim.p[j] << " over " << sim.pairs[j]
              << " probes, Monte Carlo " << mc[j] << " over " << kTrials << " trials");
    REQUIRE(sim.pairs[j] > 9000);
    CHECK(z_of(sim.p[j], sim.pairs[j], mc[j], kTrials) < 5);
  }
}

}  // namespace

TEST_CASE("t-visibility with a data-less coordinator matches the WARS model (exponential legs)") {
  Wars m;
  m.write = exponential_ms(2);
  m.ack = exponential_ms(0.5);
  m.read = exponential_ms(1);
  m.response = exponential_ms(0.5);
  m.t_ms = {0, 0.5, 2, 5};
  SECTION("N=3 R=1 W=1") {
    compare(m, 1);
  }
  SECTION("N=5 R=2 W=2") {
    m.n = 5;
    m.r = 2;
    m.w = 2;
    compare(m, 2);
  }
  SECTION("N=3 R=2 W=2: with W + R > N every read sees the write") {
    // The first R responders include one of the W replicas that acknowledged, and each of
    // those held the write before the commit.
    m.r = 2;
    m.w = 2;
    const Measured sim = run_dsim(m, 1, 6);
    for (double p : sim.p)
      CHECK(p == 1.0);
    for (double p : monte_carlo(m, kTrials, 6))
      CHECK(p == 1.0);
  }
}

TEST_CASE(
    "t-visibility with a data-less coordinator matches the WARS model (heavy-tailed writes)") {
  // Pareto write legs (xm 0.5 ms, alpha 2: infinite variance) against short exponential
  // acknowledgements, reads and responses.
  Wars m;
  m.write = pareto_ms(0.5, 2);
  m.ack = exponential_ms(0.2);
  m.read = exponential_ms(0.3);
  m.response = exponential_ms(0.3);
  m.t_ms = {0, 1, 3, 10};
  SECTION("N=3 R=1 W=2") {
    m.w = 2;
    compare(m, 3);
  }
  SECTION("N=3 R=1 W=1") {
    compare(m, 4);
  }
}

TEST_CASE("a coordinating replica's instant local legs are not the WARS model") {
  // The contrast that makes the test above able to fail: with every node a replica, the
  // coordinator counts its own copy at once, so with W = R = 1 the write commits with no
  // delay and a read through the same coordinator answers from its own copy: every probe
  // sees the write, where WARS gives well under 1.
  Wars m;
  m.write = exponential_ms(2);
  m.ack = exponential_ms(0.5);
  m.read = exponential_ms(1);
  m.response = exponential_ms(0.5);
  m.t_ms = {0, 0.5};
  const std::vector<double> mc = monte_carlo(m, kTrials, 5);
  const Measured sim = run_dsim(m, 0, 5);
  for (size_t j = 0; j < m.t_ms.size(); ++j) {
    INFO("t = " << m.t_ms[j] << " ms: dsim " << sim.p[j] << ", Monte Carlo " << mc[j]);
    CHECK(sim.p[j] == 1.0);
    CHECK(mc[j] < 0.9);
    CHECK(z_of(sim.p[j], sim.pairs[j], mc[j], kTrials) > 5);
  }
}
