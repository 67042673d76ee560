// The cache model (models/cache): hits and misses by cause, fetches from the origin with
// stampede control, expiry and refresh, negative caching, the write policies, and the hit
// ratios its analysis reports. The first cases drive one node message by message; the
// last run whole scenarios.
#include <catch2/catch.hpp>

#include "models/cache/cache.h"
#include "models/cache/replay.h"
#include "support/recording_context.h"
#include "support/scenarios.h"

using namespace dsim;
using namespace dsim::cache;
using dsim::testing::RecordingContext;
using kv::KvOpKind;
using kv::KvRequest;
using kv::KvResponse;
using kv::KvStatus;

namespace {

Cache::Config config() {
  Cache::Config c;
  c.origin = "db";
  c.eviction_options.capacity_objects = 2;
  c.calls.timeout = ms(100);
  c.calls.retry.max_attempts = 1;
  return c;
}

struct Fixture {
  RecordingContext ctx{1};
  uint64_t next_call = 1;
  Fixture() { ctx.groups["db"] = {20}; }

  KvRequest request(KvOpKind op, uint64_t key, NodeId from = 7, int64_t value = 0) {
    KvRequest r;
    r.op = op;
    r.key = key;
    r.value = value;
    r.value_bytes = 8;
    r.call.id = next_call++;
    r.call.reply_to = from;
    r.call.idempotency_key = r.call.id;
    return r;
  }
  int64_t counter(std::string_view name) { return ctx.recorder().counters[ctx.intern(name).id]; }
  // The requests sent to the origin so far.
  std::vector<KvRequest> to_origin() {
    std::vector<KvRequest> out;
    for (const auto& [to, req] : ctx.sent_of<KvRequest>())
      if (to == 20) out.push_back(req);
    return out;
  }
  // Answers origin request `req` with `value` (empty: the key has none).
  void origin_answers(Cache& c, const KvRequest& req, std::optional<int64_t> value,
                      KvStatus status = KvStatus::kOk) {
    KvResponse r;
    r.call = req.call.id;
    r.status = status;
    if (value) r.value = kv::KvValue::single(*value, 8);
    ctx.deliver(c, 20, r);
  }
  // The answers sent to node `to`, in order.
  std::vector<KvResponse> answers_to(NodeId to) {
    std::vector<KvResponse> out;
    for (const auto& [n, resp] : ctx.sent_of<KvResponse>())
      if (n == to) out.push_back(resp);
    return out;
  }
};

}  // namespace

TEST_CASE("cache: a miss fetches from the origin, the next read of the key is a hit") {
  Fixture f;
  const auto cfg = config();
  Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 5));
  REQUIRE(f.to_origin().size() == 1);
  CHECK(f.to_origin()[0].key == 5);
  CHECK(f.answers_to(7).empty());
  f.origin_answers(c, f.to_origin()[0], 42);
  REQUIRE(f.answers_to(7).size() == 1);
  CHECK(f.answers_to(7)[0].value.is_single(42));
  CHECK(f.answers_to(7)[0].call == 1);

  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 5));
  CHECK(f.to_origin().size() == 1);  // no second fetch
  REQUIRE(f.answers_to(7).size() == 2);
  CHECK(f.answers_to(7)[1].value.is_single(42));
  CHECK(f.counter("hits") == 1);
  CHECK(f.counter("misses") == 1);
  CHECK(f.counter("misses_cold") == 1);
  c.check_invariants();
}

TEST_CASE("cache: misses are counted by cause: cold, capacity, invalidated, expired") {
  Fixture f;
  auto cfg = config();
  cfg.ttl = ms(100);
  Cache c(cfg);
  c.on_start(f.ctx);
  const auto fill = [&](uint64_t key, int64_t value) {
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, key));
    f.origin_answers(c, f.to_origin().back(), value);
  };
  fill(1, 10);
  fill(2, 20);
  fill(3, 30);  // capacity 2 objects, LRU: key 1 leaves
  CHECK(f.counter("misses_cold") == 3);
  CHECK(f.counter("evictions") == 1);
  fill(1, 10);  // evicted before: a capacity miss (and key 2 leaves)
  CHECK(f.counter("misses_capacity") == 1);

  f.ctx.deliver(c, 7, f.request(KvOpKind::kPut, 3, 7, 31));  // invalidate: to the origin first
  REQUIRE(f.to_origin().back().op == KvOpKind::kPut);
  CHECK(c.entries().count(3) == 1);  // not yet applied: the copy stays
  f.origin_answers(c, f.to_origin().back(), std::nullopt);
  CHECK(c.entries().count(3) == 0);
  CHECK(f.counter("invalidations") == 1);
  fill(3, 31);
  CHECK(f.counter("misses_invalidated") == 1);

  f.ctx.advance(ms(150));  // key 1's copy is now past its TTL
  fill(1, 11);
  CHECK(f.counter("misses_expired") == 1);
  CHECK(f.counter("hits") == 0);
  CHECK(f.counter("misses") == 6);
  c.check_invariants();
}

TEST_CASE("cache: stampede control: coalescing fetches once for every waiter") {
  Fixture f;
  auto cfg = config();
  cfg.stampede = Cache::Stampede::kCoalesce;
  Cache c(cfg);
  c.on_start(f.ctx);
  for (NodeId n = 100; n < 110; ++n)
    f.ctx.deliver(c, n, f.request(KvOpKind::kGet, 9, n));
  REQUIRE(f.to_origin().size() == 1);
  CHECK(f.counter("coalesced") == 9);
  f.origin_answers(c, f.to_origin()[0], 99);
  for (NodeId n = 100; n < 110; ++n) {
    REQUIRE(f.answers_to(n).size() == 1);
    CHECK(f.answers_to(n)[0].value.is_single(99));
  }
  CHECK(f.counter("origin_fetches") == 1);
}

TEST_CASE("cache: stampede control: without it every miss fetches, with leases one does") {
  for (const auto mode : {Cache::Stampede::kNone, Cache::Stampede::kLease}) {
    Fixture f;
    auto cfg = config();
    cfg.stampede = mode;
    Cache c(cfg);
    c.on_start(f.ctx);
    for (NodeId n = 100; n < 110; ++n)
      f.ctx.deliver(c, n, f.request(KvOpKind::kGet, 9, n));
    if (mode == Cache::Stampede::kNone) {
      CHECK(f.to_origin().size() == 10);
      CHECK(f.counter("lease_refusals") == 0);
    } else {
      CHECK(f.to_origin().size() == 1);
      CHECK(f.counter("lease_refusals") == 9);
      for (NodeId n = 101; n < 110; ++n) {
        REQUIRE(f.answers_to(n).size() == 1);
        CHECK(f.answers_to(n)[0].status == KvStatus::kUnavailable);  // back off and retry
      }
    }
  }
}

TEST_CASE("cache: negative caching keeps an absent key for negative_ttl") {
  Fixture f;
  auto cfg = config();
  cfg.negative_ttl = ms(50);
  Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 4));
  f.origin_answers(c, f.to_origin()[0], std::nullopt);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 4));
  CHECK(f.to_origin().size() == 1);
  CHECK(f.counter("negative_hits") == 1);
  CHECK(f.answers_to(7)[1].value.empty());
  f.ctx.advance(ms(60));
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 4));
  CHECK(f.to_origin().size() == 2);
  CHECK(f.counter("misses_expired") == 1);
}

TEST_CASE("cache: write_through updates the copy once the origin applied the write") {
  Fixture f;
  auto cfg = config();
  cfg.write_policy = Cache::WritePolicy::kWriteThrough;
  Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kPut, 2, 7, 5));
  const KvRequest fwd = f.to_origin().back();
  CHECK(fwd.value == 5);
  CHECK(fwd.call.idempotency_key == 1);  // the writer's key goes on
  f.origin_answers(c, fwd, std::nullopt);
  REQUIRE(f.answers_to(7).size() == 1);
  CHECK(f.answers_to(7)[0].status == KvStatus::kOk);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 2));
  CHECK(f.counter("hits") == 1);
  CHECK(f.answers_to(7)[1].value.is_single(5));
}

TEST_CASE("cache: write_around leaves the copy stale, invalidate deletes it") {
  for (const auto policy : {Cache::WritePolicy::kWriteAround, Cache::WritePolicy::kInvalidate}) {
    Fixture f;
    auto cfg = config();
    cfg.write_policy = policy;
    Cache c(cfg);
    c.on_start(f.ctx);
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 2));
    f.origin_answers(c, f.to_origin().back(), 1);
    f.ctx.deliver(c, 7, f.request(KvOpKind::kPut, 2, 7, 6));
    f.origin_answers(c, f.to_origin().back(), std::nullopt);
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 2));
    if (policy == Cache::WritePolicy::kWriteAround) {
      CHECK(f.answers_to(7).back().value.is_single(1));  // the stale copy
      CHECK(f.counter("hits") == 1);
    } else {
      CHECK(f.to_origin().back().op == KvOpKind::kGet);  // fetched again
      CHECK(f.counter("misses_invalidated") == 1);
    }
  }
}

TEST_CASE("cache: write_behind acknowledges at once and flushes each key's latest value") {
  Fixture f;
  auto cfg = config();
  cfg.write_policy = Cache::WritePolicy::kWriteBehind;
  cfg.flush_interval = ms(100);
  cfg.report_interval = seconds(10);
  Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kPut, 3, 7, 1));
  f.ctx.deliver(c, 7, f.request(KvOpKind::kPut, 3, 7, 2));
  f.ctx.deliver(c, 7, f.request(KvOpKind::kPut, 4, 7, 3));
  CHECK(f.to_origin().empty());
  REQUIRE(f.answers_to(7).size() == 3);
  f.ctx.fire_next(c);  // the flush
  const auto flushed = f.to_origin();
  REQUIRE(flushed.size() == 2);  // one call per dirty key
  CHECK(flushed[0].key == 3);
  CHECK(flushed[0].value == 2);  // its latest value
  CHECK(flushed[1].key == 4);
  f.origin_answers(c, flushed[0], std::nullopt);
  f.origin_answers(c, flushed[1], std::nullopt, KvStatus::kUnavailable);  // refused: dirty again
  CHECK(f.counter("writes_flushed") == 1);
  CHECK(f.counter("flush_failures") == 1);
  f.ctx.fire_next(c);
  REQUIRE(f.to_origin().size() == 3);
  CHECK(f.to_origin()[2].key == 4);
}

TEST_CASE("cache: with object_size every key is an object of one size on every node") {
  Fixture f;
  auto cfg = config();
  cfg.object_size = Distribution::uniform(1000, 2000).with_dim(Distribution::Dim::kBytes);
  cfg.eviction_options.capacity_objects = 0;
  cfg.eviction_options.capacity_bytes = 4000;
  Cache a(cfg);
  a.on_start(f.ctx);
  for (uint64_t key = 0; key < 20; ++key) {
    f.ctx.deliver(a, 7, f.request(KvOpKind::kGet, key));
    f.origin_answers(a, f.to_origin().back(), std::nullopt);  // nothing at the origin
    const KvResponse r = f.answers_to(7).back();
    CHECK(r.status == KvStatus::kOk);
    CHECK(r.value.bytes() >= 1000);
    CHECK(r.value.bytes() <= 2000);
  }
  uint64_t bytes = 0;
  for (const auto& [key, e] : a.entries())
    bytes += e.bytes;
  CHECK(bytes <= 4000);
  CHECK(f.counter("evictions") > 0);

  Fixture g;
  Cache b(cfg);
  b.on_start(g.ctx);
  g.ctx.deliver(b, 7, g.request(KvOpKind::kGet, 19));
  g.origin_answers(b, g.to_origin().back(), std::nullopt);
  CHECK(g.answers_to(7).back().value.bytes() == f.answers_to(7).back().value.bytes());
}

TEST_CASE("cache: a failed fetch answers unavailable, or the stale copy with stale_if_error") {
  for (const bool stale : {false, true}) {
    Fixture f;
    auto cfg = config();
    cfg.ttl = ms(10);
    cfg.stale_if_error = stale;
    Cache c(cfg);
    c.on_start(f.ctx);
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 1));
    f.origin_answers(c, f.to_origin().back(), 8);
    f.ctx.advance(ms(20));
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 1));
    f.origin_answers(c, f.to_origin().back(), std::nullopt, KvStatus::kUnavailable);
    const KvResponse r = f.answers_to(7).back();
    if (stale) {
      CHECK(r.status == KvStatus::kOk);
      CHECK(r.value.is_single(8));
      CHECK(f.counter("stale_served") == 1);
    } else {
      CHECK(r.status == KvStatus::kUnavailable);
    }
  }
}

TEST_CASE("cache: refresh_ahead refreshes an object read near its expiry, in the background") {
  Fixture f;
  auto cfg = config();
  cfg.ttl = ms(100);
  cfg.refresh_ahead = 0.2;
  Cache c(cfg);
  c.on_start(f.ctx);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 1));
  f.origin_answers(c, f.to_origin().back(), 1);
  f.ctx.advance(ms(50));
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 1));
  CHECK(f.to_origin().size() == 1);  // half its TTL left: no refresh
  f.ctx.advance(ms(40));
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 1));
  REQUIRE(f.to_origin().size() == 2);  // 10 ms left, under 20% of 100 ms
  CHECK(f.counter("refreshes") == 1);
  CHECK(f.answers_to(7).size() == 3);  // the hit was answered without waiting
  f.origin_answers(c, f.to_origin().back(), 2);
  f.ctx.advance(ms(50));  // past the first copy's expiry, within the refreshed one's
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 1));
  CHECK(f.answers_to(7).back().value.is_single(2));
  CHECK(f.counter("hits") == 3);
}

TEST_CASE("cache: the request trace a run writes replays to the run's own hits") {
  // Zero latency everywhere: each miss is fetched and admitted before the next request
  // comes, so the run's cache sees exactly the sequence a pure replay does.
  const auto out = dsim::testing::run_text(R"yaml(
name: trace
duration: 5s
network: {latency: 0ms}
groups:
  - name: users
    model: kv_client
    count: 3
    params: {target: cache, rate: 500/s, keys: "zipf(2000, s=0.9)", mix: {get: 1}}
  - name: cache
    model: cache
    params: {origin: db, capacity: 200KiB, object_size: "uniform(100B, 4KiB)", eviction: s3fifo, trace_requests: true}
  - {name: db, model: kv_store}
)yaml");
  std::string err;
  const auto rows =
      kit::parse_trace(dsim::testing::run_file(out, "cache_requests_cache.csv"), "trace", &err);
  INFO(err);
  REQUIRE(rows);
  CHECK(rows->size() > 7000);
  EvictionOptions o;
  o.capacity_bytes = 200 * 1024;
  const ReplayResult r = replay(*rows, EvictionKind::kS3Fifo, o);
  const auto hits = dsim::testing::summary_figure(out, "cache", "", "hits");
  const auto misses = dsim::testing::summary_figure(out, "cache", "", "misses");
  REQUIRE(hits);
  REQUIRE(misses);
  CHECK(r.gets == static_cast<uint64_t>(*hits + *misses));
  CHECK(r.hits == static_cast<uint64_t>(*hits));
  CHECK(r.hit_ratio() == Approx(*dsim::testing::summary_figure(out, "cache", "", "hit_ratio")));
}

TEST_CASE("cache: a purge drops its range of keys after the node's own delay") {
  Fixture f;
  auto cfg = config();
  cfg.eviction_options.capacity_objects = 10;
  Cache::Purge p;
  p.at = seconds(5);
  p.first = 2;
  p.last = 3;
  p.delay = Distribution::constant(static_cast<double>(seconds(1).ns()))
                .with_dim(Distribution::Dim::kTime);
  cfg.purges = {p};
  Cache c(cfg);
  c.on_start(f.ctx);
  for (uint64_t key = 1; key <= 4; ++key) {
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, key));
    f.origin_answers(c, f.to_origin().back(), static_cast<int64_t>(key));
  }
  CHECK(c.entries().size() == 4);
  while (f.ctx.now() < SimTime::zero() + seconds(6) && f.ctx.fire_next(c)) {
  }
  CHECK(c.entries().count(1) == 1);
  CHECK(c.entries().count(2) == 0);
  CHECK(c.entries().count(3) == 0);
  CHECK(c.entries().count(4) == 1);
  CHECK(f.counter("purged") == 2);
  REQUIRE(!f.ctx.recorder().marks.empty());
  bool marked = false;
  for (const auto& m : f.ctx.recorder().marks)
    marked = marked || (f.ctx.symbol_name(m.kind) == "cache_purge" &&
                        m.at == SimTime::zero() + seconds(6) && m.a == 0 && m.b == 2);
  CHECK(marked);
  f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, 2));
  CHECK(f.counter("misses_invalidated") == 1);
}

TEST_CASE("cache: a TTL class gives its keys their own TTL, the others keep ttl") {
  Fixture f;
  auto cfg = config();
  cfg.eviction_options.capacity_objects = 10;
  cfg.ttl = seconds(60);
  cfg.ttl_classes = {Cache::TtlClass{100, 199, seconds(1)}};
  Cache c(cfg);
  c.on_start(f.ctx);
  for (const uint64_t key : {5, 150}) {
    f.ctx.deliver(c, 7, f.request(KvOpKind::kGet, key));
    f.origin_answers(c, f.to_origin().back(), 1);
  }
  CHECK(c.entries().at(5).expires == SimTime::zero() + seconds(60));
  CHECK(c.entries().at(150).expires == SimTime::zero() + seconds(1));
}
