// The queueing client and server, driven one handler at a time through a recording
// Context: what they send, which timers they set, and what they record.
#include <catch2/catch.hpp>

#include "models/queueing/client.h"
#include "models/queueing/server.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::queueing;
using dsim::testing::RecordingContext;

namespace {

Distribution const_time(Duration d) {
  return Distribution::constant(static_cast<double>(d.ns())).with_dim(Distribution::Dim::kTime);
}

// Call `id` of client node `from`, which the answer goes back to.
Request req(RecordingContext& ctx, NodeId from, uint64_t id, std::string_view op = "request") {
  kit::CallHeader call;
  call.id = id;
  call.reply_to = from;
  return Request{call, ctx.intern(op), 100};
}

}  // namespace

TEST_CASE("server: an idle worker serves at once and answers after the service time") {
  Server::Config cfg;
  cfg.service = {{"", const_time(ms(3))}};
  Server s(cfg);
  RecordingContext ctx(0);
  s.on_start(ctx);
  ctx.deliver(s, 7, req(ctx, 7, 1));
  REQUIRE(ctx.pending().size() == 1);
  CHECK(ctx.pending()[0]->at == SimTime::zero() + ms(3));
  CHECK(ctx.sent.empty());
  REQUIRE(ctx.fire_next(s));
  auto responses = ctx.sent_of<Response>();
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].first == 7);
  CHECK(responses[0].second.call == 1);
  CHECK(responses[0].second.accepted);
  CHECK(ctx.counter("served") == 1);
}

TEST_CASE("server: a full queue rejects at once, waiting requests are served FIFO") {
  Server::Config cfg;
  cfg.pool.workers = 1;
  cfg.pool.queue_capacity = 2;
  cfg.service = {{"", const_time(ms(1))}};
  Server s(cfg);
  RecordingContext ctx(0);
  s.on_start(ctx);
  for (uint64_t id = 1; id <= 4; ++id)
    ctx.deliver(s, static_cast<NodeId>(10 + id), req(ctx, static_cast<NodeId>(10 + id), id));
  // One in service, two waiting, the fourth rejected immediately.
  auto responses = ctx.sent_of<Response>();
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].second.call == 4);
  CHECK_FALSE(responses[0].second.accepted);
  CHECK(ctx.counter("rejected") == 1);
  while (ctx.fire_next(s)) {
  }
  responses = ctx.sent_of<Response>();
  REQUIRE(responses.size() == 4);
  CHECK(responses[1].second.call == 1);
  CHECK(responses[2].second.call == 2);
  CHECK(responses[3].second.call == 3);
  CHECK(ctx.now() == SimTime::zero() + ms(3));
  // Waits observed: 0 (served at once), 1ms and 2ms.
  auto& waits = ctx.recorder().observations[ctx.intern("queue_wait").id];
  REQUIRE(waits.size() == 3);
  CHECK(waits[0] == Duration::zero());
  CHECK(waits[1] == ms(1));
  CHECK(waits[2] == ms(2));
  s.check_invariants();
}

TEST_CASE("server: c workers serve c requests at once") {
  Server::Config cfg;
  cfg.pool.workers = 3;
  cfg.service = {{"", const_time(ms(5))}};
  Server s(cfg);
  RecordingContext ctx(0);
  s.on_start(ctx);
  for (uint64_t id = 1; id <= 4; ++id)
    ctx.deliver(s, 1, req(ctx, 1, id));
  CHECK(ctx.pending().size() == 3);
  CHECK(ctx.recorder().levels[ctx.intern("busy_workers").id] == 3);
  CHECK(ctx.recorder().levels[ctx.intern("queue_length").id] == 1);
  CHECK(ctx.recorder().levels[ctx.intern("utilization").id] == 1.0);
}

TEST_CASE("server: service time per operation type, with a default for the others") {
  Server::Config cfg;
  cfg.service = {{"", const_time(ms(2))}, {"write", const_time(ms(9))}};
  cfg.pool.workers = 2;
  Server s(cfg);
  RecordingContext ctx(0);
  s.on_start(ctx);
  ctx.deliver(s, 1, req(ctx, 1, 1, "read"));
  ctx.deliver(s, 1, req(ctx, 1, 2, "write"));
  auto p = ctx.pending();
  REQUIRE(p.size() == 2);
  CHECK(p[0]->at == SimTime::zero() + ms(2));
  CHECK(p[1]->at == SimTime::zero() + ms(9));
}

TEST_CASE("client: a fixed open-loop rate sends evenly spaced requests to its target group") {
  Client::Config cfg;
  cfg.target = "servers";
  cfg.arrivals.process = kit::ArrivalSpec::Process::kFixed;
  cfg.arrivals.rate.base = 1000;  // one per ms
  cfg.calls.balancer.kind = kit::BalancerKind::kRoundRobin;
  Client c(cfg);
  RecordingContext ctx(5);
  ctx.groups["servers"] = {1, 2, 3};
  c.on_start(ctx);
  for (int i = 0; i < 6; ++i) {
    // The earliest timer is the next arrival (timeouts are 1 s away).
    REQUIRE(ctx.fire_next(c));
    CHECK(ctx.now() == SimTime::zero() + ms(i + 1));
  }
  auto requests = ctx.sent_of<Request>();
  REQUIRE(requests.size() == 6);
  for (size_t i = 0; i < requests.size(); ++i) {
    CHECK(requests[i].first == static_cast<NodeId>(1 + i % 3));
    CHECK(requests[i].second.call.id == kit::make_call_id(5, i + 1));
    CHECK(requests[i].second.call.reply_to == 5);
  }
  CHECK(ctx.recorder().ops.size() == 6);
}

TEST_CASE("client: answers end operations, silence ends them as timeouts, late answers count") {
  Client::Config cfg;
  cfg.target = "servers";
  cfg.arrivals.process = kit::ArrivalSpec::Process::kFixed;
  cfg.arrivals.rate.base = 1;  // one per second
  cfg.calls.timeout = ms(100);
  Client c(cfg);
  RecordingContext ctx(5);
  ctx.groups["servers"] = {1};
  c.on_start(ctx);
  REQUIRE(ctx.fire_next(c));  // request 1 at t = 1 s
  ctx.advance(ms(30));
  ctx.deliver(c, 1, Response{kit::make_call_id(5, 1), true, 10});
  auto& ops = ctx.recorder().ops;
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].outcome == Outcome::kOk);
  CHECK(*ops[0].end - ops[0].begin == ms(30));

  REQUIRE(ctx.fire_next(c));  // request 2 at t = 2 s; its timeout is the next timer
  REQUIRE(ctx.fire_next(c));
  CHECK(ctx.now() == SimTime::zero() + seconds(2) + ms(100));
  REQUIRE(ops.size() == 2);
  CHECK(ops[1].outcome == Outcome::kTimeout);
  ctx.deliver(c, 1, Response{kit::make_call_id(5, 2), true, 10});  // too late
  CHECK(ctx.counter("late_responses") == 1);
  CHECK(ops[1].outcome == Outcome::kTimeout);

  REQUIRE(ctx.fire_next(c));  // request 3
  ctx.deliver(c, 1, Response{kit::make_call_id(5, 3), false, 10});
  CHECK(ops[2].outcome == Outcome::kRejected);
}

TEST_CASE("client: a refused request is retried after the backoff, with the request's key") {
  Client::Config cfg;
  cfg.target = "servers";
  cfg.arrivals.process = kit::ArrivalSpec::Process::kFixed;
  cfg.arrivals.rate.base = 1;
  cfg.calls.timeout = ms(100);
  cfg.calls.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
  cfg.calls.retry.max_attempts = 2;
  cfg.calls.retry.base = ms(10);
  cfg.calls.retry.jitter = kit::RetryPolicy::Jitter::kNone;
  cfg.keys = kit::KeySpec{kit::KeySpec::Kind::kSequential, 10};
  Client c(cfg);
  RecordingContext ctx(5);
  ctx.groups["servers"] = {1};
  c.on_start(ctx);
  REQUIRE(ctx.fire_next(c));  // request 1 at t = 1 s, key 0
  ctx.deliver(c, 1, Response{kit::make_call_id(5, 1), false, 10});
  REQUIRE(ctx.recorder().ops.size() == 1);
  CHECK_FALSE(ctx.recorder().ops[0].end);  // not over: a retry is due
  REQUIRE(ctx.fire_next(c));               // the backoff
  CHECK(ctx.now() == SimTime::zero() + seconds(1) + ms(10));
  auto requests = ctx.sent_of<Request>();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].second.call.id == kit::make_call_id(5, 2));
  CHECK(requests[0].second.key == 0);
  CHECK(requests[1].second.key == 0);  // the same operation's key
  CHECK(ctx.counter("retries") == 1);
  ctx.deliver(c, 1, Response{kit::make_call_id(5, 2), false, 10});  // the last attempt fails
  REQUIRE(ctx.recorder().ops.size() == 1);
  CHECK(ctx.recorder().ops[0].outcome == Outcome::kRejected);
  REQUIRE(ctx.fire_next(c));  // request 2 at t = 2 s: the next key
  requests = ctx.sent_of<Request>();
  REQUIRE(requests.size() == 3);
  CHECK(requests[2].second.key == 1);
}

TEST_CASE("client: closed loop keeps one request per user in flight and thinks between them") {
  Client::Config cfg;
  cfg.target = "servers";
  cfg.arrivals.load = kit::ArrivalSpec::Load::kClosed;
  cfg.arrivals.users = 2;
  cfg.arrivals.think_time = const_time(ms(50));
  Client c(cfg);
  RecordingContext ctx(5);
  ctx.groups["servers"] = {1};
  c.on_start(ctx);
  REQUIRE(ctx.fire_next(c));
  REQUIRE(ctx.fire_next(c));
  REQUIRE(ctx.sent_of<Request>().size() == 2);
  // Nothing else until an answer: only the two timeouts are pending.
  CHECK(ctx.pending().size() == 2);
  ctx.advance(ms(10));
  ctx.deliver(c, 1, Response{kit::make_call_id(5, 1), true, 10});
  // The answered user thinks 50 ms, then sends again.
  auto p = ctx.pending();
  REQUIRE(p.size() == 2);
  CHECK(p[0]->at == SimTime::zero() + ms(60));
  REQUIRE(ctx.fire_next(c));
  CHECK(ctx.sent_of<Request>().size() == 3);
}

TEST_CASE("client: operation mix follows its weights") {
  Client::Config cfg;
  cfg.target = "servers";
  cfg.arrivals.process = kit::ArrivalSpec::Process::kFixed;
  cfg.arrivals.rate.base = 1e6;
  cfg.calls.timeout = seconds(1000);
  cfg.ops = {{"read", 0.8}, {"write", 0.2}};
  Client c(cfg);
  RecordingContext ctx(5, 99);
  ctx.groups["servers"] = {1};
  c.on_start(ctx);
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    REQUIRE(ctx.fire_next(c));
  int writes = 0;
  const Symbol write = ctx.intern("write");
  for (const auto& [to, r] : ctx.sent_of<Request>())
    writes += r.op == write ? 1 : 0;
  // Binomial(n, 0.2): standard deviation sqrt(n * 0.2 * 0.8) ~ 57; allow 5 of them.
  const double sd = std::sqrt(n * 0.2 * 0.8);
  CHECK(std::abs(writes - 0.2 * n) < 5 * sd);
}

TEST_CASE("server: past its concurrency limit a request is shed at once, queued ones count") {
  Server::Config cfg;
  cfg.pool.workers = 1;
  cfg.pool.limit.kind = kit::ConcurrencyLimitSpec::Kind::kFixed;
  cfg.pool.limit.initial = 2;  // one served and one waiting at most
  cfg.service = {{"", const_time(ms(4))}};
  Server s(cfg);
  RecordingContext ctx(0);
  s.on_start(ctx);
  for (uint64_t id = 1; id <= 3; ++id)
    ctx.deliver(s, 7, req(ctx, 7, id));
  auto responses = ctx.sent_of<Response>();
  REQUIRE(responses.size() == 1);  // the third, refused at once
  CHECK(responses[0].second.call == 3);
  CHECK_FALSE(responses[0].second.accepted);
  CHECK(ctx.counter("shed") == 1);
  CHECK(ctx.counter("rejected") == 0);
  REQUIRE(ctx.fire_next(s));  // the first is answered: a place is free again
  ctx.deliver(s, 7, req(ctx, 7, 4));
  CHECK(ctx.counter("shed") == 1);
  while (ctx.fire_next(s)) {
  }
  responses = ctx.sent_of<Response>();
  REQUIRE(responses.size() == 4);
  CHECK(ctx.counter("served") == 3);
  s.check_invariants();
}
