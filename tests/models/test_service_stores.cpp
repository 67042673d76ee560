// A service calling a key-value store (models/service/store_calls.cpp): the request it
// sends, the redirects and retries it follows, and the operation it records in the
// key-value history for each call: ok with what it read, fail when every attempt was
// refused, unknown when one may have been applied. The last cases run whole scenarios.
#include <catch2/catch.hpp>

#include "models/builtin.h"
#include "models/service/service.h"
#include "sim/run/runner.h"
#include "support/recording_context.h"
#include "support/scenarios.h"

using namespace dsim;
using namespace dsim::service;
using dsim::testing::RecordingContext;
using kv::KvOpKind;
using kv::KvRequest;
using kv::KvResponse;
using kv::KvStatus;
using queueing::Request;
using queueing::Response;

namespace {

Call store_call(KvOpKind op, uint64_t first_key = 0) {
  Call c;
  c.to = "db";
  c.contract = Contract::kKv;
  c.kv_op = op;
  c.first_key = first_key;
  c.policy.timeout = ms(100);
  c.policy.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
  c.policy.retry.jitter = kit::RetryPolicy::Jitter::kNone;
  c.policy.retry.max_attempts = 3;
  c.policy.retry.base = ms(10);
  c.policy.balancer.kind = kit::BalancerKind::kSticky;
  return c;
}

Service::Config config(Call call) {
  Service::Config cfg;
  cfg.service = {
      {"",
       Distribution::constant(static_cast<double>(ms(1).ns())).with_dim(Distribution::Dim::kTime)}};
  cfg.plan.steps = {Step{{}, {std::move(call)}}};
  cfg.pool.workers = 4;
  return cfg;
}

Request user_request(RecordingContext& ctx, uint64_t id, uint64_t key) {
  kit::CallHeader call;
  call.id = id;
  call.reply_to = 7;
  return Request{call, ctx.intern("read"), 100, key};
}

KvResponse answer(const KvRequest& req, KvStatus status, NodeId hint = kNoNode) {
  KvResponse r;
  r.call = req.call.id;
  r.status = status;
  r.hint = hint;
  return r;
}

struct Fixture {
  RecordingContext ctx{1};
  Fixture() { ctx.groups["db"] = {20, 21, 22}; }
  // Runs the timers due up to `until` from now.
  void run_for(Service& s, Duration until) {
    const SimTime end = ctx.now() + until;
    while (!ctx.pending().empty() && ctx.pending().front()->at <= end)
      ctx.fire_next(s);
  }
};

}  // namespace

TEST_CASE("service: a get of the end user's key follows a redirect and records what it read") {
  Fixture f;
  const auto cfg = config(store_call(KvOpKind::kGet, 1000));
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, user_request(f.ctx, 1, 42));
  REQUIRE(f.ctx.fire_next(s));  // the 1 ms of work
  auto sent = f.ctx.sent_of<KvRequest>();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second.op == KvOpKind::kGet);
  CHECK(sent[0].second.key == 1042);  // first_key + the user's key
  const NodeId leader = sent[0].first == 21 ? 22 : 21;
  f.ctx.deliver(s, sent[0].first, answer(sent[0].second, KvStatus::kNotLeader, leader));
  sent = f.ctx.sent_of<KvRequest>();
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].first == leader);  // at once, not a retry
  KvResponse ok = answer(sent[1].second, KvStatus::kOk);
  ok.value = kv::KvValue::single(5, 8);
  f.ctx.deliver(s, leader, ok);

  const auto& ops = f.ctx.recorder().ops;
  REQUIRE(ops.size() == 1);
  REQUIRE(ops[0].invocation);
  CHECK(ops[0].invocation->kind == KvOpKind::kGet);
  CHECK(ops[0].invocation->key == 1042);
  CHECK(ops[0].history == HistoryOutcome::kOk);
  CHECK(ops[0].read == std::vector<int64_t>{5});
  CHECK(ops[0].attempts == 2);
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].second.accepted);
  s.check_invariants();
}

TEST_CASE("service: a put writes a value unique to the call, retried under one idempotency key") {
  Fixture f;
  const auto cfg = config(store_call(KvOpKind::kPut));
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, user_request(f.ctx, 1, 3));
  f.ctx.deliver(s, 7, user_request(f.ctx, 2, 3));
  f.run_for(s, ms(1));
  auto sent = f.ctx.sent_of<KvRequest>();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].second.op == KvOpKind::kPut);
  CHECK(sent[0].second.value == 1'000'000'000);  // node 1, its first write
  CHECK(sent[1].second.value == 1'000'000'001);
  CHECK(sent[0].second.call.idempotency_key != sent[1].second.call.idempotency_key);
  f.run_for(s, ms(400));  // every attempt of both times out
  sent = f.ctx.sent_of<KvRequest>();
  REQUIRE(sent.size() == 6);
  for (size_t i = 2; i < sent.size(); ++i) {
    const auto& first = sent[i].second.value == sent[0].second.value ? sent[0] : sent[1];
    CHECK(sent[i].second.call.idempotency_key == first.second.call.idempotency_key);
  }
  const auto& ops = f.ctx.recorder().ops;
  REQUIRE(ops.size() == 2);
  for (const auto& op : ops) {
    CHECK(op.history == HistoryOutcome::kUnknown);  // a timed-out put may have been applied
    CHECK(op.attempts == 3);
  }
  const auto answers = f.ctx.sent_of<Response>();
  REQUIRE(answers.size() == 2);
  CHECK_FALSE(answers[0].second.accepted);  // on_error: fail
}

TEST_CASE("service: a call every attempt of which the store refused definitely failed") {
  Fixture f;
  const auto cfg = config(store_call(KvOpKind::kPut));
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, user_request(f.ctx, 1, 3));
  f.run_for(s, ms(1));
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto sent = f.ctx.sent_of<KvRequest>();
    REQUIRE(sent.size() == static_cast<size_t>(attempt + 1));
    f.ctx.deliver(s, sent.back().first, answer(sent.back().second, KvStatus::kUnavailable));
    f.run_for(s, ms(10));  // the backoff
  }
  const auto& ops = f.ctx.recorder().ops;
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].history == HistoryOutcome::kFail);
  CHECK(ops[0].outcome == Outcome::kRejected);
  CHECK(f.ctx.sent_of<Response>().size() == 1);
}

TEST_CASE(
    "service: a store call dropped in flight, when its request fails, has an unknown outcome") {
  Fixture f;
  f.ctx.groups["cache"] = {30};
  Call plain;
  plain.to = "cache";
  plain.edge = 1;
  plain.policy.timeout = ms(5);
  Service::Config cfg = config(store_call(KvOpKind::kPut));
  cfg.plan.steps[0].calls.push_back(plain);  // in parallel with the put
  Service s(cfg);
  s.on_start(f.ctx);
  f.ctx.deliver(s, 7, user_request(f.ctx, 1, 3));
  f.run_for(s, ms(1));
  REQUIRE(f.ctx.sent_of<KvRequest>().size() == 1);
  f.run_for(s, ms(5));  // the cache call times out: the request fails
  const auto& ops = f.ctx.recorder().ops;
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].history == HistoryOutcome::kUnknown);
  REQUIRE(f.ctx.sent_of<Response>().size() == 1);
  CHECK_FALSE(f.ctx.sent_of<Response>()[0].second.accepted);
  // The store's late answer is counted, not taken for another call.
  const auto put = f.ctx.sent_of<KvRequest>()[0];
  f.ctx.deliver(s, put.first, answer(put.second, KvStatus::kOk));
  CHECK(f.ctx.counter("late_responses") == 1);
  CHECK(ops.size() == 1);
  s.check_invariants();
}

namespace {

std::optional<double> figure(const RunOutput& out, const std::string& group, const std::string& op,
                             const std::string& metric) {
  return dsim::testing::summary_figure(out, group, op, metric);
}

RunOutput run(const std::string& yaml) {
  return dsim::testing::run_text(yaml, "stores.yaml");
}

}  // namespace

TEST_CASE(
    "service: the checkers judge a store's answers to the tier, the `all` rows are the users'") {
  const RunOutput out = run(R"(
duration: 5s
network: {latency: 1ms}
groups:
  - {name: users, model: client, count: 2, params: {target: api, rate: 100/s, keys: uniform(20), ops: {read: 0.5, write: 0.5}}}
  - name: api
    model: service
    count: 2
    params:
      service: 1ms
      workers: 8
      calls:
        - {to: db, ops: [read], kv_op: get}
        - {to: db, ops: [write], kv_op: append}
  - {name: db, model: kv_store, params: {service: 1ms}}
checks: [linearizable]
)");
  const auto users = figure(out, "users", "all", "requests");
  const auto reads = figure(out, "api", "get", "requests");
  const auto appends = figure(out, "api", "append", "requests");
  REQUIRE(users);
  REQUIRE(reads);
  REQUIRE(appends);
  CHECK(*users == Approx(1000).epsilon(0.1));
  CHECK(*reads + *appends == Approx(*users).margin(2));    // one store call per user request
  CHECK(figure(out, "all", "all", "requests") == *users);  // the tier's calls are not pooled
  CHECK_FALSE(figure(out, "all", "get", "requests"));
  REQUIRE(out.checks.size() == 1);
  CHECK(out.checks[0].passed);
  CHECK(out.verdict_text.find("linearizable") != std::string::npos);
}
