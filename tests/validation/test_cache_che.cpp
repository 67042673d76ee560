// Hit ratios of the eviction policies against the theory of caches under the independent
// reference model (IRM): requests drawn independently with Zipf(alpha) popularity over a
// catalog of N unit-size objects, a cache of C objects.
//
//  - LRU against Che's approximation: T solves sum_i (1 - exp(-p_i T)) = C, and the hit
//    ratio is sum_i p_i (1 - exp(-p_i T)) (Che, Tung and Wang 2002; Fricker, Robert and
//    Roberts 2012 show it is very accurate for large catalogs).
//  - FIFO and Random against their exact hit ratio: under IRM both have the stationary law
//    P(cached set S) proportional to prod_{i in S} p_i (Gelenbe 1973), so the hit ratio is
//    sum_S prod_S p * sum_{i in S} p_i / e_C(p) = 1 - (C + 1) e_{C+1}(p) / e_C(p), with e_k
//    the elementary symmetric polynomials (sum_S prod_S p sum_S p = e_1 e_C - (C+1) e_{C+1}
//    and e_1 = 1). e_k is summed in long double over p scaled so e_C stays in range.
//  - FIFO and Random against their approximation: T solves sum_i p_i T / (1 + p_i T) = C,
//    and the hit ratio is sum_i p_i * p_i T / (1 + p_i T) (Martina, Garetto and Leonardi
//    2014), allowing for the approximation's own error, which the exact value measures.
//
// Each run warms up for 10 N requests, then measures 4 x 10^6 requests in 50 batches; the
// tolerance is 5 standard errors of the batch means.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

#include "models/cache/eviction/policy.h"
#include "sim/core/rng.h"

using namespace dsim;
using namespace dsim::cache;

namespace {

std::vector<double> zipf(double alpha, uint64_t n) {
  std::vector<double> p(n);
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i)
    sum += p[i] = std::pow(static_cast<double>(i + 1), -alpha);
  for (double& x : p)
    x /= sum;
  return p;
}

/// The T with occupancy(T) = c (occupancy increasing in T), by bisection.
double solve(const std::function<double(double)>& occupancy, double c) {
  double lo = 0, hi = 1;
  while (occupancy(hi) < c)
    hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (occupancy(mid) < c ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double che_lru(const std::vector<double>& p, double c) {
  const double t = solve(
      [&](double time) {
        double s = 0;
        for (double x : p)
          s += -std::expm1(-x * time);
        return s;
      },
      c);
  double h = 0;
  for (double x : p)
    h += x * -std::expm1(-x * t);
  return h;
}

double fifo_random(const std::vector<double>& p, double c) {
  const double t = solve(
      [&](double time) {
        double s = 0;
        for (double x : p)
          s += x * time / (1 + x * time);
        return s;
      },
      c);
  double h = 0;
  for (double x : p)
    h += x * x * t / (1 + x * t);
  return h;
}

/// FIFO's and Random's exact hit ratio, 1 - (C + 1) e_{C+1}(p) / e_C(p). The p are scaled
/// by s = (C + 1) N / (N - C), which puts e_{k+1} / e_k near 1 around k = C, and the ratio
/// scaled back (e_k(s p) = s^k e_k(p)).
double fifo_random_exact(const std::vector<double>& p, uint64_t c) {
  const auto n = static_cast<long double>(p.size());
  const long double scale = (c + 1) * n / (n - c);
  std::vector<long double> e(c + 2, 0.0L);
  e[0] = 1;
  for (double x : p) {
    const long double q = x * scale;
    for (uint64_t k = c + 1; k >= 1; --k)
      e[k] += q * e[k - 1];
  }
  return static_cast<double>(1 - (c + 1) * e[c + 1] / (scale * e[c]));
}

struct Measured {
  double hit_ratio;
  double std_error;
};

/// IRM requests from the inverse CDF of `p` through a cache of `kind` holding `c` objects.
Measured simulate(EvictionKind kind, const std::vector<double>& p, uint64_t c, uint64_t seed) {
  std::vector<double> cdf(p.size());
  double acc = 0;
  for (size_t i = 0; i < p.size(); ++i)
    cdf[i] = acc += p[i];
  cdf.back() = 1.0;
  EvictionOptions o;
  o.capacity_objects = c;
  o.seed = seed;
  auto policy = make_eviction(kind, o);
  Rng rng(seed, stream_id("irm_requests"));
  std::vector<ObjectKey> evicted;
  auto request = [&] {
    const double u = rng.uniform01();
    const auto key =
        static_cast<ObjectKey>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    if (policy->lookup(key)) return true;
    evicted.clear();
    policy->admit(key, 1, kNoExpiry, evicted);
    return false;
  };
  for (uint64_t i = 0; i < 10 * p.size(); ++i)
    request();
  constexpr int kBatches = 50;
  constexpr int kPerBatch = 80000;
  std::vector<double> ratios;
  for (int b = 0; b < kBatches; ++b) {
    int hits = 0;
    for (int i = 0; i < kPerBatch; ++i)
      hits += request() ? 1 : 0;
    ratios.push_back(static_cast<double>(hits) / kPerBatch);
  }
  double mean = 0;
  for (double r : ratios)
    mean += r / kBatches;
  double var = 0;
  for (double r : ratios)
    var += (r - mean) * (r - mean) / (kBatches - 1);
  return {mean, std::sqrt(var / kBatches)};
}

struct Case {
  double alpha;
  uint64_t n;
  uint64_t c;
};
constexpr Case kCases[] = {{0.8, 10000, 100}, {1.0, 10000, 1000}, {1.2, 1000, 50}};

/// Whether the measured hit ratio is within 5 standard errors (plus `allowance`) of theory.
void check(EvictionKind kind, double predicted, const Measured& m, double allowance) {
  INFO(eviction_name(kind) << ": measured " << m.hit_ratio << " +- " << m.std_error
                           << " (standard error), predicted " << predicted);
  CHECK(std::abs(m.hit_ratio - predicted) <= 5 * m.std_error + allowance);
}

}  // namespace

TEST_CASE("LRU under IRM Zipf requests matches Che's approximation") {
  for (const Case& k : kCases) {
    INFO("alpha " << k.alpha << " N " << k.n << " C " << k.c);
    const auto p = zipf(k.alpha, k.n);
    check(EvictionKind::kLru, che_lru(p, static_cast<double>(k.c)),
          simulate(EvictionKind::kLru, p, k.c, 1), 0);
  }
}

TEST_CASE("FIFO and Random under IRM Zipf requests match their exact hit ratio") {
  for (const Case& k : kCases) {
    INFO("alpha " << k.alpha << " N " << k.n << " C " << k.c);
    const auto p = zipf(k.alpha, k.n);
    const double exact = fifo_random_exact(p, k.c);
    const double approx = fifo_random(p, static_cast<double>(k.c));
    INFO("exact " << exact << ", approximation " << approx);
    const Measured fifo = simulate(EvictionKind::kFifo, p, k.c, 2);
    const Measured random = simulate(EvictionKind::kRandom, p, k.c, 3);
    check(EvictionKind::kFifo, exact, fifo, 0);
    check(EvictionKind::kRandom, exact, random, 0);
    // The approximation, allowing for its own error (0.0002, 0.00005, 0.0012 here).
    check(EvictionKind::kFifo, approx, fifo, std::abs(exact - approx));
    check(EvictionKind::kRandom, approx, random, std::abs(exact - approx));
  }
}
