// SWIM's time to first detection against the analysis of its paper (Das, Gupta and
// Motivala, DSN 2002, section 3.1): with uniformly random targets, each of the n - 1 other
// members picks a crashed member in a protocol period with probability p = 1/(n - 1), so
// some member picks it in a period with probability 1 - (1 - p)^(n-1) -> 1 - 1/e, and the
// expected number of periods until one does is 1 / (1 - (1 - p)^(n-1)) -> e / (e - 1): in
// lockstep rounds, independent of n.
//
// dsim's members run their periods on their own timers, at random phases. Member j's
// first period starting after the crash starts u_j later, u_j uniform in [0, T); its k-th
// after that picks the crashed member with probability p; the probe fails, and the member
// suspects it at the end of that period. The first suspicion comes X + T after the crash,
// X the first such start over all members:
//   P(X > mT + r) = ((1 - p)^m (1 - p r / T))^(n-1),  0 <= r < T,
// whose integral gives
//   E[first suspicion] = T + T (1 - (1 - p)^n) / (p n (1 - (1 - p)^(n-1))),
// about 2T at n = 100 (the lockstep value is T/2 + T e/(e - 1), about 2.08 T: the same
// e/(e - 1) periods, from a phase). The test crashes a random member every 20 s for 10 s,
// 400 times, and requires dsim's mean first suspicion within 5 standard errors (from the
// sample's own spread) of that expectation; the same at n = 400, where the expectation
// is nearly the same, which is SWIM's claim of a detection time independent of the group's
// size.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "support/scenarios.h"

using namespace dsim;

namespace {

double expected_first_suspicion_s(double n, double period_s) {
  const double p = 1 / (n - 1);
  return period_s + period_s * (1 - std::pow(1 - p, n)) / (p * n * (1 - std::pow(1 - p, n - 1)));
}

struct Sample {
  double mean = 0, se = 0;
  size_t n = 0;
};

Sample first_suspicions(const std::string& csv) {
  std::vector<double> v;
  size_t line_start = 0;
  bool header = true;
  while (line_start < csv.size()) {
    const size_t end = csv.find('\n', line_start);
    const std::string line = csv.substr(line_start, end - line_start);
    line_start = end == std::string::npos ? csv.size() : end + 1;
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    // group,target,crashed_s,first_suspect_ms,...
    size_t a = 0;
    for (int i = 0; i < 3; ++i)
      a = line.find(',', a) + 1;
    const std::string cell = line.substr(a, line.find(',', a) - a);
    if (!cell.empty()) v.push_back(std::stod(cell) / 1e3);
  }
  Sample s;
  s.n = v.size();
  for (double x : v)
    s.mean += x;
  s.mean /= double(s.n);
  double var = 0;
  for (double x : v)
    var += (x - s.mean) * (x - s.mean);
  s.se = std::sqrt(var / double(s.n - 1) / double(s.n));
  return s;
}

}  // namespace

TEST_CASE("swim: the first suspicion of a crashed member comes as SWIM's analysis expects") {
  for (int n : {100, 400}) {
    const auto out = testing::run_text(R"(
name: swim-first-detection
description: a random member crashes every 20 s for 10 s; members probe uniformly random targets
seed: )" + std::to_string(7 + n) + R"(
duration: 8000s
network: {latency: 1ms}
output: {links: false}
groups:
  - name: members
    model: swim
    count: )" + std::to_string(n) + R"(
    params: {period: 1s, ping_timeout: 200ms, targets: random}
faults:
  - {at: 5s, crash: members.random, every: 20s, restart_after: 10s}
)");
    const Sample s = first_suspicions(testing::run_file(out, "detections.csv"));
    const double expect = expected_first_suspicion_s(n, 1.0);
    INFO("n = " << n << ": " << s.n << " crashes, first suspicion " << s.mean << " s (se " << s.se
                << "), expected " << expect << " s");
    CHECK(s.n >= 399);
    CHECK(std::abs(s.mean - expect) < 5 * s.se);
  }
}
