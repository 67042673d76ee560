// The log-linear histogram: exact small values, bucket bounds, percentile error, merge.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/core/histogram.h"
#include "sim/core/rng.h"

using namespace dsim;

namespace {

std::vector<Histogram::Bucket> buckets(const Histogram& h) {
  std::vector<Histogram::Bucket> out;
  h.for_each_bucket([&](const Histogram::Bucket& b) { out.push_back(b); });
  return out;
}

bool same_buckets(const Histogram& a, const Histogram& b) {
  const auto x = buckets(a), y = buckets(b);
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].lo != y[i].lo || x[i].hi != y[i].hi || x[i].count != y[i].count) return false;
  }
  return true;
}

// Values spread log-uniformly over [1, 10^12): many orders of magnitude.
std::vector<int64_t> log_uniform_values(uint64_t seed, int n) {
  Rng rng(seed, stream_id("test-histogram", seed));
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i)
    out.push_back(static_cast<int64_t>(std::exp(rng.uniform01() * std::log(1e12))));
  return out;
}

// The exact value at quantile q of sorted values, by the documented rank rule: the
// ceil(q * n)-th smallest value (at least the first).
int64_t exact_percentile(const std::vector<int64_t>& sorted, double q) {
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

TEST_CASE("histogram: an empty histogram", "[histogram]") {
  const Histogram h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0);
  CHECK(h.percentile(0.5) == 0);
  CHECK(h.precision_bits() == 8);
  CHECK(buckets(h).empty());
}

TEST_CASE("histogram: values below 2^bits are exact", "[histogram]") {
  for (int bits : {5, 8}) {
    INFO("bits = " << bits);
    const int64_t exact = int64_t{1} << bits;
    Histogram h(bits);
    for (int64_t v = 0; v < exact; ++v)
      h.record(v, static_cast<uint64_t>(v) + 1);  // value v recorded v+1 times
    const auto bs = buckets(h);
    REQUIRE(bs.size() == static_cast<size_t>(exact));
    for (int64_t v = 0; v < exact; ++v) {
      const auto& b = bs[static_cast<size_t>(v)];
      CHECK(b.lo == v);
      CHECK(b.hi == v);
      CHECK(b.count == static_cast<uint64_t>(v) + 1);
    }
    // Every percentile is an exact recorded value.
    for (int64_t v = 0; v < exact; ++v) {
      Histogram one(bits);
      one.record(v);
      CHECK(one.percentile(0.5) == v);
    }
  }
}

TEST_CASE("histogram: every value lies within its bucket", "[histogram]") {
  // All values go into one histogram; the buckets must be disjoint and ascending, and each
  // bucket's count must equal the number of values inside [lo, hi]: then every value was
  // counted in the bucket that contains it.
  for (int bits : {2, 5, 8, 12}) {
    INFO("bits = " << bits);
    const double width_bound = 1.0 / static_cast<double>(int64_t{1} << (bits - 1));
    std::vector<int64_t> values = {0,
                                   1,
                                   2,
                                   3,
                                   255,
                                   256,
                                   257,
                                   511,
                                   512,
                                   513,
                                   1000,
                                   1023,
                                   1024,
                                   999'999,
                                   1'000'000,
                                   std::numeric_limits<int64_t>::max(),
                                   std::numeric_limits<int64_t>::max() - 1,
                                   int64_t{1} << 62,
                                   (int64_t{1} << 62) - 1};
    for (int e = 0; e < 63; ++e) {
      values.push_back(int64_t{1} << e);
      values.push_back((int64_t{1} << e) - 1);
      values.push_back((int64_t{1} << e) + 1);
    }
    for (int64_t v : log_uniform_values(static_cast<uint64_t>(bits), 5000))
      values.push_back(v);
    Histogram h(bits);
    for (int64_t v : values)
      h.record(v);
    std::sort(values.begin(), values.end());
    int64_t prev_hi = -1;
    uint64_t total = 0;
    for (const auto& b : buckets(h)) {
      INFO("bucket [" << b.lo << ", " << b.hi << "]");
      CHECK(b.lo > prev_hi);
      CHECK(b.lo <= b.hi);
      const auto inside = std::upper_bound(values.begin(), values.end(), b.hi) -
                          std::lower_bound(values.begin(), values.end(), b.lo);
      CHECK(b.count == static_cast<uint64_t>(inside));
      // A bucket's width is at most 1/2^(bits-1) of its lower bound (1 when exact).
      const double width = static_cast<double>(b.hi - b.lo) + 1;
      if (b.lo >= (int64_t{1} << bits)) {
        CHECK(width <= width_bound * static_cast<double>(b.lo));
      } else {
        CHECK(width == 1);
      }
      prev_hi = b.hi;
      total += b.count;
    }
    CHECK(total == values.size());
  }
}

TEST_CASE("histogram: buckets tile the values in ascending order", "[histogram]") {
  Histogram h(5);
  for (int64_t v = 0; v < 5000; ++v)
    h.record(v);
  const auto bs = buckets(h);
  int64_t next = 0;
  uint64_t total = 0;
  for (const auto& b : bs) {
    CHECK(b.lo == next);  // no gaps, no overlaps
    CHECK(b.hi >= b.lo);
    CHECK(b.count == static_cast<uint64_t>(std::min<int64_t>(b.hi, 4999) - b.lo + 1));
    next = b.hi + 1;
    total += b.count;
  }
  CHECK(total == 5000);
  CHECK(next > 4999);
}

TEST_CASE("histogram: percentile error is bounded", "[histogram]") {
  for (int bits : {8, 5}) {
    INFO("bits = " << bits);
    const double bound = Histogram::max_relative_error(bits);
    CHECK(bound == 1.0 / static_cast<double>(1 << bits));
    Histogram h(bits);
    auto values = log_uniform_values(100 + static_cast<uint64_t>(bits), 100'000);
    for (int64_t v : values)
      h.record(v);
    std::sort(values.begin(), values.end());
    std::vector<double> qs = {0, 1e-5, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};
    for (int i = 1; i < 1000; ++i)
      qs.push_back(i / 1000.0);
    for (double q : qs) {
      const int64_t truth = exact_percentile(values, q);
      const int64_t got = h.percentile(q);
      INFO("q = " << q << ": true " << truth << ", reported " << got);
      CHECK(std::abs(static_cast<double>(got - truth)) <= bound * static_cast<double>(truth));
    }
    // The extremes: within the bound of the exact minimum and maximum, never outside them.
    CHECK(h.percentile(0) >= h.min());
    CHECK(std::abs(static_cast<double>(h.percentile(0) - values.front())) <=
          bound * static_cast<double>(values.front()));
    CHECK(h.percentile(1) <= h.max());
    CHECK(std::abs(static_cast<double>(h.percentile(1) - values.back())) <=
          bound * static_cast<double>(values.back()));
    // Out-of-range q is clamped.
    CHECK(h.percentile(-1) == h.percentile(0));
    CHECK(h.percentile(2) == h.percentile(1));
  }
}

TEST_CASE("histogram: min, max and mean are exact", "[histogram]") {
  Histogram h;
  const auto values = log_uniform_values(7, 10'000);
  double sum = 0;
  for (int64_t v : values) {
    h.record(v);
    sum += static_cast<double>(v);
  }
  CHECK(h.count() == values.size());
  CHECK(h.min() == *std::min_element(values.begin(), values.end()));
  CHECK(h.max() == *std::max_element(values.begin(), values.end()));
  CHECK(h.mean() == Approx(sum / static_cast<double>(values.size())).epsilon(1e-12));

  Histogram w;
  w.record(10, 3);
  w.record(1'000'003);
  w.record(5, 0);  // zero times records nothing
  CHECK(w.count() == 4);
  CHECK(w.min() == 10);
  CHECK(w.max() == 1'000'003);
  CHECK(w.mean() == Approx((30.0 + 1'000'003.0) / 4));
  CHECK(w.percentile(0.75) == 10);  // the 3rd of 4 values
  // A single large value: every percentile is that value (clamped to min and max).
  Histogram one;
  one.record(123'456'789);
  CHECK(one.percentile(0) == 123'456'789);
  CHECK(one.percentile(0.5) == 123'456'789);
  CHECK(one.percentile(1) == 123'456'789);
}

TEST_CASE("histogram: merge equals recording both", "[histogram]") {
  for (int bits : {5, 8}) {
    INFO("bits = " << bits);
    const auto a_values = log_uniform_values(200, 20'000);
    const auto b_values = log_uniform_values(201, 5'000);
    Histogram a(bits), b(bits), both(bits);
    for (int64_t v : a_values) {
      a.record(v);
      both.record(v);
    }
    for (int64_t v : b_values) {
      b.record(v, 1 + static_cast<uint64_t>(v % 3));
      both.record(v, 1 + static_cast<uint64_t>(v % 3));
    }
    Histogram merged = a;
    merged.merge(b);
    CHECK(same_buckets(merged, both));
    CHECK(merged.count() == both.count());
    CHECK(merged.min() == both.min());
    CHECK(merged.max() == both.max());
    CHECK(merged.mean() == Approx(both.mean()).epsilon(1e-12));
    for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0})
      CHECK(merged.percentile(q) == both.percentile(q));

    // Merging into an empty histogram copies; merging an empty one changes nothing.
    Histogram empty(bits);
    empty.merge(b);
    CHECK(same_buckets(empty, b));
    CHECK(empty.min() == b.min());
    CHECK(empty.max() == b.max());
    Histogram copy = a;
    copy.merge(Histogram(bits));
    CHECK(same_buckets(copy, a));
    CHECK(copy.count() == a.count());
    CHECK(copy.min() == a.min());
  }
  // Merge keeps the smaller minimum and larger maximum from either side.
  Histogram lo, hi;
  lo.record(5);
  hi.record(1'000'000);
  hi.merge(lo);
  CHECK(hi.min() == 5);
  CHECK(hi.max() == 1'000'000);
}
