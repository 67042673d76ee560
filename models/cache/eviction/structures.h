// The pieces the eviction policies share (private to models/cache/eviction): an open-
// addressing index from key to node, a pool of index-linked nodes with a free list, an
// intrusive doubly linked list over the pool, the capacity test (bytes and/or objects,
// whichever binds first), and a base class holding the pool, the index and the counts of
// what is cached. Nodes are 32 bytes and the index 12 bytes a slot at a load of at most
// 3/4, so a cached object costs a policy about 50 bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "models/cache/eviction/policy.h"
#include "sim/core/assert.h"
#include "sim/core/rng.h"

namespace dsim::cache::detail {

constexpr uint32_t kNil = UINT32_MAX;

/// Key -> node index, linear probing with backward-shift deletion. Never iterated: the
/// policies decide from their lists only.
class KeyIndex {
 public:
  KeyIndex() : keys_(16), values_(16, kNil), mask_(15) {}

  uint32_t find(ObjectKey key) const {
    for (uint64_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      if (values_[i] == kNil) return kNil;
      if (keys_[i] == key) return values_[i];
    }
  }
  /// Adds `key` (absent) -> `value`.
  void insert(ObjectKey key, uint32_t value) {
    if ((size_ + 1) * 4 > (mask_ + 1) * 3) grow();
    uint64_t i = mix64(key) & mask_;
    while (values_[i] != kNil)
      i = (i + 1) & mask_;
    keys_[i] = key;
    values_[i] = value;
    ++size_;
  }
  void erase(ObjectKey key);
  uint64_t size() const { return size_; }

 private:
  void grow();

  std::vector<ObjectKey> keys_;
  std::vector<uint32_t> values_;  ///< kNil: an empty slot
  uint64_t mask_;
  uint64_t size_ = 0;
};

/// A cached object or a ghost. `list` says which of the policy's lists holds it; `aux` is
/// the policy's own (a frequency, a reference counter, an index).
struct Node {
  ObjectKey key = 0;
  uint64_t bytes = 0;
  uint32_t prev = kNil;
  uint32_t next = kNil;
  uint32_t list = 0;
  uint32_t aux = 0;
};

class Pool {
 public:
  uint32_t alloc(ObjectKey key, uint64_t bytes) {
    uint32_t i;
    if (free_ != kNil) {
      i = free_;
      free_ = nodes_[i].next;
      nodes_[i] = Node{};
    } else {
      DSIM_ASSERT(nodes_.size() < kNil, "eviction node pool full");
      i = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    nodes_[i].key = key;
    nodes_[i].bytes = bytes;
    return i;
  }
  void release(uint32_t i) {
    nodes_[i].next = free_;
    free_ = i;
  }
  Node& operator[](uint32_t i) { return nodes_[i]; }
  const Node& operator[](uint32_t i) const { return nodes_[i]; }

 private:
  std::vector<Node> nodes_;
  uint32_t free_ = kNil;
};

/// An intrusive list over a Pool: head is the oldest end (the LRU / FIFO victim), tail the
/// newest; it keeps the bytes and objects it holds.
struct List {
  uint32_t head = kNil;
  uint32_t tail = kNil;
  uint64_t bytes = 0;
  uint64_t objects = 0;

  bool empty() const { return head == kNil; }
  void push_back(Pool& pool, uint32_t i) {
    Node& n = pool[i];
    n.prev = tail;
    n.next = kNil;
    if (tail != kNil) pool[tail].next = i;
    tail = i;
    if (head == kNil) head = i;
    bytes += n.bytes;
    ++objects;
  }
  void unlink(Pool& pool, uint32_t i) {
    Node& n = pool[i];
    if (n.prev != kNil)
      pool[n.prev].next = n.next;
    else
      head = n.next;
    if (n.next != kNil)
      pool[n.next].prev = n.prev;
    else
      tail = n.prev;
    n.prev = n.next = kNil;
    bytes -= n.bytes;
    --objects;
  }
  void move_to_back(Pool& pool, uint32_t i) {
    unlink(pool, i);
    push_back(pool, i);
  }
};

/// A limit in bytes and/or objects (0: no limit in that unit).
struct Capacity {
  uint64_t bytes = 0;
  uint64_t objects = 0;

  bool holds(uint64_t used_bytes, uint64_t used_objects) const {
    return (bytes == 0 || used_bytes <= bytes) && (objects == 0 || used_objects <= objects);
  }
  bool holds(const List& l) const { return holds(l.bytes, l.objects); }
  /// `share` of this capacity, each limit rounded to nearest and at least 1.
  Capacity share(double fraction) const;
  /// What is left of this capacity once `part` is taken out (at least 1 in each limit).
  Capacity minus(const Capacity& part) const;
};

/// The base of every policy: the node pool, the key index (cached objects and ghosts
/// alike), the capacity and the totals cached.
class PooledPolicy : public EvictionPolicy {
 public:
  explicit PooledPolicy(const EvictionOptions& options)
      : cap_{options.capacity_bytes, options.capacity_objects} {
    DSIM_ASSERT(cap_.bytes > 0 || cap_.objects > 0, "an eviction policy needs a capacity");
  }
  uint64_t bytes() const override { return bytes_; }
  uint64_t objects() const override { return objects_; }
  /// Cached: its node is indexed (policies with ghosts override it to look past them).
  bool contains(ObjectKey key) const override { return find(key) != kNil; }

 protected:
  bool too_big(uint64_t size) const { return cap_.bytes > 0 && size > cap_.bytes; }
  /// Whether `size` more bytes in one more object fit beside what is cached.
  bool fits(uint64_t size) const { return cap_.holds(bytes_ + size, objects_ + 1); }
  uint32_t find(ObjectKey key) const { return index_.find(key); }
  uint32_t add_node(ObjectKey key, uint64_t size) {
    DSIM_ASSERT(index_.find(key) == kNil, "admit of key ", key, ", which is already cached");
    const uint32_t i = pool_.alloc(key, size);
    index_.insert(key, i);
    return i;
  }
  void drop_node(uint32_t i) {
    index_.erase(pool_[i].key);
    pool_.release(i);
  }
  /// Counts node `i` in (or out of) the totals cached.
  void count_in(uint32_t i) {
    bytes_ += pool_[i].bytes;
    ++objects_;
  }
  void count_out(uint32_t i) {
    bytes_ -= pool_[i].bytes;
    --objects_;
  }

  Pool pool_;
  KeyIndex index_;
  Capacity cap_;
  uint64_t bytes_ = 0;
  uint64_t objects_ = 0;
};

/// A pooled policy keeping every cached object on one list (LRU, FIFO, CLOCK): removal
/// unlinks it from the list and the totals.
class ListPolicy : public PooledPolicy {
 public:
  using PooledPolicy::PooledPolicy;
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i != kNil) erase(i);
  }

 protected:
  void erase(uint32_t i) {
    list_.unlink(pool_, i);
    count_out(i);
    drop_node(i);
  }
  List list_;
};

// The factories of each policy (make_eviction dispatches to them).
std::unique_ptr<EvictionPolicy> make_lru(const EvictionOptions& o, bool reorder_on_hit);
std::unique_ptr<EvictionPolicy> make_random(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_ttl(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_lfu(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_clock(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_arc(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_two_q(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_w_tinylfu(const EvictionOptions& o);
std::unique_ptr<EvictionPolicy> make_s3fifo(const EvictionOptions& o);

}  // namespace dsim::cache::detail
