#include "sim/core/history.h"

namespace dsim {

std::string_view kv_op_name(KvOpKind k) {
  switch (k) {
    case KvOpKind::kGet:
      return "get";
    case KvOpKind::kPut:
      return "put";
    case KvOpKind::kCas:
      return "cas";
    case KvOpKind::kAppend:
      return "append";
  }
  return "?";
}

std::string_view history_outcome_name(HistoryOutcome o) {
  switch (o) {
    case HistoryOutcome::kOk:
      return "ok";
    case HistoryOutcome::kFail:
      return "fail";
    case HistoryOutcome::kUnknown:
      return "unknown";
  }
  return "?";
}

uint32_t History::invoke(SimTime at, NodeId client, const OpInvocation& what) {
  if (bytes() + sizeof(HistoryOp) + 1 > max_bytes_ || ops_.size() >= kNone - 1) {
    if (dropped_++ == 0) truncated_at_ = at;
    return kNone;
  }
  HistoryOp op;
  op.invoke = at;
  op.key = what.key;
  op.value = what.value;
  op.expected = what.expected;
  op.idempotency_key = what.idempotency_key;
  op.client = client;
  op.session = what.session;
  op.kind = what.kind;
  op.expected_absent = what.expected_absent;
  op.final_read = what.final_read;
  ops_.push_back(op);
  done_.push_back(false);
  return static_cast<uint32_t>(ops_.size() - 1);
}

void History::complete(uint32_t index, SimTime at, HistoryOutcome outcome,
                       std::span<const int64_t> read, uint32_t attempts) {
  if (index >= ops_.size() || done_[index]) return;
  done_[index] = true;
  HistoryOp& op = ops_[index];
  op.complete = at;
  op.outcome = outcome;
  op.attempts = static_cast<uint16_t>(attempts > 0xffff ? 0xffff : attempts);
  // A read's value is kept even past max_bytes (the operation is already recorded): the
  // excess is bounded by the reads in flight when the history filled up.
  if (outcome == HistoryOutcome::kOk && !read.empty()) {
    op.read_begin = read_pool_.size();
    op.read_len = static_cast<uint32_t>(read.size());
    read_pool_.insert(read_pool_.end(), read.begin(), read.end());
  }
}

uint32_t History::add(HistoryOp op, std::span<const int64_t> read) {
  op.read_begin = read_pool_.size();
  op.read_len = static_cast<uint32_t>(read.size());
  read_pool_.insert(read_pool_.end(), read.begin(), read.end());
  ops_.push_back(op);
  done_.push_back(op.complete != HistoryOp::kNever);
  return static_cast<uint32_t>(ops_.size() - 1);
}

}  // namespace dsim
