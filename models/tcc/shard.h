// `wallet_shard`: a shard of the digital wallet's balances. The accounts are spread over
// the shard group by Redis Cluster's hash slots (kit/hash_slots.h: the coordinator sends each
// account's operations to the shard owning its slot); every account starts with
// `initial_balance`.
//
// It runs the TC/C operations of a transfer (messages.h), one side per message, each as a
// local transaction made durable (a disk write of the transfer's record and the changed
// balance, then a sync) before it answers, as the digital wallet chapter of System Design
// Interview vol. 2 (seed 003) requires of every phase:
//
//   try, debit side      reserve: balance -= amount when balance >= amount, else refused
//                        (insufficient funds)
//   try, credit side     NOP (recorded as tried)
//   confirm, debit side  NOP
//   confirm, credit side balance += amount
//   cancel, debit side   refund: balance += amount when the try had reserved it
//   cancel, credit side  NOP
//
// Idempotence: each transfer's record per side (tried, refused, confirmed, cancelled) is on
// the disk, and an operation that finds its record already past it answers from it and
// changes nothing. Out of order: a cancel that finds no record (its try is late or lost)
// records the side as cancelled with an out-of-order flag, so the late try is refused and
// changes nothing — the book's handling of a cancel that overtakes its try.
//
// A restart reads the balances and the records back; what was not synced is lost, and was
// never answered.
//
// Marks, made when a change is durable, for the analysis (analysis.cpp): `tcc_tried`
// (transfer, side), `tcc_reserve`, `tcc_refund`, `tcc_credit` (transfer, amount),
// `tcc_balance` (account, new balance), `tcc_phase2` (transfer, side * 2 + 1 confirmed or
// + 0 cancelled), `tcc_out_of_order` (transfer, side).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/tcc/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/timeline.h"

namespace dsim::tcc {

class WalletShard final : public Model {
 public:
  static constexpr std::string_view kName = "wallet_shard";
  static constexpr std::string_view kDescription =
      "a shard of a digital wallet's account balances running TC/C try, confirm and cancel as "
      "durable local transactions, idempotent per transfer, with out-of-order cancels";

  struct Config {
    int64_t initial_balance = 1000;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Money conservation, half-applied transfers and time in flight, from the shards'
  /// marks (analysis.cpp).
  static AnalysisOutput analyze(const AnalysisInput& in);

  explicit WalletShard(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context&, TimerId, TimerTag) override {}
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void check_invariants() const override;

  /// What a side of a transfer is at on this shard.
  enum class State : uint8_t { kTried, kRefused, kConfirmed, kCancelled };
  struct Record {
    State state = State::kTried;
    uint64_t account = 0;
    int64_t amount = 0;
    bool tried_ok = false;      ///< its try was done (the debit side reserved the amount)
    bool out_of_order = false;  ///< cancelled before its try came
    uint64_t written = 0;       ///< the sync covering its latest write
  };
  /// For tests: the balance of `account` as this shard holds it now.
  int64_t balance(uint64_t account) const;
  const Record* record(uint64_t transfer, Side side) const;

 private:
  using Key = std::pair<uint64_t, Side>;
  struct MarkRec {
    Symbol kind;
    int64_t a = 0, b = 0;
  };
  struct Pending {
    NodeId to = kNoNode;
    ShardReply reply;
    std::vector<MarkRec> marks;  ///< made when the sync completes
  };

  void run_try(Context& ctx, NodeId from, const ShardOp& op);
  void run_confirm(Context& ctx, NodeId from, const ShardOp& op, Record* rec);
  void run_cancel(Context& ctx, NodeId from, const ShardOp& op, Record* rec);
  void answer(Context& ctx, NodeId to, const ShardOp& op, const Record& rec, bool ok);
  /// Makes the record (and the changed balance, when `changed`) durable, then answers.
  void commit(Context& ctx, NodeId to, const ShardOp& op, Record& rec, bool ok,
              std::vector<MarkRec> marks, bool changed);
  void set_balance(uint64_t account, int64_t value) { balances_[account] = value; }
  void recover(Context& ctx);
  static std::string record_key(const Key& k);

  const Config& config_;
  std::map<uint64_t, int64_t> balances_;  // accounts touched (also on the disk: "b/<account>")
  std::map<Key, Record> records_;         // also on the disk: "x/<transfer>/<side>"
  std::map<uint64_t, Pending> pending_;   // answers awaiting their sync, by sync tag
  uint64_t next_sync_ = 1;
  uint64_t durable_upto_ = 0;  // the latest sync completed (they complete in order)
  struct Symbols {
    Symbol tries, tries_refused, confirms, cancels, repeats, cancels_before_try, late_tries_refused,
        conflicts, confirms_without_try, forced_writes;
    Symbol tried, reserve, refund, credit, balance, phase2, out_of_order;
  } m_;
};

}  // namespace dsim::tcc
