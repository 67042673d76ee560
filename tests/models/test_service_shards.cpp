// A service's fan-out to shards of replicas (models/service/shards.cpp): one copy per shard
// at one of its replicas, a shard answered by its first copy, hedges to the other replica
// of each shard still unanswered, and a shard failed only when every copy failed.
#include <catch2/catch.hpp>

#include <set>

#include "models/service/service.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::service;
using dsim::testing::RecordingContext;
using queueing::Request;
using queueing::Response;

namespace {

// Three shards of two replicas: nodes 30, 31 | 32, 33 | 34, 35.
Service::Config sharded(Duration hedge_after, uint32_t wait = 0) {
  Call c;
  c.to = "leaves";
  c.fanout = 0;
  c.wait = wait;
  c.replicas = 2;
  c.policy.timeout = ms(100);
  c.policy.retry.max_attempts = 1;
  if (hedge_after > Duration::zero()) c.hedge_after = hedge_after;
  Service::Config cfg;
  cfg.service = {{"", Distribution::constant(0).with_dim(Distribution::Dim::kTime)}};
  cfg.plan.steps = {Step{{}, {c}}};
  return cfg;
}

struct Fixture {
  RecordingContext ctx{1};
  Fixture() { ctx.groups["leaves"] = {30, 31, 32, 33, 34, 35}; }
  void request(Service& s) {
    kit::CallHeader call;
    call.id = 1;
    call.reply_to = 7;
    ctx.deliver(s, 7, Request{call, ctx.intern("read"), 100, 0});
    REQUIRE(ctx.fire_next(s));  // no work: the calls go out
  }
  void answer(Service& s, const std::pair<NodeId, Request>& sent, bool ok = true) {
    ctx.deliver(s, sent.first, Response{sent.second.call.id, ok, 10});
  }
};

NodeId shard_of(NodeId n) {
  return (n - 30) / 2;
}

}  // namespace

TEST_CASE("service: a fan-out to shards calls one replica of each, hedges the unanswered ones") {
  Fixture f;
  const auto cfg = sharded(ms(10));
  Service s(cfg);
  s.on_start(f.ctx);
  f.request(s);
  auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 3);
  std::set<NodeId> shards;
  for (const auto& [to, r] : sent)
    shards.insert(shard_of(to));
  CHECK(shards == std::set<NodeId>{0, 1, 2});  // one copy per shard
  f.answer(s, sent[0]);
  f.answer(s, sent[1]);
  REQUIRE(f.ctx.fire_next(s));  // the hedge delay: the third shard is still out
  CHECK(f.ctx.now() == SimTime::zero() + ms(10));
  sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 4);
  CHECK(shard_of(sent[3].first) == shard_of(sent[2].first));  // the same shard ...
  CHECK(sent[3].first != sent[2].first);                      // ... at its other replica
  CHECK(f.ctx.counter("call_leaves_hedged") == 1);
  CHECK(f.ctx.sent_of<Response>().empty());
  f.answer(s, sent[3]);  // the hedge wins: every shard has answered
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK(f.ctx.sent_of<Response>()[0].second.accepted);
  const auto cancels = f.ctx.sent_of<queueing::Cancel>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].first == sent[2].first);  // the loser, at its node
  f.answer(s, sent[2]);                      // its late answer changes nothing
  CHECK(f.ctx.counter("late_responses") == 1);
  CHECK(f.ctx.sent_of<Response>().size() == 1);
  s.check_invariants();
}

TEST_CASE("service: a shard fails only when every copy sent to it failed") {
  Fixture f;
  const auto cfg = sharded(ms(10));
  Service s(cfg);
  s.on_start(f.ctx);
  f.request(s);
  auto sent = f.ctx.sent_of<Request>();
  f.answer(s, sent[0]);
  f.answer(s, sent[1]);
  REQUIRE(f.ctx.fire_next(s));  // the hedge of the third shard
  sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 4);
  f.answer(s, sent[2], false);  // its first copy is refused: the hedge may still answer
  CHECK(f.ctx.sent_of<Response>().empty());
  f.answer(s, sent[3], false);  // and so is the hedge: the shard, and the call, failed
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK_FALSE(f.ctx.sent_of<Response>()[0].second.accepted);
  s.check_invariants();
}

TEST_CASE("service: a fan-out to shards waits for `wait` shards, not for copies") {
  Fixture f;
  const auto cfg = sharded(Duration::zero(), 2);
  Service s(cfg);
  s.on_start(f.ctx);
  f.request(s);
  const auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 3);
  f.answer(s, sent[0]);
  CHECK(f.ctx.sent_of<Response>().empty());
  f.answer(s, sent[2]);
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);  // two shards: enough
  CHECK(f.ctx.sent_of<queueing::Cancel>().size() == 1);
  CHECK(f.ctx.pending().empty());
}

TEST_CASE("service: a tied fan-out to shards sends each shard's call to two of its replicas") {
  Fixture f;
  auto cfg = sharded(Duration::zero());
  cfg.plan.steps[0].calls[0].tied = true;
  cfg.plan.steps[0].calls[0].tie_delay = ms(1);
  Service s(cfg);
  s.on_start(f.ctx);
  f.request(s);
  auto tied = f.ctx.sent_of<queueing::TiedRequest>();
  REQUIRE(tied.size() == 3);  // the first copies, each naming its shard's other replica
  for (const auto& [to, t] : tied) {
    CHECK(shard_of(t.peer) == shard_of(to));
    CHECK(t.peer != to);
  }
  f.ctx.deliver(s, tied[0].first, Response{tied[0].second.req.call.id, true, 10});
  REQUIRE(f.ctx.fire_next(s));  // the tie delay: second copies for the two shards still out
  CHECK(f.ctx.now() == SimTime::zero() + ms(1));
  tied = f.ctx.sent_of<queueing::TiedRequest>();
  REQUIRE(tied.size() == 5);
  for (size_t i = 3; i < 5; ++i) {
    const auto& first = tied[i - 2];  // shards 1 and 2's first copies
    CHECK(tied[i].first == first.second.peer);
    CHECK(tied[i].second.peer == first.first);
    CHECK(tied[i].second.tie == first.second.tie);  // one tie per shard
  }
  CHECK(tied[1].second.tie != tied[2].second.tie);
  // The first copy of shard 1 is refused: its second copy may still answer.
  f.ctx.deliver(s, tied[1].first, Response{tied[1].second.req.call.id, false, 10});
  CHECK(f.ctx.sent_of<Response>().empty());
  f.ctx.deliver(s, tied[3].first, Response{tied[3].second.req.call.id, true, 10});
  f.ctx.deliver(s, tied[4].first, Response{tied[4].second.req.call.id, true, 10});
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK(f.ctx.sent_of<Response>()[0].second.accepted);
  s.check_invariants();
}
