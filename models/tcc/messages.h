// The messages of the digital wallet's balance transfer by TC/C (try-confirm/cancel), the
// distributed transaction run in the application layer, as the digital wallet chapter of
// Alex Xu's System Design Interview vol. 2 (seed 003) describes it:
//
//   client       --transfer-->  coordinator (the wallet service)
//   first phase  coordinator --try--> the debited and the credited account's shards
//                --try reply (done or refused)--> coordinator
//   second phase coordinator --confirm (all tries done) or cancel--> both shards
//                --ack--> coordinator, sent again every `resend` until acknowledged
//   coordinator  --transfer response (confirmed or cancelled)--> client, once the
//                decision is durable
//
// Each operation is a local transaction on one shard; the book's table of what each does:
//
//   phase    debited account (A)   credited account (C)
//   try      A - amount            NOP
//   confirm  NOP                   C + amount
//   cancel   A + amount            NOP
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "models/kit/call.h"

namespace dsim::tcc {

/// Which account of a transfer an operation is about.
enum class Side : uint8_t { kDebit, kCredit };
inline constexpr int kSides = 2;
std::string_view side_name(Side s);

/// The three operations of TC/C.
enum class Op : uint8_t { kTry, kConfirm, kCancel };
std::string_view op_name(Op op);

/// Why a transfer was cancelled (the coordinator's answer, its counters).
enum class CancelCause : uint8_t {
  kNone,
  kRefused,     ///< a try was refused: insufficient funds, or cancelled before it came
  kTryTimeout,  ///< some try was not answered within try_timeout
  kRecovery,    ///< the coordinator restarted before deciding
  kInvalid,     ///< the request itself was invalid (same account twice, amount <= 0)
};
inline constexpr int kCancelCauses = 5;
std::string_view cancel_cause_name(CancelCause c);

/// Client -> coordinator: move `amount` from account `from` to account `to`. `transfer`
/// is unique in the run and the same on every retry (the idempotency key).
struct TransferRequest {
  static constexpr std::string_view kName = "tcc_transfer";
  kit::CallHeader call;
  uint64_t transfer = 0;
  uint64_t from = 0;
  uint64_t to = 0;
  int64_t amount = 0;
  uint32_t size_bytes() const { return 96; }
  std::string describe() const;
};

/// Coordinator -> client.
struct TransferResponse {
  static constexpr std::string_view kName = "tcc_transfer_response";
  enum class Status : uint8_t { kConfirmed, kCancelled };
  uint64_t call = 0;
  uint64_t transfer = 0;
  Status status = Status::kCancelled;
  CancelCause cause = CancelCause::kNone;
  uint32_t size_bytes() const { return 32; }
  std::string describe() const;
};

/// Coordinator -> shard: run `op` for one side of a transfer on `account`.
struct ShardOp {
  static constexpr std::string_view kName = "tcc_op";
  uint64_t transfer = 0;
  Op op = Op::kTry;
  Side side = Side::kDebit;
  uint64_t account = 0;
  int64_t amount = 0;
  uint32_t size_bytes() const { return 48; }
  std::string describe() const;
};

/// Shard -> coordinator, once the operation's local transaction is durable. A try: `ok`
/// when done, false when refused. A confirm or cancel: `ok` when the side ended that way,
/// false when it had ended the other way (a conflict the coordinator counts).
struct ShardReply {
  static constexpr std::string_view kName = "tcc_reply";
  uint64_t transfer = 0;
  Op op = Op::kTry;
  Side side = Side::kDebit;
  bool ok = false;
  uint32_t size_bytes() const { return 32; }
  std::string describe() const;
};

}  // namespace dsim::tcc
