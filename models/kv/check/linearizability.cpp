#include "models/kv/check/linearizability.h"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "models/kv/check/witness.h"
#include "sim/core/assert.h"
#include "sim/core/rng.h"

namespace dsim::kv::check {

namespace {

// ---------------------------------------------------------------------------------------
// Object states: lists interned in a trie. State 0 is the empty list; every other state is
// (parent state, last element), so equal lists are equal integers.
class StateTable {
 public:
  uint32_t child(uint32_t parent, int64_t x) {
    const Edge e{parent, x};
    auto it = children_.find(e);
    if (it != children_.end()) return it->second;
    const auto id = static_cast<uint32_t>(++count_);
    children_.emplace(e, id);
    return id;
  }
  uint32_t intern(std::span<const int64_t> list) {
    uint32_t s = 0;
    for (int64_t x : list)
      s = child(s, x);
    return s;
  }
  uint64_t bytes() const { return count_ * 48; }  // node + hash-map overhead, roughly

 private:
  struct Edge {
    uint32_t parent;
    int64_t x;
    bool operator==(const Edge& o) const { return parent == o.parent && x == o.x; }
  };
  struct EdgeHash {
    size_t operator()(const Edge& e) const {
      return static_cast<size_t>(mix64(static_cast<uint64_t>(e.x) ^ (uint64_t{e.parent} << 32)));
    }
  };
  std::unordered_map<Edge, uint32_t, EdgeHash> children_;  // lookups only, never iterated
  uint64_t count_ = 0;
};

// ---------------------------------------------------------------------------------------
// The memo: a set of 128-bit keys, open addressing with linear probing.
class MemoSet {
 public:
  /// Inserts `k`; false when it was there. Sets *out_of_memory (and inserts nothing) when
  /// growing would exceed max_bytes.
  bool insert(uint64_t a, uint64_t b, uint64_t max_bytes, bool* out_of_memory) {
    if (a == 0 && b == 0) b = 1;  // (0, 0) marks an empty slot
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      const size_t cap = slots_.empty() ? 1024 : slots_.size() * 2;
      if (cap * sizeof(Key) > max_bytes) {
        *out_of_memory = true;
        return false;
      }
      grow(cap);
    }
    size_t i = static_cast<size_t>(a) & (slots_.size() - 1);
    while (slots_[i].a != 0 || slots_[i].b != 0) {
      if (slots_[i].a == a && slots_[i].b == b) return false;
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = Key{a, b};
    ++size_;
    return true;
  }
  uint64_t size() const { return size_; }
  uint64_t bytes() const { return slots_.size() * sizeof(Key); }

 private:
  struct Key {
    uint64_t a = 0, b = 0;
  };
  void grow(size_t cap) {
    std::vector<Key> old = std::move(slots_);
    slots_.assign(cap, Key{});
    for (const Key& k : old) {
      if (k.a == 0 && k.b == 0) continue;
      size_t i = static_cast<size_t>(k.a) & (cap - 1);
      while (slots_[i].a != 0 || slots_[i].b != 0)
        i = (i + 1) & (cap - 1);
      slots_[i] = k;
    }
  }
  std::vector<Key> slots_;
  uint64_t size_ = 0;
};

// ---------------------------------------------------------------------------------------
// One operation as the search sees it.
struct SearchOp {
  enum class Kind : uint8_t { kRead, kPut, kCas, kAppend };
  Kind kind;
  bool must;        // completed ok: must be linearized; else (unknown write) optional
  uint32_t expect;  // read: the state it saw; cas: the state it expects
  uint32_t target;  // put/cas: the state it sets
  int64_t element;  // append
  uint64_t z1, z2;  // Zobrist keys
};

struct Entry {
  int64_t time;
  uint32_t op;
  bool call;
  uint32_t prev = 0, next = 0;
  uint32_t match = 0;  // a call's return entry (0: none)
};

class Search {
 public:
  Search(const KvHistory& h, std::span<const uint32_t> ops, const SearchBudget& budget)
      : budget_(budget) {
    build(h, ops);
  }

  SearchResult run() {
    SearchResult r;
    Walk w;
    w.e = entries_[0].next;
    w.remaining = must_;
    while (w.remaining > 0) {
      if (++r.steps > budget_.max_steps) {
        r.verdict = Verdict::kUnknown;
        r.why_unknown = "step budget (" + std::to_string(budget_.max_steps) + " steps) exhausted";
        break;
      }
      DSIM_ASSERT(w.e != end_, "a pending return must stop the scan before the end");
      if (entries_[w.e].call) {
        bool oom = false;
        if (linearize(w, &oom)) continue;
        if (oom) {
          r.verdict = Verdict::kUnknown;
          r.why_unknown = "memory budget (" + std::to_string(budget_.max_memory_bytes >> 20) +
                          " MiB) exhausted";
          break;
        }
        w.e = entries_[w.e].next;
        continue;
      }
      // A return whose call is still pending: undo the last linearization.
      if (w.stack.empty()) {
        r.verdict = Verdict::kViolation;
        break;
      }
      backtrack(w);
    }
    r.memo_entries = memo_.size();
    return r;
  }

 private:
  uint64_t memory_left() const {
    const uint64_t used = states_.bytes() + entries_.size() * sizeof(Entry);
    return budget_.max_memory_bytes > used ? budget_.max_memory_bytes - used : 0;
  }

  // A linearized call, and the state before it.
  struct Frame {
    uint32_t entry;
    uint32_t state;
  };
  // Where the search stands: the entry it looks at, the state and history hash of what it
  // has linearized, and how to undo each step.
  struct Walk {
    uint32_t e = 0;
    uint32_t state = 0;
    uint64_t h1 = 0, h2 = 0;
    uint64_t remaining = 0;  // operations that must still be linearized
    std::vector<Frame> stack;
  };

  // Linearizes the call at w.e when it applies to the state and leads somewhere not
  // explored yet; then the scan starts over from the first entry. Sets *oom when the memo
  // has no room left.
  bool linearize(Walk& w, bool* oom) {
    const SearchOp& op = ops_[entries_[w.e].op];
    uint32_t next_state = w.state;
    if (!apply(op, w.state, &next_state)) return false;
    const uint64_t n1 = w.h1 ^ op.z1, n2 = w.h2 ^ op.z2;
    if (!memo_.insert(n1 ^ mix64(next_state), n2 ^ mix64(~uint64_t{next_state}), memory_left(),
                      oom)) {
      return false;
    }
    w.stack.push_back({w.e, w.state});
    w.state = next_state;
    w.h1 = n1;
    w.h2 = n2;
    lift(w.e);
    if (op.must) --w.remaining;
    w.e = entries_[0].next;
    return true;
  }

  // Undoes the last linearization and goes on after its call.
  void backtrack(Walk& w) {
    const Frame f = w.stack.back();
    w.stack.pop_back();
    const SearchOp& op = ops_[entries_[f.entry].op];
    w.state = f.state;
    w.h1 ^= op.z1;
    w.h2 ^= op.z2;
    unlift(f.entry);
    if (op.must) ++w.remaining;
    w.e = entries_[f.entry].next;
  }

  bool apply(const SearchOp& op, uint32_t state, uint32_t* next) {
    switch (op.kind) {
      case SearchOp::Kind::kRead:
        return state == op.expect;
      case SearchOp::Kind::kPut:
        *next = op.target;
        return true;
      case SearchOp::Kind::kCas:
        if (state != op.expect) return false;
        *next = op.target;
        return true;
      case SearchOp::Kind::kAppend:
        *next = states_.child(state, op.element);
        return true;
    }
    return false;
  }

  void lift(uint32_t call) {
    Entry& c = entries_[call];
    entries_[c.prev].next = c.next;
    entries_[c.next].prev = c.prev;
    if (c.match) {
      Entry& r = entries_[c.match];
      entries_[r.prev].next = r.next;
      entries_[r.next].prev = r.prev;
    }
  }
  void unlift(uint32_t call) {
    Entry& c = entries_[call];
    if (c.match) {
      Entry& r = entries_[c.match];
      entries_[r.prev].next = c.match;
      entries_[r.next].prev = c.match;
    }
    entries_[c.prev].next = call;
    entries_[c.next].prev = call;
  }

  struct Raw {
    int64_t time;
    bool call;
    uint32_t op;
  };

  void build(const KvHistory& h, std::span<const uint32_t> indices) {
    const std::unordered_set<int64_t> observed = observed_values(h, indices);
    std::vector<Raw> raw;
    for (uint32_t idx : indices) {
      const KvHistoryOp& o = h.ops()[idx];
      if (o.outcome == HistoryOutcome::kFail) continue;  // did not happen
      // A write of unknown outcome whose value nobody observed can be left out: if a
      // linearization applies it, removing it leaves one (no read or compare-and-set
      // between it and the next put could have seen the difference), and without it the
      // search would try it at every point of the rest of the history.
      if (o.outcome == HistoryOutcome::kUnknown && o.is_write() && !observed.count(o.value)) {
        continue;
      }
      auto s = search_op(h, o);
      if (!s) continue;
      const auto n = static_cast<uint32_t>(ops_.size());
      // Deterministic Zobrist keys: two independent 64-bit streams per operation.
      s->z1 = mix64(0x243f6a8885a308d3ULL + 2 * uint64_t{n});
      s->z2 = mix64(0x13198a2e03707344ULL + 2 * uint64_t{n} + 1);
      ops_.push_back(*s);
      raw.push_back({o.invoke.ns(), true, n});
      if (s->must) {
        raw.push_back({o.complete.ns(), false, n});
        ++must_;
      }
    }
    // Time order; at equal times calls first (touching operations are concurrent), then
    // by operation for determinism.
    std::sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) {
      if (a.time != b.time) return a.time < b.time;
      if (a.call != b.call) return a.call;
      return a.op < b.op;
    });
    link_entries(raw);
  }

  // Values some operation observed: returned by a successful read, or expected by a
  // compare-and-set that may have happened.
  static std::unordered_set<int64_t> observed_values(const KvHistory& h,
                                                     std::span<const uint32_t> indices) {
    std::unordered_set<int64_t> observed;  // lookups only
    for (uint32_t idx : indices) {
      const KvHistoryOp& o = h.ops()[idx];
      if (o.kind == KvOpKind::kGet && o.ok()) {
        for (int64_t v : h.read_value(o))
          observed.insert(v);
      } else if (o.kind == KvOpKind::kCas && o.outcome != HistoryOutcome::kFail &&
                 !o.expected_absent) {
        observed.insert(o.expected);
      }
    }
    return observed;
  }

  // An operation that happened or may have, as the search sees it (without its Zobrist
  // keys); nullopt when it constrains nothing.
  std::optional<SearchOp> search_op(const KvHistory& h, const KvHistoryOp& o) {
    SearchOp s{};
    s.must = o.outcome == HistoryOutcome::kOk;
    switch (o.kind) {
      case KvOpKind::kGet:
        if (!s.must) return std::nullopt;  // an unanswered read constrains nothing
        s.kind = SearchOp::Kind::kRead;
        s.expect = states_.intern(h.read_value(o));
        break;
      case KvOpKind::kPut:
        s.kind = SearchOp::Kind::kPut;
        s.target = states_.child(0, o.value);
        break;
      case KvOpKind::kCas:
        s.kind = SearchOp::Kind::kCas;
        s.expect = o.expected_absent ? 0 : states_.child(0, o.expected);
        s.target = states_.child(0, o.value);
        break;
      case KvOpKind::kAppend:
        s.kind = SearchOp::Kind::kAppend;
        s.element = o.value;
        break;
    }
    return s;
  }

  // The entries as a doubly linked list in `raw`'s order, each call matched with its
  // return.
  void link_entries(const std::vector<Raw>& raw) {
    // entries_[0] is the list's head sentinel; entries_.size() stands for its end.
    entries_.resize(raw.size() + 1);
    const auto end = static_cast<uint32_t>(entries_.size());
    std::vector<uint32_t> call_of(ops_.size(), 0);
    for (size_t i = 0; i < raw.size(); ++i) {
      const auto at = static_cast<uint32_t>(i + 1);
      Entry& en = entries_[at];
      en.time = raw[i].time;
      en.op = raw[i].op;
      en.call = raw[i].call;
      en.prev = at - 1;
      en.next = at + 1 == end ? end : at + 1;
      if (en.call) {
        call_of[en.op] = at;
      } else {
        entries_[call_of[en.op]].match = at;
      }
    }
    entries_[0].next = raw.empty() ? end : 1;
    // The end is not a real entry: give it a slot so prev/next writes through it are safe.
    entries_.push_back(Entry{});
    entries_.back().prev = raw.empty() ? 0 : end - 1;
    end_ = end;
  }

  SearchBudget budget_;
  StateTable states_;
  MemoSet memo_;
  std::vector<SearchOp> ops_;
  std::vector<Entry> entries_;
  uint64_t must_ = 0;
  uint32_t end_ = 0;  // the index standing for the list's end
};

// ---------------------------------------------------------------------------------------
// Counterexample shrinking.

// For each operation of `ops`, the positions (in `ops`) of the operations that read the
// value it wrote: gets that returned it and compare-and-sets that expected it.
std::vector<std::vector<uint32_t>> readers_of(const KvHistory& h,
                                              const std::vector<uint32_t>& ops) {
  std::map<int64_t, uint32_t> writer;  // value -> position
  for (uint32_t i = 0; i < ops.size(); ++i) {
    const KvHistoryOp& o = h.ops()[ops[i]];
    if (o.is_write()) writer.emplace(o.value, i);
  }
  std::vector<std::vector<uint32_t>> readers(ops.size());
  for (uint32_t i = 0; i < ops.size(); ++i) {
    const KvHistoryOp& o = h.ops()[ops[i]];
    if (o.kind == KvOpKind::kGet) {
      for (int64_t v : h.read_value(o)) {
        auto it = writer.find(v);
        if (it != writer.end() && it->second != i) readers[it->second].push_back(i);
      }
    } else if (o.kind == KvOpKind::kCas && !o.expected_absent) {
      auto it = writer.find(o.expected);
      if (it != writer.end() && it->second != i) readers[it->second].push_back(i);
    }
  }
  return readers;
}

class Shrinker {
 public:
  Shrinker(const KvHistory& h, std::vector<uint32_t> ops, const SearchBudget& per_check,
           uint64_t max_steps)
      : h_(h), ops_(std::move(ops)), per_check_(per_check), steps_left_(max_steps) {
    std::sort(ops_.begin(), ops_.end(), [&](uint32_t a, uint32_t b) {
      return h.ops()[a].invoke != h.ops()[b].invoke ? h.ops()[a].invoke < h.ops()[b].invoke : a < b;
    });
    readers_ = readers_of(h, ops_);
  }

  uint64_t steps_left() const { return steps_left_; }

  std::vector<uint32_t> run(bool* minimal) {
    std::vector<char> keep(ops_.size(), 1);
    // 1. The shortest prefix (in invoke order) that is still a violation.
    size_t lo = 1, hi = ops_.size();
    while (lo < hi && !exhausted_) {
      const size_t mid = lo + (hi - lo) / 2;
      std::vector<char> k = keep;
      for (size_t i = mid; i < ops_.size(); ++i)
        remove(k, static_cast<uint32_t>(i));
      if (violates(k)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    for (size_t i = hi; i < ops_.size(); ++i)
      remove(keep, static_cast<uint32_t>(i));
    // 2. Remove chunks, halving their size, down to single operations, until no single
    //    removal keeps a violation.
    size_t chunk = std::max<size_t>(1, count(keep) / 2);
    for (;;) {
      if (exhausted_) break;
      bool progress = false;
      std::vector<uint32_t> live;
      for (uint32_t i = 0; i < ops_.size(); ++i)
        if (keep[i]) live.push_back(i);
      for (size_t at = 0; at < live.size() && !exhausted_; at += chunk) {
        std::vector<char> k = keep;
        for (size_t j = at; j < std::min(live.size(), at + chunk); ++j)
          remove(k, live[j]);
        if (count(k) > 0 && violates(k)) {
          keep = std::move(k);
          progress = true;
        }
      }
      if (!progress) {
        if (chunk == 1) break;
        chunk = std::max<size_t>(1, chunk / 2);
      }
    }
    *minimal = !exhausted_ && !undecided_;
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < ops_.size(); ++i)
      if (keep[i]) out.push_back(ops_[i]);
    return out;
  }

 private:
  static size_t count(const std::vector<char>& k) {
    return static_cast<size_t>(std::count(k.begin(), k.end(), 1));
  }
  // Removes ops_[i] and, transitively, whatever read a value it wrote.
  void remove(std::vector<char>& k, uint32_t i) const {
    std::vector<uint32_t> todo{i};
    while (!todo.empty()) {
      const uint32_t j = todo.back();
      todo.pop_back();
      if (!k[j]) continue;
      k[j] = 0;
      for (uint32_t r : readers_[j])
        todo.push_back(r);
    }
  }
  // Whether the operations kept still violate. A check its budget cannot decide counts
  // as "no" (the operations stay) and costs the result its minimality.
  bool violates(const std::vector<char>& k) {
    std::vector<uint32_t> sub;
    for (uint32_t i = 0; i < ops_.size(); ++i)
      if (k[i]) sub.push_back(ops_[i]);
    SearchBudget b = per_check_;
    b.max_steps = std::min(b.max_steps, steps_left_);
    if (b.max_steps == 0) {
      exhausted_ = true;
      return false;
    }
    const SearchResult r = check_ops(h_, sub, b);
    steps_left_ -= std::min(steps_left_, r.steps);
    if (r.verdict == Verdict::kUnknown) {
      undecided_ = true;
      if (steps_left_ == 0) exhausted_ = true;
    }
    return r.verdict == Verdict::kViolation;
  }

  const KvHistory& h_;
  std::vector<uint32_t> ops_;
  std::vector<std::vector<uint32_t>> readers_;
  SearchBudget per_check_;
  uint64_t steps_left_;
  bool exhausted_ = false;
  bool undecided_ = false;
};

}  // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "linearizable";
    case Verdict::kViolation:
      return "not linearizable";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "?";
}

SearchResult check_ops(const KvHistory& h, std::span<const uint32_t> ops,
                       const SearchBudget& budget) {
  Search s(h, ops, budget);
  return s.run();
}

std::vector<uint32_t> minimize_violation(const KvHistory& h, std::vector<uint32_t> ops,
                                         const SearchBudget& per_check, uint64_t max_steps,
                                         bool* minimal, uint64_t* steps_left) {
  Shrinker s(h, std::move(ops), per_check, max_steps);
  std::vector<uint32_t> out = s.run(minimal);
  if (steps_left) *steps_left = s.steps_left();
  return out;
}

namespace {

// When the search ran out of budget, a cheap witness (witness.h) still decides "not
// linearizable", and its argument is the counterexample. The search runs on the witness
// with the writes its reads need; it can only overrule it by finding an order.
bool decide_by_witness(const KvHistory& h, std::span<const uint32_t> ops,
                       const SearchBudget& budget, KeyResult& kr) {
  const std::optional<Witness> w = find_witness(h, ops);
  if (!w || check_ops(h, w->closure, budget).verdict == Verdict::kOk) return false;
  kr.verdict = Verdict::kViolation;
  kr.witness = true;
  kr.counterexample = w->core;
  return true;
}

}  // namespace

LinearizabilityResult check_linearizability(const KvHistory& h,
                                            const LinearizabilityConfig& config) {
  std::map<uint64_t, std::vector<uint32_t>> by_key;
  for (uint32_t i = 0; i < h.size(); ++i)
    by_key[h.ops()[i].key].push_back(i);
  LinearizabilityResult out;
  uint64_t steps_left = config.max_steps_total;
  uint64_t shrink_left = config.max_minimize_steps;
  size_t shrunk = 0;
  for (auto& [key, ops] : by_key) {
    if (config.progress) config.progress(out.keys, by_key.size());
    ++out.keys;
    KeyResult kr;
    kr.key = key;
    kr.ops = ops.size();
    SearchBudget b = config.per_key;
    b.max_steps = std::min(b.max_steps, steps_left);
    if (b.max_steps == 0) {
      kr.verdict = Verdict::kUnknown;
      kr.why_unknown = "total step budget (" + std::to_string(config.max_steps_total) +
                       " steps over every key) exhausted";
    } else {
      const SearchResult r = check_ops(h, ops, b);
      steps_left -= std::min(steps_left, r.steps);
      kr.verdict = r.verdict;
      kr.steps = r.steps;
      kr.why_unknown = r.why_unknown;
    }
    out.steps += kr.steps;
    if (kr.verdict == Verdict::kOk) continue;
    if (kr.verdict == Verdict::kViolation) {
      ++out.violated;
      if (shrunk < config.max_counterexamples) {
        ++shrunk;
        if (config.minimize) {
          // Smaller sets are less constrained and can be much harder to refute than the
          // whole; each candidate gets a budget in proportion to the original search.
          SearchBudget per_check = config.per_key;
          per_check.max_steps =
              std::min(per_check.max_steps, std::max<uint64_t>(100'000, 20 * kr.steps));
          kr.counterexample =
              minimize_violation(h, ops, per_check, shrink_left, &kr.minimal, &shrink_left);
        } else {
          kr.counterexample = ops;
        }
      }
    } else if (decide_by_witness(h, ops, config.per_key, kr)) {
      ++out.violated;
    } else {
      ++out.unknown;
    }
    out.flagged.push_back(std::move(kr));
  }
  out.verdict = out.violated ? Verdict::kViolation : out.unknown ? Verdict::kUnknown : Verdict::kOk;
  return out;
}

}  // namespace dsim::kv::check
