// wallet_shard, one handler at a time: the book's try/confirm/cancel effects on the debited
// and the credited account, answers only once durable, insufficient funds, idempotent
// repeats, a cancel before its try (the late try refused), and recovery from the disk.
#include <catch2/catch.hpp>

#include <memory>

#include "models/tcc/shard.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::tcc;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kCoordinator = 1;
constexpr NodeId kSelf = 10;
constexpr uint64_t kA = 100;  // the debited account
constexpr uint64_t kC = 200;  // the credited account

ShardOp op(uint64_t transfer, Op o, Side side, int64_t amount = 30) {
  return ShardOp{transfer, o, side, side == Side::kDebit ? kA : kC, amount};
}

struct Rig {
  WalletShard::Config config;
  RecordingContext ctx{kSelf};
  std::unique_ptr<WalletShard> node;

  Rig() {
    config.initial_balance = 100;
    start();
  }
  void start() {
    node = std::make_unique<WalletShard>(config);
    node->on_start(ctx);
  }
  void crash_restart() {
    ctx.node_disk().crash();
    start();
  }
  void deliver(const ShardOp& o) {
    ctx.deliver(*node, kCoordinator, Message(o));
    node->check_invariants();
  }
  void sync_all() {
    while (ctx.complete_sync(*node))
      node->check_invariants();
  }
  /// Delivers `o`, completes the syncs, and returns the last answer.
  ShardReply run(const ShardOp& o) {
    deliver(o);
    sync_all();
    const auto replies = ctx.sent_of<ShardReply>();
    REQUIRE(!replies.empty());
    CHECK(replies.back().first == kCoordinator);
    return replies.back().second;
  }
  size_t marks(std::string_view kind) {
    const Symbol s = ctx.intern(kind);
    size_t n = 0;
    for (const TimelineMark& m : ctx.recorder().marks)
      n += m.kind == s ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("tcc shard: try reserves on the debited account and answers once durable") {
  Rig r;
  r.deliver(op(7, Op::kTry, Side::kDebit));
  CHECK(r.ctx.sent_of<ShardReply>().empty());  // not durable yet
  CHECK(r.node->balance(kA) == 70);            // applied in memory
  CHECK(r.ctx.counter("forced_writes") == 1);
  r.sync_all();
  const auto replies = r.ctx.sent_of<ShardReply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].second.ok);
  CHECK(replies[0].second.op == Op::kTry);
  CHECK(r.marks("tcc_reserve") == 1);
  CHECK(r.marks("tcc_balance") == 1);
  // The credited side's try is a NOP; the confirm credits it and is a NOP on the debit side.
  CHECK(r.run(op(7, Op::kTry, Side::kCredit)).ok);
  CHECK(r.node->balance(kC) == 100);
  CHECK(r.run(op(7, Op::kConfirm, Side::kDebit)).ok);
  CHECK(r.node->balance(kA) == 70);
  CHECK(r.run(op(7, Op::kConfirm, Side::kCredit)).ok);
  CHECK(r.node->balance(kC) == 130);
  CHECK(r.marks("tcc_credit") == 1);
  CHECK(r.marks("tcc_phase2") == 2);
}

TEST_CASE("tcc shard: cancel refunds the debited account and leaves the credited one") {
  Rig r;
  CHECK(r.run(op(7, Op::kTry, Side::kDebit)).ok);
  CHECK(r.run(op(7, Op::kTry, Side::kCredit)).ok);
  CHECK(r.run(op(7, Op::kCancel, Side::kDebit)).ok);
  CHECK(r.run(op(7, Op::kCancel, Side::kCredit)).ok);
  CHECK(r.node->balance(kA) == 100);
  CHECK(r.node->balance(kC) == 100);
  CHECK(r.marks("tcc_refund") == 1);
  CHECK(r.marks("tcc_credit") == 0);
  CHECK(r.node->record(7, Side::kDebit)->state == WalletShard::State::kCancelled);
}

TEST_CASE("tcc shard: a try beyond the balance is refused and changes nothing") {
  Rig r;
  CHECK_FALSE(r.run(op(7, Op::kTry, Side::kDebit, 101)).ok);
  CHECK(r.node->balance(kA) == 100);
  CHECK(r.ctx.counter("tries_refused") == 1);
  CHECK(r.marks("tcc_reserve") == 0);
  // Asked again it says the same, from its record.
  CHECK_FALSE(r.run(op(7, Op::kTry, Side::kDebit, 101)).ok);
  CHECK(r.ctx.counter("repeats") == 1);
  // Its cancel refunds nothing.
  CHECK(r.run(op(7, Op::kCancel, Side::kDebit, 101)).ok);
  CHECK(r.node->balance(kA) == 100);
  CHECK(r.marks("tcc_refund") == 0);
  // The whole balance may be reserved, not more.
  CHECK(r.run(op(8, Op::kTry, Side::kDebit, 100)).ok);
  CHECK(r.node->balance(kA) == 0);
  CHECK_FALSE(r.run(op(9, Op::kTry, Side::kDebit, 1)).ok);
}

TEST_CASE("tcc shard: repeated tries, confirms and cancels answer from the record") {
  Rig r;
  for (int i = 0; i < 3; ++i)
    CHECK(r.run(op(7, Op::kTry, Side::kDebit)).ok);
  CHECK(r.node->balance(kA) == 70);
  CHECK(r.run(op(7, Op::kTry, Side::kCredit)).ok);
  for (int i = 0; i < 3; ++i)
    CHECK(r.run(op(7, Op::kConfirm, Side::kCredit)).ok);
  CHECK(r.node->balance(kC) == 130);
  CHECK(r.marks("tcc_credit") == 1);
  CHECK(r.marks("tcc_reserve") == 1);
  CHECK(r.ctx.counter("repeats") == 4);
  // A cancel after the confirm is a conflict: answered not ok, nothing changes.
  CHECK_FALSE(r.run(op(7, Op::kCancel, Side::kCredit)).ok);
  CHECK(r.ctx.counter("conflicts") == 1);
  CHECK(r.node->balance(kC) == 130);
}

TEST_CASE("tcc shard: a repeat of an operation not yet durable is answered once it is") {
  Rig r;
  r.deliver(op(7, Op::kTry, Side::kDebit));
  r.deliver(op(7, Op::kTry, Side::kDebit));
  CHECK(r.ctx.sent_of<ShardReply>().empty());
  r.sync_all();
  CHECK(r.ctx.sent_of<ShardReply>().size() == 2);
  CHECK(r.node->balance(kA) == 70);
}

TEST_CASE("tcc shard: a cancel before its try is recorded out of order and the try refused") {
  Rig r;
  CHECK(r.run(op(7, Op::kCancel, Side::kDebit)).ok);
  CHECK(r.node->balance(kA) == 100);  // nothing reserved, nothing refunded
  CHECK(r.ctx.counter("cancels_before_try") == 1);
  CHECK(r.marks("tcc_out_of_order") == 1);
  const auto* rec = r.node->record(7, Side::kDebit);
  REQUIRE(rec != nullptr);
  CHECK(rec->out_of_order);
  // The late try is refused and reserves nothing.
  CHECK_FALSE(r.run(op(7, Op::kTry, Side::kDebit)).ok);
  CHECK(r.node->balance(kA) == 100);
  CHECK(r.ctx.counter("late_tries_refused") == 1);
  CHECK(r.marks("tcc_reserve") == 0);
}

TEST_CASE("tcc shard: a restart reads balances and records back from the disk") {
  Rig r;
  CHECK(r.run(op(7, Op::kTry, Side::kDebit)).ok);
  CHECK(r.run(op(8, Op::kCancel, Side::kDebit)).ok);  // out of order
  r.crash_restart();
  CHECK(r.node->balance(kA) == 70);
  const auto* rec = r.node->record(7, Side::kDebit);
  REQUIRE(rec != nullptr);
  CHECK(rec->state == WalletShard::State::kTried);
  CHECK(rec->tried_ok);
  // A repeated try after the restart reserves nothing more; the late try of 8 is refused.
  CHECK(r.run(op(7, Op::kTry, Side::kDebit)).ok);
  CHECK(r.node->balance(kA) == 70);
  CHECK_FALSE(r.run(op(8, Op::kTry, Side::kDebit)).ok);
  CHECK(r.run(op(7, Op::kCancel, Side::kDebit)).ok);
  CHECK(r.node->balance(kA) == 100);
}

TEST_CASE("tcc shard: a crash before the sync loses the operation, unanswered and unmarked") {
  Rig r;
  r.deliver(op(7, Op::kTry, Side::kDebit));
  CHECK(r.node->balance(kA) == 70);
  r.crash_restart();
  CHECK(r.node->balance(kA) == 100);
  CHECK(r.node->record(7, Side::kDebit) == nullptr);
  CHECK(r.ctx.sent_of<ShardReply>().empty());
  CHECK(r.marks("tcc_reserve") == 0);
}
