#include "models/kv/check/witness.h"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace dsim::kv::check {

namespace {

constexpr uint32_t kNone = KvHistory::kNone;

bool wrote(const KvHistoryOp& o) {
  return o.is_write() && o.outcome != HistoryOutcome::kFail;
}

// One key's operations, with the write of each value.
class KeyOps {
 public:
  KeyOps(const KvHistory& h, std::span<const uint32_t> ops) : h_(h), ops_(ops.begin(), ops.end()) {
    for (uint32_t i : ops_) {
      if (wrote(h.ops()[i])) writer_.emplace(h.ops()[i].value, i);
    }
  }
  const KvHistoryOp& op(uint32_t i) const { return h_.ops()[i]; }
  std::span<const int64_t> read(uint32_t i) const { return h_.read_value(op(i)); }
  uint32_t writer(int64_t value) const {
    auto it = writer_.find(value);
    return it == writer_.end() ? kNone : it->second;
  }
  bool ok_read(uint32_t i) const { return op(i).kind == KvOpKind::kGet && op(i).ok(); }
  const std::vector<uint32_t>& ops() const { return ops_; }

  // The write a read's value starts from: its first element's, when that is a put or a
  // cas (none for an empty value or a list that begins with an append). `valid` is false
  // when an element has no write.
  uint32_t base(uint32_t r, bool* valid) const {
    *valid = true;
    for (int64_t v : read(r))
      *valid = *valid && writer(v) != kNone;
    const auto value = read(r);
    if (value.empty() || !*valid) return kNone;
    const uint32_t b = writer(value.front());
    return op(b).kind == KvOpKind::kAppend ? kNone : b;
  }
  // w is newer than base: base completed before w was invoked (every write is, without
  // a base).
  bool newer(uint32_t w, uint32_t base) const {
    return base == kNone ||
           (op(base).complete != KvHistoryOp::kNever && op(base).complete < op(w).invoke);
  }

 private:
  const KvHistory& h_;
  std::vector<uint32_t> ops_;
  std::unordered_map<int64_t, uint32_t> writer_;  // looked up by value only
};

// A write known to have taken effect by a time, and the operation that shows it.
struct Established {
  uint32_t write;
  uint32_t shown_by;
};

void in_invoke_order(const KeyOps& k, std::vector<uint32_t>& ops) {
  std::sort(ops.begin(), ops.end(), [&](uint32_t a, uint32_t b) {
    return k.op(a).invoke < k.op(b).invoke || (k.op(a).invoke == k.op(b).invoke && a < b);
  });
  ops.erase(std::unique(ops.begin(), ops.end()), ops.end());
}

// The argument (the read, what established the write, the write, the read's base) and the
// same with the writes of every value the reads in it return.
Witness make_witness(const KeyOps& k, uint32_t r, const Established& e, uint32_t base) {
  Witness w;
  w.core = {r, e.shown_by, e.write};
  if (base != kNone) w.core.push_back(base);
  w.closure = w.core;
  for (uint32_t read : {r, e.shown_by}) {
    if (!k.ok_read(read)) continue;
    for (int64_t v : k.read(read))
      w.closure.push_back(k.writer(v));
  }
  in_invoke_order(k, w.core);
  in_invoke_order(k, w.closure);
  return w;
}

// Each write known to have taken effect, with the first operation that shows it and when:
// a successful write at its completion, a write a successful read reflects at that read's
// completion.
std::map<uint32_t, std::pair<SimTime, uint32_t>> first_shown(const KeyOps& k) {
  std::map<uint32_t, std::pair<SimTime, uint32_t>> out;  // write -> (when, shown by)
  auto note = [&](uint32_t w, SimTime at, uint32_t by) {
    auto [it, fresh] = out.try_emplace(w, at, by);
    if (!fresh && at < it->second.first) it->second = {at, by};
  };
  for (uint32_t i : k.ops()) {
    const KvHistoryOp& o = k.op(i);
    if (o.complete == KvHistoryOp::kNever) continue;
    if (o.is_write() && o.ok()) note(i, o.complete, i);
    if (!k.ok_read(i)) continue;
    for (int64_t v : k.read(i)) {
      if (const uint32_t w = k.writer(v); w != kNone) note(w, o.complete, i);
    }
  }
  return out;
}

// Counts the writes established so far whose invocation is after a time (a Fenwick tree
// over the key's writes in invoke order).
class NewerCount {
 public:
  explicit NewerCount(std::vector<SimTime> invokes)
      : invokes_(std::move(invokes)), tree_(invokes_.size() + 1, 0) {}
  size_t index_of(SimTime invoke) const {
    return static_cast<size_t>(std::lower_bound(invokes_.begin(), invokes_.end(), invoke) -
                               invokes_.begin());
  }
  void add(size_t i) {
    ++total_;
    for (++i; i < tree_.size(); i += i & (~i + 1))
      ++tree_[i];
  }
  // Established writes invoked after `t`.
  uint64_t after(SimTime t) const {
    size_t i = static_cast<size_t>(std::upper_bound(invokes_.begin(), invokes_.end(), t) -
                                   invokes_.begin());
    uint64_t below = 0;
    for (; i > 0; i -= i & (~i + 1))
      below += tree_[i];
    return total_ - below;
  }

 private:
  std::vector<SimTime> invokes_;  // sorted
  std::vector<uint64_t> tree_;
  uint64_t total_ = 0;
};

}  // namespace

std::optional<Witness> find_witness(const KvHistory& h, std::span<const uint32_t> ops) {
  const KeyOps k(h, ops);
  const auto shown = first_shown(k);
  // The established writes in the order they became known, and by invocation.
  std::vector<std::pair<SimTime, uint32_t>> by_time;
  std::vector<SimTime> invokes;
  for (const auto& [w, when] : shown) {
    by_time.emplace_back(when.first, w);
    invokes.push_back(k.op(w).invoke);
  }
  std::sort(by_time.begin(), by_time.end());
  std::sort(invokes.begin(), invokes.end());
  NewerCount count(invokes);
  std::multimap<SimTime, uint32_t> established;  // by invocation
  std::vector<uint32_t> reads;
  for (uint32_t i : k.ops()) {
    if (k.ok_read(i)) reads.push_back(i);
  }
  std::sort(reads.begin(), reads.end(),
            [&](uint32_t a, uint32_t b) { return k.op(a).invoke < k.op(b).invoke; });
  size_t next = 0;
  for (uint32_t r : reads) {
    const SimTime begins = k.op(r).invoke;
    for (; next < by_time.size() && by_time[next].first < begins; ++next) {
      const uint32_t w = by_time[next].second;
      count.add(count.index_of(k.op(w).invoke));
      established.emplace(k.op(w).invoke, w);
    }
    bool valid = true;
    const uint32_t base = k.base(r, &valid);
    if (!valid) continue;  // an element no write wrote: not for this witness
    // Established writes newer than the base against those of them r reflects.
    if (base != kNone && k.op(base).complete == KvHistoryOp::kNever) continue;
    const SimTime after =
        base == kNone ? SimTime::from_ns(std::numeric_limits<int64_t>::min()) : k.op(base).complete;
    const auto value = k.read(r);
    const std::unordered_set<int64_t> seen(value.begin(), value.end());
    uint64_t reflected = 0;
    for (int64_t v : seen) {
      const uint32_t w = k.writer(v);
      auto it = shown.find(w);
      if (it != shown.end() && it->second.first < begins && k.op(w).invoke > after) ++reflected;
    }
    if (count.after(after) == reflected) continue;
    // One of them is not reflected: the newest such, scanning down from the newest.
    for (auto it = established.rbegin(); it != established.rend(); ++it) {
      const uint32_t w = it->second;
      if (!seen.count(k.op(w).value)) {
        return make_witness(k, r, Established{w, shown.at(w).second}, base);
      }
    }
  }
  return std::nullopt;
}

}  // namespace dsim::kv::check
