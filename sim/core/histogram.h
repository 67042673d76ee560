// A log-linear histogram of non-negative integers (latencies in nanoseconds), in the
// manner of HdrHistogram: values below 2^bits are counted exactly; above, each power of
// two is cut into 2^(bits-1) equal buckets, so a bucket's width is at most 1/2^(bits-1)
// of its lower bound. A percentile is reported as the midpoint of its bucket (clamped to
// the exact minimum and maximum), so its relative error is at most 1/2^bits: 0.39% at
// the default 8 bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dsim {

class Histogram {
 public:
  explicit Histogram(int precision_bits = 8);

  void record(int64_t value, uint64_t times = 1);
  void merge(const Histogram& other);  ///< other must have the same precision

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  /// The value at quantile q in [0, 1]: the bucket holding the ceil(q * count)-th value.
  int64_t percentile(double q) const;
  int precision_bits() const { return bits_; }
  /// Upper bound of |reported - true| / true for a percentile.
  static double max_relative_error(int precision_bits) { return 1.0 / (1 << precision_bits); }

  struct Bucket {
    int64_t lo;  ///< smallest value in the bucket
    int64_t hi;  ///< largest value in the bucket
    uint64_t count;
  };
  /// Calls f(Bucket) for every non-empty bucket, in ascending order.
  template <class F>
  void for_each_bucket(F&& f) const {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] != 0) f(Bucket{bucket_lo(i), bucket_hi(i), counts_[i]});
    }
  }

 private:
  size_t index_of(int64_t v) const;
  int64_t bucket_lo(size_t i) const;
  int64_t bucket_hi(size_t i) const;

  int bits_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ = 0, max_ = 0;
  double sum_ = 0;
};

}  // namespace dsim
