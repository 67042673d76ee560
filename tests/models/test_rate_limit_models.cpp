// Rate limits placed in a service or a balancer (models/rate_limiter/gate.h) and the
// central store (`rate_limiter`): exact admissions of a local token bucket, per-client
// isolation, the check's round trip, failing open or closed, a leaky queue's delays and
// locally synchronised windows. Driven one handler at a time through a recording Context.
#include <catch2/catch.hpp>

#include "models/load_balancer/load_balancer.h"
#include "models/rate_limiter/analysis.h"
#include "models/rate_limiter/rate_limiter.h"
#include "models/service/service.h"
#include "support/recording_context.h"

using namespace dsim;
using dsim::queueing::Request;
using dsim::queueing::Response;
using dsim::testing::RecordingContext;
using Algorithm = kit::RateLimitPolicy::Algorithm;
using Scope = kit::RateLimitPolicy::Scope;

namespace {

constexpr NodeId kSelf = 10;
constexpr NodeId kStore = 50;

Request request(RecordingContext& ctx, NodeId from, uint64_t id, uint64_t key = 0) {
  kit::CallHeader call;
  call.id = id;
  call.reply_to = from;
  return Request{call, ctx.intern("read"), 100, key};
}

service::Service::Config service_with(const ratelimit::GateSpec& gate) {
  service::Service::Config c;
  c.service = {{"", Distribution::constant(1e6).with_dim(Distribution::Dim::kTime)}};
  c.rate_limit = gate;
  return c;
}

ratelimit::GateSpec token_bucket(uint64_t per_second, uint64_t burst, Scope scope) {
  ratelimit::GateSpec g;
  g.policy.algorithm = Algorithm::kTokenBucket;
  g.policy.rate = kit::Rate{per_second, seconds(1)};
  g.policy.burst = burst;
  g.policy.scope = scope;
  return g;
}

size_t refusals_to(const RecordingContext& ctx, NodeId client) {
  size_t n = 0;
  for (const auto& [to, r] : ctx.sent_of<Response>())
    n += to == client && !r.accepted ? 1 : 0;
  return n;
}

struct Balancer {
  explicit Balancer(ratelimit::GateSpec gate) : ctx(kSelf) {
    cfg.backends = "web";
    cfg.rate_limit = std::move(gate);
    ctx.groups["web"] = {1};
    ctx.groups["limits"] = {kStore};
    lb = std::make_unique<lb::LoadBalancer>(cfg);
    lb->on_start(ctx);
  }
  void send(NodeId from, uint64_t id, uint64_t key = 0) {
    ctx.deliver(*lb, from, request(ctx, from, id, key));
  }
  /// Fires every timer due by `t` (the report's marks among them).
  void run_until(SimTime t) {
    while (!ctx.pending().empty() && ctx.pending().front()->at <= t)
      ctx.fire_next(*lb);
  }
  size_t relayed() const {
    size_t n = 0;
    for (const auto& [to, r] : ctx.sent_of<Request>())
      n += to == 1 ? 1 : 0;
    return n;
  }
  std::vector<Request> checks() const {
    std::vector<Request> out;
    for (const auto& [to, r] : ctx.sent_of<Request>()) {
      if (to == kStore) out.push_back(r);
    }
    return out;
  }
  lb::LoadBalancer::Config cfg;
  RecordingContext ctx;
  std::unique_ptr<lb::LoadBalancer> lb;
};

}  // namespace

TEST_CASE(
    "rate limit: a service's token bucket admits burst + floor(rate x t) of a saturating "
    "load") {
  const auto cfg = service_with(token_bucket(10, 5, Scope::kGlobal));
  RecordingContext ctx(kSelf);
  service::Service s(cfg);
  s.on_start(ctx);
  for (uint64_t i = 0; i < 2000; ++i) {  // one request a millisecond, t = 0 .. 1.999 s
    ctx.set_now(SimTime::zero() + ms(static_cast<int64_t>(i)));
    ctx.deliver(s, 20, request(ctx, 20, i + 1));
  }
  CHECK(ctx.counter("rate_limit_allowed") == 5 + 19);
  CHECK(ctx.counter("rate_limit_rejected") == 2000 - 24);
  CHECK(refusals_to(ctx, 20) == 2000 - 24);
}

TEST_CASE(
    "rate limit: per_client keeps one bucket per client, so one client's flood leaves "
    "another's alone") {
  Balancer b(token_bucket(1, 2, Scope::kPerClient));
  for (uint64_t i = 1; i <= 10; ++i)
    b.send(20, i);
  b.send(21, 100);
  b.send(21, 101);
  CHECK(b.relayed() == 4);
  CHECK(refusals_to(b.ctx, 20) == 8);
  CHECK(refusals_to(b.ctx, 21) == 0);
}

TEST_CASE("rate limit: per_key keys the limiter by the request's key") {
  Balancer b(token_bucket(1, 1, Scope::kPerKey));
  b.send(20, 1, 7);
  b.send(21, 2, 7);  // another client, the same key
  b.send(21, 3, 8);
  CHECK(b.relayed() == 2);
  CHECK(refusals_to(b.ctx, 21) == 1);
}

TEST_CASE("rate limit: a leaky queue holds admitted requests until they drain at the rate") {
  ratelimit::GateSpec g;
  g.policy.algorithm = Algorithm::kLeakyQueue;
  g.policy.rate = kit::Rate{10, seconds(1)};
  g.policy.queue = 2;
  Balancer b(g);
  for (uint64_t i = 1; i <= 4; ++i)
    b.send(20, i);
  CHECK(b.relayed() == 1);             // the first leaves at once
  CHECK(refusals_to(b.ctx, 20) == 1);  // the fourth would wait 300 ms > 2 x 100 ms
  CHECK(b.ctx.counter("rate_limit_delayed") == 2);
  b.run_until(SimTime::zero() + ms(100) - nanoseconds(1));
  CHECK(b.relayed() == 1);
  b.run_until(SimTime::zero() + ms(100));
  CHECK(b.relayed() == 2);
  b.run_until(SimTime::zero() + ms(200));
  CHECK(b.relayed() == 3);
}

TEST_CASE("rate limit: a central store's check takes one round trip and its verdict decides") {
  ratelimit::GateSpec g = token_bucket(1, 1, Scope::kPerClient);
  g.policy = kit::RateLimitPolicy{};
  g.policy.algorithm = Algorithm::kTokenBucket;
  g.policy.scope = Scope::kPerClient;
  g.store = "limits";
  Balancer b(g);
  b.send(20, 1);
  b.send(21, 2);
  REQUIRE(b.checks().size() == 2);
  CHECK(b.checks()[0].key == 20);  // per_client: the client's node is the key
  CHECK(b.relayed() == 0);         // nothing relayed before the verdict
  b.ctx.deliver(*b.lb, kStore, Response{b.checks()[0].call.id, true, 64});
  CHECK(b.relayed() == 1);
  b.ctx.deliver(*b.lb, kStore, Response{b.checks()[1].call.id, false, 64});
  CHECK(b.relayed() == 1);
  CHECK(refusals_to(b.ctx, 21) == 1);
  CHECK(b.lb->backends()[0].sent == 1);
}

TEST_CASE("rate limit: the rate_limiter node answers checks by its algorithm, per key") {
  ratelimit::RateLimiterNode::Config c;
  c.policy.algorithm = Algorithm::kTokenBucket;
  c.policy.rate = kit::Rate{1, seconds(1)};
  c.policy.burst = 2;
  c.policy.scope = Scope::kPerKey;
  RecordingContext ctx(kStore);
  ratelimit::RateLimiterNode n(c);
  n.on_start(ctx);
  for (uint64_t i = 1; i <= 3; ++i)
    ctx.deliver(n, kSelf, request(ctx, kSelf, i, 20));
  ctx.deliver(n, kSelf, request(ctx, kSelf, 4, 21));
  const auto answers = ctx.sent_of<Response>();
  REQUIRE(answers.size() == 4);
  CHECK(answers[0].second.accepted);
  CHECK(answers[1].second.accepted);
  CHECK_FALSE(answers[2].second.accepted);
  CHECK(answers[3].second.accepted);
  CHECK(answers[2].first == kSelf);
}

TEST_CASE("rate limit: a check that times out admits the request (open) or refuses it (closed)") {
  for (const bool open : {true, false}) {
    ratelimit::GateSpec g;
    g.policy.algorithm = Algorithm::kTokenBucket;
    g.store = "limits";
    g.timeout = ms(5);
    g.fail_open = open;
    Balancer b(g);
    b.send(20, 1);
    REQUIRE(b.checks().size() == 1);
    REQUIRE(b.ctx.fire_next(*b.lb));  // the check's timeout
    CHECK(b.ctx.now() == SimTime::zero() + ms(5));
    CHECK(b.ctx.counter("rate_limit_check_failures") == 1);
    CHECK(b.relayed() == (open ? 1u : 0u));
    CHECK(refusals_to(b.ctx, 20) == (open ? 0u : 1u));
    CHECK(b.ctx.counter("rate_limit_allowed") == (open ? 1 : 0));
  }
}

TEST_CASE("rate limit: synchronised windows admit against the group's count the store tells") {
  ratelimit::GateSpec g;
  g.policy.algorithm = Algorithm::kFixedWindow;
  g.policy.limit = 10;
  g.policy.window = seconds(1);
  g.store = "limits";
  g.sync = ms(100);
  Balancer b(g);
  for (uint64_t i = 1; i <= 4; ++i)
    b.send(20, i);
  CHECK(b.relayed() == 4);
  b.run_until(SimTime::zero() + ms(100));  // the first sync
  const auto pushes = b.ctx.sent_of<ratelimit::SyncPush>();
  REQUIRE(pushes.size() == 1);
  CHECK(pushes[0].first == kStore);
  CHECK(pushes[0].second.window == 0);
  CHECK(pushes[0].second.admitted == 4);
  b.ctx.deliver(*b.lb, kStore, ratelimit::SyncTotal{0, 9, 64});  // 5 admitted elsewhere
  for (uint64_t i = 5; i <= 8; ++i)
    b.send(20, i);
  CHECK(b.relayed() == 5);  // 5 elsewhere + 5 here = the limit
  CHECK(refusals_to(b.ctx, 20) == 3);
}

TEST_CASE("rate limit: the store sums the pushes of a window and answers the total") {
  ratelimit::RateLimiterNode::Config c;
  RecordingContext ctx(kStore);
  ratelimit::RateLimiterNode n(c);
  n.on_start(ctx);
  ctx.deliver(n, 10, ratelimit::SyncPush{3, 4, 64});
  ctx.deliver(n, 11, ratelimit::SyncPush{3, 5, 64});
  ctx.deliver(n, 11, ratelimit::SyncPush{4, 1, 64});
  const auto totals = ctx.sent_of<ratelimit::SyncTotal>();
  REQUIRE(totals.size() == 3);
  CHECK(totals[0].second.total == 4);
  CHECK(totals[1].second.total == 9);
  CHECK(totals[1].first == 11);
  CHECK(totals[2].second.total == 1);
}

TEST_CASE(
    "rate limit: the analysis sums the nodes' tenths into windows against the sum of "
    "their limits, and measures fairness") {
  RecordingContext names(0);
  const Symbol spec = names.intern("rate_limit_spec");
  const Symbol window = names.intern("rate_limit_window");
  const Symbol client = names.intern("rate_limit_client");
  const int64_t tenth = ms(100).ns();
  std::vector<TimelineMark> marks;
  for (NodeId n : {1u, 2u})  // each node its own limit of 10 per 1 s window
    marks.push_back({SimTime::zero(), n, spec, 10, seconds(1).ns() * 2});
  for (int64_t k = 1; k <= 20; ++k) {  // two windows of ten tenths each
    const SimTime at = SimTime::zero() + Duration::from_ns(k * tenth);
    marks.push_back({at, 1, window, k == 10 || k == 11 ? 9 : 0, 1});
    marks.push_back({at, 2, window, k == 10 || k == 11 ? 6 : 0, 0});
  }
  marks.push_back({SimTime::zero() + seconds(2), 1, client, 20, 30});  // node 1: client 20
  marks.push_back({SimTime::zero() + seconds(2), 2, client, 21, 0});   // client 21 starved
  marks.push_back({SimTime::zero() + seconds(2), 2, client, 20, 30});  // node 2: client 20
  AnalysisInput in;
  in.groups.push_back({"lb", {1, 2}, nullptr});
  in.marks = marks;
  in.symbol_name = [&names](Symbol s) { return names.symbol_name(s); };
  const AnalysisOutput out = ratelimit::analyze_rate_limits(in, "load_balancer");
  auto figure = [&out](std::string_view metric) {
    for (const auto& r : out.rows) {
      if (r.metric == metric) return r.value;
    }
    FAIL("no figure " << metric);
    return 0.0;
  };
  CHECK(figure("rate_limit_limit") == 20);
  CHECK(figure("rate_limit_max_admitted") == 15);  // 9 + 6 in each window
  CHECK(figure("rate_limit_max_sliding") == 30);   // tenths 10 and 11 straddle the boundary
  CHECK(figure("rate_limit_overshoot") == 0);
  CHECK(figure("rate_limit_clients") == 2);
  CHECK(figure("rate_limit_fairness") == Approx(0.5));  // (60 + 0)^2 / (2 x 60^2)
  REQUIRE(out.files.size() == 1);
  CHECK(out.files[0].first == "load_balancer_rate_limit_windows.csv");
  CHECK(out.files[0].second.find("lb,1.000000,15,10,20") != std::string::npos);
}
