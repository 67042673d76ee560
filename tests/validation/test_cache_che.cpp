// Hit ratios of the eviction policies against the theory of caches under the independent
// reference model (IRM): requests drawn independently with Zipf(alpha) popularity over a
// catalog of N unit-size objects, a cache of C objects.
//
//  - LRU against Che's approximation: T solves sum_i (1 - exp(-p_i T)) = C, and the hit
//    ratio is sum_i p_i (1 - exp(-p_i T)) (Che, Tung and Wang 2002; Fricker, Robert and
//    Roberts 2012 show it is very accurate for large catalogs).
//  - FIFO and Random against their analogue: T solves sum_i p_i T / (1 + p_i T) = C, and
//    the hit ratio is sum_i p_i * p_i T / (1 + p_i T) (FIFO and Random have the same
//    stationary law under IRM, Gelenbe 1973; the formula is Martina, Garetto and Leonardi
//    2014's approximation of it).
//
// Each run warms up for 10 N requests, then measures 10^6 requests in 50 batches; the
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
  constexpr int kPerBatch = 20000;
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

void check(EvictionKind kind, double predicted, const Measured& m) {
  INFO(eviction_name(kind) << ": measured " << m.hit_ratio << " +- " << m.std_error
                           << " (standard error), predicted " << predicted);
  CHECK(std::abs(m.hit_ratio - predicted) <= 5 * m.std_error);
}

}  // namespace

TEST_CASE("LRU under IRM Zipf requests matches Che's approximation") {
  for (const Case& k : kCases) {
    INFO("alpha " << k.alpha << " N " << k.n << " C " << k.c);
    const auto p = zipf(k.alpha, k.n);
    check(EvictionKind::kLru, che_lru(p, static_cast<double>(k.c)),
          simulate(EvictionKind::kLru, p, k.c, 1));
  }
}

TEST_CASE("FIFO and Random under IRM Zipf requests match their approximation") {
  for (const Case& k : kCases) {
    INFO("alpha " << k.alpha << " N " << k.n << " C " << k.c);
    const auto p = zipf(k.alpha, k.n);
    const double predicted = fifo_random(p, static_cast<double>(k.c));
    check(EvictionKind::kFifo, predicted, simulate(EvictionKind::kFifo, p, k.c, 2));
    check(EvictionKind::kRandom, predicted, simulate(EvictionKind::kRandom, p, k.c, 3));
  }
}
