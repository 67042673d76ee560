// The transaction contract: what a transaction client asks a coordinator, and what the
// coordinator answers. A transaction is one-shot (its whole read and write set is known
// when it begins, as in H-Store and Calvin): a list of operations on keys, each reading
// the key and, for a write, replacing its value. Every operation returns the value the key
// held before the transaction (a write is a read-modify-write), which is what lets the
// serializability checker order the writes of each key (history.h).
//
// Values identify the write that produced them (the client writes each value once), and a
// key nobody wrote holds 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/call.h"

namespace dsim::txn {

/// One operation of a transaction: read `key`, and when `write`, set it to `value`.
struct TxnOp {
  uint64_t key = 0;
  int64_t value = 0;
  bool write = false;
  friend bool operator==(const TxnOp&, const TxnOp&) = default;
};

/// Why a transaction aborted (the coordinator's answer, the abort rate by cause).
enum class AbortCause : uint8_t {
  kNone,
  kVoteNo,           ///< a participant voted no for a reason below that it did not say
  kLockTimeout,      ///< a participant waited longer than lock_timeout for a lock
  kWaitDie,          ///< wait-die: a younger transaction asked for a lock an older one held
  kWounded,          ///< wound-wait: an older transaction wanted a lock it held
  kVoteTimeout,      ///< the coordinator heard no vote from some participant in time
  kParticipantDown,  ///< a participant restarted and lost the transaction before voting
  kRecovery,         ///< a coordinator restarted before deciding (presumed abort)
};
inline constexpr int kAbortCauses = 8;
std::string_view abort_cause_name(AbortCause c);

/// Client -> coordinator: run this transaction. `priority` is its age for wait-die and
/// wound-wait (smaller is older; a retried transaction keeps its first one).
struct TxnRequest {
  static constexpr std::string_view kName = "txn_request";
  kit::CallHeader call;
  uint64_t txn = 0;  ///< unique in the run
  int64_t priority = 0;
  std::vector<TxnOp> ops;
  uint32_t size_bytes() const { return static_cast<uint32_t>(64 + ops.size() * 17); }
  std::string describe() const;
};

/// Coordinator -> client.
struct TxnResponse {
  static constexpr std::string_view kName = "txn_response";
  enum class Status : uint8_t { kCommitted, kAborted, kUnavailable };
  uint64_t call = 0;
  Status status = Status::kAborted;
  AbortCause cause = AbortCause::kNone;
  std::vector<int64_t> reads;  ///< committed: per operation, the value the key held before
  uint32_t size_bytes() const { return static_cast<uint32_t>(32 + reads.size() * 8); }
  std::string describe() const;
};

}  // namespace dsim::txn
