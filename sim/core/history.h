// Operation histories: what client operations did, with the true times they were invoked
// and completed, for the checkers that judge them after the run. A history belongs to a
// family of operations (key-value, transactions, logs, jobs, ...): the family defines what
// an operation declares when it begins and what it returns, stores its operations in its
// own log, and registers the checkers that read that log (registry.h). sim/core knows no
// family: it keeps the logs, stamps the times (so a model's skewed clock never reaches a
// history) and bounds their memory.
//
// A client model records an operation through the Recorder: begin_op(), then op_invoke()
// with its family and invocation, then op_result() and end_op() (model.h). A family header
// offers typed helpers for the two middle calls (e.g. models/kv/history.h).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim {

/// How an operation ended, as a checker must read it.
enum class HistoryOutcome : uint8_t {
  kOk,       ///< it happened, and what it returned is recorded
  kFail,     ///< it definitely did not happen (rejected, refused, compare-and-set mismatch)
  kUnknown,  ///< it may or may not have happened (timed out; still in flight at the end)
};
std::string_view history_outcome_name(HistoryOutcome o);

class HistoryLog;

/// A family of operations. One constant instance per family, whose address is its
/// identity (`inline constexpr HistoryFamily kKvFamily{"kv", &make_kv_log}`).
struct HistoryFamily {
  std::string_view name;
  std::unique_ptr<HistoryLog> (*make_log)();
};

/// What every operation has, whatever its family: family-independent analyses
/// (availability over time) read these.
struct HistorySpan {
  NodeId client = kNoNode;
  SimTime invoke;
  SimTime complete;  ///< HistoryLog::kNever: still in flight when the run ended
  /// The client counted it a success in the metrics (end_op's outcome ok): what
  /// availability counts. A compare-and-set that found another value is a definite
  /// `fail` in the history but a served request.
  bool served = false;
};

/// One family's operations, in invoke order.
class HistoryLog {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  static constexpr SimTime kNever = SimTime::max();

  explicit HistoryLog(const HistoryFamily& family) : family_(&family) {}
  virtual ~HistoryLog() = default;
  const HistoryFamily& family() const { return *family_; }

  /// Records an operation invoked at `at` by `client`; `invocation` points at the family's
  /// invocation struct. Returns its index (kNone when the log cannot take more).
  virtual uint32_t invoke(SimTime at, NodeId client, const void* invocation) = 0;
  /// Completes operation `index` at `at`; `result` points at the family's result struct
  /// (null: none). Completing one twice keeps the first.
  virtual void complete(uint32_t index, SimTime at, HistoryOutcome outcome, const void* result,
                        uint32_t attempts) = 0;
  virtual void set_served(uint32_t index, bool served) = 0;

  virtual size_t size() const = 0;
  /// Memory the log holds, as counted against the budget.
  virtual uint64_t bytes() const = 0;
  /// Memory one more operation takes, checked against the budget before it is admitted.
  virtual uint64_t op_bytes() const = 0;
  virtual HistorySpan span(size_t index) const = 0;

  /// The operation type (begin_op's symbol) of operation `index`, as Histories recorded it.
  Symbol op_type(size_t index) const {
    return index < op_types_.size() ? op_types_[index] : Symbol{};
  }
  void set_op_type(uint32_t index, Symbol op) {
    if (op_types_.size() <= index) op_types_.resize(index + 1);
    op_types_[index] = op;
  }
  /// Memory the operation types hold.
  uint64_t op_type_bytes() const { return op_types_.size() * sizeof(Symbol); }

 protected:
  // A family's own log may be copied or moved as itself (tests edit copies), never
  // through the base.
  HistoryLog(const HistoryLog&) = default;
  HistoryLog& operator=(const HistoryLog&) = default;
  HistoryLog(HistoryLog&&) = default;
  HistoryLog& operator=(HistoryLog&&) = default;

 private:
  const HistoryFamily* family_;
  std::vector<Symbol> op_types_;
};

/// Every family's log of a run, within one memory budget: once it is spent, operations
/// invoked later are not recorded (truncated() says so, and when); those already recorded
/// are still completed.
class Histories {
 public:
  static constexpr uint64_t kDefaultMaxBytes = uint64_t{256} << 20;

  /// Where an operation went: a log and its index there.
  struct Ref {
    uint32_t log = HistoryLog::kNone;
    uint32_t op = HistoryLog::kNone;
    bool valid() const { return op != HistoryLog::kNone; }
  };

  explicit Histories(uint64_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}

  void set_max_bytes(uint64_t max_bytes) { max_bytes_ = max_bytes; }
  uint64_t max_bytes() const { return max_bytes_; }

  /// Records an operation of type `op` (begin_op's symbol).
  Ref invoke(const HistoryFamily& family, SimTime at, NodeId client, Symbol op,
             const void* invocation);
  void complete(Ref ref, SimTime at, HistoryOutcome outcome, const void* result, uint32_t attempts);
  void set_served(Ref ref, bool served);

  /// The logs, in the order their families first recorded an operation.
  const std::vector<std::unique_ptr<HistoryLog>>& logs() const { return logs_; }
  /// The log of `family`, or null when it recorded nothing.
  const HistoryLog* find(const HistoryFamily& family) const;
  /// The log of `family`, created empty when it has none (tests, tools).
  HistoryLog& log(const HistoryFamily& family);

  size_t size() const;  ///< operations recorded, over every log
  bool empty() const { return size() == 0 && !truncated(); }
  uint64_t bytes() const;
  bool truncated() const { return dropped_ > 0; }
  uint64_t dropped() const { return dropped_; }  ///< operations not recorded
  SimTime truncated_at() const { return truncated_at_; }

 private:
  uint32_t index_of(const HistoryFamily& family);

  uint64_t max_bytes_;
  std::vector<std::unique_ptr<HistoryLog>> logs_;
  uint64_t dropped_ = 0;
  SimTime truncated_at_;
};

}  // namespace dsim
