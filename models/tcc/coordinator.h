// `tcc_coordinator`: the wallet service coordinating a balance transfer by TC/C, the
// distributed transaction in the application layer of the digital wallet chapter of System
// Design Interview vol. 2 (seed 003). A client's transfer (messages.h) arrives as a call;
// the debited and the credited account each belong to the wallet_shard owning its hash
// slot (kit/hash_slots.h).
//
// Its phase status table, one row per transfer on its disk ("r/<transfer>"), holds what the
// book lists: the transfer id and the try phase's content (accounts, amount), the status of
// each shard's try (not sent, sent, response received: done or refused), the second
// phase's name (confirm or cancel) and each shard's status in it (sent, acknowledged), and
// the out-of-order flag (the cancel went out before every try had answered, so it may
// overtake its try). The row is forced to disk before the tries go out, so a shard never
// holds a try its coordinator does not know; the decision is forced before the client is
// answered and before the second phase starts:
//
//   both tries done                       -> confirm
//   a try refused (insufficient funds,    -> cancel
//   or cancelled before it came)
//   `try_timeout` passed without both     -> cancel
//
// The second phase's operations are sent again every `resend` until both shards
// acknowledge them; the row is then done, and kept (the latest `remembered`) to answer a
// retried request with the same transfer id.
//
// A restart reads the table back. Decided rows are driven to completion (their second phase
// sent again until acknowledged). Undecided rows are cancelled: the old instance's
// try answers died with it, and an answer lost cannot be told from a refusal, so confirming
// would need the tries sent again and the reserved funds held and the client kept waiting
// longer; cancelling is always allowed before a decision (the credited side's try changed
// nothing, and the debited side's reservation is refunded), and a cancel that overtakes
// its try is what the shards' out-of-order rule is for. The client's retry, with the same
// transfer id, finds the row and is answered with the outcome.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/call.h"
#include "models/kit/timer.h"
#include "models/tcc/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::tcc {

class TccCoordinator final : public Model {
 public:
  static constexpr std::string_view kName = "tcc_coordinator";
  static constexpr std::string_view kDescription =
      "the digital wallet's transfer coordinator by TC/C (try, then confirm or cancel) over a "
      "group of wallet_shard, with a durable phase status table and recovery";

  struct Config {
    std::string shards;
    Duration try_timeout = seconds(1);
    Duration resend = ms(500);
    int64_t remembered = 100'000;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) { return {c.shards}; }

  explicit TccCoordinator(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;

  enum class TryStatus : uint8_t { kNotSent, kSent, kDone, kRefused };
  enum class Second : uint8_t { kNone, kConfirm, kCancel };
  enum class AckStatus : uint8_t { kNotSent, kSent, kAcked };
  enum class Stage : uint8_t { kLogging, kTrying, kDeciding, kSecond, kDone };
  /// A row of the phase status table.
  struct Row {
    uint64_t id = 0;
    uint64_t accounts[kSides] = {0, 0};  ///< the debited and the credited account
    int64_t amount = 0;
    NodeId shard[kSides] = {kNoNode, kNoNode};
    TryStatus tries[kSides] = {TryStatus::kNotSent, TryStatus::kNotSent};
    Second second = Second::kNone;
    AckStatus acks[kSides] = {AckStatus::kNotSent, AckStatus::kNotSent};
    bool out_of_order = false;
    CancelCause cause = CancelCause::kNone;
    // volatile
    Stage stage = Stage::kLogging;
    uint64_t local = 0;
    kit::CallHeader call;  ///< the client's latest attempt (none after a restart)
    SimTime began;         ///< monotonic
    TimerId timer;
  };
  /// For tests: the row of `transfer`, or null.
  const Row* row(uint64_t transfer) const;

 private:
  enum class Timer : uint8_t { kTry, kResend };
  enum class Sync : uint8_t { kLogged, kDecided };

  void on_request(Context& ctx, const TransferRequest& req);
  void send_tries(Context& ctx, Row& r);
  void on_reply(Context& ctx, const ShardReply& rep);
  void decide(Context& ctx, Row& r, bool confirm, CancelCause cause);
  void send_second(Context& ctx, Row& r);
  void finish(Context& ctx, Row& r);
  void answer(Context& ctx, const Row& r);
  void refuse(Context& ctx, const TransferRequest& req);
  void store(Context& ctx, const Row& r);
  bool parse_row(uint64_t id, std::string_view text, Row& r) const;
  void recover(Context& ctx);
  void arm(Context& ctx, Row& r, Timer kind, Duration after);
  Row& add(uint64_t id);
  Row* find_local(uint64_t local);

  const Config& config_;
  std::vector<NodeId> shards_;
  std::map<uint64_t, Row> rows_;        // by transfer id
  std::map<uint64_t, uint64_t> local_;  // local number -> transfer id
  std::deque<uint64_t> done_;           // rows done, oldest first (the latest `remembered`)
  uint64_t next_local_ = 1;
  struct Symbols {
    Symbol confirmed, cancelled, forced_writes, messages, resends, conflicts, decision_time,
        completion_time, in_progress;
    Symbol cause[kCancelCauses];
  } m_;
};

}  // namespace dsim::tcc
