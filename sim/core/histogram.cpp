#include "sim/core/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "sim/core/assert.h"

namespace dsim {

Histogram::Histogram(int precision_bits) : bits_(precision_bits) {
  DSIM_ASSERT(precision_bits >= 2 && precision_bits <= 16);
}

size_t Histogram::index_of(int64_t v) const {
  const auto u = static_cast<uint64_t>(v);
  const uint64_t exact = uint64_t{1} << bits_;
  if (u < exact) return static_cast<size_t>(u);
  const uint64_t half = exact >> 1;
  const int shift = (63 - std::countl_zero(u)) - (bits_ - 1);
  return static_cast<size_t>(exact + static_cast<uint64_t>(shift - 1) * half +
                             ((u >> shift) - half));
}

int64_t Histogram::bucket_lo(size_t i) const {
  const uint64_t exact = uint64_t{1} << bits_;
  if (i < exact) return static_cast<int64_t>(i);
  const uint64_t half = exact >> 1;
  const uint64_t shift = (i - exact) / half + 1;
  const uint64_t sub = (i - exact) % half + half;
  return static_cast<int64_t>(sub << shift);
}

int64_t Histogram::bucket_hi(size_t i) const {
  const uint64_t exact = uint64_t{1} << bits_;
  if (i < exact) return static_cast<int64_t>(i);
  const uint64_t half = exact >> 1;
  const uint64_t shift = (i - exact) / half + 1;
  return bucket_lo(i) + static_cast<int64_t>((uint64_t{1} << shift) - 1);
}

void Histogram::record(int64_t value, uint64_t times) {
  if (times == 0) return;
  if (value < 0) value = 0;
  const size_t i = index_of(value);
  if (i >= counts_.size()) counts_.resize(i + 1, 0);
  counts_[i] += times;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += times;
  sum_ += static_cast<double>(value) * static_cast<double>(times);
}

void Histogram::merge(const Histogram& other) {
  DSIM_ASSERT(other.bits_ == bits_);
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

int64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t lo = bucket_lo(i), hi = bucket_hi(i);
      const int64_t mid = lo + (hi - lo + 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace dsim
