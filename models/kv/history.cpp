#include "models/kv/history.h"

namespace dsim::kv {

std::unique_ptr<HistoryLog> make_kv_history() {
  return std::make_unique<KvHistory>();
}

KvHistory::KvHistory() : HistoryLog(kKvFamily) {}

std::string probe_label(Duration t) {
  const int64_t ns = t.ns();
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

uint32_t KvHistory::invoke(SimTime at, NodeId client, const KvInvocation& what) {
  if (ops_.size() >= kNone - 1) return kNone;
  KvHistoryOp op;
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
  if (what.probe) {
    op.probe = true;
    op.value = what.probe_of;
    op.expected = what.probe_after.ns();
  }
  ops_.push_back(op);
  done_.push_back(false);
  return static_cast<uint32_t>(ops_.size() - 1);
}

void KvHistory::complete(uint32_t index, SimTime at, HistoryOutcome outcome,
                         std::span<const int64_t> read, uint32_t attempts) {
  if (index >= ops_.size() || done_[index]) return;
  done_[index] = true;
  KvHistoryOp& op = ops_[index];
  op.complete = at;
  op.outcome = outcome;
  op.attempts = static_cast<uint16_t>(attempts > 0xffff ? 0xffff : attempts);
  // A read's value is kept even past the memory budget (the operation is already
  // recorded): the excess is bounded by the reads in flight when the history filled up.
  if (outcome == HistoryOutcome::kOk && !read.empty()) {
    op.read_begin = read_pool_.size();
    op.read_len = static_cast<uint32_t>(read.size());
    read_pool_.insert(read_pool_.end(), read.begin(), read.end());
  }
}

uint32_t KvHistory::add(KvHistoryOp op, std::span<const int64_t> read) {
  op.read_begin = read_pool_.size();
  op.read_len = static_cast<uint32_t>(read.size());
  read_pool_.insert(read_pool_.end(), read.begin(), read.end());
  ops_.push_back(op);
  done_.push_back(op.complete != KvHistoryOp::kNever);
  return static_cast<uint32_t>(ops_.size() - 1);
}

}  // namespace dsim::kv
