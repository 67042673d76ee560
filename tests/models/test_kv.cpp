// The key-value contract's models, one handler at a time through a recording Context:
// the state machine's semantics and idempotency table, kv_store's redirects, and
// kv_client's workload, timeouts, retries, redirects, outcomes and read-back.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "models/kv/client.h"
#include "models/kv/state_machine.h"
#include "models/kv/store.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::kv;
using dsim::testing::RecordingContext;

namespace {

KvRequest request(kv::KvOpKind op, uint64_t key, int64_t value = 0, uint64_t idem = 0) {
  KvRequest r;
  r.call.id = 1;
  r.call.reply_to = 10;  // the tests' client node
  r.op = op;
  r.key = key;
  r.value = value;
  r.call.idempotency_key = idem;
  r.value_bytes = 10;
  return r;
}

std::vector<int64_t> elements(const KvValue& v) {
  return std::vector<int64_t>(v.elements().begin(), v.elements().end());
}

Distribution const_time(Duration d) {
  return Distribution::constant(static_cast<double>(d.ns())).with_dim(Distribution::Dim::kTime);
}

// A client node 10 against a store group of nodes 0, 1, 2.
struct ClientRig {
  explicit ClientRig(KvClient::Config c) : config(std::move(c)), ctx(10) {
    config.target = "store";
    ctx.groups["store"] = {0, 1, 2};
  }
  void start() {
    client = std::make_unique<KvClient>(config);
    client->on_start(ctx);
  }
  // Fires timers until a request is sent (or none is left); returns it.
  std::optional<std::pair<NodeId, KvRequest>> next_request() {
    const size_t before = ctx.sent.size();
    while (ctx.sent.size() == before) {
      if (!ctx.fire_next(*client)) return std::nullopt;
    }
    const auto& s = ctx.sent.back();
    return std::make_pair(s.to, *s.msg.get<KvRequest>());
  }
  void answer(NodeId from, const KvRequest& req, KvStatus status, KvValue value = {},
              NodeId hint = kNoNode) {
    KvResponse r = kv_reply(req, status, hint);
    r.value = std::move(value);
    ctx.deliver(*client, from, r);
  }
  const testing::RecordingRecorder::Op& op(size_t i) { return ctx.recorder().ops.at(i); }

  KvClient::Config config;
  RecordingContext ctx;
  std::unique_ptr<KvClient> client;
};

KvClient::Config one_shot() {
  KvClient::Config c;
  c.arrivals.process = kit::ArrivalSpec::Process::kFixed;
  c.arrivals.rate.base = 1;  // one operation per second: the tests drive one at a time
  c.calls.timeout = ms(100);
  c.calls.retry.jitter = kit::RetryPolicy::Jitter::kNone;
  return c;
}

}  // namespace

TEST_CASE("kv state machine: get, put, cas and append") {
  KvStateMachine sm;
  const SimTime t;
  CHECK(sm.apply(request(kv::KvOpKind::kGet, 1), t).value.empty());
  CHECK(sm.apply(request(kv::KvOpKind::kPut, 1, 10), t).status == KvStatus::kOk);
  CHECK(elements(sm.apply(request(kv::KvOpKind::kGet, 1), t).value) == std::vector<int64_t>{10});

  KvRequest cas = request(kv::KvOpKind::kCas, 1, 20);
  cas.expected = 99;
  CHECK(sm.apply(cas, t).status == KvStatus::kCasMismatch);
  cas.expected = 10;
  CHECK(sm.apply(cas, t).status == KvStatus::kOk);
  CHECK(elements(sm.get(1)) == std::vector<int64_t>{20});
  KvRequest cas_absent = request(kv::KvOpKind::kCas, 2, 30);
  cas_absent.expected_absent = true;
  CHECK(sm.apply(cas_absent, t).status == KvStatus::kOk);
  CHECK(sm.apply(cas_absent, t).status == KvStatus::kCasMismatch);
  KvRequest miss = request(kv::KvOpKind::kCas, 3, 1);
  miss.expected = 5;
  CHECK(sm.apply(miss, t).status == KvStatus::kCasMismatch);
  CHECK(sm.data().count(3) == 0);  // a failed cas leaves no empty key behind

  for (int64_t x : {1, 2, 3})
    sm.apply(request(kv::KvOpKind::kAppend, 4, x), t);
  const KvResponse r = sm.apply(request(kv::KvOpKind::kGet, 4), t);
  CHECK(elements(r.value) == std::vector<int64_t>{1, 2, 3});
  CHECK(r.value.bytes() == 30);
  // A value handed out is not changed by later appends (copy on write).
  sm.apply(request(kv::KvOpKind::kAppend, 4, 9), t);
  CHECK(elements(r.value) == std::vector<int64_t>{1, 2, 3});
  CHECK(elements(sm.get(4)) == std::vector<int64_t>{1, 2, 3, 9});
  // A put resets a list.
  sm.apply(request(kv::KvOpKind::kPut, 4, 7), t);
  CHECK(elements(sm.get(4)) == std::vector<int64_t>{7});
}

TEST_CASE("kv state machine: a retried write is applied once, within the TTL and capacity") {
  KvStateMachine::Config c;
  c.idempotency_ttl = seconds(10);
  c.idempotency_capacity = 2;
  KvStateMachine sm(c);
  const SimTime t0;
  sm.apply(request(kv::KvOpKind::kAppend, 1, 5, 100), t0);
  sm.apply(request(kv::KvOpKind::kAppend, 1, 5, 100), t0 + seconds(1));  // the retry
  CHECK(elements(sm.get(1)) == std::vector<int64_t>{5});
  CHECK(sm.deduplicated() == 1);
  CHECK(sm.duplicate_applications() == 0);
  // A remembered compare-and-set answer is given again.
  KvRequest cas = request(kv::KvOpKind::kCas, 2, 1, 200);
  cas.expected = 42;
  CHECK(sm.apply(cas, t0).status == KvStatus::kCasMismatch);
  sm.apply(request(kv::KvOpKind::kPut, 2, 42), t0);
  CHECK(sm.apply(cas, t0).status == KvStatus::kCasMismatch);
  // Past the TTL the key is forgotten: the retry is applied again.
  sm.apply(request(kv::KvOpKind::kAppend, 1, 5, 100), t0 + seconds(11));
  CHECK(elements(sm.get(1)) == std::vector<int64_t>{5, 5});
  // Past the capacity the oldest key is forgotten first.
  sm.apply(request(kv::KvOpKind::kAppend, 3, 1, 301), t0 + seconds(12));
  sm.apply(request(kv::KvOpKind::kAppend, 3, 2, 302), t0 + seconds(12));
  sm.apply(request(kv::KvOpKind::kAppend, 3, 3, 303), t0 + seconds(12));
  sm.apply(request(kv::KvOpKind::kAppend, 3, 1, 301), t0 + seconds(12));  // forgotten: applied
  sm.apply(request(kv::KvOpKind::kAppend, 3, 3, 303), t0 + seconds(12));  // remembered
  CHECK(elements(sm.get(3)) == std::vector<int64_t>{1, 2, 3, 1});
}

TEST_CASE("kv state machine: without dedup a retried write is applied again and counted") {
  KvStateMachine::Config c;
  c.dedup = false;
  KvStateMachine sm(c);
  sm.apply(request(kv::KvOpKind::kAppend, 1, 5, 100), SimTime());
  sm.apply(request(kv::KvOpKind::kAppend, 1, 5, 100), SimTime());
  CHECK(elements(sm.get(1)) == std::vector<int64_t>{5, 5});
  CHECK(sm.duplicate_applications() == 1);
}

TEST_CASE("kv_store: node 0 serves after the service time, the others redirect to it") {
  KvStore::Config cfg;
  cfg.service = const_time(ms(2));
  KvStore primary(cfg), other(cfg);
  RecordingContext c0(0), c1(1);
  for (auto* c : {&c0, &c1}) {
    c->groups["store"] = {0, 1};
    c->names = {{0, "store.0"}, {1, "store.1"}};
  }
  c0.set_group("store", 0);
  c1.set_group("store", 1);
  primary.on_start(c0);
  other.on_start(c1);
  c1.deliver(other, 10, request(kv::KvOpKind::kPut, 1, 5));
  auto r1 = c1.sent_of<KvResponse>();
  REQUIRE(r1.size() == 1);
  CHECK(r1[0].second.status == KvStatus::kNotLeader);
  CHECK(r1[0].second.hint == 0);
  CHECK(c1.counter("redirected") == 1);

  c0.deliver(primary, 10, request(kv::KvOpKind::kPut, 1, 5));
  CHECK(c0.sent.empty());
  REQUIRE(c0.fire_next(primary));
  CHECK(c0.now() == SimTime() + ms(2));
  auto r0 = c0.sent_of<KvResponse>();
  REQUIRE(r0.size() == 1);
  CHECK(r0[0].first == 10);
  CHECK(r0[0].second.status == KvStatus::kOk);
  CHECK(elements(primary.state().get(1)) == std::vector<int64_t>{5});
}

TEST_CASE("kv_client: operations follow the mix and carry unique values and keys") {
  KvClient::Config c = one_shot();
  c.mix = {{"get", 1}, {"put", 1}, {"cas", 1}, {"append", 1}};
  c.sessions = 3;
  ClientRig rig(c);
  rig.start();
  std::map<kv::KvOpKind, int> kinds;
  std::set<int64_t> values;
  std::set<uint64_t> idempotency;
  for (int i = 0; i < 400; ++i) {
    auto req = rig.next_request();
    REQUIRE(req);
    const KvRequest& r = req->second;
    ++kinds[r.op];
    if (r.op != kv::KvOpKind::kGet) {
      CHECK(values.insert(r.value).second);
      CHECK(r.value / 1'000'000'000 == 10);  // the client's node in the value
      CHECK(r.size_bytes() == kKvHeaderBytes + 100);
    }
    CHECK(idempotency.insert(r.call.idempotency_key).second);
    CHECK(r.session >> 32 == 10);
    CHECK((r.session & 0xffffffff) == static_cast<uint64_t>(i % 3));  // sessions in turn
    CHECK(r.key < 1000);
    rig.answer(req->first, r, KvStatus::kOk);
  }
  for (const auto& [k, n] : kinds)
    CHECK(n > 60);  // each about 100 of 400
  CHECK(kinds.size() == 4);
  // Every operation is in the history with its details and outcome.
  REQUIRE(rig.ctx.recorder().ops.size() == 400);
  CHECK(rig.op(0).invocation.has_value());
  CHECK(rig.op(0).history == HistoryOutcome::kOk);
}

TEST_CASE("kv_client: a session sends the largest token its store gave it") {
  KvClient::Config c = one_shot();
  c.mix = {{"get", 1}};
  c.sessions = 2;
  ClientRig rig(c);
  rig.start();
  auto answer_with = [&](const std::pair<NodeId, KvRequest>& req, uint64_t token) {
    KvResponse r = kv_reply(req.second, KvStatus::kOk);
    r.session_token = token;
    rig.ctx.deliver(*rig.client, req.first, r);
  };
  auto a = rig.next_request();  // session 0
  REQUIRE(a);
  CHECK(a->second.session_token == 0);
  CHECK(a->second.size_bytes() == kKvHeaderBytes);  // no token: nothing extra on the wire
  answer_with(*a, 50);
  auto b = rig.next_request();  // session 1 has no token yet
  REQUIRE(b);
  CHECK((b->second.session & 0xffffffff) == 1);
  CHECK(b->second.session_token == 0);
  answer_with(*b, 7);
  auto c0 = rig.next_request();  // session 0 again: its token
  REQUIRE(c0);
  CHECK(c0->second.session_token == 50);
  CHECK(c0->second.size_bytes() == kKvHeaderBytes + 8);
  answer_with(*c0, 30);  // smaller: the session keeps 50
  auto c1 = rig.next_request();
  REQUIRE(c1);
  CHECK(c1->second.session_token == 7);
  answer_with(*c1, 0);  // no token: nothing changes
  auto d0 = rig.next_request();
  REQUIRE(d0);
  CHECK(d0->second.session_token == 50);
}

TEST_CASE("kv_client: a timeout without retries is an unknown outcome") {
  ClientRig rig(one_shot());
  rig.config.mix = {{"put", 1}};
  rig.start();
  auto req = rig.next_request();
  REQUIRE(req);
  // Nothing answers: the timeout fires.
  const SimTime sent = rig.ctx.now();
  while (!rig.op(0).end)
    REQUIRE(rig.ctx.fire_next(*rig.client));
  CHECK(*rig.op(0).end - sent == ms(100));
  CHECK(rig.op(0).outcome == Outcome::kTimeout);
  CHECK(rig.op(0).history == HistoryOutcome::kUnknown);
  // A late answer is counted and changes nothing.
  rig.answer(req->first, req->second, KvStatus::kOk);
  CHECK(rig.ctx.counter("late_responses") == 1);
}

TEST_CASE("kv_client: exponential backoff retries under the same idempotency key") {
  KvClient::Config c = one_shot();
  c.mix = {{"append", 1}};
  c.calls.retry.backoff = kit::RetryPolicy::Backoff::kExponential;
  c.calls.retry.base = ms(10);
  c.calls.retry.cap = ms(25);
  c.calls.retry.max_attempts = 4;
  ClientRig rig(c);
  rig.start();
  auto first = rig.next_request();
  REQUIRE(first);
  std::vector<SimTime> sent = {rig.ctx.now()};
  std::vector<KvRequest> reqs = {first->second};
  for (int i = 0; i < 3; ++i) {
    auto again = rig.next_request();  // fires the timeout, then the backoff
    REQUIRE(again);
    sent.push_back(rig.ctx.now());
    reqs.push_back(again->second);
  }
  // Timeout 100 ms, then delays 10, 20, 25 (capped) ms.
  CHECK(sent[1] - sent[0] == ms(110));
  CHECK(sent[2] - sent[1] == ms(120));
  CHECK(sent[3] - sent[2] == ms(125));
  for (const auto& r : reqs) {
    CHECK(r.call.idempotency_key == reqs[0].call.idempotency_key);
    CHECK(r.value == reqs[0].value);
  }
  CHECK(reqs[1].call.id != reqs[0].call.id);
  rig.answer(0, reqs[3], KvStatus::kOk);
  CHECK(rig.op(0).history == HistoryOutcome::kOk);
  CHECK(rig.op(0).attempts == 4);
  CHECK(rig.ctx.counter("retries") == 3);
  CHECK(rig.ctx.counter("attempt_timeouts") == 3);
}

TEST_CASE("kv_client: without idempotency keys every attempt carries a new one") {
  KvClient::Config c = one_shot();
  c.mix = {{"put", 1}};
  c.calls.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
  c.calls.retry.base = ms(1);
  c.calls.idempotency_keys = false;
  ClientRig rig(c);
  rig.start();
  auto a = rig.next_request();
  auto b = rig.next_request();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->second.value == b->second.value);
  CHECK(a->second.call.idempotency_key != b->second.call.idempotency_key);
}

TEST_CASE("kv_client: a redirect is followed at once and is not a retry") {
  KvClient::Config c = one_shot();
  c.mix = {{"put", 1}};
  c.calls.balancer.kind = kit::BalancerKind::kSticky;
  ClientRig rig(c);
  rig.start();
  auto req = rig.next_request();
  REQUIRE(req);
  const NodeId wrong = req->first;
  const NodeId leader = wrong == 2 ? 1 : 2;
  const SimTime t = rig.ctx.now();
  rig.answer(wrong, req->second, KvStatus::kNotLeader, {}, leader);
  REQUIRE(rig.ctx.sent.size() == 2);
  CHECK(rig.ctx.sent.back().to == leader);
  CHECK(rig.ctx.sent.back().at == t);
  const KvRequest again = *rig.ctx.sent.back().msg.get<KvRequest>();
  CHECK(again.call.idempotency_key == req->second.call.idempotency_key);
  rig.answer(leader, again, KvStatus::kOk);
  CHECK(rig.op(0).history == HistoryOutcome::kOk);
  CHECK(rig.op(0).attempts == 2);
  CHECK(rig.ctx.counter("redirects") == 1);
  CHECK(rig.ctx.counter("retries") == 0);
  // Sticky: the next operation goes straight to the leader.
  auto next = rig.next_request();
  REQUIRE(next);
  CHECK(next->first == leader);
}

TEST_CASE("kv_client: definite failures are retried, then fail, a cas mismatch is final") {
  KvClient::Config c = one_shot();
  c.mix = {{"put", 1}};
  c.calls.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
  c.calls.retry.base = ms(5);
  c.calls.retry.max_attempts = 2;
  ClientRig rig(c);
  rig.start();
  auto a = rig.next_request();
  REQUIRE(a);
  rig.answer(a->first, a->second, KvStatus::kUnavailable);
  auto b = rig.next_request();
  REQUIRE(b);
  rig.answer(b->first, b->second, KvStatus::kUnavailable);
  CHECK(rig.op(0).history == HistoryOutcome::kFail);
  CHECK(rig.op(0).outcome == Outcome::kRejected);

  // A compare-and-set mismatch is a served request but a failed operation...
  rig.config.mix = {{"cas", 1}};
  ClientRig cas_rig(rig.config);
  cas_rig.start();
  auto m = cas_rig.next_request();
  REQUIRE(m);
  CHECK(m->second.expected_absent);  // nothing known of the key yet
  cas_rig.answer(m->first, m->second, KvStatus::kCasMismatch);
  CHECK(cas_rig.op(0).history == HistoryOutcome::kFail);
  CHECK(cas_rig.op(0).outcome == Outcome::kOk);
  CHECK(cas_rig.ctx.counter("cas_mismatches") == 1);
  // ...unless an earlier attempt timed out: it may be that attempt's doing.
  auto t1 = cas_rig.next_request();
  REQUIRE(t1);
  auto t2 = cas_rig.next_request();  // after the timeout and the backoff
  REQUIRE(t2);
  cas_rig.answer(t2->first, t2->second, KvStatus::kCasMismatch);
  CHECK(cas_rig.op(1).history == HistoryOutcome::kUnknown);
}

TEST_CASE("kv_client: a cas expects the value its session last saw") {
  KvClient::Config c = one_shot();
  c.mix = {{"get", 1}, {"cas", 1}};
  c.keys.n = 1;
  ClientRig rig(c);
  rig.start();
  std::optional<int64_t> known;
  int cas_seen = 0;
  for (int i = 0; i < 60; ++i) {
    auto r = rig.next_request();
    REQUIRE(r);
    if (r->second.op == kv::KvOpKind::kGet) {
      known = 1000 + i;
      rig.answer(r->first, r->second, KvStatus::kOk, KvValue::single(*known, 8));
      continue;
    }
    ++cas_seen;
    CHECK(r->second.expected_absent == !known.has_value());
    if (known) CHECK(r->second.expected == *known);
    rig.answer(r->first, r->second, KvStatus::kOk);
    known = r->second.value;  // a successful cas set it
  }
  CHECK(cas_seen > 10);
}

TEST_CASE("kv_client: the history gets what a read returned") {
  KvClient::Config c = one_shot();
  c.mix = {{"get", 1}};
  ClientRig rig(c);
  rig.start();
  auto g = rig.next_request();
  REQUIRE(g);
  KvValue v = KvValue::single(1, 8);
  v.append(2, 8);
  rig.answer(g->first, g->second, KvStatus::kOk, v);
  CHECK(rig.op(0).read == std::vector<int64_t>{1, 2});
  CHECK(rig.op(0).invocation->kind == kv::KvOpKind::kGet);
  CHECK(rig.op(0).invocation->key == g->second.key);
}

TEST_CASE("kv_client: stop, then read back every key written") {
  KvClient::Config c = one_shot();
  c.arrivals.rate.base = 10;
  c.mix = {{"put", 1}};
  c.keys.n = 5;
  c.arrivals.stop = seconds(1);
  c.read_back = true;
  c.read_back_delay = ms(500);
  c.read_back_concurrency = 2;
  ClientRig rig(c);
  rig.start();
  std::set<uint64_t> written;
  std::vector<KvRequest> finals;
  for (int guard = 0; guard < 100'000; ++guard) {
    if (rig.ctx.sent.empty()) {
      if (!rig.ctx.fire_next(*rig.client)) break;
      continue;
    }
    // Answering may send the next final read: take the batch out first.
    const auto batch = std::move(rig.ctx.sent);
    rig.ctx.sent.clear();
    for (const auto& s : batch) {
      const KvRequest r = *s.msg.get<KvRequest>();
      if (r.op == kv::KvOpKind::kPut) {
        CHECK(s.at < SimTime() + seconds(1));
        written.insert(r.key);
      } else {
        CHECK(s.at >= SimTime() + ms(1500));
        finals.push_back(r);
      }
      rig.answer(s.to, r, KvStatus::kOk);
    }
  }
  std::set<uint64_t> read_back;
  for (const auto& r : finals)
    read_back.insert(r.key);
  CHECK(read_back == written);
  CHECK(finals.size() == written.size());
  size_t final_ops = 0;
  for (const auto& o : rig.ctx.recorder().ops)
    final_ops += o.invocation && o.invocation->final_read ? 1 : 0;
  CHECK(final_ops == written.size());
}

TEST_CASE("kv_client: closed loop keeps one operation per user in flight") {
  KvClient::Config c = one_shot();
  c.arrivals.load = kit::ArrivalSpec::Load::kClosed;
  c.arrivals.users = 3;
  c.arrivals.think_time = const_time(ms(10));
  ClientRig rig(c);
  rig.start();
  for (int i = 0; i < 3; ++i)
    REQUIRE(rig.next_request());
  // Nobody answered: each user waits for its answer, so the only timers are the three
  // timeouts.
  CHECK(rig.ctx.sent.size() == 3);
  const auto pending = rig.ctx.pending();
  REQUIRE(pending.size() == 3);
  for (const auto* t : pending)
    CHECK(t->at == SimTime() + ms(100));
  // An answer lets its user think, then send the next one.
  const KvRequest first = *rig.ctx.sent[0].msg.get<KvRequest>();
  rig.answer(rig.ctx.sent[0].to, first, KvStatus::kOk);
  auto next = rig.next_request();
  REQUIRE(next);
  CHECK(rig.ctx.now() == SimTime() + ms(10));
  CHECK(next->second.session == first.session);
  std::set<uint64_t> sessions;
  for (const auto& s : rig.ctx.sent)
    sessions.insert(s.msg.get<KvRequest>()->session & 0xffffffff);
  CHECK(sessions == std::set<uint64_t>{0, 1, 2});
}

TEST_CASE("kv_client: key distributions") {
  SECTION("hotspot: 90% of the traffic on 10% of the keys") {
    KvClient::Config c = one_shot();
    c.keys = *kit::parse_key_spec("hotspot(1000, keys=10%, traffic=90%)", nullptr);
    c.first_key = 5000;
    ClientRig rig(c);
    rig.start();
    const int n = 20000;
    int hot = 0;
    for (int i = 0; i < n; ++i) {
      auto r = rig.next_request();
      REQUIRE(r);
      CHECK(r->second.key >= 5000);
      CHECK(r->second.key < 6000);
      hot += r->second.key < 5100 ? 1 : 0;
      rig.answer(r->first, r->second, KvStatus::kOk);
    }
    // Binomial(n, 0.9): 5 standard deviations.
    CHECK(std::abs(hot - 0.9 * n) < 5 * std::sqrt(n * 0.9 * 0.1));
  }
  SECTION("sequential: every key in turn") {
    KvClient::Config c = one_shot();
    c.keys = *kit::parse_key_spec("sequential(3)", nullptr);
    ClientRig rig(c);
    rig.start();
    std::vector<uint64_t> keys;
    for (int i = 0; i < 7; ++i) {
      auto r = rig.next_request();
      REQUIRE(r);
      keys.push_back(r->second.key);
      rig.answer(r->first, r->second, KvStatus::kOk);
    }
    CHECK(keys == std::vector<uint64_t>{0, 1, 2, 0, 1, 2, 0});
  }
  SECTION("zipf: key 0 is the hottest, with its share") {
    KvClient::Config c = one_shot();
    c.keys = *kit::parse_key_spec("zipf(100, s=1)", nullptr);
    ClientRig rig(c);
    rig.start();
    const int n = 20000;
    int zero = 0;
    for (int i = 0; i < n; ++i) {
      auto r = rig.next_request();
      REQUIRE(r);
      zero += r->second.key == 0 ? 1 : 0;
      rig.answer(r->first, r->second, KvStatus::kOk);
    }
    double h = 0;
    for (int k = 1; k <= 100; ++k)
      h += 1.0 / k;
    const double p = 1 / h;  // P(rank 1) = 1 / H(100)
    CHECK(std::abs(zero - p * n) < 5 * std::sqrt(n * p * (1 - p)));
  }
}
