// The transaction history family: what every transaction a client ran did, for the
// serializability checker of check.h and the history file (txn_history.csv).
//
// A transaction is one-shot (contract.h): its operations are known when it begins, and when
// it commits every operation returns the value its key held before the transaction. Values
// identify the write that produced them (each is written by one operation of one
// transaction) and a key nobody wrote holds 0, so a checker can tell which transaction's
// write each read saw, and which version of a key each write replaced.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "models/txn/contract.h"
#include "sim/core/history.h"
#include "sim/core/model.h"

namespace dsim::txn {

/// What a client declares about a transaction when it begins.
struct TxnInvocation {
  uint64_t txn = 0;  ///< unique in the run
  std::span<const TxnOp> ops;
};

/// What a transaction returned: when committed, for each operation, the value its key held
/// before the transaction (0: never written).
struct TxnResult {
  std::span<const int64_t> reads;
};

/// One transaction of a history.
struct TxnHistoryOp {
  static constexpr SimTime kNever = HistoryLog::kNever;
  SimTime invoke;
  SimTime complete = kNever;  ///< true time it completed or was given up; kNever: in flight
  uint64_t txn = 0;
  uint64_t ops_begin = 0;    ///< its operations: TxnHistory::ops_of()
  uint64_t reads_begin = 0;  ///< its reads: TxnHistory::reads_of()
  NodeId client = kNoNode;
  uint32_t ops_len = 0;
  uint32_t reads_len = 0;  ///< ops_len when committed with its reads, else 0
  uint16_t attempts = 0;   ///< requests sent for it (1 without retries)
  /// kOk: committed; kFail: aborted for certain; kUnknown: may have committed.
  HistoryOutcome outcome = HistoryOutcome::kUnknown;
  bool served = false;  ///< see HistorySpan::served

  bool committed() const { return outcome == HistoryOutcome::kOk; }
};

/// The transactions of a run, in invoke order.
class TxnHistory final : public HistoryLog {
 public:
  static constexpr uint32_t kNone = HistoryLog::kNone;

  TxnHistory();

  /// Records a transaction invoked at `at` by `client`; returns its index.
  uint32_t invoke(SimTime at, NodeId client, const TxnInvocation& what);
  /// Completes transaction `index` at `at`; `reads` are kept when it committed. Completing
  /// one twice keeps the first.
  void complete(uint32_t index, SimTime at, HistoryOutcome outcome,
                std::span<const int64_t> reads = {}, uint32_t attempts = 1);
  /// Appends a whole transaction (tests, tools); `op.ops_begin` and `op.reads_begin` are
  /// ignored.
  uint32_t add(TxnHistoryOp op, std::span<const TxnOp> ops, std::span<const int64_t> reads = {});

  const std::vector<TxnHistoryOp>& txns() const { return txns_; }
  bool empty() const { return txns_.empty(); }
  std::span<const TxnOp> ops_of(const TxnHistoryOp& t) const {
    return std::span<const TxnOp>(op_pool_).subspan(t.ops_begin, t.ops_len);
  }
  std::span<const int64_t> reads_of(const TxnHistoryOp& t) const {
    return std::span<const int64_t>(read_pool_).subspan(t.reads_begin, t.reads_len);
  }

  // HistoryLog
  uint32_t invoke(SimTime at, NodeId client, const void* invocation) override {
    return invoke(at, client, *static_cast<const TxnInvocation*>(invocation));
  }
  void complete(uint32_t index, SimTime at, HistoryOutcome outcome, const void* result,
                uint32_t attempts) override {
    complete(index, at, outcome,
             result ? static_cast<const TxnResult*>(result)->reads : std::span<const int64_t>(),
             attempts);
  }
  void set_served(uint32_t index, bool served) override {
    if (index < txns_.size()) txns_[index].served = served;
  }
  size_t size() const override { return txns_.size(); }
  uint64_t bytes() const override {
    return txns_.size() * op_bytes() + op_pool_.size() * sizeof(TxnOp) +
           read_pool_.size() * sizeof(int64_t);
  }
  uint64_t op_bytes() const override { return sizeof(TxnHistoryOp) + 1; }
  HistorySpan span(size_t i) const override {
    const TxnHistoryOp& t = txns_[i];
    return {t.client, t.invoke, t.complete, t.served};
  }

 private:
  std::vector<TxnHistoryOp> txns_;
  std::vector<bool> done_;
  std::vector<TxnOp> op_pool_;
  std::vector<int64_t> read_pool_;
};

std::unique_ptr<HistoryLog> make_txn_history();
inline constexpr HistoryFamily kTxnFamily{"txn", &make_txn_history};

/// The txn history of a run, or null when no client recorded one.
inline const TxnHistory* txn_history(const Histories& h) {
  return static_cast<const TxnHistory*>(h.find(kTxnFamily));
}

/// Typed Recorder calls for the txn family (model.h: op_invoke, op_result).
inline void record_invoke(Recorder& r, OpToken token, const TxnInvocation& what) {
  r.op_invoke(token, kTxnFamily, &what);
}
inline void record_result(Recorder& r, OpToken token, HistoryOutcome outcome,
                          std::span<const int64_t> reads, uint32_t attempts) {
  const TxnResult result{reads};
  r.op_result(token, outcome, &result, attempts);
}

}  // namespace dsim::txn
