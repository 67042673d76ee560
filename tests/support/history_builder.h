// Builds operation histories by hand for the checkers' tests. Times are nanoseconds;
// a completion of -1 means "still in flight at the end".
#pragma once

#include <optional>
#include <vector>

#include "models/kv/history.h"

namespace dsim::testing {

class HistoryBuilder {
 public:
  using O = HistoryOutcome;

  uint32_t put(uint64_t key, int64_t v, int64_t t0, int64_t t1, O o = O::kOk, NodeId c = 0,
               uint32_t session = 0) {
    return add(kv::KvOpKind::kPut, key, v, std::nullopt, {}, t0, t1, o, c, session);
  }
  uint32_t get(uint64_t key, std::vector<int64_t> read, int64_t t0, int64_t t1, O o = O::kOk,
               NodeId c = 0, uint32_t session = 0) {
    return add(kv::KvOpKind::kGet, key, 0, std::nullopt, std::move(read), t0, t1, o, c, session);
  }
  /// expected nullopt: expects the key absent.
  uint32_t cas(uint64_t key, std::optional<int64_t> expected, int64_t v, int64_t t0, int64_t t1,
               O o = O::kOk, NodeId c = 0, uint32_t session = 0) {
    return add(kv::KvOpKind::kCas, key, v, expected, {}, t0, t1, o, c, session);
  }
  uint32_t append(uint64_t key, int64_t x, int64_t t0, int64_t t1, O o = O::kOk, NodeId c = 0,
                  uint32_t session = 0) {
    return add(kv::KvOpKind::kAppend, key, x, std::nullopt, {}, t0, t1, o, c, session);
  }
  /// A visibility probe of the write of `of`, issued `after_ns` after its acknowledgement.
  uint32_t probe(uint64_t key, int64_t of, int64_t after_ns, std::vector<int64_t> read, int64_t t0,
                 int64_t t1, O o = O::kOk, NodeId c = 0) {
    const uint32_t i = get(key, std::move(read), t0, t1, o, c);
    ops_[i].op.probe = true;
    ops_[i].op.value = of;
    ops_[i].op.expected = after_ns;
    return i;
  }
  /// Marks operation i as a final read (read-back).
  void final_read(uint32_t i) { final_.push_back(i); }

  kv::KvHistory build() const {
    kv::KvHistory h;
    for (size_t i = 0; i < ops_.size(); ++i) {
      kv::KvHistoryOp op = ops_[i].op;
      for (uint32_t f : final_)
        if (f == i) op.final_read = true;
      h.add(op, ops_[i].read);
    }
    return h;
  }

 private:
  struct Pending {
    kv::KvHistoryOp op;
    std::vector<int64_t> read;
  };
  uint32_t add(kv::KvOpKind kind, uint64_t key, int64_t v, std::optional<int64_t> expected,
               std::vector<int64_t> read, int64_t t0, int64_t t1, O o, NodeId c, uint32_t session) {
    kv::KvHistoryOp op;
    op.kind = kind;
    op.key = key;
    op.value = v;
    op.expected = expected.value_or(0);
    op.expected_absent = kind == kv::KvOpKind::kCas && !expected;
    op.invoke = SimTime::from_ns(t0);
    op.complete = t1 < 0 ? kv::KvHistoryOp::kNever : SimTime::from_ns(t1);
    op.outcome = t1 < 0 ? O::kUnknown : o;
    op.served = op.outcome == O::kOk;
    op.client = c;
    op.session = session;
    op.attempts = 1;
    ops_.push_back({op, o == O::kOk ? std::move(read) : std::vector<int64_t>{}});
    return static_cast<uint32_t>(ops_.size() - 1);
  }
  std::vector<Pending> ops_;
  std::vector<uint32_t> final_;
};

}  // namespace dsim::testing
