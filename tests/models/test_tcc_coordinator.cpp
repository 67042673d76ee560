// tcc_coordinator, one handler at a time: the phase status row forced before the tries go
// out, the decision forced before the client is answered, confirm or cancel by the tries'
// answers or their timeout, the second phase sent again until acknowledged, and a restart
// resuming from the table.
#include <catch2/catch.hpp>

#include <memory>

#include "models/kit/hash_slots.h"
#include "models/tcc/coordinator.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::tcc;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kClient = 1;
constexpr NodeId kSelf = 10;
constexpr uint64_t kFrom = 3;
constexpr uint64_t kTo = 4;

struct Rig {
  TccCoordinator::Config config;
  RecordingContext ctx{kSelf};
  std::unique_ptr<TccCoordinator> node;
  uint64_t next_call = 1;

  Rig() {
    config.shards = "shards";
    config.try_timeout = ms(100);
    config.resend = ms(50);
    ctx.groups["shards"] = {20, 21, 22};
    start();
  }
  void start() {
    node = std::make_unique<TccCoordinator>(config);
    node->on_start(ctx);
  }
  void crash_restart() {
    ctx.node_disk().crash();
    ctx.sent.clear();
    start();
  }
  NodeId shard_of(uint64_t account) const {
    const auto& shards = ctx.groups.at("shards");
    return shards[kit::slot_shard(kit::hash_slot(account), static_cast<uint32_t>(shards.size()))];
  }
  void request(uint64_t transfer, int64_t amount = 10) {
    TransferRequest req;
    req.call.id = next_call++;
    req.call.reply_to = kClient;
    req.transfer = transfer;
    req.from = kFrom;
    req.to = kTo;
    req.amount = amount;
    ctx.deliver(*node, kClient, Message(req));
  }
  void reply(uint64_t transfer, Op op, Side side, bool ok) {
    const NodeId from = shard_of(side == Side::kDebit ? kFrom : kTo);
    ctx.deliver(*node, from, Message(ShardReply{transfer, op, side, ok}));
  }
  void sync() { REQUIRE(ctx.complete_sync(*node)); }
  std::vector<ShardOp> ops(Op which) const {
    std::vector<ShardOp> out;
    for (const auto& [to, o] : ctx.sent_of<ShardOp>()) {
      if (o.op != which) continue;
      CHECK(to == shard_of(o.account));
      out.push_back(o);
    }
    return out;
  }
  std::vector<TransferResponse> answers() const {
    std::vector<TransferResponse> out;
    for (const auto& [to, a] : ctx.sent_of<TransferResponse>()) {
      CHECK(to == kClient);
      out.push_back(a);
    }
    return out;
  }
  /// Runs a transfer to a durable confirm decision.
  void confirm_decided(uint64_t transfer) {
    request(transfer);
    sync();
    reply(transfer, Op::kTry, Side::kDebit, true);
    reply(transfer, Op::kTry, Side::kCredit, true);
    sync();
  }
};

}  // namespace

TEST_CASE("tcc coordinator forces the phase status row before it sends the tries") {
  Rig r;
  r.request(5);
  CHECK(r.ctx.sent_of<ShardOp>().empty());
  CHECK(r.ctx.counter("forced_writes") == 1);
  const auto* row = r.node->row(5);
  REQUIRE(row != nullptr);
  CHECK(row->tries[0] == TccCoordinator::TryStatus::kNotSent);
  CHECK(r.ctx.node_disk().get("r/5").has_value());
  r.sync();
  const auto tries = r.ops(Op::kTry);
  REQUIRE(tries.size() == 2);
  CHECK(tries[0].side == Side::kDebit);
  CHECK(tries[0].account == kFrom);
  CHECK(tries[1].side == Side::kCredit);
  CHECK(tries[1].account == kTo);
  CHECK(row->tries[1] == TccCoordinator::TryStatus::kSent);
}

TEST_CASE("tcc coordinator forces its confirm before it answers the client") {
  Rig r;
  r.request(5);
  r.sync();
  r.reply(5, Op::kTry, Side::kDebit, true);
  CHECK(r.node->row(5)->second == TccCoordinator::Second::kNone);
  r.reply(5, Op::kTry, Side::kCredit, true);
  CHECK(r.node->row(5)->second == TccCoordinator::Second::kConfirm);
  CHECK(r.answers().empty());
  CHECK(r.ops(Op::kConfirm).empty());
  CHECK(r.ctx.counter("forced_writes") == 2);
  r.sync();
  const auto answers = r.answers();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].status == TransferResponse::Status::kConfirmed);
  CHECK(r.ops(Op::kConfirm).size() == 2);
  CHECK(r.ctx.counter("confirmed") == 1);
}

TEST_CASE("tcc coordinator cancels when a try is refused") {
  Rig r;
  r.request(5);
  r.sync();
  r.reply(5, Op::kTry, Side::kDebit, false);
  r.sync();
  const auto answers = r.answers();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].status == TransferResponse::Status::kCancelled);
  CHECK(answers[0].cause == CancelCause::kRefused);
  CHECK(r.ops(Op::kCancel).size() == 2);
  // The credited side's try was unanswered: the cancel may overtake it.
  CHECK(r.node->row(5)->out_of_order);
}

TEST_CASE("tcc coordinator cancels when the tries time out") {
  Rig r;
  r.request(5);
  r.sync();
  r.reply(5, Op::kTry, Side::kDebit, true);
  REQUIRE(r.ctx.fire_next(*r.node));  // try_timeout
  CHECK(r.node->row(5)->second == TccCoordinator::Second::kCancel);
  r.sync();
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].cause == CancelCause::kTryTimeout);
  CHECK(r.ctx.counter("cancelled_try_timeout") == 1);
  // A late try answer changes nothing.
  r.reply(5, Op::kTry, Side::kCredit, true);
  CHECK(r.node->row(5)->second == TccCoordinator::Second::kCancel);
}

TEST_CASE("tcc coordinator sends the second phase again until both shards acknowledge") {
  Rig r;
  r.confirm_decided(5);
  CHECK(r.ops(Op::kConfirm).size() == 2);
  REQUIRE(r.ctx.fire_next(*r.node));  // resend
  CHECK(r.ops(Op::kConfirm).size() == 4);
  CHECK(r.ctx.counter("resends") == 1);
  r.reply(5, Op::kConfirm, Side::kDebit, true);
  REQUIRE(r.ctx.fire_next(*r.node));
  const auto confirms = r.ops(Op::kConfirm);
  REQUIRE(confirms.size() == 5);
  CHECK(confirms.back().side == Side::kCredit);
  r.reply(5, Op::kConfirm, Side::kCredit, true);
  CHECK(r.node->row(5)->stage == TccCoordinator::Stage::kDone);
  CHECK(r.ctx.pending().empty());
  // A retry of the finished transfer is answered from the table.
  r.request(5);
  CHECK(r.answers().size() == 2);
  CHECK(r.answers()[1].status == TransferResponse::Status::kConfirmed);
}

TEST_CASE("tcc coordinator restart drives decided rows on and cancels undecided ones") {
  Rig r;
  r.confirm_decided(5);  // decided and durable, not acknowledged
  r.request(6);
  r.sync();      // row durable, tries sent, no answers: undecided
  r.request(7);  // row not yet durable: lost in the crash, its tries never sent
  r.crash_restart();
  CHECK(r.node->row(7) == nullptr);
  // Transfer 5: confirms again at once.
  const auto confirms = r.ops(Op::kConfirm);
  REQUIRE(confirms.size() == 2);
  CHECK(confirms[0].transfer == 5);
  // Transfer 6: cancelled, the decision forced before the cancels go out.
  const auto* six = r.node->row(6);
  REQUIRE(six != nullptr);
  CHECK(six->second == TccCoordinator::Second::kCancel);
  CHECK(six->cause == CancelCause::kRecovery);
  CHECK(six->out_of_order);
  CHECK(r.ops(Op::kCancel).empty());
  r.sync();
  CHECK(r.ops(Op::kCancel).size() == 2);
  // The client's retry of 6 is answered from the row.
  r.request(6);
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].status == TransferResponse::Status::kCancelled);
  CHECK(r.answers()[0].cause == CancelCause::kRecovery);
}

TEST_CASE("tcc coordinator refuses a transfer to the same account or of no amount") {
  Rig r;
  r.request(5, 0);
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].cause == CancelCause::kInvalid);
  CHECK(r.node->row(5) == nullptr);
  CHECK(r.ctx.sent_of<ShardOp>().empty());
}

TEST_CASE("tcc coordinator answers a retry made during the tries once it has decided") {
  Rig r;
  r.request(5);
  r.sync();
  r.request(5);  // the client's retry, a new call for the same transfer
  CHECK(r.ctx.counter("forced_writes") == 1);  // no second row
  CHECK(r.ops(Op::kTry).size() == 2);          // no second round of tries
  r.reply(5, Op::kTry, Side::kDebit, true);
  r.reply(5, Op::kTry, Side::kCredit, true);
  r.sync();
  const auto answers = r.answers();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].call == 2);  // the latest attempt
  CHECK(answers[0].status == TransferResponse::Status::kConfirmed);
}
