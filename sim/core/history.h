// Operation histories: what every key-value client operation did, with the true times
// it was invoked and completed, for the consistency checkers (sim/check) and the
// history files (history.csv, Jepsen EDN). A client model reports an operation through
// the Recorder (Recorder::op_invoke / op_result, see model.h); the engine stamps the
// times, so a model's skewed clock never reaches the history.
//
// Values are 64-bit integers that identify the write that produced them (the kv_client
// writes a value unique to each logical write), so a checker can tell which write a read
// saw. A key holds a list of such values: a register is a list of at most one element
// (put and compare-and-set replace the list with one element), and append adds one.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim {

enum class KvOpKind : uint8_t {
  kGet,     ///< read the key's value (a register's value, or the whole list)
  kPut,     ///< replace the value with [value]
  kCas,     ///< if the value is [expected] (or absent), replace it with [value]
  kAppend,  ///< append value to the list
};
std::string_view kv_op_name(KvOpKind k);

/// How an operation ended, as a consistency checker must read it.
enum class HistoryOutcome : uint8_t {
  kOk,       ///< it happened, and a read returned what is recorded
  kFail,     ///< it definitely did not happen (rejected, refused, compare-and-set mismatch)
  kUnknown,  ///< it may or may not have happened (timed out; still in flight at the end)
};
std::string_view history_outcome_name(HistoryOutcome o);

/// What a client declares about an operation when it begins.
struct OpInvocation {
  KvOpKind kind = KvOpKind::kGet;
  uint64_t key = 0;
  int64_t value = 0;             ///< put: the value; cas: the new value; append: the element
  int64_t expected = 0;          ///< cas: the value it expects
  bool expected_absent = false;  ///< cas: expects the key to have no value
  bool final_read = false;       ///< a read-back at the end of the run (lost-write check)
  uint32_t session = 0;          ///< the client's session (per client node)
  uint64_t idempotency_key = 0;  ///< what a store uses to recognise a retried write
};

/// One operation of a history.
struct HistoryOp {
  static constexpr SimTime kNever = SimTime::max();
  SimTime invoke;
  SimTime complete = kNever;  ///< true time it completed or was given up; kNever: in flight
  uint64_t key = 0;
  int64_t value = 0;
  int64_t expected = 0;
  uint64_t idempotency_key = 0;
  uint64_t read_begin = 0;  ///< the read's value: History::read_value()
  NodeId client = kNoNode;
  uint32_t session = 0;
  uint32_t read_len = 0;
  uint16_t attempts = 0;  ///< requests sent for it (1 without retries)
  KvOpKind kind = KvOpKind::kGet;
  HistoryOutcome outcome = HistoryOutcome::kUnknown;
  bool expected_absent = false;
  bool final_read = false;
  /// The client counted it a success in the metrics (end_op's outcome ok): what
  /// availability counts. A compare-and-set that found another value is a definite
  /// `fail` in the history but a served request.
  bool served = false;

  bool is_write() const { return kind != KvOpKind::kGet; }
  bool ok() const { return outcome == HistoryOutcome::kOk; }
};

/// The recorded operations in invoke order, in bounded memory: once `max_bytes` is used,
/// operations invoked later are not recorded (truncated() says so, and when); those
/// already recorded are still completed.
class History {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  static constexpr uint64_t kDefaultMaxBytes = uint64_t{256} << 20;

  explicit History(uint64_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}

  void set_max_bytes(uint64_t max_bytes) { max_bytes_ = max_bytes; }
  uint64_t max_bytes() const { return max_bytes_; }

  /// Records an operation invoked at `at` by `client`; returns its index, or kNone when
  /// the history is full.
  uint32_t invoke(SimTime at, NodeId client, const OpInvocation& what);
  /// Completes operation `index` at `at`. Completing one twice keeps the first.
  void complete(uint32_t index, SimTime at, HistoryOutcome outcome,
                std::span<const int64_t> read = {}, uint32_t attempts = 1);
  /// Records whether the client counted operation `index` a success (see HistoryOp::served).
  void set_served(uint32_t index, bool served) {
    if (index < ops_.size()) ops_[index].served = served;
  }
  /// Appends a whole operation (tests, tools); `op.read_begin` is ignored.
  uint32_t add(HistoryOp op, std::span<const int64_t> read = {});

  const std::vector<HistoryOp>& ops() const { return ops_; }
  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  std::span<const int64_t> read_value(const HistoryOp& op) const {
    return std::span<const int64_t>(read_pool_).subspan(op.read_begin, op.read_len);
  }

  bool truncated() const { return dropped_ > 0; }
  uint64_t dropped() const { return dropped_; }  ///< operations not recorded
  SimTime truncated_at() const { return truncated_at_; }
  /// Memory the history holds, as counted against max_bytes.
  uint64_t bytes() const {
    return ops_.size() * (sizeof(HistoryOp) + 1) + read_pool_.size() * sizeof(int64_t);
  }

 private:
  uint64_t max_bytes_;
  std::vector<HistoryOp> ops_;
  std::vector<bool> done_;
  std::vector<int64_t> read_pool_;
  uint64_t dropped_ = 0;
  SimTime truncated_at_;
};

}  // namespace dsim
