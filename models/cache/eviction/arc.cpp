// ARC (Megiddo and Modha, FAST 2003, Fig. 4): T1 (seen once recently) and T2 (seen at
// least twice) hold the cached objects, the ghost lists B1 and B2 the keys evicted from
// them; the target size p of T1 grows on a B1 hit and shrinks on a B2 hit.
//
// Sizes are counted in the policy's unit: objects when only capacity_objects is set (then
// this is Fig. 4 exactly, c = capacity_objects), bytes when capacity_bytes is set (c =
// capacity_bytes). In bytes, every |X| of the paper is the bytes of X (ghosts remember the
// size of the object they stand for), a ghost hit moves p by the object's size times the
// paper's ratio (max(1, |B2|/|B1|) or max(1, |B1|/|B2|)), and "the cache is full" means the
// new object does not fit: REPLACE runs until it does. An object of zero bytes leaves no
// ghost in byte units (it would cost the directory nothing and could grow it without
// bound). capacity_objects, when set beside bytes, also bounds the cached objects.
#include <algorithm>

#include "models/cache/eviction/structures.h"

namespace dsim::cache::detail {
namespace {

enum Where : uint32_t { kT1, kT2, kB1, kB2 };

class Arc final : public PooledPolicy {
 public:
  explicit Arc(const EvictionOptions& o)
      : PooledPolicy(o),
        in_bytes_(o.capacity_bytes > 0),
        c_(static_cast<double>(in_bytes_ ? o.capacity_bytes : o.capacity_objects)) {}

  bool lookup(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil || pool_[i].list >= kB1) return false;
    lists_[pool_[i].list].unlink(pool_, i);
    put(i, kT2);
    return true;
  }
  bool contains(ObjectKey key) const override {
    const uint32_t i = find(key);
    return i != kNil && pool_[i].list < kB1;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    const uint32_t g = find(key);
    DSIM_ASSERT(g == kNil || pool_[g].list >= kB1, "admit of key ", key, ", already cached");
    if (g != kNil) return admit_ghost(g, size, evicted);
    const double u = unit(size);
    if (sz(kT1) + sz(kB1) + u > c_) {  // Case IV.A: L1 would exceed c
      while (sz(kT1) + sz(kB1) + u > c_) {
        if (!lists_[kB1].empty()) {
          forget(lists_[kB1].head);
        } else {
          const uint32_t v = lists_[kT1].head;
          evicted.push_back(pool_[v].key);
          lists_[kT1].unlink(pool_, v);
          count_out(v);
          drop_node(v);
        }
      }
    } else {  // Case IV.B: the directory holds at most 2c
      while (sz(kT1) + sz(kT2) + sz(kB1) + sz(kB2) + u > 2 * c_ && !lists_[kB2].empty())
        forget(lists_[kB2].head);
    }
    while (!fits(size))
      replace(false, evicted);
    const uint32_t i = add_node(key, size);
    put(i, kT1);
    count_in(i);
    return true;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil || pool_[i].list >= kB1) return;
    lists_[pool_[i].list].unlink(pool_, i);
    count_out(i);
    drop_node(i);
  }

 private:
  double unit(uint64_t size) const { return in_bytes_ ? static_cast<double>(size) : 1.0; }
  double sz(Where w) const {
    const List& l = lists_[w];
    return static_cast<double>(in_bytes_ ? l.bytes : l.objects);
  }
  void put(uint32_t i, Where w) {
    pool_[i].list = w;
    lists_[w].push_back(pool_, i);
  }
  void forget(uint32_t i) {
    lists_[pool_[i].list].unlink(pool_, i);
    drop_node(i);
  }
  /// Cases II and III: `key` is a ghost in B1 or B2; adapt p, make room, cache it in T2.
  bool admit_ghost(uint32_t g, uint64_t size, std::vector<ObjectKey>& evicted) {
    const bool in_b2 = pool_[g].list == kB2;
    const double u = unit(size);
    if (!in_b2) {
      const double ratio = sz(kB1) > 0 ? sz(kB2) / sz(kB1) : 1.0;
      p_ = std::min(c_, p_ + u * std::max(1.0, ratio));
    } else {
      const double ratio = sz(kB2) > 0 ? sz(kB1) / sz(kB2) : 1.0;
      p_ = std::max(0.0, p_ - u * std::max(1.0, ratio));
    }
    lists_[pool_[g].list].unlink(pool_, g);
    pool_[g].bytes = size;
    while (!fits(size))
      replace(in_b2, evicted);
    put(g, kT2);
    count_in(g);
    return true;
  }
  /// REPLACE(x, p): moves the LRU object of T1 (or else T2) to its ghost list.
  void replace(bool in_b2, std::vector<ObjectKey>& evicted) {
    const double t1 = sz(kT1);
    const bool from_t1 =
        !lists_[kT1].empty() && (lists_[kT2].empty() || (in_b2 && t1 >= p_) || t1 > p_);
    const Where from = from_t1 ? kT1 : kT2;
    const uint32_t v = lists_[from].head;
    evicted.push_back(pool_[v].key);
    lists_[from].unlink(pool_, v);
    count_out(v);
    if (in_bytes_ && pool_[v].bytes == 0) {
      drop_node(v);
      return;
    }
    put(v, from_t1 ? kB1 : kB2);
  }

  bool in_bytes_;
  double c_;
  double p_ = 0;
  List lists_[4];
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_arc(const EvictionOptions& o) {
  return std::make_unique<Arc>(o);
}

}  // namespace dsim::cache::detail
