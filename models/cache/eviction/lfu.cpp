// LFU over in-cache counts: an object's count starts at 1 when admitted and grows by one on
// each hit; it is forgotten when the object leaves. The victim is the least count, the
// least recently used among equals. Frequency buckets (an ordered map from count to an LRU
// list) make a hit O(log b) for b distinct counts. Aging halves every count once per
// lfu_aging_period lookups: each pair of buckets 2k, 2k+1 merges into bucket k by last
// access, O(n) once a period.
#include <algorithm>
#include <map>

#include "models/cache/eviction/structures.h"

namespace dsim::cache::detail {
namespace {

class Lfu final : public PooledPolicy {
 public:
  explicit Lfu(const EvictionOptions& o) : PooledPolicy(o), period_(o.lfu_aging_period) {}

  bool lookup(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i != kNil) {
      Node& n = pool_[i];
      const uint32_t c = n.aux;
      List& from = buckets_[c];
      from.unlink(pool_, i);
      if (from.empty()) buckets_.erase(c);
      n.aux = c == UINT32_MAX ? c : c + 1;
      touch(i);
      buckets_[n.aux].push_back(pool_, i);
    }
    if (period_ > 0 && ++lookups_ % period_ == 0) age();
    return i != kNil;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    while (!fits(size)) {
      const uint32_t v = buckets_.begin()->second.head;
      evicted.push_back(pool_[v].key);
      erase(v);
    }
    const uint32_t i = add_node(key, size);
    pool_[i].aux = 1;
    touch(i);
    buckets_[1].push_back(pool_, i);
    count_in(i);
    return true;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i != kNil) erase(i);
  }

 private:
  void touch(uint32_t i) {
    if (last_use_.size() <= i) last_use_.resize(i + 1);
    last_use_[i] = ++clock_;
  }
  void erase(uint32_t i) {
    const uint32_t c = pool_[i].aux;
    List& b = buckets_[c];
    b.unlink(pool_, i);
    if (b.empty()) buckets_.erase(c);
    count_out(i);
    drop_node(i);
  }
  /// Halves every count: buckets merge pairwise, by last access.
  void age() {
    std::map<uint32_t, List> aged;
    for (auto& [count, list] : buckets_) {
      auto [it, fresh] = aged.try_emplace(count / 2);
      if (fresh) {
        it->second = list;
      } else {
        it->second = merge(it->second, list);
      }
    }
    buckets_ = std::move(aged);
    for (auto& [count, list] : buckets_)
      for (uint32_t i = list.head; i != kNil; i = pool_[i].next)
        pool_[i].aux = count;
  }
  /// The nodes of `a` and `b` (each in order of last access) in one list in that order.
  List merge(List a, List b) {
    List out;
    uint32_t x = a.head, y = b.head;
    while (x != kNil || y != kNil) {
      const bool take_x = y == kNil || (x != kNil && last_use_[x] < last_use_[y]);
      uint32_t& from = take_x ? x : y;
      const uint32_t i = from;
      from = pool_[i].next;
      out.push_back(pool_, i);
    }
    return out;
  }

  uint64_t period_;
  uint64_t lookups_ = 0;
  uint64_t clock_ = 0;
  std::map<uint32_t, List> buckets_;
  std::vector<uint64_t> last_use_;  ///< by node: the access clock of its last use
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_lfu(const EvictionOptions& o) {
  return std::make_unique<Lfu>(o);
}

}  // namespace dsim::cache::detail
