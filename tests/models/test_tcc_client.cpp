// wallet_client, one handler at a time: a transfer between two distinct accounts, retried
// under the same transfer id to the same coordinator, and its outcome in the metrics.
#include <catch2/catch.hpp>

#include <memory>

#include "models/tcc/client.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::tcc;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kSelf = 1;

struct Rig {
  WalletClient::Config config;
  RecordingContext ctx{kSelf};
  std::unique_ptr<WalletClient> node;

  Rig() {
    config.target = "wallet";
    config.arrivals.load = kit::ArrivalSpec::Load::kClosed;
    config.arrivals.users = 1;
    config.keys.n = 2;  // two accounts: every transfer is between both
    config.amount = Distribution::constant(25);
    config.calls.timeout = ms(100);
    config.calls.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
    config.calls.retry.base = ms(10);
    config.calls.retry.max_attempts = 3;
    ctx.groups["wallet"] = {10, 11};
    node = std::make_unique<WalletClient>(config);
    node->on_start(ctx);
  }
  /// Fires timers until `n` requests have been sent (or none is left).
  std::vector<std::pair<NodeId, TransferRequest>> until_sent(size_t n) {
    for (int i = 0; i < 100 && ctx.sent_of<TransferRequest>().size() < n; ++i)
      if (!ctx.fire_next(*node)) break;
    return ctx.sent_of<TransferRequest>();
  }
};

}  // namespace

TEST_CASE("tcc client retries a transfer under its id to the same coordinator") {
  Rig r;
  const auto first = r.until_sent(1);
  REQUIRE(first.size() == 1);
  const TransferRequest& req = first[0].second;
  CHECK(req.from != req.to);
  CHECK(req.from < 2);
  CHECK(req.to < 2);
  CHECK(req.amount == 25);
  // No answer: the attempt times out and the transfer is sent again, unchanged.
  const auto sent = r.until_sent(2);
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].first == first[0].first);
  CHECK(sent[1].second.transfer == req.transfer);
  CHECK(sent[1].second.from == req.from);
  CHECK(sent[1].second.amount == req.amount);
  CHECK(sent[1].second.call.id != req.call.id);
  // The coordinator confirms it: ok, and the amount counted as moved.
  r.ctx.deliver(
      *r.node, sent[1].first,
      Message(TransferResponse{sent[1].second.call.id, req.transfer,
                               TransferResponse::Status::kConfirmed, CancelCause::kNone}));
  CHECK(r.ctx.counter("confirmed") == 1);
  CHECK(r.ctx.counter("amount_moved") == 25);
  REQUIRE(!r.ctx.recorder().ops.empty());
  CHECK(r.ctx.recorder().ops[0].outcome == Outcome::kOk);
}

TEST_CASE("tcc client counts a cancelled transfer as rejected, with its cause") {
  Rig r;
  const auto sent = r.until_sent(1);
  REQUIRE(sent.size() == 1);
  r.ctx.deliver(
      *r.node, sent[0].first,
      Message(TransferResponse{sent[0].second.call.id, sent[0].second.transfer,
                               TransferResponse::Status::kCancelled, CancelCause::kRefused}));
  CHECK(r.ctx.counter("cancelled") == 1);
  CHECK(r.ctx.counter("cancelled_refused") == 1);
  CHECK(r.ctx.recorder().ops[0].outcome == Outcome::kRejected);
}
