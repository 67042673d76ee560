// S3-FIFO (Yang, Zhang, Qiu, Yue and Rashmi, SOSP 2023, Algorithm 1): a small FIFO S
// (s3fifo_small_share of the capacity), a main FIFO M (the rest) and a ghost FIFO G of
// keys. Each cached object has a 2-bit frequency (a hit adds one, capped at 3). A missed
// object enters M if its key is in G, else S, with frequency 0. To make room: when S holds
// at least its share (or M is empty), S's oldest objects are examined: one with frequency
// > 1 (Algorithm 1's test, so a single hit is not enough) moves to M, evicting from M if
// M is then over its share; the first with frequency <= 1 is evicted and leaves its key in
// G. Otherwise M's oldest object is evicted if its frequency is 0, else reinserted at M's
// head with the frequency decremented, until one is evicted. Frequencies are kept when
// an object moves from S to M.
//
// G holds as many keys as M holds objects at its capacity: capacity_objects times M's
// share when an object capacity is set, and (with a byte capacity) keys whose objects'
// sizes sum to at most M's share of capacity_bytes; oldest keys go first. With a byte
// capacity only, an object of zero bytes leaves no ghost. Whether a missed key is in G is
// decided at the miss, before room is made for it (as libCacheSim does; Algorithm 1 read
// literally would first evict, which can push the key out of G).
#include <algorithm>

#include "models/cache/eviction/structures.h"

namespace dsim::cache::detail {
namespace {

enum Where : uint32_t { kSmall, kMain, kGhost };

/// Whether `l` has reached `cap` in any limit it sets.
bool reached(const List& l, const Capacity& cap) {
  return (cap.bytes > 0 && l.bytes >= cap.bytes) || (cap.objects > 0 && l.objects >= cap.objects);
}

class S3Fifo final : public PooledPolicy {
 public:
  explicit S3Fifo(const EvictionOptions& o)
      : PooledPolicy(o),
        small_cap_(cap_.share(o.s3fifo_small_share)),
        main_cap_(cap_.minus(small_cap_)) {}

  bool lookup(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil || pool_[i].list == kGhost) return false;
    pool_[i].aux = std::min<uint32_t>(pool_[i].aux + 1, 3);
    return true;
  }
  bool contains(ObjectKey key) const override {
    const uint32_t i = find(key);
    return i != kNil && pool_[i].list != kGhost;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    uint32_t i = find(key);
    DSIM_ASSERT(i == kNil || pool_[i].list == kGhost, "admit of key ", key, ", already cached");
    const Where to = i != kNil ? kMain : kSmall;
    if (i != kNil) {  // a ghost at the miss: out of G before room is made
      lists_[kGhost].unlink(pool_, i);
      pool_[i].bytes = size;
    }
    while (!fits(size))
      evict(evicted);
    if (i == kNil) i = add_node(key, size);
    pool_[i].aux = 0;
    put(i, to);
    count_in(i);
    return true;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil || pool_[i].list == kGhost) return;
    lists_[pool_[i].list].unlink(pool_, i);
    count_out(i);
    drop_node(i);
  }

 private:
  void put(uint32_t i, Where w) {
    pool_[i].list = w;
    lists_[w].push_back(pool_, i);
  }
  void evict(std::vector<ObjectKey>& evicted) {
    const List& s = lists_[kSmall];
    if (!s.empty() && (reached(s, small_cap_) || lists_[kMain].empty())) {
      if (evict_small(evicted)) return;
    }
    evict_main(evicted);
  }
  bool evict_small(std::vector<ObjectKey>& evicted) {
    List& s = lists_[kSmall];
    while (!s.empty()) {
      const uint32_t t = s.head;
      s.unlink(pool_, t);
      if (pool_[t].aux > 1) {
        put(t, kMain);
        if (!main_cap_.holds(lists_[kMain])) evict_main(evicted);
        continue;
      }
      evicted.push_back(pool_[t].key);
      count_out(t);
      to_ghost(t);
      return true;
    }
    return false;
  }
  void evict_main(std::vector<ObjectKey>& evicted) {
    List& m = lists_[kMain];
    while (!m.empty()) {
      const uint32_t t = m.head;
      if (pool_[t].aux > 0) {
        --pool_[t].aux;
        m.move_to_back(pool_, t);
        continue;
      }
      evicted.push_back(pool_[t].key);
      m.unlink(pool_, t);
      count_out(t);
      drop_node(t);
      return;
    }
  }
  void to_ghost(uint32_t t) {
    if (cap_.objects == 0 && pool_[t].bytes == 0) {
      drop_node(t);
      return;
    }
    List& g = lists_[kGhost];
    put(t, kGhost);
    while (!main_cap_.holds(g)) {
      const uint32_t old = g.head;
      g.unlink(pool_, old);
      drop_node(old);
    }
  }

  Capacity small_cap_;
  Capacity main_cap_;
  List lists_[3];
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_s3fifo(const EvictionOptions& o) {
  return std::make_unique<S3Fifo>(o);
}

}  // namespace dsim::cache::detail
