// The analytic oracles against closed forms and against each other.
#include <catch2/catch.hpp>

#include <cmath>

#include "analysis/oracles/availability.h"
#include "analysis/oracles/queueing.h"

using namespace dsim::oracle;

TEST_CASE("oracle: one node is up mttf / (mttf + mttr) of the time") {
  const KofN one{1, 1, 1000, 10};
  CHECK(one.availability() == Approx(1000.0 / 1010.0).epsilon(1e-12));
  CHECK(one.mean_time_to_failure() == Approx(1000).epsilon(1e-12));
  CHECK(one.mean_outage() == Approx(10).epsilon(1e-12));
}

TEST_CASE("oracle: k-of-n with independent repair is the binomial sum") {
  const double mttf = 500, mttr = 20, a = mttf / (mttf + mttr);
  for (int n = 1; n <= 7; ++n) {
    for (int k = 1; k <= n; ++k) {
      double binom = 0;
      for (int up = k; up <= n; ++up) {
        binom += std::exp(std::lgamma(n + 1) - std::lgamma(up + 1) - std::lgamma(n - up + 1)) *
                 std::pow(a, up) * std::pow(1 - a, n - up);
      }
      INFO(k << " of " << n);
      CHECK(KofN{k, n, mttf, mttr}.availability() == Approx(binom).epsilon(1e-12));
      CHECK(k_of_n_independent(k, std::vector<double>(n, a)) == Approx(binom).epsilon(1e-12));
    }
  }
}

TEST_CASE("oracle: one repair crew, the machine-repairman closed form") {
  // pi_j proportional to n! / (n - j)! (mttr / mttf)^j.
  const int n = 3;
  const double mttf = 100, mttr = 10, r = mttr / mttf;
  const double w[] = {1, 3 * r, 6 * r * r, 6 * r * r * r};
  const double total = w[0] + w[1] + w[2] + w[3];
  const KofN s{2, n, mttf, mttr, 1};
  const Eigen::VectorXd pi = s.stationary();
  for (int j = 0; j <= n; ++j)
    CHECK(pi(j) == Approx(w[j] / total).epsilon(1e-12));
  CHECK(s.availability() == Approx((w[0] + w[1]) / total).epsilon(1e-12));
  // Fewer crews, less availability.
  CHECK(s.availability() < (KofN{2, n, mttf, mttr, 0}.availability()));
}

TEST_CASE("oracle: mean time to failure of a mirrored pair and of a series pair") {
  const double lambda = 1.0 / 1000, mu = 1.0 / 10;
  // 1-of-2 with independent repair: (3 lambda + mu) / (2 lambda^2).
  CHECK(KofN{1, 2, 1000, 10}.mean_time_to_failure() ==
        Approx((3 * lambda + mu) / (2 * lambda * lambda)).epsilon(1e-10));
  CHECK(KofN{2, 2, 1000, 10}.mean_time_to_failure() == Approx(500).epsilon(1e-12));
}

TEST_CASE("oracle: distinct nodes, CTMC over 2^n states = the product form") {
  const std::vector<NodeReliability> nodes = {{100, 1}, {200, 5}, {50, 2}, {1000, 30}, {80, 8}};
  std::vector<double> a;
  for (const auto& n : nodes)
    a.push_back(n.availability());
  for (int k = 1; k <= 5; ++k) {
    INFO(k << " of 5");
    CHECK(k_of_n_availability(k, nodes) == Approx(k_of_n_independent(k, a)).epsilon(1e-10));
  }
}

TEST_CASE("oracle: series and parallel composition") {
  CHECK(Block::series({Block::unit(0.99), Block::unit(0.9)}).availability() ==
        Approx(0.891).epsilon(1e-12));
  CHECK(Block::parallel({Block::unit(0.9), Block::unit(0.9)}).availability() ==
        Approx(0.99).epsilon(1e-12));
  CHECK(Block::k_of_n(2, {Block::unit(0.9), Block::unit(0.9), Block::unit(0.9)}).availability() ==
        Approx(0.972).epsilon(1e-12));
  // Two regions in parallel, each a load balancer in series with 2-of-3 replicas.
  const Block region =
      Block::series({Block::unit(0.999),
                     Block::k_of_n(2, {Block::unit(0.99), Block::unit(0.99), Block::unit(0.99)})});
  const double r = 0.999 * (3 * 0.99 * 0.99 * 0.01 + 0.99 * 0.99 * 0.99);
  CHECK(Block::parallel({region, region}).availability() ==
        Approx(1 - (1 - r) * (1 - r)).epsilon(1e-12));
  CHECK(nines(0.999) == Approx(3));
}

TEST_CASE("oracle: M/M/c sojourn time distribution") {
  // c = 1 is M/M/1: exponential with rate mu - lambda.
  const MMc one{0.9, 1.0, 1};
  const MM1 mm1{0.9, 1.0};
  for (double t : {0.5, 5.0, 20.0, 60.0})
    CHECK(one.sojourn_cdf(t) == Approx(mm1.sojourn_cdf(t)).epsilon(1e-9));
  CHECK(one.sojourn_quantile(0.99) == Approx(mm1.sojourn_quantile(0.99)).epsilon(1e-9));
  // The mean, integrated from the CDF.
  const MMc m{3.0, 1.0, 4};
  double mean = 0;
  const double h = 1e-3;
  for (double t = h / 2; t < 60; t += h)
    mean += (1 - m.sojourn_cdf(t)) * h;
  CHECK(mean == Approx(m.mean_sojourn()).epsilon(1e-6));
  // Quantiles invert the CDFs.
  CHECK(m.sojourn_cdf(m.sojourn_quantile(0.99)) == Approx(0.99).epsilon(1e-9));
  CHECK(m.wait_cdf(m.wait_quantile(0.99)) == Approx(0.99).epsilon(1e-9));
  CHECK(m.wait_quantile(0.1) == 0);  // most arrivals do not wait
  // A large M/M/c/K is M/M/c.
  const MMcK big{3.0, 1.0, 4, 400};
  CHECK(big.mean_sojourn() == Approx(m.mean_sojourn()).epsilon(1e-9));
  CHECK(big.utilization() == Approx(m.occupancy()).epsilon(1e-9));
}
