// The single-queue policies: LRU and FIFO (one list; a hit moves an object to the back in
// LRU only), CLOCK (a FIFO ring whose hand spares objects with a non-zero reference
// counter), Random (a dense vector of the cached objects, so a uniform draw is O(1)) and
// TTL (a binary heap by expiry, ties by insertion order).
#include <algorithm>

#include "models/cache/eviction/structures.h"

namespace dsim::cache::detail {
namespace {

/// LRU (reorder_on_hit) or FIFO: evicts from the head of one list.
class LruFifo final : public ListPolicy {
 public:
  LruFifo(const EvictionOptions& o, bool reorder) : ListPolicy(o), reorder_(reorder) {}

  bool lookup(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil) return false;
    if (reorder_) list_.move_to_back(pool_, i);
    return true;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    while (!fits(size)) {
      const uint32_t v = list_.head;
      evicted.push_back(pool_[v].key);
      erase(v);
    }
    const uint32_t i = add_node(key, size);
    list_.push_back(pool_, i);
    count_in(i);
    return true;
  }

 private:
  bool reorder_;
};

/// CLOCK with counters 0..max: the hand is the head of a FIFO list; an object under the
/// hand with a counter > 0 has it decremented and goes to the back (the hand moves past
/// it); one with 0 is evicted. New objects enter just behind the hand with counter 0.
class Clock final : public ListPolicy {
 public:
  explicit Clock(const EvictionOptions& o)
      : ListPolicy(o), max_(std::max<uint32_t>(o.clock_max_count, 1)) {}

  bool lookup(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil) return false;
    pool_[i].aux = std::min(pool_[i].aux + 1, max_);
    return true;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    while (!fits(size)) {
      const uint32_t v = list_.head;
      if (pool_[v].aux > 0) {
        --pool_[v].aux;
        list_.move_to_back(pool_, v);
        continue;
      }
      evicted.push_back(pool_[v].key);
      erase(v);
    }
    const uint32_t i = add_node(key, size);
    list_.push_back(pool_, i);
    count_in(i);
    return true;
  }

 private:
  uint32_t max_;
};

/// Random: the cached objects in a dense vector (node.aux is the position), so a victim is
/// one draw of a position and a removal one swap with the last.
class RandomPolicy final : public PooledPolicy {
 public:
  explicit RandomPolicy(const EvictionOptions& o)
      : PooledPolicy(o), rng_(o.seed, stream_id("cache_random")) {}

  bool lookup(ObjectKey key) override { return find(key) != kNil; }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    while (!fits(size)) {
      const uint32_t v = dense_[rng_.below64(dense_.size())];
      evicted.push_back(pool_[v].key);
      erase(v);
    }
    const uint32_t i = add_node(key, size);
    pool_[i].aux = static_cast<uint32_t>(dense_.size());
    dense_.push_back(i);
    count_in(i);
    return true;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i != kNil) erase(i);
  }

 private:
  void erase(uint32_t i) {
    const uint32_t pos = pool_[i].aux;
    const uint32_t last = dense_.back();
    dense_[pos] = last;
    pool_[last].aux = pos;
    dense_.pop_back();
    count_out(i);
    drop_node(i);
  }
  Rng rng_;
  std::vector<uint32_t> dense_;
};

/// TTL: evicts the object with the smallest expires_at, the earliest admitted among
/// equals. A binary min-heap of nodes by (expires_at, admission number); node.aux is the
/// node's position in the heap, so a removal is O(log n) too.
class TtlPolicy final : public PooledPolicy {
 public:
  explicit TtlPolicy(const EvictionOptions& o) : PooledPolicy(o) {}

  bool lookup(ObjectKey key) override { return find(key) != kNil; }
  bool admit(ObjectKey key, uint64_t size, uint64_t expires_at,
             std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    while (!fits(size)) {
      const uint32_t v = heap_.front();
      evicted.push_back(pool_[v].key);
      erase(v);
    }
    const uint32_t i = add_node(key, size);
    if (stamps_.size() <= i) stamps_.resize(i + 1);
    stamps_[i] = {expires_at, next_seq_++};
    heap_.push_back(i);
    pool_[i].aux = static_cast<uint32_t>(heap_.size() - 1);
    sift_up(pool_[i].aux);
    count_in(i);
    return true;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i != kNil) erase(i);
  }

 private:
  bool before(uint32_t a, uint32_t b) const { return stamps_[a] < stamps_[b]; }
  void place(size_t pos, uint32_t node) {
    heap_[pos] = node;
    pool_[node].aux = static_cast<uint32_t>(pos);
  }
  void sift_up(size_t pos) {
    const uint32_t node = heap_[pos];
    while (pos > 0 && before(node, heap_[(pos - 1) / 2])) {
      place(pos, heap_[(pos - 1) / 2]);
      pos = (pos - 1) / 2;
    }
    place(pos, node);
  }
  void sift_down(size_t pos) {
    const uint32_t node = heap_[pos];
    while (true) {
      size_t child = 2 * pos + 1;
      if (child >= heap_.size()) break;
      if (child + 1 < heap_.size() && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], node)) break;
      place(pos, heap_[child]);
      pos = child;
    }
    place(pos, node);
  }
  void erase(uint32_t i) {
    const size_t pos = pool_[i].aux;
    const uint32_t last = heap_.back();
    heap_.pop_back();
    if (last != i) {
      place(pos, last);
      sift_up(pos);
      sift_down(pool_[last].aux);
    }
    count_out(i);
    drop_node(i);
  }
  std::vector<uint32_t> heap_;
  std::vector<std::pair<uint64_t, uint64_t>> stamps_;  ///< by node: expiry, admission number
  uint64_t next_seq_ = 0;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_lru(const EvictionOptions& o, bool reorder_on_hit) {
  return std::make_unique<LruFifo>(o, reorder_on_hit);
}
std::unique_ptr<EvictionPolicy> make_clock(const EvictionOptions& o) {
  return std::make_unique<Clock>(o);
}
std::unique_ptr<EvictionPolicy> make_random(const EvictionOptions& o) {
  return std::make_unique<RandomPolicy>(o);
}
std::unique_ptr<EvictionPolicy> make_ttl(const EvictionOptions& o) {
  return std::make_unique<TtlPolicy>(o);
}

}  // namespace dsim::cache::detail
