// 2Q, the full version (Johnson and Shasha, VLDB 1994, Fig. "Full 2Q"): a new object enters
// the FIFO A1in; one evicted from A1in leaves its key in the ghost FIFO A1out; a miss on a
// key in A1out enters the LRU Am. To make room ("reclaimfor"), A1in gives up its oldest
// object when it holds more than Kin, else Am its least recently used (which leaves no
// ghost). A hit in A1in changes nothing; a hit in Am moves the object to Am's MRU end.
//
// Kin = two_q_in_share and Kout = two_q_out_share of the capacity, in each unit the
// capacity sets. Ghosts hold a key and the size of the object they stand for: A1out is
// trimmed (oldest first) to Kout objects when capacity_objects is set and to Kout bytes of
// those sizes when capacity_bytes is set. With a byte capacity only, an object of zero
// bytes leaves no ghost (it would count toward no bound).
#include "models/cache/eviction/structures.h"

namespace dsim::cache::detail {
namespace {

enum Where : uint32_t { kIn, kMain, kOut };

class TwoQ final : public PooledPolicy {
 public:
  explicit TwoQ(const EvictionOptions& o)
      : PooledPolicy(o),
        k_in_(cap_.share(o.two_q_in_share)),
        k_out_(cap_.share(o.two_q_out_share)) {}

  bool lookup(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil || pool_[i].list == kOut) return false;
    if (pool_[i].list == kMain) lists_[kMain].move_to_back(pool_, i);
    return true;
  }
  bool contains(ObjectKey key) const override {
    const uint32_t i = find(key);
    return i != kNil && pool_[i].list != kOut;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    uint32_t i = find(key);
    Where to = kIn;
    DSIM_ASSERT(i == kNil || pool_[i].list == kOut, "admit of key ", key, ", already cached");
    if (i != kNil) {  // a ghost in A1out: the object goes to Am
      lists_[kOut].unlink(pool_, i);
      pool_[i].bytes = size;
      to = kMain;
    }
    while (!fits(size))
      reclaim(evicted);
    if (i == kNil) i = add_node(key, size);
    pool_[i].list = to;
    lists_[to].push_back(pool_, i);
    count_in(i);
    return true;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil || pool_[i].list == kOut) return;
    lists_[pool_[i].list].unlink(pool_, i);
    count_out(i);
    drop_node(i);
  }

 private:
  void reclaim(std::vector<ObjectKey>& evicted) {
    List& in = lists_[kIn];
    const bool from_in = !in.empty() && (!k_in_.holds(in) || lists_[kMain].empty());
    const uint32_t v = from_in ? in.head : lists_[kMain].head;
    evicted.push_back(pool_[v].key);
    lists_[pool_[v].list].unlink(pool_, v);
    count_out(v);
    if (!from_in || (cap_.objects == 0 && pool_[v].bytes == 0)) {
      drop_node(v);
      return;
    }
    pool_[v].list = kOut;
    List& out = lists_[kOut];
    out.push_back(pool_, v);
    while (!k_out_.holds(out)) {
      const uint32_t g = out.head;
      out.unlink(pool_, g);
      drop_node(g);
    }
  }

  Capacity k_in_;
  Capacity k_out_;
  List lists_[3];
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_two_q(const EvictionOptions& o) {
  return std::make_unique<TwoQ>(o);
}

}  // namespace dsim::cache::detail
