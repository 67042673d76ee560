// W-TinyLFU (Einziger, Friedman and Manes, ACM ToS 2017), as Caffeine builds it: a new
// object enters an LRU admission window (tinylfu_window_share of the capacity); the
// window's LRU object that no longer fits it is a candidate for the main cache, an SLRU
// (probation 20%, protected 80% of the main share). While the cache is over capacity the
// candidate meets main's victim (probation's LRU object, else protected's): the candidate
// is admitted only if its estimated frequency is strictly greater, else it is evicted.
// A probation hit moves the object to protected, whose overflow goes back to probation.
//
// The frequency sketch is a count-min sketch of 4 rows of 4-bit counters, `width` counters
// a row (the smallest power of two >= the expected number of cached objects, at least 16).
// Every lookup, hit or miss, is one sample; after 10 x expected-objects samples every
// counter is halved (the reset). No doorkeeper. The expected number of objects is
// capacity_objects, or with a byte capacity only capacity_bytes / 4096 (at least 16); when
// more objects than that are cached, the estimate doubles and the sketch is rebuilt empty
// (what Caffeine does for weighted caches).
#include <algorithm>
#include <bit>

#include "models/cache/eviction/structures.h"

namespace dsim::cache::detail {
namespace {

class FrequencySketch {
 public:
  explicit FrequencySketch(uint64_t expected) { resize(expected); }

  void resize(uint64_t expected) {
    expected_ = std::max<uint64_t>(expected, 16);
    width_ = std::bit_ceil(expected_);
    table_.assign(width_ * kRows / 16, 0);
    samples_ = 0;
  }
  uint64_t expected() const { return expected_; }
  void increment(ObjectKey key) {
    for (uint32_t r = 0; r < kRows; ++r) {
      const uint64_t c = slot(key, r);
      const uint64_t shift = (c % 16) * 4;
      if (((table_[c / 16] >> shift) & 0xf) < 15) table_[c / 16] += uint64_t{1} << shift;
    }
    if (++samples_ >= 10 * expected_) reset();
  }
  uint32_t estimate(ObjectKey key) const {
    uint32_t least = 15;
    for (uint32_t r = 0; r < kRows; ++r) {
      const uint64_t c = slot(key, r);
      least = std::min<uint32_t>(least, (table_[c / 16] >> ((c % 16) * 4)) & 0xf);
    }
    return least;
  }

 private:
  static constexpr uint32_t kRows = 4;
  uint64_t slot(ObjectKey key, uint32_t row) const {
    return row * width_ + (mix64(key ^ (0x9e3779b97f4a7c15ULL * (row + 1))) & (width_ - 1));
  }
  void reset() {
    for (uint64_t& w : table_)
      w = (w >> 1) & 0x7777777777777777ULL;
    samples_ /= 2;
  }

  uint64_t expected_ = 0;
  uint64_t width_ = 0;
  uint64_t samples_ = 0;
  std::vector<uint64_t> table_;  ///< 16 counters a word, rows one after another
};

enum Where : uint32_t { kWindow, kProbation, kProtected };

uint64_t expected_objects(const EvictionOptions& o) {
  if (o.capacity_objects > 0) return o.capacity_objects;
  return std::max<uint64_t>(o.capacity_bytes / 4096, 16);
}

class WTinyLfu final : public PooledPolicy {
 public:
  explicit WTinyLfu(const EvictionOptions& o)
      : PooledPolicy(o),
        window_cap_(cap_.share(o.tinylfu_window_share)),
        protected_cap_(cap_.minus(window_cap_).share(0.8)),
        sketch_(expected_objects(o)) {}

  bool lookup(ObjectKey key) override {
    sketch_.increment(key);
    const uint32_t i = find(key);
    if (i == kNil) return false;
    const uint32_t where = pool_[i].list;
    if (where != kProbation) {
      lists_[where].move_to_back(pool_, i);
      return true;
    }
    lists_[kProbation].unlink(pool_, i);
    put(i, kProtected);
    List& prot = lists_[kProtected];
    while (!protected_cap_.holds(prot) && prot.head != i) {
      const uint32_t d = prot.head;
      prot.unlink(pool_, d);
      put(d, kProbation);
    }
    return true;
  }
  bool admit(ObjectKey key, uint64_t size, uint64_t, std::vector<ObjectKey>& evicted) override {
    if (too_big(size)) return false;
    newcomer_ = key;
    const uint32_t x = add_node(key, size);
    put(x, kWindow);
    count_in(x);
    if (objects_ > sketch_.expected()) sketch_.resize(sketch_.expected() * 2);
    while (!window_cap_.holds(lists_[kWindow])) {
      const uint32_t c = lists_[kWindow].head;
      lists_[kWindow].unlink(pool_, c);
      compete(c, evicted);
    }
    while (!cap_.holds(bytes_, objects_))
      evict(main_victim(), evicted);
    return find(key) != kNil;
  }
  void remove(ObjectKey key) override {
    const uint32_t i = find(key);
    if (i == kNil) return;
    lists_[pool_[i].list].unlink(pool_, i);
    count_out(i);
    drop_node(i);
  }

 private:
  void put(uint32_t i, Where w) {
    pool_[i].list = w;
    lists_[w].push_back(pool_, i);
  }
  /// Probation's LRU object, else protected's, else the window's.
  uint32_t main_victim() const {
    for (Where w : {kProbation, kProtected, kWindow})
      if (!lists_[w].empty()) return lists_[w].head;
    return kNil;
  }
  /// Candidate `c` (out of the window, still counted) enters probation if the cache has
  /// room or it wins over each victim it needs the room of.
  void compete(uint32_t c, std::vector<ObjectKey>& evicted) {
    while (!cap_.holds(bytes_, objects_)) {
      const uint32_t v =
          lists_[kProbation].empty() ? lists_[kProtected].head : lists_[kProbation].head;
      if (v == kNil) break;
      if (sketch_.estimate(pool_[c].key) <= sketch_.estimate(pool_[v].key)) {
        report(c, evicted);
        count_out(c);
        drop_node(c);
        return;
      }
      evict(v, evicted);
    }
    put(c, kProbation);
  }
  /// Reports an evicted object, except the one being admitted (it was never cached).
  void report(uint32_t v, std::vector<ObjectKey>& evicted) const {
    if (pool_[v].key != newcomer_) evicted.push_back(pool_[v].key);
  }
  void evict(uint32_t v, std::vector<ObjectKey>& evicted) {
    report(v, evicted);
    lists_[pool_[v].list].unlink(pool_, v);
    count_out(v);
    drop_node(v);
  }

  Capacity window_cap_;
  Capacity protected_cap_;
  FrequencySketch sketch_;
  List lists_[3];
  ObjectKey newcomer_ = 0;  ///< the key admit() is placing
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_w_tinylfu(const EvictionOptions& o) {
  return std::make_unique<WTinyLfu>(o);
}

}  // namespace dsim::cache::detail
