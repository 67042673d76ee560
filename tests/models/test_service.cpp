// The `service` model: its own work, then the steps of its call plan (in sequence, in
// parallel, fanned out k-of-n, with a probability), the answer a failed call makes, the
// deadline it hands down, and whether a worker is held while calls are out. Driven one
// handler at a time through a recording Context; the last cases run whole scenarios.
#include <catch2/catch.hpp>

#include "models/builtin.h"
#include "models/queueing/server.h"
#include "models/service/service.h"
#include "sim/run/runner.h"
#include "support/recording_context.h"
#include "support/scenarios.h"

using namespace dsim;
using namespace dsim::service;
using dsim::testing::RecordingContext;
using queueing::Request;
using queueing::Response;

namespace {

Distribution const_time(Duration d) {
  return Distribution::constant(static_cast<double>(d.ns())).with_dim(Distribution::Dim::kTime);
}

Call call_to(std::string to, size_t edge, Duration timeout = ms(100)) {
  Call c;
  c.to = std::move(to);
  c.edge = edge;
  c.policy.timeout = timeout;
  return c;
}

Service::Config config(std::vector<Step> steps, Duration work = ms(2)) {
  Service::Config cfg;
  cfg.service = {{"", const_time(work)}};
  cfg.plan.steps = std::move(steps);
  return cfg;
}

// A request from node `from` (its call id `id`), optionally with a deadline budget.
Request req(RecordingContext& ctx, NodeId from, uint64_t id, uint64_t key = 0,
            Duration budget = kit::kNoDeadline) {
  kit::CallHeader call;
  call.id = id;
  call.reply_to = from;
  call.budget = budget;
  return Request{call, ctx.intern("read"), 100, key};
}

// The requests the service sent so far, and answers them (accepted or not) from their
// targets, one by one.
void answer_all(RecordingContext& ctx, Service& s, size_t from_index, bool accepted) {
  const auto sent = ctx.sent_of<Request>();
  for (size_t i = from_index; i < sent.size(); ++i)
    ctx.deliver(s, sent[i].first, Response{sent[i].second.call.id, accepted, 10});
}

struct Fixture {
  RecordingContext ctx{1};
  Fixture() {
    ctx.groups["cache"] = {10};
    ctx.groups["db"] = {20};
    ctx.groups["leaves"] = {30, 31, 32, 33, 34};
  }
};

}  // namespace

TEST_CASE("service: the work, then each step in sequence, then the answer") {
  Fixture f;
  const auto cfg = config({Step{{}, {call_to("cache", 0)}}, Step{{}, {call_to("db", 1)}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1, 42));
  CHECK(f.ctx.sent.empty());
  REQUIRE(f.ctx.fire_next(s));  // the 2 ms of work
  auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == 10);
  CHECK(sent[0].second.key == 42);  // the end user's key travels down
  CHECK(sent[0].second.call.reply_to == 1);
  f.ctx.advance(ms(1));
  answer_all(f.ctx, s, 0, true);
  sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].first == 20);
  CHECK(f.ctx.sent_of<Response>().empty());
  f.ctx.advance(ms(4));
  answer_all(f.ctx, s, 1, true);
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].first == 7);
  CHECK(answers[0].second.call == 1);
  CHECK(answers[0].second.accepted);
  CHECK(f.ctx.counter("served") == 1);
  // Residence 7 ms: 2 of work (self time), 5 waiting for calls.
  const auto& residence = f.ctx.recorder().observations[f.ctx.intern("residence").id];
  const auto& self = f.ctx.recorder().observations[f.ctx.intern("self_time").id];
  REQUIRE(residence.size() == 1);
  CHECK(residence[0] == ms(7));
  CHECK(self[0] == ms(2));
  CHECK(f.ctx.recorder().observations[f.ctx.intern("call_db").id][0] == ms(4));
  s.check_invariants();
}

TEST_CASE("service: a fan-out calls k distinct nodes and answers after m of them") {
  Fixture f;
  Call leaves = call_to("leaves", 0);
  leaves.fanout = 4;
  leaves.wait = 3;
  const auto cfg = config({Step{{}, {leaves}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));
  const auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 4);
  std::set<NodeId> targets;
  std::set<uint64_t> ids;
  for (const auto& [to, r] : sent) {
    targets.insert(to);
    ids.insert(r.call.id);
  }
  CHECK(targets.size() == 4);  // distinct nodes
  CHECK(ids.size() == 4);      // distinct call ids
  for (size_t i = 0; i < 2; ++i)
    f.ctx.deliver(s, sent[i].first, Response{sent[i].second.call.id, true, 10});
  CHECK(f.ctx.sent_of<Response>().empty());
  f.ctx.deliver(s, sent[2].first, Response{sent[2].second.call.id, true, 10});
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK(f.ctx.sent_of<Response>()[0].second.accepted);
  // The fourth call was dropped: its timeout never fires, its answer is late.
  CHECK(f.ctx.pending().empty());
  f.ctx.deliver(s, sent[3].first, Response{sent[3].second.call.id, true, 10});
  CHECK(f.ctx.counter("late_responses") == 1);
  CHECK(f.ctx.counter("served") == 1);
}

TEST_CASE("service: a fan-out fails as soon as too few nodes are left to answer") {
  Fixture f;
  Call leaves = call_to("leaves", 0);
  leaves.fanout = 0;  // every node: 5
  leaves.wait = 4;
  const auto cfg = config({Step{{}, {leaves}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));
  const auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 5);
  f.ctx.deliver(s, sent[0].first, Response{sent[0].second.call.id, false, 10});
  CHECK(f.ctx.sent_of<Response>().empty());  // 4 can still answer
  f.ctx.deliver(s, sent[1].first, Response{sent[1].second.call.id, false, 10});
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].second.accepted);
  CHECK(f.ctx.counter("failed") == 1);
  CHECK(f.ctx.counter("call_leaves_failed") == 1);
}

TEST_CASE("service: a failed call fails the request, is ignored, or ends it with a fallback") {
  const auto [on_error, accepted, counter, calls] =
      GENERATE(std::make_tuple(OnError::kFail, false, "failed", 1u),
               std::make_tuple(OnError::kIgnore, true, "served", 2u),
               std::make_tuple(OnError::kFallback, true, "fallbacks", 1u));
  Fixture f;
  Call cache = call_to("cache", 0);
  cache.on_error = on_error;
  const auto cfg = config({Step{{}, {cache}}, Step{{}, {call_to("db", 1)}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));
  answer_all(f.ctx, s, 0, false);  // the cache refuses
  answer_all(f.ctx, s, 1, true);   // the database answers, when it was called
  CHECK(f.ctx.sent_of<Request>().size() == calls);
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].second.accepted == accepted);
  CHECK(f.ctx.counter(counter) == 1);
}

TEST_CASE("service: parallel calls go out together and the step waits for all of them") {
  Fixture f;
  const auto cfg = config({Step{{}, {call_to("cache", 0), call_to("db", 1)}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));
  const auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 2);
  f.ctx.deliver(s, sent[1].first, Response{sent[1].second.call.id, true, 10});
  CHECK(f.ctx.sent_of<Response>().empty());
  f.ctx.deliver(s, sent[0].first, Response{sent[0].second.call.id, true, 10});
  CHECK(f.ctx.sent_of<Response>().size() == 1);
}

TEST_CASE("service: a call with p = 0 is never made, and a step for other operations is skipped") {
  Fixture f;
  Call never = call_to("cache", 0);
  never.p = 0;
  Step writes{{"write"}, {call_to("db", 1)}};
  const auto cfg = config({Step{{}, {never}}, writes});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));  // a read
  REQUIRE(f.ctx.fire_next(s));
  CHECK(f.ctx.sent_of<Request>().empty());
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK(f.ctx.sent_of<Response>()[0].second.accepted);
}

TEST_CASE("service: calls carry what is left of the end user's deadline") {
  Fixture f;
  const auto cfg = config({Step{{}, {call_to("cache", 0)}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1, 0, ms(50)));
  REQUIRE(f.ctx.fire_next(s));  // 2 ms of work
  const auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second.call.budget == ms(48));
  // Its attempt times out at the deadline, not at the edge's 100 ms timeout.
  REQUIRE(f.ctx.fire_next(s));
  CHECK(f.ctx.now() == SimTime::zero() + ms(50));
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK_FALSE(f.ctx.sent_of<Response>()[0].second.accepted);
}

TEST_CASE("service: with drop_expired, a request nobody awaits any more is not worked on") {
  const bool drop = GENERATE(true, false);
  Fixture f;
  auto cfg = config({}, ms(10));
  cfg.pool.workers = 1;
  cfg.drop_expired = drop;
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  f.ctx.deliver(s, 8, req(f.ctx, 8, 1, 0, ms(5)));  // waits 10 ms behind the first
  REQUIRE(f.ctx.fire_next(s));
  const auto answers = f.ctx.sent_of<Response>();
  if (drop) {
    REQUIRE(answers.size() == 2);
    CHECK(answers[1].first == 8);
    CHECK_FALSE(answers[1].second.accepted);
    CHECK(f.ctx.counter("expired") == 1);
    CHECK(f.ctx.pending().empty());  // no work started for it
  } else {
    CHECK(answers.size() == 1);
    CHECK(f.ctx.pending().size() == 1);  // worked on, though its caller has given up
  }
}

TEST_CASE("service: calls tell the callee how long their answer is awaited") {
  Fixture f;
  const auto cfg = config({Step{{}, {call_to("cache", 0, ms(30))}}});
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));  // no deadline of its own
  REQUIRE(f.ctx.fire_next(s));
  const auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second.call.budget == ms(30));  // the edge's timeout
}

TEST_CASE("service: a blocking worker is held while its calls are out, an async one is not") {
  const bool blocking = GENERATE(true, false);
  Fixture f;
  auto cfg = config({Step{{}, {call_to("db", 0)}}});
  cfg.pool.workers = 1;
  cfg.blocking = blocking;
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  f.ctx.deliver(s, 8, req(f.ctx, 8, 1));
  REQUIRE(f.ctx.fire_next(s));  // the first request's work; its call goes out
  CHECK(f.ctx.sent_of<Request>().size() == 1);
  // Async, the worker took the second request at once; blocking, it waits for the answer.
  const bool second_working = f.ctx.pending().size() == 2;  // work timer + call timeout
  CHECK(second_working == !blocking);
  answer_all(f.ctx, s, 0, true);
  CHECK(f.ctx.sent_of<Response>().size() == 1);
  while (f.ctx.fire_next(s))
    answer_all(f.ctx, s, 1, true);
  CHECK(f.ctx.sent_of<Response>().size() == 2);
  s.check_invariants();
}

namespace {

std::optional<double> figure(const RunOutput& out, const std::string& group, const std::string& op,
                             const std::string& metric) {
  return dsim::testing::summary_figure(out, group, op, metric);
}

RunOutput run(const std::string& yaml) {
  return dsim::testing::run_text(yaml, "tiers.yaml");
}

}  // namespace

TEST_CASE("service: an end user's latency through two tiers is the sum of its legs") {
  // Every leg is constant: 1 ms per network hop, 2 ms of the app's work, 3 ms of the
  // database's. A request: client -> app (1) + work (2) + app -> db (1) + db (3) + db ->
  // app (1) + app -> client (1) = 9 ms.
  const RunOutput out = run(R"(
duration: 5s
network: {latency: 1ms}
groups:
  - {name: users, model: client, params: {target: app, arrival: fixed, rate: 10/s}}
  - name: app
    model: service
    params: {workers: 4, service: 2ms, calls: [{to: db}]}
  - {name: db, model: server, params: {workers: 4, service: 3ms}}
)");
  CHECK(figure(out, "users", "request", "latency_ms_p50") == Approx(9.0).epsilon(1e-9));
  CHECK(figure(out, "users", "request", "latency_ms_max") == Approx(9.0).epsilon(1e-9));
  CHECK(figure(out, "app", "", "residence_ms_mean") == Approx(7.0).epsilon(1e-9));
  CHECK(figure(out, "app", "", "self_time_ms_mean") == Approx(2.0).epsilon(1e-9));
  CHECK(figure(out, "app", "", "call_db_ms_mean") == Approx(5.0).epsilon(1e-9));
}

TEST_CASE("service: an open breaker fails calls at once, unsent, until its trial call") {
  Fixture f;
  Call db = call_to("db", 0);
  db.breaker.kind = kit::CircuitBreakerSpec::Kind::kConsecutive;
  db.breaker.failures = 2;
  db.breaker.open_for = seconds(1);
  const auto cfg = config({Step{{}, {db}}}, Duration::zero());
  Service s(cfg);
  s.on_start(f.ctx);
  for (uint64_t id = 1; id <= 2; ++id) {  // two refused calls open it
    f.ctx.deliver(s, 7, req(f.ctx, 7, id));
    REQUIRE(f.ctx.fire_next(s));
    answer_all(f.ctx, s, id - 1, false);
  }
  CHECK(f.ctx.counter("breaker_opened") == 1);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 3));
  REQUIRE(f.ctx.fire_next(s));
  CHECK(f.ctx.sent_of<Request>().size() == 2);  // not sent
  CHECK(f.ctx.counter("call_db_short_circuited") == 1);
  auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 3);
  CHECK_FALSE(answers[2].second.accepted);
  f.ctx.advance(seconds(1));  // half-open: one trial goes out, and its success closes it
  f.ctx.deliver(s, 7, req(f.ctx, 7, 4));
  REQUIRE(f.ctx.fire_next(s));
  REQUIRE(f.ctx.sent_of<Request>().size() == 3);
  answer_all(f.ctx, s, 2, true);
  answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 4);
  CHECK(answers[3].second.accepted);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 5));
  REQUIRE(f.ctx.fire_next(s));
  CHECK(f.ctx.sent_of<Request>().size() == 4);  // closed again
}

TEST_CASE(
    "service: a hedged call goes to a second node after hedge_after, the loser is cancelled") {
  Fixture f;
  Call leaf = call_to("leaves", 0);
  leaf.hedge_after = ms(10);
  const auto cfg = config({Step{{}, {leaf}}}, Duration::zero());
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));  // no work: the call goes out at once
  auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(f.ctx.fire_next(s));  // the hedge timer
  CHECK(f.ctx.now() == SimTime::zero() + ms(10));
  sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].first != sent[0].first);  // another node
  CHECK(f.ctx.counter("call_leaves_hedged") == 1);
  f.ctx.advance(ms(2));
  f.ctx.deliver(s, sent[1].first, Response{sent[1].second.call.id, true, 10});  // the hedge wins
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].second.accepted);
  const auto cancels = f.ctx.sent_of<queueing::Cancel>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].first == sent[0].first);
  CHECK(cancels[0].second.call == sent[0].second.call.id);
  CHECK(f.ctx.pending().empty());  // the loser's timeout is gone, and no more hedges
  CHECK(f.ctx.recorder().observations[f.ctx.intern("call_leaves").id][0] == ms(12));
}

TEST_CASE("service: a call answered before hedge_after sends no hedge") {
  Fixture f;
  Call leaf = call_to("leaves", 0);
  leaf.hedge_after = ms(10);
  const auto cfg = config({Step{{}, {leaf}}}, Duration::zero());
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));
  f.ctx.advance(ms(5));
  answer_all(f.ctx, s, 0, true);
  while (f.ctx.fire_next(s)) {
  }
  CHECK(f.ctx.sent_of<Request>().size() == 1);
  CHECK(f.ctx.counter("call_leaves_hedged") == 0);
  CHECK(f.ctx.sent_of<queueing::Cancel>().empty());
}

TEST_CASE("server: a cancelled request still waiting is dropped, one being served is not") {
  queueing::Server::Config cfg;
  cfg.pool.workers = 1;
  cfg.service = {{"", const_time(ms(5))}};
  queueing::Server srv(cfg);
  RecordingContext ctx(3);
  srv.on_start(ctx);
  ctx.deliver(srv, 7, req(ctx, 7, 1));
  ctx.deliver(srv, 7, req(ctx, 7, 2));
  ctx.deliver(srv, 7, queueing::Cancel{2});  // waiting: dropped
  ctx.deliver(srv, 7, queueing::Cancel{1});  // in service: goes on
  CHECK(ctx.counter("cancelled") == 1);
  while (ctx.fire_next(srv)) {
  }
  const auto answers = ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].second.call == 1);
}

TEST_CASE("service: a cancelled request still waiting is dropped without an answer") {
  Fixture f;
  auto cfg = config({}, ms(5));
  cfg.pool.workers = 1;
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  f.ctx.deliver(s, 7, req(f.ctx, 7, 2));
  f.ctx.deliver(s, 8, queueing::Cancel{2});  // not its caller: ignored
  f.ctx.deliver(s, 7, queueing::Cancel{2});
  f.ctx.deliver(s, 7, queueing::Cancel{1});  // being worked on: goes on
  CHECK(f.ctx.counter("cancelled") == 1);
  while (f.ctx.fire_next(s)) {
  }
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].second.call == 1);
  s.check_invariants();
}

TEST_CASE(
    "service: a bulkhead caps the calls out on its edge, a waiting call goes when a place frees") {
  Fixture f;
  Call db = call_to("db", 0, ms(100));
  db.bulkhead.max_calls = 1;
  db.bulkhead.max_wait = ms(5);
  auto cfg = config({Step{{}, {db}}}, ms(1));
  cfg.pool.workers = 4;
  Service s(cfg);
  s.on_start(f.ctx);
  for (uint64_t id = 1; id <= 3; ++id)
    f.ctx.deliver(s, 7, req(f.ctx, 7, id));
  for (int i = 0; i < 3; ++i)
    REQUIRE(f.ctx.fire_next(s));  // the three requests' work: one call out, two wait
  auto sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 1);
  f.ctx.advance(ms(2));
  f.ctx.deliver(s, sent[0].first, Response{sent[0].second.call.id, true, 10});
  sent = f.ctx.sent_of<Request>();
  REQUIRE(sent.size() == 2);    // the oldest waiting call took the place
  REQUIRE(f.ctx.fire_next(s));  // the third call's wait (5 ms) runs out first
  CHECK(f.ctx.counter("call_db_bulkhead_full") == 1);
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].second.accepted);
  CHECK_FALSE(answers[1].second.accepted);  // on_error: fail
  CHECK(answers[1].second.call == 3);
  f.ctx.deliver(s, sent[1].first, Response{sent[1].second.call.id, true, 10});
  CHECK(f.ctx.sent_of<Response>().size() == 3);
  s.check_invariants();
}

TEST_CASE(
    "service: a tied call queues two copies, the second after tie_delay, each naming the other") {
  Fixture f;
  Call call = call_to("leaves", 0, ms(100));
  call.tied = true;
  call.tie_delay = ms(1);
  auto cfg = config({Step{{}, {call}}}, ms(1));
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));  // the work
  auto tied = f.ctx.sent_of<queueing::TiedRequest>();
  REQUIRE(tied.size() == 1);
  REQUIRE(f.ctx.fire_next(s));  // the tie delay
  CHECK(f.ctx.now() == SimTime::zero() + ms(2));
  tied = f.ctx.sent_of<queueing::TiedRequest>();
  REQUIRE(tied.size() == 2);
  CHECK(tied[0].second.tie == tied[1].second.tie);
  CHECK(tied[0].second.peer == tied[1].first);
  CHECK(tied[1].second.peer == tied[0].first);
  CHECK(tied[0].first != tied[1].first);
  // The second copy answers first: the call is over, the first copy is cancelled.
  f.ctx.deliver(s, tied[1].first, Response{tied[1].second.req.call.id, true, 10});
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].second.accepted);
  const auto cancels = f.ctx.sent_of<queueing::Cancel>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].first == tied[0].first);
  CHECK(cancels[0].second.call == tied[0].second.req.call.id);
  s.check_invariants();
}

TEST_CASE("server: the node that begins a tied copy has the other dropped, even before it comes") {
  queueing::Server::Config cfg;
  cfg.pool.workers = 1;
  cfg.service = {{"", const_time(ms(5))}};
  queueing::Server srv(cfg);
  RecordingContext ctx(3);
  srv.on_start(ctx);
  ctx.deliver(srv, 7, req(ctx, 7, 1));  // keeps the worker busy
  ctx.deliver(srv, 7, queueing::TiedRequest{req(ctx, 7, 2), 77, 4});
  CHECK(ctx.sent_of<queueing::Cancel>().empty());
  ctx.deliver(srv, 4, queueing::Cancel{0, 77, 7});  // node 4 began the other copy
  CHECK(ctx.counter("cancelled") == 1);
  // A cancellation that comes before its copy: the copy is dropped when it comes.
  ctx.deliver(srv, 5, queueing::Cancel{0, 78, 7});
  ctx.deliver(srv, 7, queueing::TiedRequest{req(ctx, 7, 3), 78, 5});
  CHECK(ctx.counter("cancelled") == 2);
  // A copy whose worker begins it tells its peer.
  ctx.deliver(srv, 7, queueing::TiedRequest{req(ctx, 7, 4), 79, 6});
  REQUIRE(ctx.fire_next(srv));  // request 1 done: the tied copy of tie 79 begins
  const auto cancels = ctx.sent_of<queueing::Cancel>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].first == 6);
  CHECK(cancels[0].second.tie == 79);
  CHECK(cancels[0].second.caller == 7);
  while (ctx.fire_next(srv)) {
  }
  CHECK(ctx.sent_of<Response>().size() == 2);
}

TEST_CASE("service: past its concurrency limit a request is shed, its calls out count") {
  Fixture f;
  auto cfg = config({Step{{}, {call_to("db", 0)}}});
  cfg.pool.workers = 4;
  cfg.blocking = false;  // its worker is free while the call is out: the visit still counts
  cfg.pool.limit.kind = kit::ConcurrencyLimitSpec::Kind::kFixed;
  cfg.pool.limit.initial = 1;
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, req(f.ctx, 7, 1));
  REQUIRE(f.ctx.fire_next(s));  // its work; the call to db goes out
  REQUIRE(f.ctx.sent_of<Request>().size() == 1);
  f.ctx.deliver(s, 8, req(f.ctx, 8, 1));  // one on the node already: shed
  auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].first == 8);
  CHECK_FALSE(answers[0].second.accepted);
  CHECK(f.ctx.counter("shed") == 1);
  s.check_invariants();
  answer_all(f.ctx, s, 0, true);  // the first is answered; a place is free
  f.ctx.deliver(s, 9, req(f.ctx, 9, 1));
  CHECK(f.ctx.counter("shed") == 1);
  answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 2);
  CHECK(answers[1].first == 7);
  CHECK(answers[1].second.accepted);
  s.check_invariants();
}
