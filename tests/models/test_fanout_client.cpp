// The fan-out client, driven one handler at a time: each request goes to `fanout`
// distinct servers and completes on the `wait_for`-th answer.
#include <catch2/catch.hpp>

#include <set>

#include "models/queueing/fanout_client.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::queueing;
using dsim::testing::RecordingContext;

namespace {

FanoutClient::Config config(int64_t fanout, int64_t wait_for) {
  FanoutClient::Config c;
  c.target = "shards";
  c.arrivals.rate.base = 1;
  c.fanout = fanout;
  c.wait_for = wait_for;
  c.timeout = ms(100);
  return c;
}

}  // namespace

TEST_CASE("fanout_client: a request goes to fanout distinct servers, different ones each time") {
  const auto cfg = config(3, 0);
  FanoutClient c(cfg);
  RecordingContext ctx(0);
  ctx.groups["shards"] = {1, 2, 3, 4, 5, 6, 7, 8};
  c.on_start(ctx);
  std::set<std::set<NodeId>> picks;
  for (int r = 0; r < 20; ++r) {
    ctx.sent.clear();
    REQUIRE(ctx.fire_next(c));  // the next arrival (timeouts are later or cancelled below)
    const auto reqs = ctx.sent_of<Request>();
    REQUIRE(reqs.size() == 3);
    std::set<NodeId> to;
    for (const auto& [node, req] : reqs) {
      to.insert(node);
      CHECK(req.call.reply_to == 0);
      CHECK(kit::call_caller(req.call.id) == 0);
      CHECK(req.call.origin == ctx.recorder().ops.size());  // the end user's operation
      ctx.deliver(c, node, Response{req.call.id, true, 10});
    }
    CHECK(to.size() == 3);
    picks.insert(to);
  }
  CHECK(picks.size() > 5);  // not always the same three
  for (const auto& op : ctx.recorder().ops)
    CHECK(op.outcome == Outcome::kOk);
}

TEST_CASE("fanout_client: completes on the wait_for-th answer, later answers are counted late") {
  const auto cfg = config(0, 2);  // every node, wait for 2 of them
  FanoutClient c(cfg);
  RecordingContext ctx(0);
  ctx.groups["shards"] = {1, 2, 3};
  c.on_start(ctx);
  REQUIRE(ctx.fire_next(c));
  const auto reqs = ctx.sent_of<Request>();
  REQUIRE(reqs.size() == 3);
  auto& ops = ctx.recorder().ops;
  ctx.advance(ms(5));
  ctx.deliver(c, reqs[0].first, Response{reqs[0].second.call.id, true, 10});
  CHECK_FALSE(ops[0].end);
  ctx.advance(ms(7));
  ctx.deliver(c, reqs[2].first, Response{reqs[2].second.call.id, true, 10});
  REQUIRE(ops[0].end);
  CHECK(*ops[0].end - ops[0].begin == ms(12));
  CHECK(ops[0].outcome == Outcome::kOk);
  ctx.deliver(c, reqs[1].first, Response{reqs[1].second.call.id, true, 10});
  CHECK(ctx.counter("late_responses") == 1);
}

TEST_CASE("fanout_client: fails as rejected once too few servers can answer, else times out") {
  const auto cfg = config(3, 2);
  FanoutClient c(cfg);
  RecordingContext ctx(0);
  ctx.groups["shards"] = {1, 2, 3};
  c.on_start(ctx);
  REQUIRE(ctx.fire_next(c));
  auto reqs = ctx.sent_of<Request>();
  auto& ops = ctx.recorder().ops;
  ctx.deliver(c, reqs[0].first, Response{reqs[0].second.call.id, false, 10});
  CHECK_FALSE(ops[0].end);  // two can still answer
  ctx.deliver(c, reqs[1].first, Response{reqs[1].second.call.id, false, 10});
  REQUIRE(ops[0].end);
  CHECK(ops[0].outcome == Outcome::kRejected);

  // The next request: one answer only, then silence until the timeout.
  ctx.sent.clear();
  REQUIRE(ctx.fire_next(c));
  reqs = ctx.sent_of<Request>();
  REQUIRE(reqs.size() == 3);
  ctx.deliver(c, reqs[0].first, Response{reqs[0].second.call.id, true, 10});
  const SimTime sent_at = ctx.now();
  while (ops.size() < 2 || !ops[1].end)
    REQUIRE(ctx.fire_next(c));
  CHECK(ops[1].outcome == Outcome::kTimeout);
  CHECK(ctx.now() == sent_at + ms(100));
}

TEST_CASE("fanout_client: a fan-out wider than the group is capped at the group") {
  const auto cfg = config(10, 0);
  FanoutClient c(cfg);
  RecordingContext ctx(0);
  ctx.groups["shards"] = {1, 2};
  c.on_start(ctx);
  REQUIRE(ctx.fire_next(c));
  CHECK(ctx.sent_of<Request>().size() == 2);
}
