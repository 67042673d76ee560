// Random streams: the pcg32 generator, stream derivation, independence and the helpers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "sim/core/rng.h"

using namespace dsim;

namespace {

// Sample Pearson correlation of the uniform01() draws of two streams.
double correlation(Rng a, Rng b, int n) {
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (int i = 0; i < n; ++i) {
    const double x = a.uniform01(), y = b.uniform01();
    sa += x;
    sb += y;
    saa += x * x;
    sbb += y * y;
    sab += x * y;
  }
  const double m = n;
  const double cov = sab / m - (sa / m) * (sb / m);
  const double va = saa / m - (sa / m) * (sa / m);
  const double vb = sbb / m - (sb / m) * (sb / m);
  return cov / std::sqrt(va * vb);
}

// Pearson's chi-square statistic of observed counts against equal expected counts.
double chi_square_uniform(const std::vector<uint64_t>& counts, uint64_t total) {
  const double expected = static_cast<double>(total) / static_cast<double>(counts.size());
  double chi2 = 0;
  for (uint64_t c : counts) {
    const double d = static_cast<double>(c) - expected;
    chi2 += d * d / expected;
  }
  return chi2;
}

// Upper 0.999 critical values of the chi-square distribution (standard tables), by
// degrees of freedom: a correct generator exceeds them in 1 run in 1000 at most, and
// the seeds are fixed, so a failure means the distribution is wrong.
constexpr double kChi2Crit999Df2 = 13.816;
constexpr double kChi2Crit999Df6 = 22.458;
constexpr double kChi2Crit999Df15 = 37.697;

}  // namespace

TEST_CASE("rng: pcg32 matches the reference output of the PCG demo", "[rng]") {
  // pcg32-demo.c of the PCG reference implementation, seeded with (42, 54).
  pcg32 g(42u, 54u);
  const std::array<uint32_t, 6> expected = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                            0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (uint32_t e : expected)
    CHECK(g() == e);
}

TEST_CASE("rng: stable_hash is FNV-1a 64 and mix64 is splitmix64", "[rng]") {
  // Published FNV-1a 64-bit test vectors.
  static_assert(stable_hash("") == 0xcbf29ce484222325ULL);
  CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(stable_hash("foobar") == 0x85944171f73967e8ULL);
  // The first output of the reference splitmix64 seeded with 0.
  CHECK(mix64(0) == 0xe220a8397b1dcdafULL);
  CHECK(stream_id("node", 0) != stream_id("node", 1));
  CHECK(stream_id("node", 0) != stream_id("net", 0));
  CHECK(stream_id("node") == stream_id("node", 0));
}

TEST_CASE("rng: the derivation of a node stream is pinned", "[rng]") {
  // Regression guard: these values pin the stream derivation (root seed, stream id ->
  // pcg32 state and increment). They were computed once from this implementation; if they
  // change, every seeded run of every scenario changes, so change them only on purpose.
  Rng r(12345, stream_id("node", 0));
  const std::array<uint32_t, 6> pinned = {0x9934e514, 0x5a5992f7, 0xa740a0fd,
                                          0xe2682fde, 0x4dcdabab, 0x21e99280};
  for (uint32_t p : pinned)
    CHECK(r.next_u32() == p);
}

TEST_CASE("rng: same inputs give the same sequence, different inputs differ", "[rng]") {
  auto first = [](uint64_t seed, uint64_t stream) {
    Rng r(seed, stream);
    std::vector<uint64_t> out;
    for (int i = 0; i < 16; ++i)
      out.push_back(r.next_u64());
    return out;
  };
  const auto base = first(1, stream_id("node", 0));
  CHECK(base == first(1, stream_id("node", 0)));
  CHECK(base != first(1, stream_id("node", 1)));
  CHECK(base != first(1, stream_id("net", 0)));
  CHECK(base != first(2, stream_id("node", 0)));
  CHECK(first(0, 0) != first(0, 1));
  CHECK(first(0, 0) != first(1, 0));

  // No two of many neighbouring (seed, stream) pairs share their first output.
  std::vector<uint64_t> heads;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    for (uint64_t node = 0; node < 16; ++node)
      heads.push_back(Rng(seed, stream_id("node", node)).next_u64());
  }
  std::sort(heads.begin(), heads.end());
  CHECK(std::adjacent_find(heads.begin(), heads.end()) == heads.end());
}

TEST_CASE("rng: draws from one stream do not shift another", "[rng]") {
  // Two runs of the same seed; in the second, the consumer of stream a draws more.
  Rng a1(9, stream_id("node", 0)), b1(9, stream_id("node", 1));
  Rng a2(9, stream_id("node", 0)), b2(9, stream_id("node", 1));
  for (int i = 0; i < 50; ++i) {
    a1.next_u32();
    a2.next_u32();
    a2.next_u64();  // the extra draws
    CHECK(b1.next_u32() == b2.next_u32());
  }
  CHECK(a1.next_u32() != a2.next_u32());
}

TEST_CASE("rng: streams are uncorrelated", "[rng][statistics]") {
  // Under independence the sample correlation r of n pairs has mean 0 and standard
  // deviation 1/sqrt(n) (asymptotically normal), so |r| < 5/sqrt(n) fails with
  // probability below 1e-6 for independent streams.
  constexpr int n = 100'000;
  const double bound = 5.0 / std::sqrt(static_cast<double>(n));
  CHECK(std::abs(correlation(Rng(1, stream_id("node", 0)), Rng(1, stream_id("node", 1)), n)) <
        bound);
  CHECK(std::abs(correlation(Rng(1, stream_id("node", 0)), Rng(1, stream_id("net", 0)), n)) <
        bound);
  CHECK(std::abs(correlation(Rng(1, stream_id("node", 0)), Rng(2, stream_id("node", 0)), n)) <
        bound);
  CHECK(std::abs(correlation(Rng(0, 0), Rng(0, 1), n)) < bound);
  CHECK(std::abs(correlation(Rng(0, 0), Rng(1, 0), n)) < bound);
  // A stream against itself shifted by one draw (serial correlation).
  Rng lagged(3, stream_id("node", 5));
  lagged.uniform01();
  CHECK(std::abs(correlation(Rng(3, stream_id("node", 5)), lagged, n)) < bound);
  // Sanity check of the check: a stream against its own copy is perfectly correlated.
  CHECK(correlation(Rng(3, 3), Rng(3, 3), 1000) == Approx(1.0));
}

TEST_CASE("rng: below(n) is uniform and in range", "[rng][statistics]") {
  // Pearson's chi-square over k buckets with equal expected counts has k-1 degrees of
  // freedom; compare it with the 0.999 critical value.
  Rng rng(2024, stream_id("test-below", 0));
  {
    constexpr uint32_t k = 7;
    constexpr uint64_t n = 70'000;
    std::vector<uint64_t> counts(k, 0);
    uint64_t out_of_range = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint32_t x = rng.below(k);
      if (x < k) {
        ++counts[x];
      } else {
        ++out_of_range;
      }
    }
    CHECK(out_of_range == 0);
    CHECK(chi_square_uniform(counts, n) < kChi2Crit999Df6);
  }
  {
    // A large n that is not a power of two: 3 * 2^30. Modulo reduction would put twice
    // the mass on the first third; the thirds must be equally likely.
    constexpr uint32_t big = 3u << 30;
    constexpr uint64_t n = 60'000;
    std::vector<uint64_t> counts(3, 0);
    uint64_t out_of_range = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint32_t x = rng.below(big);
      if (x < big) {
        ++counts[x / (1u << 30)];
      } else {
        ++out_of_range;
      }
    }
    CHECK(out_of_range == 0);
    CHECK(chi_square_uniform(counts, n) < kChi2Crit999Df2);
  }
  {
    // 64-bit n: 3 * 2^62, thirds again.
    constexpr uint64_t big = uint64_t{3} << 62;
    constexpr uint64_t n = 60'000;
    std::vector<uint64_t> counts(3, 0);
    uint64_t out_of_range = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t x = rng.below64(big);
      if (x < big) {
        ++counts[x / (uint64_t{1} << 62)];
      } else {
        ++out_of_range;
      }
    }
    CHECK(out_of_range == 0);
    CHECK(chi_square_uniform(counts, n) < kChi2Crit999Df2);
  }
  {
    // below64 with a small n takes the 32-bit path: 16 buckets.
    constexpr uint64_t n = 64'000;
    std::vector<uint64_t> counts(16, 0);
    uint64_t out_of_range = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t x = rng.below64(16);
      if (x < 16) {
        ++counts[x];
      } else {
        ++out_of_range;
      }
    }
    CHECK(out_of_range == 0);
    CHECK(chi_square_uniform(counts, n) < kChi2Crit999Df15);
  }
  for (int i = 0; i < 100; ++i) {
    CHECK(rng.below(1) == 0);
    CHECK(rng.below64(1) == 0);
  }
}

TEST_CASE("rng: uniform01 lies in the half-open unit interval, uniform_open01 in the open one",
          "[rng][statistics]") {
  Rng rng(77, stream_id("test-uniform", 0));
  constexpr int n = 200'000;
  double sum = 0, sum_open = 0;
  double lo = 1, hi = 0;
  int outside = 0, outside_open = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform01();
    if (!(u >= 0.0 && u < 1.0)) ++outside;
    const double v = rng.uniform_open01();
    if (!(v > 0.0 && v < 1.0 && std::isfinite(std::log(v)))) ++outside_open;
    sum += u;
    sum_open += v;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  CHECK(outside == 0);
  CHECK(outside_open == 0);
  // Mean 1/2, standard deviation 1/sqrt(12): within 5 standard errors.
  const double se = 1.0 / std::sqrt(12.0 * n);
  CHECK(std::abs(sum / n - 0.5) < 5 * se);
  CHECK(std::abs(sum_open / n - 0.5) < 5 * se);
  // The extremes of n uniforms are within ~1/n of the ends: P(min > 20/n) = (1-20/n)^n < e^-20.
  CHECK(lo < 20.0 / n);
  CHECK(hi > 1 - 20.0 / n);
}

TEST_CASE("rng: bernoulli", "[rng][statistics]") {
  Rng rng(5, stream_id("test-bernoulli", 0));
  int wrong = 0;
  for (int i = 0; i < 10'000; ++i) {
    wrong += rng.bernoulli(0.0) ? 1 : 0;
    wrong += rng.bernoulli(1.0) ? 0 : 1;
    wrong += rng.bernoulli(-0.5) ? 1 : 0;
    wrong += rng.bernoulli(1.5) ? 0 : 1;
  }
  CHECK(wrong == 0);
  // The frequency of p = 0.3 within 5 standard errors sqrt(p(1-p)/n).
  constexpr int n = 100'000;
  int hits = 0;
  for (int i = 0; i < n; ++i)
    hits += rng.bernoulli(0.3) ? 1 : 0;
  CHECK(std::abs(static_cast<double>(hits) / n - 0.3) < 5 * std::sqrt(0.3 * 0.7 / n));
}
