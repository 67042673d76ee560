// The load balancer, driven one handler at a time through a recording Context: which
// backend each request goes to, what goes back to the caller, and how health checks,
// outlier ejection and the per-backend limit change the choice.
#include <catch2/catch.hpp>

#include <cmath>

#include "models/load_balancer/load_balancer.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::lb;
using dsim::queueing::Request;
using dsim::queueing::Response;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kLb = 10;
constexpr NodeId kClient = 20;

struct Rig {
  explicit Rig(LoadBalancer::Config c, std::vector<NodeId> backends = {1, 2, 3})
      : cfg(std::move(c)), ctx(kLb) {
    cfg.backends = "web";
    ctx.groups["web"] = std::move(backends);
    lb = std::make_unique<LoadBalancer>(cfg);
    lb->on_start(ctx);
  }
  /// A request from the client with call id `id` (and key, budget, origin).
  void request(uint64_t id, uint64_t key = 0, Duration budget = kit::kNoDeadline,
               uint64_t origin = 0) {
    kit::CallHeader call;
    call.id = id;
    call.reply_to = kClient;
    call.budget = budget;
    call.origin = origin;
    ctx.deliver(*lb, kClient, Request{call, ctx.intern("read"), 100, key});
  }
  /// The requests sent to backends that are not probes, in order.
  std::vector<std::pair<NodeId, Request>> relayed() {
    std::vector<std::pair<NodeId, Request>> out;
    for (auto& [to, r] : ctx.sent_of<Request>()) {
      if (r.op != ctx.intern("health_check")) out.emplace_back(to, r);
    }
    return out;
  }
  std::vector<std::pair<NodeId, Request>> probes() {
    std::vector<std::pair<NodeId, Request>> out;
    for (auto& [to, r] : ctx.sent_of<Request>()) {
      if (r.op == ctx.intern("health_check")) out.emplace_back(to, r);
    }
    return out;
  }
  /// The backend answers the last request relayed to it.
  void answer_last(NodeId backend, bool accepted) {
    const auto sent = relayed();
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (it->first == backend) {
        ctx.deliver(*lb, backend, Response{it->second.call.id, accepted, 300});
        return;
      }
    }
    FAIL("no request went to backend " << backend);
  }
  std::vector<Response> to_client() {
    std::vector<Response> out;
    for (auto& [to, r] : ctx.sent_of<Response>()) {
      if (to == kClient) out.push_back(r);
    }
    return out;
  }

  LoadBalancer::Config cfg;
  RecordingContext ctx;
  std::unique_ptr<LoadBalancer> lb;
};

LoadBalancer::Config round_robin() {
  LoadBalancer::Config c;
  c.calls.balancer.kind = kit::BalancerKind::kRoundRobin;
  return c;
}

}  // namespace

TEST_CASE("load_balancer: round_robin relays requests to the backends in turn") {
  Rig rig(round_robin());
  for (uint64_t id = 1; id <= 6; ++id)
    rig.request(kit::make_call_id(kClient, id), /*key=*/id * 7);
  const auto sent = rig.relayed();
  REQUIRE(sent.size() == 6);
  const NodeId expected[] = {1, 2, 3, 1, 2, 3};
  for (size_t i = 0; i < sent.size(); ++i) {
    CHECK(sent[i].first == expected[i]);
    CHECK(sent[i].second.call.reply_to == kLb);  // a call of the balancer's own
    CHECK(sent[i].second.call.id == kit::make_call_id(kLb, i + 1));
    CHECK(sent[i].second.key == (i + 1) * 7);
    CHECK(sent[i].second.op == rig.ctx.intern("read"));
  }
  CHECK(rig.ctx.counter("proxied") == 6);
  CHECK(rig.lb->backends()[0].sent == 2);
}

TEST_CASE("load_balancer: the backend's answer and refusal go back with the original call id") {
  Rig rig(round_robin());
  const uint64_t a = kit::make_call_id(kClient, 41), b = kit::make_call_id(kClient, 42);
  rig.request(a);
  rig.request(b);
  rig.answer_last(1, true);
  rig.answer_last(2, false);  // one attempt allowed: the call fails
  const auto answers = rig.to_client();
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].call == a);
  CHECK(answers[0].accepted);
  CHECK(answers[0].bytes == 300);  // the backend's answer, relayed
  CHECK(answers[1].call == b);
  CHECK_FALSE(answers[1].accepted);
  CHECK(rig.ctx.counter("relay_failed") == 1);
}

TEST_CASE("load_balancer: a relayed call that times out on every attempt is refused") {
  LoadBalancer::Config c = round_robin();
  c.calls.timeout = ms(50);
  c.calls.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
  c.calls.retry.max_attempts = 2;
  c.calls.retry.base = ms(5);
  c.calls.retry.jitter = kit::RetryPolicy::Jitter::kNone;
  Rig rig(c);
  rig.request(kit::make_call_id(kClient, 1));
  while (rig.to_client().empty())
    REQUIRE(rig.ctx.fire_next(*rig.lb));
  const auto sent = rig.relayed();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].first == 1);
  CHECK(sent[1].first == 2);  // the retry goes to the next backend
  CHECK(rig.ctx.now() == SimTime::zero() + ms(105));
  CHECK_FALSE(rig.to_client()[0].accepted);
  CHECK(rig.ctx.counter("attempt_timeouts") == 2);
  CHECK(rig.ctx.counter("retries") == 1);
}

TEST_CASE("load_balancer: the end user's deadline budget and operation carry to the backend") {
  Rig rig(round_robin());
  rig.request(kit::make_call_id(kClient, 1), 0, ms(300), /*origin=*/77);
  const auto sent = rig.relayed();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second.call.budget == ms(300));
  CHECK(sent[0].second.call.origin == 77);
  // The attempt's timeout (1 s by default) is cut to what is left of the deadline.
  const auto pending = rig.ctx.pending();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0]->at == SimTime::zero() + ms(300));
}

TEST_CASE("load_balancer: hash_key keeps a key on one backend") {
  LoadBalancer::Config c;
  c.calls.balancer.kind = kit::BalancerKind::kHashKey;
  Rig rig(c);
  for (uint64_t id = 1; id <= 8; ++id)
    rig.request(kit::make_call_id(kClient, id), /*key=*/id % 2 == 0 ? 1234 : 99);
  const auto sent = rig.relayed();
  REQUIRE(sent.size() == 8);
  for (size_t i = 2; i < sent.size(); ++i)
    CHECK(sent[i].first == sent[i % 2].first);
}

TEST_CASE("load_balancer: active health checks mark a silent backend unhealthy, then healthy") {
  LoadBalancer::Config c = round_robin();
  c.health_check = HealthCheckSpec{};
  c.health_check->interval = seconds(1);
  c.health_check->timeout = ms(100);
  c.health_check->unhealthy_threshold = 3;
  c.health_check->healthy_threshold = 2;
  Rig rig(c);
  bool third_answers = false;
  size_t answered = 0;
  // Backends 1 and 2 answer every probe at once; 3 only once `third_answers`.
  auto answer_probes = [&] {
    const auto probes = rig.probes();
    for (; answered < probes.size(); ++answered) {
      const auto& [to, p] = probes[answered];
      if (to != 3 || third_answers) rig.ctx.deliver(*rig.lb, to, Response{p.call.id, true, 10});
    }
  };
  answer_probes();
  CHECK(rig.probes().size() == 3);  // one to each backend at start
  while (rig.ctx.counter("marked_unhealthy") == 0) {
    REQUIRE(rig.ctx.fire_next(*rig.lb));
    answer_probes();
  }
  // Probes at 0, 1 and 2 s went unanswered; the third failure, at 2.1 s, marks it.
  CHECK(rig.ctx.now() == SimTime::zero() + seconds(2) + ms(100));
  CHECK(rig.ctx.counter("health_check_failures") == 3);
  CHECK_FALSE(rig.lb->backends()[2].checked_healthy);
  for (uint64_t id = 1; id <= 6; ++id)
    rig.request(kit::make_call_id(kClient, id));
  for (const auto& [to, r] : rig.relayed())
    CHECK(to != 3);
  for (const auto& [to, r] : rig.relayed())
    rig.ctx.deliver(*rig.lb, to, Response{r.call.id, true, 10});

  third_answers = true;
  while (rig.ctx.counter("marked_healthy") == 0) {
    REQUIRE(rig.ctx.fire_next(*rig.lb));
    answer_probes();
  }
  // Probes at 3 and 4 s succeed: healthy again at 4 s.
  CHECK(rig.ctx.now() == SimTime::zero() + seconds(4));
  CHECK(rig.lb->backends()[2].checked_healthy);
  const size_t before = rig.relayed().size();
  for (uint64_t id = 7; id <= 9; ++id)
    rig.request(kit::make_call_id(kClient, id));
  const auto sent = rig.relayed();
  int to_third = 0;
  for (size_t i = before; i < sent.size(); ++i)
    to_third += sent[i].first == 3 ? 1 : 0;
  CHECK(to_third == 1);
  CHECK(rig.ctx.counter("health_checks_sent") == 15);  // five rounds of three
}

TEST_CASE("load_balancer: a refused probe counts as a failure") {
  LoadBalancer::Config c = round_robin();
  c.health_check = HealthCheckSpec{};
  c.health_check->unhealthy_threshold = 1;
  Rig rig(c, {1});
  const auto probes = rig.probes();
  REQUIRE(probes.size() == 1);
  rig.ctx.deliver(*rig.lb, 1, Response{probes[0].second.call.id, false, 10});
  CHECK(rig.ctx.counter("health_check_failures") == 1);
  CHECK(rig.ctx.counter("marked_unhealthy") == 1);
  // Its probe timeout later finds nothing awaited: no second failure.
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  CHECK(rig.ctx.counter("health_check_failures") == 1);
}

TEST_CASE("load_balancer: outlier ejection after consecutive errors, each ejection longer") {
  LoadBalancer::Config c = round_robin();
  c.outlier = OutlierSpec{};
  c.outlier->consecutive_errors = 2;
  c.outlier->base_ejection_time = seconds(10);
  c.outlier->max_ejection_percent = 50;  // of 3 backends: one at a time
  Rig rig(c);
  uint64_t id = 0;
  // Backend 1 refuses, the others accept: requests 1 and 4 go to backend 1.
  auto round = [&] {
    for (int i = 0; i < 3; ++i) {
      rig.request(kit::make_call_id(kClient, ++id));
      const NodeId to = rig.relayed().back().first;
      rig.answer_last(to, to != 1);
    }
  };
  round();
  CHECK(rig.ctx.counter("ejections") == 0);
  CHECK(rig.lb->backends()[0].errors == 1);
  round();
  CHECK(rig.ctx.counter("ejections") == 1);
  CHECK(rig.lb->backends()[0].ejected);
  // Ejected: the traffic goes to the other two.
  const size_t before = rig.relayed().size();
  for (int i = 0; i < 4; ++i) {
    rig.request(kit::make_call_id(kClient, ++id));
    rig.answer_last(rig.relayed().back().first, true);
  }
  for (size_t i = before; i < rig.relayed().size(); ++i)
    CHECK(rig.relayed()[i].first != 1);
  // Back after base_ejection_time.
  const SimTime ejected_at = rig.ctx.now();
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  CHECK(rig.ctx.now() == ejected_at + seconds(10));
  CHECK_FALSE(rig.lb->backends()[0].ejected);
  CHECK(rig.ctx.counter("ejections_ended") == 1);
  // Two more errors: ejected again, for twice as long.
  while (rig.ctx.counter("ejections") < 2) {
    rig.request(kit::make_call_id(kClient, ++id));
    const NodeId to = rig.relayed().back().first;
    rig.answer_last(to, to != 1);
  }
  const SimTime again = rig.ctx.now();
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  CHECK(rig.ctx.now() == again + seconds(20));
  CHECK(rig.lb->backends()[0].times_ejected == 2);
}

TEST_CASE("load_balancer: max_ejection_percent caps the backends ejected at once") {
  LoadBalancer::Config c;
  c.calls.balancer.kind = kit::BalancerKind::kRoundRobin;
  c.outlier = OutlierSpec{};
  c.outlier->consecutive_errors = 1;
  c.outlier->max_ejection_percent = 50;  // of 3 backends: 1.5, so one
  Rig rig(c);
  for (uint64_t id = 1; id <= 3; ++id) {
    rig.request(kit::make_call_id(kClient, id));
    rig.answer_last(rig.relayed().back().first, false);
  }
  CHECK(rig.ctx.counter("ejections") == 1);
  CHECK(rig.ctx.counter("ejections_denied") == 2);
  int ejected = 0;
  for (const auto& b : rig.lb->backends())
    ejected += b.ejected ? 1 : 0;
  CHECK(ejected == 1);
  rig.lb->check_invariants();
}

TEST_CASE("load_balancer: an attempt that times out is an error for outlier detection") {
  LoadBalancer::Config c = round_robin();
  c.calls.timeout = ms(20);
  c.outlier = OutlierSpec{};
  c.outlier->consecutive_errors = 1;
  c.outlier->max_ejection_percent = 100;
  Rig rig(c, {1, 2});
  rig.request(kit::make_call_id(kClient, 1));
  REQUIRE(rig.ctx.fire_next(*rig.lb));  // the attempt's timeout
  CHECK(rig.ctx.now() == SimTime::zero() + ms(20));
  CHECK(rig.lb->backends()[0].ejected);
  CHECK_FALSE(rig.to_client()[0].accepted);
}

TEST_CASE(
    "load_balancer: with slow_response, answers slower than it are errors for outlier detection") {
  LoadBalancer::Config c = round_robin();
  c.outlier = OutlierSpec{};
  c.outlier->consecutive_errors = 2;
  c.outlier->max_ejection_percent = 100;
  c.outlier->slow_response = ms(50);
  Rig rig(c, {1, 2});
  rig.request(kit::make_call_id(kClient, 1));  // -> 1
  rig.ctx.advance(ms(50));
  rig.answer_last(1, true);  // 50 ms: not slower than slow_response
  CHECK(rig.lb->backends()[0].errors == 0);
  rig.request(kit::make_call_id(kClient, 2));  // -> 2
  rig.answer_last(2, true);
  for (uint64_t id = 3; id <= 5; id += 2) {
    rig.request(kit::make_call_id(kClient, id));  // -> 1
    rig.ctx.advance(ms(51));
    rig.answer_last(1, true);  // slow, though served: the caller still gets it
    rig.request(kit::make_call_id(kClient, id + 1));  // -> 2
    rig.answer_last(2, true);
  }
  CHECK(rig.lb->backends()[0].ejected);
  CHECK_FALSE(rig.lb->backends()[1].ejected);
  const auto answers = rig.to_client();
  REQUIRE(answers.size() == 6);
  for (const auto& a : answers)
    CHECK(a.accepted);
}

TEST_CASE("load_balancer: max_requests_per_backend passes a full backend over, then refuses") {
  LoadBalancer::Config c = round_robin();
  c.max_requests_per_backend = 1;
  Rig rig(c, {1, 2});
  rig.request(kit::make_call_id(kClient, 1));  // -> 1
  rig.request(kit::make_call_id(kClient, 2));  // -> 2
  rig.answer_last(2, true);
  rig.request(kit::make_call_id(kClient, 3));  // round robin's turn is 1, full: -> 2
  auto sent = rig.relayed();
  REQUIRE(sent.size() == 3);
  CHECK(sent[2].first == 2);
  rig.request(kit::make_call_id(kClient, 4));  // both full: refused at once
  CHECK(rig.relayed().size() == 3);
  CHECK(rig.ctx.counter("refused_no_backend") == 1);
  const auto answers = rig.to_client();
  REQUIRE(answers.size() == 2);
  CHECK(answers[1].call == kit::make_call_id(kClient, 4));
  CHECK_FALSE(answers[1].accepted);
  rig.answer_last(1, true);
  rig.request(kit::make_call_id(kClient, 5));
  sent = rig.relayed();
  REQUIRE(sent.size() == 4);
  CHECK(sent[3].first == 1);
}

TEST_CASE("load_balancer: direct_return hands the request on unchanged") {
  LoadBalancer::Config c = round_robin();
  c.mode = LoadBalancer::Mode::kDirectReturn;
  Rig rig(c);
  const uint64_t id = kit::make_call_id(kClient, 9);
  rig.request(id, 5, ms(200), 3);
  rig.request(kit::make_call_id(kClient, 10));
  const auto sent = rig.relayed();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].first == 1);
  CHECK(sent[1].first == 2);
  CHECK(sent[0].second.call.id == id);
  CHECK(sent[0].second.call.reply_to == kClient);  // the backend answers the client
  CHECK(sent[0].second.call.budget == ms(200));
  CHECK(sent[0].second.key == 5);
  CHECK(rig.ctx.counter("forwarded") == 2);
  CHECK(rig.ctx.pending().empty());  // no call of its own to time out
}

TEST_CASE("load_balancer: the analysis sums each node's requests per backend") {
  RecordingContext ctx(kLb);
  const Symbol kind = ctx.intern("lb_backend_requests");
  std::vector<TimelineMark> marks = {
      {SimTime::zero(), 10, kind, 1, 6},  {SimTime::zero(), 10, kind, 2, 10},
      {SimTime::zero(), 10, kind, 3, 30}, {SimTime::zero(), 11, kind, 1, 4},
      {SimTime::zero(), 11, kind, 3, 10}, {SimTime::zero(), 99, kind, 1, 1000},  // not ours
  };
  AnalysisInput in;
  in.groups.push_back({"lb", {10, 11}, nullptr});
  in.marks = marks;
  in.symbol_name = [&](Symbol s) { return ctx.symbol_name(s); };
  in.node_name = [](NodeId n) { return "web." + std::to_string(n); };
  const AnalysisOutput out = LoadBalancer::analyze(in);
  // Loads 10, 10, 40: mean 20, max/mean 2, standard deviation sqrt(200).
  REQUIRE(out.rows.size() == 2);
  CHECK(out.rows[0].metric == "backend_requests_max_over_mean");
  CHECK(out.rows[0].value == Approx(2.0));
  CHECK(out.rows[1].metric == "backend_requests_cv");
  CHECK(out.rows[1].value == Approx(std::sqrt(200.0) / 20.0));
  REQUIRE(out.files.size() == 1);
  CHECK(out.files[0].second == "group,backend,requests\nlb,web.1,10\nlb,web.2,10\nlb,web.3,40\n");
}

TEST_CASE("load_balancer: the analysis measures the time from a backend's crash to its removal") {
  RecordingContext ctx(kLb);
  const Symbol load = ctx.intern("lb_backend_requests");
  const Symbol down = ctx.intern("lb_backend_down");
  const Symbol up = ctx.intern("lb_backend_up");
  auto at = [](int64_t millis) { return SimTime::zero() + ms(millis); };
  // Balancers 10, 11, 12 in front of backends 1 and 2. Backend 1 crashes at 5 s (back at
  // 15 s): 10 ejects it at 5.3 s, 11 marks it unhealthy at 7.2 s, 12 never notices. Backend
  // 2 crashes at 20 s: 10 ejects it at 20.5 s; 11 had marked it unhealthy already (18 s)
  // and is left out; 12 misses it again.
  std::vector<TimelineMark> marks = {
      {at(5300), 10, down, 1, 1},  {at(7200), 11, down, 1, 0},  {at(10300), 10, up, 1, 1},
      {at(18000), 11, down, 2, 0}, {at(20500), 10, down, 2, 1}, {at(30000), 10, load, 1, 5},
      {at(30000), 10, load, 2, 5}, {at(30000), 11, load, 1, 5}, {at(30000), 12, load, 2, 5},
  };
  std::vector<NodeLifeEvent> life = {
      {at(5000), 1, NodeStatus::kDown},
      {at(15000), 1, NodeStatus::kUp},
      {at(20000), 2, NodeStatus::kDown},
  };
  AnalysisInput in;
  in.groups.push_back({"lb", {10, 11, 12}, nullptr});
  in.marks = marks;
  in.life = life;
  in.end = at(30000);
  in.symbol_name = [&](Symbol s) { return ctx.symbol_name(s); };
  in.node_name = [](NodeId n) { return "web." + std::to_string(n); };
  const AnalysisOutput out = LoadBalancer::analyze(in);
  std::map<std::string, double> rows;
  for (const auto& r : out.rows)
    rows[r.metric] = r.value;
  CHECK(rows.at("crashes_undetected") == 2);
  CHECK(rows.at("time_to_detect_ms_mean") == Approx((300.0 + 2200.0 + 500.0) / 3));
  CHECK(rows.at("time_to_detect_ms_max") == Approx(2200.0));
}

TEST_CASE("load_balancer: slow start ramps a returning backend's weight up over its window") {
  LoadBalancer::Config c;
  c.calls.balancer.kind = kit::BalancerKind::kWeightedRoundRobin;
  c.outlier = OutlierSpec{};
  c.outlier->consecutive_errors = 1;
  c.outlier->base_ejection_time = seconds(10);
  c.slow_start = SlowStartSpec{seconds(10), 0.1};
  Rig rig(c, {1, 2});
  uint64_t id = 0;
  rig.request(kit::make_call_id(kClient, ++id));
  REQUIRE(rig.relayed().back().first == 1);
  rig.answer_last(1, false);  // ejected for 10 s
  REQUIRE(rig.lb->backends()[0].ejected);
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  REQUIRE(rig.ctx.now() == SimTime::zero() + seconds(10));  // back, at weight 0.1
  // `n` requests, each answered at once: how many went to backend 1.
  auto to_first = [&](int n) {
    int count = 0;
    for (int i = 0; i < n; ++i) {
      rig.request(kit::make_call_id(kClient, ++id));
      const NodeId to = rig.relayed().back().first;
      count += to == 1 ? 1 : 0;
      rig.answer_last(to, true);
    }
    return count;
  };
  CHECK(std::abs(to_first(110) - 10) <= 1);  // weights 0.1 : 1
  rig.ctx.advance(seconds(5));
  CHECK(std::abs(to_first(30) - 10) <= 1);  // 0.5 : 1
  rig.ctx.advance(seconds(5));
  CHECK(std::abs(to_first(20) - 10) <= 1);  // the window is over: 1 : 1
  CHECK_FALSE(rig.lb->backends()[0].back_at);
}

namespace {

/// Round robin over three backends, backend 0 (node 1) deregistered from 1 s to 5 s,
/// attempts that do not time out before the draining ends.
LoadBalancer::Config draining(Duration drain) {
  LoadBalancer::Config c = round_robin();
  c.calls.timeout = seconds(60);
  c.deregister.push_back({0, seconds(1), seconds(5)});
  c.draining = drain;
  return c;
}

}  // namespace

TEST_CASE("load_balancer: a deregistered backend gets no new requests, and its calls drain") {
  Rig rig(draining(seconds(2)));
  rig.request(kit::make_call_id(kClient, 1));  // -> 1
  rig.request(kit::make_call_id(kClient, 2));  // -> 2
  REQUIRE(rig.ctx.fire_next(*rig.lb));         // the deregistration, at 1 s
  CHECK(rig.ctx.now() == SimTime::zero() + seconds(1));
  CHECK_FALSE(rig.lb->backends()[0].registered);
  CHECK(rig.lb->backends()[0].draining);
  CHECK(rig.ctx.counter("deregistrations") == 1);
  for (uint64_t id = 3; id <= 8; ++id)
    rig.request(kit::make_call_id(kClient, id));
  const auto sent = rig.relayed();
  REQUIRE(sent.size() == 8);
  for (size_t i = 2; i < sent.size(); ++i)
    CHECK(sent[i].first != 1);
  // The call in flight completes within the draining, and goes back to its caller.
  rig.ctx.advance(ms(300));
  rig.ctx.deliver(*rig.lb, 1, Response{sent[0].second.call.id, true, 300});
  const auto answers = rig.to_client();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].call == kit::make_call_id(kClient, 1));
  CHECK(answers[0].accepted);
  CHECK(rig.ctx.counter("drained") == 1);
  CHECK_FALSE(rig.lb->backends()[0].draining);  // nothing left in flight: over at once
  CHECK(rig.ctx.recorder().observations[rig.ctx.intern("drain_time").id] ==
        std::vector<Duration>{ms(300)});
  // Registered again at 5 s (the draining's end timer was cancelled: nothing fires at 3 s).
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  CHECK(rig.ctx.now() == SimTime::zero() + seconds(5));
  CHECK(rig.lb->backends()[0].registered);
  CHECK(rig.ctx.counter("registrations") == 1);
  for (uint64_t id = 9; id <= 11; ++id)
    rig.request(kit::make_call_id(kClient, id));
  int to_first = 0;
  for (size_t i = 8; i < rig.relayed().size(); ++i)
    to_first += rig.relayed()[i].first == 1 ? 1 : 0;
  CHECK(to_first == 1);
  // The marks: down at 1 s, up at 5 s, both with reason 2 (deregistered).
  std::vector<std::pair<std::string_view, int64_t>> marks;
  for (const auto& m : rig.ctx.recorder().marks)
    marks.emplace_back(rig.ctx.symbol_name(m.kind), m.b);
  CHECK(marks == std::vector<std::pair<std::string_view, int64_t>>{{"lb_backend_down", 2},
                                                                   {"lb_backend_up", 2}});
}

TEST_CASE("load_balancer: calls still in flight when the draining ends are cut as refused") {
  Rig rig(draining(seconds(2)));
  rig.request(kit::make_call_id(kClient, 1));  // -> 1
  rig.request(kit::make_call_id(kClient, 2));  // -> 2
  rig.request(kit::make_call_id(kClient, 3));  // -> 3
  rig.request(kit::make_call_id(kClient, 4));  // -> 1
  REQUIRE(rig.ctx.fire_next(*rig.lb));         // deregistered at 1 s
  rig.answer_last(1, true);                    // call 4 completes: drained
  CHECK(rig.ctx.counter("drained") == 1);
  CHECK(rig.lb->backends()[0].draining);  // call 1 is still in flight
  REQUIRE(rig.ctx.fire_next(*rig.lb));    // the draining's end
  CHECK(rig.ctx.now() == SimTime::zero() + seconds(3));
  CHECK(rig.ctx.counter("cut") == 1);
  CHECK_FALSE(rig.lb->backends()[0].draining);
  const auto answers = rig.to_client();
  REQUIRE(answers.size() == 2);
  CHECK(answers[1].call == kit::make_call_id(kClient, 1));
  CHECK_FALSE(answers[1].accepted);
  CHECK(rig.ctx.counter("relay_failed") == 0);  // cut, not failed by the backend
  // The backend's answer to the cut call, when it comes, is late; the others are untouched.
  rig.ctx.deliver(*rig.lb, 1, Response{rig.relayed()[0].second.call.id, true, 300});
  CHECK(rig.ctx.counter("late_responses") == 1);
  CHECK(rig.to_client().size() == 2);
  rig.answer_last(2, true);
  CHECK(rig.to_client().size() == 3);
  CHECK(rig.ctx.recorder().observations[rig.ctx.intern("drain_time").id] ==
        std::vector<Duration>{seconds(2)});
}

TEST_CASE("load_balancer: with draining 0 the calls in flight are cut at the deregistration") {
  Rig rig(draining(Duration::zero()));
  rig.request(kit::make_call_id(kClient, 1));  // -> 1
  rig.request(kit::make_call_id(kClient, 2));  // -> 2
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  CHECK(rig.ctx.now() == SimTime::zero() + seconds(1));
  CHECK(rig.ctx.counter("cut") == 1);
  const auto answers = rig.to_client();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].call == kit::make_call_id(kClient, 1));
  CHECK_FALSE(answers[0].accepted);
  // No draining to wait for: what is left is the registration, and call 2's timeout.
  const auto pending = rig.ctx.pending();
  REQUIRE(pending.size() == 2);
  CHECK(pending[0]->at == SimTime::zero() + seconds(5));
  CHECK(pending[1]->at == SimTime::zero() + seconds(60));
}

TEST_CASE(
    "load_balancer: a deregistered backend is left out of panic mode, and with none left it "
    "refuses") {
  LoadBalancer::Config c = draining(seconds(2));
  c.outlier = OutlierSpec{};
  c.outlier->consecutive_errors = 1;
  c.outlier->max_ejection_percent = 100;
  c.deregister.push_back({2, seconds(1), std::nullopt});
  Rig rig(c);
  REQUIRE(rig.ctx.fire_next(*rig.lb));  // backends 0 and 2 deregistered at 1 s
  REQUIRE(rig.ctx.fire_next(*rig.lb));
  rig.request(kit::make_call_id(kClient, 1));
  REQUIRE(rig.relayed().size() == 1);
  CHECK(rig.relayed()[0].first == 2);
  rig.answer_last(2, false);  // backend 1 (node 2) ejected: the only registered one
  REQUIRE(rig.lb->backends()[1].ejected);
  rig.request(kit::make_call_id(kClient, 2));  // panic: among the registered only
  REQUIRE(rig.relayed().size() == 2);
  CHECK(rig.relayed()[1].first == 2);
  rig.answer_last(2, true);
  c.deregister.push_back({1, seconds(1), std::nullopt});
  Rig none(c);
  for (int i = 0; i < 3; ++i)
    REQUIRE(none.ctx.fire_next(*none.lb));
  none.request(kit::make_call_id(kClient, 1));
  CHECK(none.relayed().empty());
  CHECK(none.ctx.counter("refused_no_backend") == 1);
}
