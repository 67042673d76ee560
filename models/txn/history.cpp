#include "models/txn/history.h"

namespace dsim::txn {

std::unique_ptr<HistoryLog> make_txn_history() {
  return std::make_unique<TxnHistory>();
}

TxnHistory::TxnHistory() : HistoryLog(kTxnFamily) {}

uint32_t TxnHistory::invoke(SimTime at, NodeId client, const TxnInvocation& what) {
  if (txns_.size() >= kNone - 1) return kNone;
  TxnHistoryOp t;
  t.invoke = at;
  t.txn = what.txn;
  t.client = client;
  t.ops_begin = op_pool_.size();
  t.ops_len = static_cast<uint32_t>(what.ops.size());
  t.reads_begin = read_pool_.size();
  op_pool_.insert(op_pool_.end(), what.ops.begin(), what.ops.end());
  txns_.push_back(t);
  done_.push_back(false);
  return static_cast<uint32_t>(txns_.size() - 1);
}

void TxnHistory::complete(uint32_t index, SimTime at, HistoryOutcome outcome,
                          std::span<const int64_t> reads, uint32_t attempts) {
  if (index >= txns_.size() || done_[index]) return;
  done_[index] = true;
  TxnHistoryOp& t = txns_[index];
  t.complete = at;
  t.outcome = outcome;
  t.attempts = static_cast<uint16_t>(attempts > 0xffff ? 0xffff : attempts);
  // The reads are kept even past the memory budget (the transaction is already recorded):
  // the excess is bounded by the transactions in flight when the history filled up. Reads
  // that do not match the operations one for one are not kept (the checker could not pair
  // them).
  if (outcome == HistoryOutcome::kOk && reads.size() == t.ops_len && !reads.empty()) {
    t.reads_begin = read_pool_.size();
    t.reads_len = static_cast<uint32_t>(reads.size());
    read_pool_.insert(read_pool_.end(), reads.begin(), reads.end());
  }
}

uint32_t TxnHistory::add(TxnHistoryOp op, std::span<const TxnOp> ops,
                         std::span<const int64_t> reads) {
  op.ops_begin = op_pool_.size();
  op.ops_len = static_cast<uint32_t>(ops.size());
  op_pool_.insert(op_pool_.end(), ops.begin(), ops.end());
  op.reads_begin = read_pool_.size();
  op.reads_len = static_cast<uint32_t>(reads.size());
  read_pool_.insert(read_pool_.end(), reads.begin(), reads.end());
  txns_.push_back(op);
  done_.push_back(op.complete != TxnHistoryOp::kNever);
  return static_cast<uint32_t>(txns_.size() - 1);
}

}  // namespace dsim::txn
