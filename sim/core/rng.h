// Seeded random streams. Every consumer (a node's model, the network of a node, the
// nemesis, ...) owns its own pcg32 stream derived from the run's root seed and a stable
// stream id, so adding a draw in one consumer never shifts the draws of another.
#pragma once

#include <cstdint>
#include <string_view>

#include <pcg_random.hpp>

namespace dsim {

/// FNV-1a, 64 bit: stable across platforms and runs (unlike std::hash).
constexpr uint64_t stable_hash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// splitmix64's finalizer: a bijective mix of 64 bits.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The id of a stream: a domain name ("node", "net", "nemesis") and an index in it.
constexpr uint64_t stream_id(std::string_view domain, uint64_t index = 0) {
  return mix64(stable_hash(domain) ^ mix64(index));
}

class Rng {
 public:
  /// A stream of the run seeded with `root_seed`, selected by `stream` (see stream_id()).
  Rng(uint64_t root_seed, uint64_t stream)
      : gen_(mix64(root_seed ^ mix64(stream)), mix64(stream ^ 0x5851f42d4c957f2dULL)) {}

  uint32_t next_u32() { return gen_(); }
  uint64_t next_u64() {
    const uint64_t hi = gen_();
    return (hi << 32) | gen_();
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform in (0, 1): safe to take the logarithm of.
  double uniform_open01() { return (static_cast<double>(next_u64() >> 12) + 0.5) * 0x1.0p-52; }
  /// Uniform integer in [0, n), unbiased (Lemire's method); n must be > 0.
  uint32_t below(uint32_t n) {
    uint64_t m = static_cast<uint64_t>(gen_()) * n;
    auto low = static_cast<uint32_t>(m);
    if (low < n) {
      const uint32_t threshold = static_cast<uint32_t>(-n) % n;
      while (low < threshold) {
        m = static_cast<uint64_t>(gen_()) * n;
        low = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }
  /// Uniform integer in [0, n) for 64-bit n > 0 (rejection on the top range).
  uint64_t below64(uint64_t n) {
    if (n <= 0xffffffffULL) return below(static_cast<uint32_t>(n));
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x = next_u64();
    while (x >= limit)
      x = next_u64();
    return x % n;
  }
  bool bernoulli(double p) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return uniform01() < p;
  }

 private:
  pcg32 gen_;
};

}  // namespace dsim
