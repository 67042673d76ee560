#include "models/kv/check/staleness.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace dsim::kv::check {

namespace {

constexpr int64_t kMinusInf = std::numeric_limits<int64_t>::min();
constexpr int64_t kPlusInf = std::numeric_limits<int64_t>::max();

// A Fenwick tree of counts.
class Counts {
 public:
  explicit Counts(size_t n) : t_(n + 1, 0) {}
  void add(size_t i) {
    for (++i; i < t_.size(); i += i & (~i + 1))
      ++t_[i];
  }
  uint64_t prefix(size_t n) const {  // positions [0, n)
    uint64_t s = 0;
    for (; n > 0; n -= n & (~n + 1))
      s += t_[n];
    return s;
  }

 private:
  std::vector<uint64_t> t_;
};

// What a successful read reflects.
struct Seen {
  bool valid = true;
  int64_t base = kMinusInf;       // completion of its base write (+inf: outcome unknown)
  std::vector<int64_t> elements;  // distinct, sorted
  bool reflects(int64_t v) const { return std::binary_search(elements.begin(), elements.end(), v); }
};

using SessionId = std::pair<NodeId, uint32_t>;
using Stamped = std::pair<int64_t, int64_t>;  // (invoke of a write, its value)

// The writes of a session known at some point, by invoke: the check "is one of them newer
// than the base and not reflected" looks at the newest ones first and skips at most as
// many as the read reflects.
struct Known {
  std::set<Stamped> writes;
  bool newer_unreflected(const Seen& s) const {
    for (auto it = writes.rbegin(); it != writes.rend(); ++it) {
      if (it->first <= s.base) return false;
      if (!s.reflects(it->second)) return true;
    }
    return false;
  }
};

class KeyChecker {
 public:
  KeyChecker(const KvHistory& h, std::span<const uint32_t> node_group, const StalenessConfig& cfg,
             StalenessResult& out)
      : h_(h), node_group_(node_group), cfg_(cfg), out_(out) {}

  void run(const std::vector<uint32_t>& ops) {
    ops_ = &ops;
    for (uint32_t i : ops) {
      const KvHistoryOp& o = op(i);
      if (!o.is_write()) continue;
      writer_.emplace(o.value, i);
      if (o.ok()) {
        ok_writes_.push_back(i);
        both(o, [](StalenessStats& s) { s.acked_writes++; });
      }
    }
    std::sort(ok_writes_.begin(), ok_writes_.end(), [&](uint32_t a, uint32_t b) {
      return std::make_pair(op(a).complete, a) < std::make_pair(op(b).complete, b);
    });
    for (uint32_t i : ops) {
      const KvHistoryOp& o = op(i);
      if (o.kind != KvOpKind::kGet || !o.ok()) continue;
      Seen seen = see(o);
      if (!seen.valid && o.invoke >= cfg_.measured_from) {
        both(o, [](StalenessStats& st) { st.invalid_reads++; });
      }
      seen_.emplace(i, std::move(seen));
    }
    duplicates();
    reads();
    probes();
    lost_writes();
  }

 private:
  const KvHistoryOp& op(uint32_t i) const { return h_.ops()[i]; }
  template <class F>
  void both(const KvHistoryOp& o, F f) {
    f(out_.total);
    f(out_.groups[node_group_[o.client]]);
  }
  // The write of this key that wrote v, if it is one that may have happened.
  const KvHistoryOp* writer_of(int64_t v) const {
    auto it = writer_.find(v);
    if (it == writer_.end()) return nullptr;
    const KvHistoryOp& w = op(it->second);
    return w.outcome == HistoryOutcome::kFail ? nullptr : &w;
  }

  Seen see(const KvHistoryOp& r) const {
    Seen s;
    const auto value = h_.read_value(r);
    for (size_t j = 0; j < value.size(); ++j) {
      const KvHistoryOp* w = writer_of(value[j]);
      if (!w || (j > 0 && w->kind != KvOpKind::kAppend)) {
        s.valid = false;
        return s;
      }
      if (j == 0 && w->kind != KvOpKind::kAppend) {
        s.base = w->ok() ? w->complete.ns() : kPlusInf;
      }
    }
    s.elements.assign(value.begin(), value.end());
    std::sort(s.elements.begin(), s.elements.end());
    s.elements.erase(std::unique(s.elements.begin(), s.elements.end()), s.elements.end());
    return s;
  }

  void record_tvis(const KvHistoryOp& r, int64_t t, bool visible) {
    both(r, [&](StalenessStats& s) {
      const int64_t step = cfg_.tvis_step.ns();
      const auto buckets = static_cast<size_t>(cfg_.tvis_max.ns() / step) + 1;
      if (s.tvis.empty()) {
        s.tvis.resize(buckets);
        for (size_t b = 0; b < buckets; ++b) {
          s.tvis[b].lo_ns = static_cast<int64_t>(b) * step;
          s.tvis[b].hi_ns = b + 1 == buckets ? kPlusInf : static_cast<int64_t>(b + 1) * step;
        }
      }
      const auto b = std::min(static_cast<size_t>(t / step), buckets - 1);
      s.tvis[b].reads++;
      if (visible) {
        s.tvis[b].visible++;
      } else {
        s.stale_lag_max_ns = std::max(s.stale_lag_max_ns, t);
      }
    });
  }

  // The successful writes' invoke times, sorted, and each write's rank among them (by
  // ok_writes_ position).
  struct InvokeRanks {
    std::vector<int64_t> sorted;
    std::vector<size_t> rank;
    /// How many writes were invoked at or before t.
    size_t at_or_before(int64_t t) const {
      return static_cast<size_t>(std::upper_bound(sorted.begin(), sorted.end(), t) -
                                 sorted.begin());
    }
  };

  InvokeRanks invoke_ranks() const {
    InvokeRanks ir;
    for (uint32_t w : ok_writes_)
      ir.sorted.push_back(op(w).invoke.ns());
    ir.rank.resize(ok_writes_.size());
    std::vector<size_t> order(ok_writes_.size());
    for (size_t j = 0; j < order.size(); ++j)
      order[j] = j;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::make_pair(ir.sorted[a], a) < std::make_pair(ir.sorted[b], b);
    });
    for (size_t j = 0; j < order.size(); ++j)
      ir.rank[order[j]] = j;
    std::sort(ir.sorted.begin(), ir.sorted.end());
    return ir;
  }

  // Per session: its successful writes and its valid reads, by completion, swept in.
  struct Session {
    std::vector<uint32_t> writes, reads;  // by completion
    size_t writes_in = 0, reads_in = 0;
    Known wrote, read;
  };

  std::map<SessionId, Session> by_session() const {
    std::map<SessionId, Session> sessions;
    for (uint32_t w : ok_writes_)
      sessions[{op(w).client, op(w).session}].writes.push_back(w);
    for (uint32_t i : *ops_) {
      const KvHistoryOp& o = op(i);
      if (o.kind == KvOpKind::kGet && o.ok() && !o.final_read && !o.probe && seen_.at(i).valid) {
        sessions[{o.client, o.session}].reads.push_back(i);
      }
    }
    for (auto& [id, ses] : sessions) {
      std::sort(ses.reads.begin(), ses.reads.end(), [&](uint32_t a, uint32_t b) {
        return std::make_pair(op(a).complete, a) < std::make_pair(op(b).complete, b);
      });
    }
    return sessions;
  }

  // Sweeps in the session's writes and reads completed before `at`.
  void catch_up(Session& ses, SimTime at) const {
    while (ses.writes_in < ses.writes.size() && op(ses.writes[ses.writes_in]).complete < at) {
      const KvHistoryOp& w = op(ses.writes[ses.writes_in++]);
      ses.wrote.writes.emplace(w.invoke.ns(), w.value);
    }
    while (ses.reads_in < ses.reads.size() && op(ses.reads[ses.reads_in]).complete < at) {
      for (int64_t v : seen_.at(ses.reads[ses.reads_in]).elements)
        ses.read.writes.emplace(writer_of(v)->invoke.ns(), v);
      ++ses.reads_in;
    }
  }

  // The read's figures: k (of the `newer` writes completed before it and invoked after its
  // base's completion, those it does not reflect), read-your-writes and monotonic reads.
  void count_read(const KvHistoryOp& r, const Seen& seen, uint64_t newer, const Session& ses) {
    uint64_t k = newer;
    for (int64_t v : seen.elements) {
      const KvHistoryOp* w = writer_of(v);
      if (w->ok() && w->complete < r.invoke && w->invoke.ns() > seen.base) --k;
    }
    const bool ryw = ses.writes_in > 0;
    const bool ryw_bad = ryw && ses.wrote.newer_unreflected(seen);
    const bool mr = ses.reads_in > 0;
    const bool mr_bad = mr && ses.read.newer_unreflected(seen);
    both(r, [&](StalenessStats& s) {
      s.reads++;
      s.count_k(k);
      if (k > 0) s.stale_reads++;
      if (ryw) s.ryw_reads++;
      if (ryw_bad) s.ryw_violations++;
      if (mr) s.mr_reads++;
      if (mr_bad) s.mr_violations++;
    });
  }

  void reads() {
    // k counts successful writes completed before the read and invoked after its base's
    // completion: a sweep over reads in invoke order adds writes as they complete to a
    // Fenwick tree over their invoke times.
    const InvokeRanks invokes = invoke_ranks();
    std::map<SessionId, Session> sessions = by_session();
    Counts tree(ok_writes_.size());
    size_t p = 0;
    for (uint32_t i : *ops_) {
      const KvHistoryOp& r = op(i);
      if (r.kind != KvOpKind::kGet || !r.ok() || r.final_read || r.probe) continue;
      const Seen& seen = seen_.at(i);
      if (!seen.valid) continue;
      while (p < ok_writes_.size() && op(ok_writes_[p]).complete < r.invoke) {
        tree.add(invokes.rank[p]);
        ++p;
      }
      Session& ses = sessions[{r.client, r.session}];
      catch_up(ses, r.invoke);
      if (r.invoke < cfg_.measured_from) continue;
      count_read(r, seen, p - tree.prefix(invokes.at_or_before(seen.base)), ses);
      if (p > 0) {
        const KvHistoryOp& ref = op(ok_writes_[p - 1]);
        record_tvis(r, (r.invoke - ref.complete).ns(),
                    seen.reflects(ref.value) || ref.invoke.ns() <= seen.base);
      }
    }
  }

  // Each probe measured: did it see the write it probes?
  void probes() {
    for (uint32_t i : *ops_) {
      const KvHistoryOp& p = op(i);
      // A probe still in flight at the end of the run is left out: it neither saw nor failed.
      if (!p.probe || p.invoke < cfg_.measured_from || p.complete == KvHistoryOp::kNever) continue;
      const int64_t t = p.probe_after().ns();
      if (!p.ok()) {
        both(p, [&](StalenessStats& s) { s.probes[t].failed++; });
        continue;
      }
      const Seen& seen = seen_.at(i);
      const KvHistoryOp* w = writer_of(p.value);
      if (!seen.valid || !w) continue;  // an invalid read (counted so)
      const bool visible = seen.reflects(w->value) || w->invoke.ns() <= seen.base;
      both(p, [&](StalenessStats& s) {
        ProbeCounts& c = s.probes[t];
        c.pairs++;
        if (visible) c.visible++;
      });
    }
  }

  void duplicates() {
    std::unordered_set<int64_t> duplicated;  // elements seen twice in one read; lookups only
    for (uint32_t i : *ops_) {
      const KvHistoryOp& o = op(i);
      if (o.kind != KvOpKind::kGet || !o.ok() || o.read_len < 2) continue;
      std::vector<int64_t> l(h_.read_value(o).begin(), h_.read_value(o).end());
      std::sort(l.begin(), l.end());
      for (size_t j = 1; j < l.size(); ++j) {
        if (l[j] != l[j - 1] || duplicated.count(l[j])) continue;
        duplicated.insert(l[j]);
        auto it = writer_.find(l[j]);
        if (it == writer_.end() || op(it->second).kind != KvOpKind::kAppend) continue;
        both(op(it->second), [](StalenessStats& s) { s.duplicate_appends++; });
      }
    }
  }

  void lost_writes() {
    int64_t last_complete = kMinusInf;
    for (uint32_t w : ok_writes_)
      last_complete = std::max(last_complete, op(w).complete.ns());
    const Seen* final_read = nullptr;
    for (uint32_t i : *ops_) {
      const KvHistoryOp& o = op(i);
      if (o.kind != KvOpKind::kGet || !o.final_read) continue;
      out_.has_final_reads = true;
      if (o.ok() && o.invoke.ns() > last_complete && seen_.at(i).valid) final_read = &seen_.at(i);
    }
    for (uint32_t w : ok_writes_) {
      const KvHistoryOp& o = op(w);
      if (!final_read) {
        both(o, [](StalenessStats& s) { s.unverified_writes++; });
      } else if (!final_read->reflects(o.value) && o.invoke.ns() > final_read->base) {
        both(o, [](StalenessStats& s) { s.lost_writes++; });
      }
    }
  }

  const KvHistory& h_;
  std::span<const uint32_t> node_group_;
  const StalenessConfig& cfg_;
  StalenessResult& out_;
  const std::vector<uint32_t>* ops_ = nullptr;
  std::unordered_map<int64_t, uint32_t> writer_;  // value -> its write; lookups only
  std::vector<uint32_t> ok_writes_;               // by completion
  std::map<uint32_t, Seen> seen_;                 // successful gets
};

}  // namespace

void StalenessStats::count_k(uint64_t k) {
  if (k_counts.size() <= k) k_counts.resize(k + 1, 0);
  ++k_counts[k];
  k_sum += k;
  k_max = std::max(k_max, k);
}

StalenessResult check_staleness(const KvHistory& h, std::span<const uint32_t> node_group,
                                const StalenessConfig& config) {
  std::map<uint64_t, std::vector<uint32_t>> by_key;
  for (uint32_t i = 0; i < h.size(); ++i)
    by_key[h.ops()[i].key].push_back(i);
  StalenessResult out;
  for (auto& [key, ops] : by_key) {
    // Invoke order (a recorded history is in it already; a built one may not be).
    std::stable_sort(ops.begin(), ops.end(),
                     [&](uint32_t a, uint32_t b) { return h.ops()[a].invoke < h.ops()[b].invoke; });
    KeyChecker c(h, node_group, config, out);
    c.run(ops);
  }
  return out;
}

}  // namespace dsim::kv::check
