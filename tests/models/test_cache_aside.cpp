// Cache-aside done by the tier with a look-aside cache (a cache without an origin,
// models/cache/aside.cpp; the service's `when: miss` steps and fill/delete calls,
// models/service/store_calls.cpp): misses answered `miss`, fills and deletes, memcache's
// leases, and what the service records in the key-value history. The cache cases drive one
// node message by message, the service cases one app node, the last one a whole run.
#include <catch2/catch.hpp>

#include "models/cache/cache.h"
#include "models/service/service.h"
#include "support/recording_context.h"
#include "support/scenarios.h"

using namespace dsim;
using dsim::testing::RecordingContext;
using kv::KvCacheOp;
using kv::KvOpKind;
using kv::KvRequest;
using kv::KvResponse;
using kv::KvStatus;

namespace {

cache::Cache::Config aside_config() {
  cache::Cache::Config c;  // no origin: look-aside
  c.eviction_options.capacity_objects = 10;
  return c;
}

struct CacheFixture {
  RecordingContext ctx{1};
  uint64_t next_call = 1;

  KvRequest get(uint64_t key) {
    KvRequest r;
    r.key = key;
    r.call.id = next_call++;
    r.call.reply_to = 7;
    return r;
  }
  KvCacheOp op(uint64_t key, bool erase, int64_t value = 0, uint64_t lease = 0) {
    KvCacheOp o;
    o.key = key;
    o.erase = erase;
    if (!erase) o.value = kv::KvValue::single(value, 8);
    o.lease = lease;
    o.call.id = next_call++;
    o.call.reply_to = 7;
    return o;
  }
  KvResponse last_answer() { return ctx.sent_of<KvResponse>().back().second; }
  int64_t counter(std::string_view name) { return ctx.recorder().counters[ctx.intern(name).id]; }
};

}  // namespace

TEST_CASE("cache (look-aside): a miss answers miss, a fill makes the next get a hit") {
  CacheFixture f;
  const auto cfg = aside_config();
  cache::Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.get(5));
  CHECK(f.last_answer().status == KvStatus::kMiss);
  CHECK(f.last_answer().lease == 0);          // no leases without stampede: lease
  CHECK(f.ctx.sent_of<KvRequest>().empty());  // it fetches nothing
  f.ctx.deliver(c, 7, f.op(5, false, 42));
  CHECK(f.last_answer().status == KvStatus::kOk);
  f.ctx.deliver(c, 7, f.get(5));
  CHECK(f.last_answer().status == KvStatus::kOk);
  CHECK(f.last_answer().value.is_single(42));
  f.ctx.deliver(c, 7, f.op(5, true));  // delete
  f.ctx.deliver(c, 7, f.get(5));
  CHECK(f.last_answer().status == KvStatus::kMiss);
  CHECK(f.counter("misses_cold") == 1);
  CHECK(f.counter("misses_invalidated") == 1);
  CHECK(f.counter("fills") == 1);
  CHECK(f.counter("invalidations") == 1);

  KvRequest put = f.get(5);
  put.op = KvOpKind::kPut;  // its callers write the origin, not the cache
  f.ctx.deliver(c, 7, put);
  CHECK(f.last_answer().status == KvStatus::kUnavailable);
  CHECK(f.counter("writes_refused") == 1);
  c.check_invariants();
}

TEST_CASE(
    "cache (look-aside): a lease per key per period, voided by a delete: the late fill is "
    "refused") {
  CacheFixture f;
  auto cfg = aside_config();
  cfg.stampede = cache::Cache::Stampede::kLease;
  cfg.lease_period = ms(100);
  cache::Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.get(5));
  const uint64_t lease = f.last_answer().lease;
  CHECK(f.last_answer().status == KvStatus::kMiss);
  CHECK(lease != 0);
  f.ctx.deliver(c, 7, f.get(5));  // within the period: wait and retry
  CHECK(f.last_answer().status == KvStatus::kUnavailable);
  CHECK(f.counter("lease_refusals") == 1);

  f.ctx.deliver(c, 7, f.op(5, true));  // a writer deletes the copy: the lease is void
  f.ctx.deliver(c, 7, f.op(5, false, 41, lease));
  CHECK(f.last_answer().status == KvStatus::kCasMismatch);
  CHECK(f.counter("fills_refused") == 1);
  CHECK(c.entries().count(5) == 0);

  f.ctx.deliver(c, 7, f.get(5));  // a new lease at once (the old one is gone)
  const uint64_t second = f.last_answer().lease;
  CHECK(second != 0);
  CHECK(second != lease);
  f.ctx.deliver(c, 7, f.op(5, false, 42, lease));  // a fill with a stale lease
  CHECK(f.last_answer().status == KvStatus::kCasMismatch);
  f.ctx.deliver(c, 7, f.op(5, false, 42, second));
  CHECK(f.last_answer().status == KvStatus::kOk);
  CHECK(c.entries().at(5).value.is_single(42));

  f.ctx.deliver(c, 7, f.get(6));
  const uint64_t unfilled = f.last_answer().lease;
  f.ctx.advance(ms(100));  // the period is over: the next miss gets a lease again
  f.ctx.deliver(c, 7, f.get(6));
  CHECK(f.last_answer().status == KvStatus::kMiss);
  CHECK(f.last_answer().lease != unfilled);
  c.check_invariants();
}

namespace {

using namespace dsim::service;

Call kv_call(std::string to, KvOpKind op, Aside aside = Aside::kNone) {
  Call c;
  c.to = std::move(to);
  c.contract = Contract::kKv;
  c.to_cache = c.to == "cache";
  c.kv_op = op;
  c.aside = aside;
  c.policy.timeout = ms(100);
  c.policy.retry.max_attempts = 1;
  c.policy.balancer.kind = kit::BalancerKind::kSticky;
  return c;
}

// get from the cache; on a miss get from the database and fill the cache.
Service::Config app_config() {
  Service::Config cfg;
  cfg.service = {{"", Distribution::constant(0).with_dim(Distribution::Dim::kTime)}};
  Step get{{}, {kv_call("cache", KvOpKind::kGet)}};
  Step read{{}, {kv_call("db", KvOpKind::kGet)}, true};
  Step fill{{}, {kv_call("cache", KvOpKind::kGet, Aside::kFill)}, true};
  cfg.plan.steps = {get, read, fill};
  size_t edge = 0;
  for (auto& step : cfg.plan.steps) {
    for (auto& call : step.calls)
      call.edge = edge++;
  }
  cfg.pool.workers = 4;
  return cfg;
}

struct AppFixture {
  RecordingContext ctx{1};
  AppFixture() {
    ctx.groups["cache"] = {30};
    ctx.groups["db"] = {20};
  }
  void user_request(Service& s, uint64_t key) {
    kit::CallHeader call;
    call.id = 1;
    call.reply_to = 7;
    ctx.deliver(s, 7, queueing::Request{call, ctx.intern("read"), 100, key});
    while (!ctx.pending().empty() && ctx.pending().front()->at <= ctx.now())
      ctx.fire_next(s);  // the (zero) work
  }
  KvResponse answer(uint64_t call, KvStatus status, std::optional<int64_t> value = {}) {
    KvResponse r;
    r.call = call;
    r.status = status;
    if (value) r.value = kv::KvValue::single(*value, 8);
    return r;
  }
};

}  // namespace

TEST_CASE(
    "service: cache-aside: a miss reads the database, then fills the cache with what it "
    "read and the miss's lease") {
  AppFixture f;
  const auto cfg = app_config();
  Service s(cfg);
  s.on_start(f.ctx);
  f.user_request(s, 5);
  auto gets = f.ctx.sent_of<KvRequest>();
  REQUIRE(gets.size() == 1);
  CHECK(gets[0].first == 30);
  KvResponse miss = f.answer(gets[0].second.call.id, KvStatus::kMiss);
  miss.lease = 77;
  f.ctx.deliver(s, 30, miss);
  gets = f.ctx.sent_of<KvRequest>();
  REQUIRE(gets.size() == 2);
  CHECK(gets[1].first == 20);
  f.ctx.deliver(s, 20, f.answer(gets[1].second.call.id, KvStatus::kOk, 9));
  const auto fills = f.ctx.sent_of<KvCacheOp>();
  REQUIRE(fills.size() == 1);
  CHECK(fills[0].first == 30);
  CHECK_FALSE(fills[0].second.erase);
  CHECK(fills[0].second.key == 5);
  CHECK(fills[0].second.value.is_single(9));
  CHECK(fills[0].second.lease == 77);
  CHECK(f.ctx.sent_of<queueing::Response>().empty());  // the fill is a step: awaited
  f.ctx.deliver(s, 30, f.answer(fills[0].second.call.id, KvStatus::kCasMismatch));  // refused
  REQUIRE(f.ctx.sent_of<queueing::Response>().size() == 1);
  CHECK(f.ctx.sent_of<queueing::Response>()[0].second.accepted);

  // In the history: the cache's miss read nothing (fail), the database read 9; no fill.
  const auto& ops = f.ctx.recorder().ops;
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].history == HistoryOutcome::kFail);
  CHECK(ops[1].history == HistoryOutcome::kOk);
  CHECK(ops[1].read == std::vector<int64_t>{9});
  s.check_invariants();
}

TEST_CASE("service: cache-aside: a hit skips the steps `when: miss`, a failed cache get does not") {
  AppFixture f;
  const auto cfg = app_config();
  Service s(cfg);
  s.on_start(f.ctx);
  f.user_request(s, 5);
  auto gets = f.ctx.sent_of<KvRequest>();
  f.ctx.deliver(s, 30, f.answer(gets[0].second.call.id, KvStatus::kOk, 9));
  CHECK(f.ctx.sent_of<KvRequest>().size() == 1);  // no database read
  CHECK(f.ctx.sent_of<KvCacheOp>().empty());
  REQUIRE(f.ctx.sent_of<queueing::Response>().size() == 1);

  auto ignoring = cfg;
  ignoring.plan.steps[0].calls[0].on_error = OnError::kIgnore;
  Service t(ignoring);
  AppFixture g;
  t.on_start(g.ctx);
  g.user_request(t, 5);
  g.ctx.deliver(t, 30,
                g.answer(g.ctx.sent_of<KvRequest>()[0].second.call.id,
                         KvStatus::kUnavailable));  // the cache refused: no hit
  gets = g.ctx.sent_of<KvRequest>();
  REQUIRE(gets.size() == 2);
  CHECK(gets[1].first == 20);  // on to the database
  t.check_invariants();
}

TEST_CASE("cache-aside: a run without leases caches stale values the leased one refuses") {
  Diagnostics diag;
  const auto spec = load_scenario(DSIM_SOURCE_DIR "/scenarios/cache/cache_aside.yaml", {},
                                  dsim::testing::builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  const auto fig = [&out](const std::string& group, const std::string& metric) {
    return dsim::testing::summary_figure(out, group, "", metric);
  };
  REQUIRE(fig("app_plain", "stale_reads"));
  REQUIRE(fig("app_leased", "stale_reads"));
  CHECK(*fig("app_plain", "stale_reads") > 0);
  CHECK(*fig("cache_leased", "fills_refused") > 0);
  CHECK(fig("cache_plain", "fills_refused").value_or(0) == 0);
  // Every miss of the plain cache is followed by its fill, less requests still in flight.
  CHECK(*fig("cache_plain", "fills") <= *fig("cache_plain", "misses"));
  CHECK(*fig("cache_plain", "fills") >= *fig("cache_plain", "misses") - 20);
}
