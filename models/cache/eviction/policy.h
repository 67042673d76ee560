// Eviction policies: which objects a cache of bounded size keeps. One interface for every
// policy the cache model and `dsim cache replay` offer, so a policy is chosen by name and
// measured the same way everywhere. A policy keeps keys and sizes only (the cache model
// keeps the values, expiry times and versions); it never sees time except as the expiry a
// TTL-ordered policy sorts by.
//
// A request is lookup(key): a hit updates the policy's bookkeeping (recency, frequency,
// reference bits) and returns true. After a miss the cache fetches the object and offers
// it with admit(): the policy evicts what it must to make room (reporting each evicted key,
// so the cache drops its value) and says whether the object is now cached. remove() takes
// an object out for reasons of the cache's own (invalidation, expiry). Every policy is
// deterministic: the same calls in the same order give the same answers (random eviction
// draws from a seeded stream).
//
// Capacity is in bytes, in objects, or both (whichever binds first); an object larger
// than the byte capacity is never admitted. Each policy's exact variant is documented in
// docs/models/cache-eviction.md, since simulators differ on exactly these points.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace dsim::cache {

using ObjectKey = uint64_t;

/// "Never expires", for admit()'s expires_at.
constexpr uint64_t kNoExpiry = UINT64_MAX;

enum class EvictionKind : uint8_t {
  kLru,       ///< least recently used
  kLfu,       ///< least frequently used (in-cache counts), optionally with aging
  kFifo,      ///< first in, first out (hits do not reorder)
  kRandom,    ///< a uniformly random cached object
  kTtl,       ///< the object that expires soonest (Redis's volatile-ttl)
  kClock,     ///< CLOCK (second chance), with k-bit reference counters
  kArc,       ///< ARC (Megiddo and Modha 2003)
  kTwoQ,      ///< 2Q, the full version (Johnson and Shasha 1994)
  kWTinyLfu,  ///< W-TinyLFU (Einziger, Friedman and Manes 2017)
  kS3Fifo,    ///< S3-FIFO (Yang et al. 2023)
};

/// Every policy with its name in scenarios and on the command line, in declaration order.
std::span<const std::pair<std::string_view, EvictionKind>> eviction_names();
std::string_view eviction_name(EvictionKind kind);
std::optional<EvictionKind> eviction_from_name(std::string_view name);

struct EvictionOptions {
  uint64_t capacity_bytes = 0;    ///< 0: no limit in bytes
  uint64_t capacity_objects = 0;  ///< 0: no limit in objects (one of the two must be > 0)
  uint64_t seed = 0;              ///< random eviction's stream
  /// LFU: every count is halved after this many lookups (0: no aging).
  uint64_t lfu_aging_period = 0;
  /// CLOCK: the reference counter's largest value (1: classic second chance).
  uint32_t clock_max_count = 1;
  /// 2Q: the share of the capacity held by A1in, and the ghost queue A1out's size as a
  /// share of the capacity (in objects: the ghosts hold keys only).
  double two_q_in_share = 0.25;
  double two_q_out_share = 0.5;
  /// W-TinyLFU: the share of the capacity that is the LRU admission window.
  double tinylfu_window_share = 0.01;
  /// S3-FIFO: the share of the capacity that is the small FIFO queue.
  double s3fifo_small_share = 0.10;
};

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;

  /// A request for `key`: true, with the policy's bookkeeping of a hit, when it is cached.
  virtual bool lookup(ObjectKey key) = 0;
  /// Whether `key` is cached, without counting an access.
  virtual bool contains(ObjectKey key) const = 0;
  /// Offers `key` (not cached) of `bytes` after a miss; `expires_at` orders the TTL policy
  /// and is ignored by the others. Evicts what it must, appending each evicted key to
  /// `evicted`, and returns whether `key` is now cached (false: larger than the capacity,
  /// or refused by an admission filter).
  virtual bool admit(ObjectKey key, uint64_t bytes, uint64_t expires_at,
                     std::vector<ObjectKey>& evicted) = 0;
  /// Takes `key` out if it is cached (invalidation, expiry); no-op otherwise.
  virtual void remove(ObjectKey key) = 0;

  virtual uint64_t bytes() const = 0;    ///< bytes cached
  virtual uint64_t objects() const = 0;  ///< objects cached
};

/// The policy `kind` with `options` (capacity validated by the caller: at least one limit).
std::unique_ptr<EvictionPolicy> make_eviction(EvictionKind kind, const EvictionOptions& options);

}  // namespace dsim::cache
