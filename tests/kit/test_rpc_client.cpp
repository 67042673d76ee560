// The call layer's client side, driven one handler at a time: correlation, attempt
// timeouts, the retry schedule, redirects, budgets, and deadlines that travel in the
// requests' headers.
#include <catch2/catch.hpp>

#include "models/kit/rpc_client.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::kit;
using dsim::testing::RecordingContext;

namespace {

struct Ping {
  static constexpr std::string_view kName = "ping";
  CallHeader call;
};

// A model that makes calls: what it sent and how its calls ended.
struct Caller final : Model, CallHost {
  enum class Timer : uint8_t { kCalls };
  explicit Caller(const CallPolicy& p) : rpc(p, TimerSpace(Timer::kCalls), *this) {}
  void on_start(Context& ctx) override {
    const NodeId targets[] = {1, 2, 3};
    rpc.start(ctx, targets, 0);
  }
  void on_message(Context&, const Envelope&) override {}
  void on_timer(Context& ctx, TimerId, TimerTag tag) override {
    rpc.on_timer(ctx, timer_of<Timer>(tag).value);
  }
  void send_request(Context& ctx, uint64_t handle, const CallHeader& h, NodeId to,
                    uint32_t request) override {
    requests.push_back({handle, h, to, request, ctx.now()});
    ctx.send(to, Ping{h});
  }
  void call_failed(Context&, uint64_t handle, const CallEnd& e) override {
    failed.emplace_back(handle, e);
  }
  void attempt_timed_out(Context& ctx, uint64_t handle, NodeId to) override {
    timed_out.push_back({handle, {}, to, 0, ctx.now()});
  }
  struct Request {
    uint64_t handle;
    CallHeader header;
    NodeId to;
    uint32_t number;
    SimTime at;
  };
  RpcClient rpc;
  std::vector<Request> requests;
  std::vector<std::pair<uint64_t, CallEnd>> failed;
  std::vector<Request> timed_out;  ///< attempt_timed_out: handle, target, when
};

CallPolicy policy() {
  CallPolicy p;
  p.timeout = ms(100);
  p.retry.backoff = RetryPolicy::Backoff::kExponential;
  p.retry.max_attempts = 4;
  p.retry.base = ms(10);
  p.retry.cap = ms(25);
  p.retry.jitter = RetryPolicy::Jitter::kNone;
  p.balancer.kind = BalancerKind::kRoundRobin;
  return p;
}

}  // namespace

TEST_CASE("rpc client: a call carries its header, its answer ends it, late answers are counted") {
  const CallPolicy p = policy();
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  RpcClient::Options o;
  o.origin = 99;
  c.rpc.begin(ctx, 1, o);
  REQUIRE(c.requests.size() == 1);
  const CallHeader h = c.requests[0].header;
  CHECK(h.id == make_call_id(7, 1));
  CHECK(call_caller(h.id) == 7);
  CHECK(h.reply_to == 7);
  CHECK(h.origin == 99);
  CHECK(h.budget == ms(100));  // the answer is awaited for the attempt's timeout
  CHECK(c.rpc.handle_of(h.id) == 1u);
  CHECK(c.rpc.observed()[0].outstanding == 1);
  ctx.advance(ms(30));
  const auto out = c.rpc.on_answer(ctx, h.id, 1, Answer::kDone);
  CHECK(out.status == RpcClient::Outcome::Status::kDone);
  CHECK(out.handle == 1);
  CHECK(out.requests == 1);
  CHECK_FALSE(out.maybe_applied);
  CHECK(c.rpc.live_calls() == 0);
  CHECK(c.rpc.observed()[0].outstanding == 0);
  CHECK(c.rpc.observed()[0].latency_ns == 30e6);
  CHECK(ctx.pending().empty());  // the attempt's timer is cancelled
  CHECK(c.rpc.on_answer(ctx, h.id, 1, Answer::kDone).status == RpcClient::Outcome::Status::kLate);
  CHECK(ctx.counter("late_responses") == 1);
}

TEST_CASE("rpc client: timeouts retry with backoff, each attempt a new id, then the call fails") {
  const CallPolicy p = policy();
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 5, {});
  while (ctx.fire_next(c)) {
  }
  // Timeout 100 ms, then backoffs of 10, 20, 25 (capped) ms: requests at 0, 110, 230, 355.
  REQUIRE(c.requests.size() == 4);
  CHECK(c.requests[1].at - c.requests[0].at == ms(110));
  CHECK(c.requests[2].at - c.requests[1].at == ms(120));
  CHECK(c.requests[3].at - c.requests[2].at == ms(125));
  std::set<uint64_t> ids;
  for (const auto& r : c.requests)
    ids.insert(r.header.id);
  CHECK(ids.size() == 4);
  // Round robin moves on after each failure.
  CHECK(c.requests[0].to == 1);
  CHECK(c.requests[1].to == 2);
  REQUIRE(c.failed.size() == 1);
  CHECK(c.failed[0].first == 5);
  CHECK(c.failed[0].second.why == CallEnd::Why::kAttempts);
  CHECK(c.failed[0].second.maybe_applied);
  CHECK(c.failed[0].second.requests == 4);
  CHECK(ctx.counter("attempt_timeouts") == 4);
  CHECK(ctx.counter("retries") == 3);
}

TEST_CASE("rpc client: every request of a call carries its idempotency key, or a new one each") {
  for (bool keep : {true, false}) {
    CallPolicy p = policy();
    p.idempotency_keys = keep;
    Caller c(p);
    RecordingContext ctx(7);
    c.on_start(ctx);
    RpcClient::Options o;
    o.idempotency_key = c.rpc.new_idempotency_key();
    CHECK(o.idempotency_key == make_idempotency_key(7, 1));
    c.rpc.begin(ctx, 1, o);
    c.rpc.on_answer(ctx, c.requests[0].header.id, 1, Answer::kRedirect, 2);  // request 2
    while (ctx.fire_next(c)) {
    }
    REQUIRE(c.requests.size() == 5);
    INFO("keys kept: " << keep);
    std::set<uint64_t> keys;
    for (const auto& r : c.requests)
      keys.insert(r.header.idempotency_key);
    CHECK(keys.size() == (keep ? 1u : 5u));
    CHECK(c.requests[0].header.idempotency_key == o.idempotency_key);
  }
  // A call given no key carries none.
  const CallPolicy plain = policy();
  Caller c(plain);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 1, {});
  CHECK(c.requests[0].header.idempotency_key == 0);
}

TEST_CASE("rpc client: refusals retry as not applied, a redirect is followed at once") {
  const CallPolicy p = policy();
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 1, {});
  // Redirected to node 3: sent at once, not a retry, not a new attempt.
  c.rpc.on_answer(ctx, c.requests[0].header.id, 1, Answer::kRedirect, 3);
  REQUIRE(c.requests.size() == 2);
  CHECK(c.requests[1].to == 3);
  CHECK(c.requests[1].at == c.requests[0].at);
  CHECK(c.requests[1].number == 1);
  CHECK(ctx.counter("redirects") == 1);
  CHECK(ctx.counter("retries") == 0);
  // A refusal: retried after the backoff; the call is not "maybe applied".
  c.rpc.on_answer(ctx, c.requests[1].header.id, 3, Answer::kRefused);
  REQUIRE(ctx.fire_next(c));
  REQUIRE(c.requests.size() == 3);
  const auto done = c.rpc.on_answer(ctx, c.requests[2].header.id, c.requests[2].to, Answer::kDone);
  CHECK(done.status == RpcClient::Outcome::Status::kDone);
  CHECK(done.requests == 3);
  CHECK_FALSE(done.maybe_applied);
  // A redirect with no hint fails the attempt like a refusal.
  c.rpc.begin(ctx, 2, {});
  c.rpc.on_answer(ctx, c.requests.back().header.id, 1, Answer::kRedirect);
  CHECK(ctx.counter("retries") == 2);
}

TEST_CASE("rpc client: an indeterminate answer makes the call's outcome unknown") {
  CallPolicy p = policy();
  p.retry.max_attempts = 2;
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 1, {});
  c.rpc.on_answer(ctx, c.requests[0].header.id, 1, Answer::kIndeterminate);
  REQUIRE(ctx.fire_next(c));
  c.rpc.on_answer(ctx, c.requests[1].header.id, 2, Answer::kRefused);
  REQUIRE(c.failed.size() == 1);
  CHECK(c.failed[0].second.maybe_applied);
}

TEST_CASE("rpc client: a retry budget caps retries, the rest of the calls fail at once") {
  CallPolicy p = policy();
  p.retry.max_attempts = 10;
  p.budget.ratio = 0.5;
  p.budget.min_per_second = 0;
  p.budget.window = seconds(10);
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  for (uint64_t h = 1; h <= 4; ++h)
    c.rpc.begin(ctx, h, {});  // 4 requests: 2 retries in the budget
  for (size_t i = 0; i < 4; ++i)
    c.rpc.on_answer(ctx, c.requests[i].header.id, c.requests[i].to, Answer::kRefused);
  CHECK(ctx.counter("retries") == 2);
  CHECK(ctx.counter("retries_denied") == 2);
  REQUIRE(c.failed.size() == 2);
  CHECK(c.failed[0].second.why == CallEnd::Why::kBudget);
}

TEST_CASE("rpc client: a deadline bounds attempts and travels as the remaining budget") {
  CallPolicy p = policy();
  p.deadline = ms(250);
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 1, {});
  CHECK(c.requests[0].header.budget == ms(100));  // the timeout comes first
  while (ctx.fire_next(c)) {
  }
  // Attempts at 0 and 110 ms (timeouts 100 ms); the third would start at 230 with 20 ms
  // left: its timeout is cut to them, and its request says so, then the deadline ends the
  // call.
  REQUIRE(c.requests.size() == 3);
  CHECK(c.requests[1].header.budget == ms(100));
  CHECK(c.requests[2].header.budget == ms(20));
  REQUIRE(c.failed.size() == 1);
  CHECK(c.failed[0].second.why == CallEnd::Why::kDeadline);
  CHECK(ctx.now() == SimTime::zero() + ms(250));
  CHECK(ctx.counter("deadline_exceeded") == 1);

  // An inherited deadline (a call made to serve another) is kept when shorter.
  const CallPolicy plain = policy();  // the policy outlives the client that reads it
  Caller d(plain);
  RecordingContext dctx(8);
  d.on_start(dctx);
  RpcClient::Options o;
  o.inherited_budget = ms(40);
  d.rpc.begin(dctx, 1, o);
  CHECK(d.requests[0].header.budget == ms(40));
  CHECK(dctx.pending()[0]->at == SimTime::zero() + ms(40));  // the attempt's timeout is cut
}

TEST_CASE("rpc client: forwarded and child headers keep the end user's operation and deadline") {
  CallHeader in;
  in.id = make_call_id(3, 9);
  in.origin = 77;
  in.budget = ms(100);
  in.reply_to = 3;
  const CallHeader fwd = forwarded(in, ms(15));
  CHECK(fwd.id == in.id);
  CHECK(fwd.reply_to == 3);
  CHECK(fwd.budget == ms(85));
  const CallHeader child = child_call(in, make_call_id(4, 1), 4, ms(15));
  CHECK(child.origin == 77);
  CHECK(child.reply_to == 4);
  CHECK(child.budget == ms(85));
  CallHeader none;
  CHECK(forwarded(none, ms(5)).budget == kNoDeadline);
  CHECK_THROWS_AS(make_call_id(1, 0), InvariantBroken);
}

TEST_CASE("rpc client: a pinned call sends every attempt to its candidate") {
  const CallPolicy p = policy();  // round robin, 4 attempts
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  RpcClient::Options o;
  o.pinned = 2;  // node 3
  c.rpc.begin(ctx, 1, o);
  while (ctx.fire_next(c)) {  // every attempt times out, retried after its backoff
  }
  REQUIRE(c.requests.size() == 4);
  for (const auto& r : c.requests)
    CHECK(r.to == 3);
  REQUIRE(c.failed.size() == 1);
}

TEST_CASE("rpc client: a cancelled call stops, tells no one, and its answer is late") {
  const CallPolicy p = policy();
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 1, {});
  c.rpc.begin(ctx, 2, {});
  REQUIRE(c.requests.size() == 2);
  c.rpc.cancel(ctx, 1);
  CHECK(c.rpc.live_calls() == 1);
  CHECK(c.rpc.observed()[0].outstanding == 0);  // its attempt no longer counts on node 1
  CHECK_FALSE(c.rpc.handle_of(c.requests[0].header.id));
  const auto late = c.rpc.on_answer(ctx, c.requests[0].header.id, 1, Answer::kDone);
  CHECK(late.status == RpcClient::Outcome::Status::kLate);
  CHECK(ctx.counter("late_responses") == 1);
  // Only call 2's timeout and retries remain.
  while (ctx.fire_next(c)) {
  }
  CHECK(c.requests.size() == 5);  // call 1's one, call 2's four
  REQUIRE(c.failed.size() == 1);
  CHECK(c.failed[0].first == 2);
}

TEST_CASE("rpc client: clients sharing a node's call-id sequence never reuse an id") {
  const CallPolicy p = policy();
  Caller a(p), b(p);
  RecordingContext ctx(7);
  uint64_t next = 1;
  a.rpc.share_call_ids(next);
  b.rpc.share_call_ids(next);
  a.on_start(ctx);
  b.on_start(ctx);
  a.rpc.begin(ctx, 1, {});
  b.rpc.begin(ctx, 1, {});
  a.rpc.begin(ctx, 2, {});
  REQUIRE(a.requests.size() == 2);
  REQUIRE(b.requests.size() == 1);
  CHECK(a.requests[0].header.id == make_call_id(7, 1));
  CHECK(b.requests[0].header.id == make_call_id(7, 2));
  CHECK(a.requests[1].header.id == make_call_id(7, 3));
  CHECK_FALSE(a.rpc.handle_of(b.requests[0].header.id));
}

TEST_CASE("rpc client: the host hears of each attempt that timed out, with its target") {
  const CallPolicy p = policy();
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.begin(ctx, 5, {});
  while (ctx.fire_next(c)) {
  }
  REQUIRE(c.timed_out.size() == 4);
  for (size_t i = 0; i < c.timed_out.size(); ++i) {
    CHECK(c.timed_out[i].handle == 5);
    CHECK(c.timed_out[i].to == c.requests[i].to);
    CHECK(c.timed_out[i].at == c.requests[i].at + ms(100));
  }
  REQUIRE(c.failed.size() == 1);  // heard after the last attempt's timeout
}

TEST_CASE("rpc client: set_healthy makes the policy pass a target over") {
  const CallPolicy p = policy();
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.set_healthy(1, false);
  CHECK_FALSE(c.rpc.observed()[1].healthy);
  for (uint64_t h = 1; h <= 4; ++h)
    c.rpc.begin(ctx, h, {});
  REQUIRE(c.requests.size() == 4);
  for (const auto& r : c.requests)
    CHECK(r.to != 2);
  c.rpc.set_healthy(1, true);
  c.rpc.begin(ctx, 5, {});
  c.rpc.begin(ctx, 6, {});
  CHECK((c.requests[4].to == 2 || c.requests[5].to == 2));
}

TEST_CASE("rpc client: set_weight changes what weighted_round_robin gives a target") {
  CallPolicy p = policy();
  p.balancer.kind = BalancerKind::kWeightedRoundRobin;
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  c.rpc.set_weight(0, 2);  // weights 2 : 1 : 1
  CHECK(c.rpc.observed()[0].weight == 2);
  for (uint64_t h = 1; h <= 8; ++h)
    c.rpc.begin(ctx, h, {});
  int first = 0;
  for (const auto& r : c.requests)
    first += r.to == 1 ? 1 : 0;
  CHECK(first == 4);
}

TEST_CASE(
    "rpc client: eject_after passes a failing target over for eject_for, then takes it back") {
  CallPolicy p = policy();
  p.retry.max_attempts = 1;
  p.eject_after = 3;
  p.eject_for = seconds(5);
  Caller c(p);
  RecordingContext ctx(7);
  c.on_start(ctx);
  RpcClient::Options to_2;
  to_2.pinned = 1;  // every attempt to node 2 (candidate 1)
  // Two timeouts and a success: the count starts again.
  for (uint64_t h = 1; h <= 2; ++h) {
    c.rpc.begin(ctx, h, to_2);
    ctx.fire_next(c);
  }
  c.rpc.begin(ctx, 3, to_2);
  c.rpc.on_answer(ctx, c.requests.back().header.id, 2, Answer::kDone);
  CHECK(c.rpc.observed()[1].healthy);
  // Three failures in a row (two timeouts and a refusal) eject it.
  for (uint64_t h = 4; h <= 5; ++h) {
    c.rpc.begin(ctx, h, to_2);
    ctx.fire_next(c);
  }
  CHECK(c.rpc.observed()[1].healthy);
  c.rpc.begin(ctx, 6, to_2);
  c.rpc.on_answer(ctx, c.requests.back().header.id, 2, Answer::kRefused);
  CHECK_FALSE(c.rpc.observed()[1].healthy);
  CHECK(ctx.recorder().counters[ctx.intern("caller_ejections").id] == 1);
  for (uint64_t h = 7; h <= 10; ++h) {
    c.rpc.begin(ctx, h, {});
    CHECK(c.requests.back().to != 2);  // round robin passes it over
  }
  // A health the caller set itself survives the ejection's end.
  c.rpc.set_healthy(0, false);
  ctx.advance(seconds(5));
  while (ctx.fire_next(c)) {
  }
  CHECK(c.rpc.observed()[1].healthy);
  CHECK_FALSE(c.rpc.observed()[0].healthy);
  c.rpc.begin(ctx, 11, {});
  c.rpc.begin(ctx, 12, {});
  const size_t n = c.requests.size();
  CHECK((c.requests[n - 1].to == 2 || c.requests[n - 2].to == 2));
}
