// The key-value history family: what every kv_client operation did, for the consistency
// checkers of models/kv/check (linearizability, staleness, sessions, lost writes) and the
// history files (history.csv, Jepsen EDN).
//
// Values are 64-bit integers that identify the write that produced them (the kv_client
// writes a value unique to each logical write), so a checker can tell which write a read
// saw. A key holds a list of such values: a register is a list of at most one element
// (put and compare-and-set replace the list with one element), and append adds one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/kv/contract.h"
#include "sim/core/history.h"
#include "sim/core/model.h"

namespace dsim::kv {

/// What a client declares about an operation when it begins.
struct KvInvocation {
  KvOpKind kind = KvOpKind::kGet;
  uint64_t key = 0;
  int64_t value = 0;             ///< put: the value; cas: the new value; append: the element
  int64_t expected = 0;          ///< cas: the value it expects
  bool expected_absent = false;  ///< cas: expects the key to have no value
  bool final_read = false;       ///< a read-back at the end of the run (lost-write check)
  uint32_t session = 0;          ///< the client's session (per client node)
  uint64_t idempotency_key = 0;  ///< what a store uses to recognise a retried write
  /// A visibility probe: a get of the key of the acknowledged write whose value is
  /// `probe_of`, issued `probe_after` after its acknowledgement (kv_client
  /// visibility_probes).
  bool probe = false;
  int64_t probe_of = 0;
  Duration probe_after;
};

/// The name of a probe time in figures: the largest unit that writes it whole
/// (`0ms`, `5ms`, `1500us`, `250ns`), so it never holds a '.' (checks split on it).
std::string probe_label(Duration t);

/// What an operation returned: a read's value.
struct KvResult {
  std::span<const int64_t> read;
};

/// One operation of a key-value history.
struct KvHistoryOp {
  static constexpr SimTime kNever = HistoryLog::kNever;
  SimTime invoke;
  SimTime complete = kNever;  ///< true time it completed or was given up; kNever: in flight
  uint64_t key = 0;
  int64_t value = 0;     ///< a write's value; a probe's: the write it probes
  int64_t expected = 0;  ///< a cas's expected value; a probe's: its time after the ack (ns)
  uint64_t idempotency_key = 0;
  uint64_t read_begin = 0;  ///< the read's value: KvHistory::read_value()
  NodeId client = kNoNode;
  uint32_t session = 0;
  uint32_t read_len = 0;
  uint16_t attempts = 0;  ///< requests sent for it (1 without retries)
  KvOpKind kind = KvOpKind::kGet;
  HistoryOutcome outcome = HistoryOutcome::kUnknown;
  bool expected_absent = false;
  bool final_read = false;
  bool served = false;  ///< see HistorySpan::served
  bool probe = false;   ///< a visibility probe (a get): KvInvocation::probe

  bool is_write() const { return kind != KvOpKind::kGet; }
  /// A probe's time after the acknowledgement of the write it probes.
  Duration probe_after() const { return Duration::from_ns(expected); }
  bool ok() const { return outcome == HistoryOutcome::kOk; }
};

/// The key-value operations of a run, in invoke order.
class KvHistory final : public HistoryLog {
 public:
  static constexpr uint32_t kNone = HistoryLog::kNone;

  KvHistory();

  /// Records an operation invoked at `at` by `client`; returns its index.
  uint32_t invoke(SimTime at, NodeId client, const KvInvocation& what);
  /// Completes operation `index` at `at`. Completing one twice keeps the first.
  void complete(uint32_t index, SimTime at, HistoryOutcome outcome,
                std::span<const int64_t> read = {}, uint32_t attempts = 1);
  /// Appends a whole operation (tests, tools); `op.read_begin` is ignored.
  uint32_t add(KvHistoryOp op, std::span<const int64_t> read = {});

  const std::vector<KvHistoryOp>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  std::span<const int64_t> read_value(const KvHistoryOp& op) const {
    return std::span<const int64_t>(read_pool_).subspan(op.read_begin, op.read_len);
  }

  // HistoryLog
  uint32_t invoke(SimTime at, NodeId client, const void* invocation) override {
    return invoke(at, client, *static_cast<const KvInvocation*>(invocation));
  }
  void complete(uint32_t index, SimTime at, HistoryOutcome outcome, const void* result,
                uint32_t attempts) override {
    complete(index, at, outcome,
             result ? static_cast<const KvResult*>(result)->read : std::span<const int64_t>(),
             attempts);
  }
  void set_served(uint32_t index, bool served) override {
    if (index < ops_.size()) ops_[index].served = served;
  }
  size_t size() const override { return ops_.size(); }
  uint64_t bytes() const override {
    return ops_.size() * op_bytes() + read_pool_.size() * sizeof(int64_t);
  }
  uint64_t op_bytes() const override { return sizeof(KvHistoryOp) + 1; }
  HistorySpan span(size_t i) const override {
    const KvHistoryOp& o = ops_[i];
    return {o.client, o.invoke, o.complete, o.served};
  }

 private:
  std::vector<KvHistoryOp> ops_;
  std::vector<bool> done_;
  std::vector<int64_t> read_pool_;
};

std::unique_ptr<HistoryLog> make_kv_history();
inline constexpr HistoryFamily kKvFamily{"kv", &make_kv_history};

/// The kv history of a run, or null when no client recorded one.
inline const KvHistory* kv_history(const Histories& h) {
  return static_cast<const KvHistory*>(h.find(kKvFamily));
}

/// Typed Recorder calls for the kv family (model.h: op_invoke, op_result).
inline void record_invoke(Recorder& r, OpToken token, const KvInvocation& what) {
  r.op_invoke(token, kKvFamily, &what);
}
inline void record_result(Recorder& r, OpToken token, HistoryOutcome outcome,
                          std::span<const int64_t> read, uint32_t attempts) {
  const KvResult result{read};
  r.op_result(token, outcome, &result, attempts);
}

}  // namespace dsim::kv
