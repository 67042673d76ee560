// The cache model's replicas and failover (models/cache/shards.cpp): redirects to a
// shard's primary, replication of the primary's changes, a replica's promotion when its
// primary falls silent, and an old primary following the newer one. Each case drives
// nodes message by message through recording contexts; the last runs a scenario.
#include <catch2/catch.hpp>

#include "models/cache/cache.h"
#include "models/kit/hash_slots.h"
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

constexpr NodeId kDb = 20;
constexpr NodeId kUser = 7;

// A group of `nodes` nodes (ids 0..nodes-1) with `replicas` replicas per shard.
Cache::Config config(uint32_t replicas) {
  Cache::Config c;
  c.origin = "db";
  c.eviction_options.capacity_objects = 10;
  c.calls.timeout = ms(100);
  c.calls.retry.max_attempts = 1;
  c.replicas = replicas;
  c.heartbeat = ms(100);
  c.failover_timeout = seconds(1);
  c.failover_rank_delay = ms(500);
  return c;
}

// The first key (from 1) whose hash slot falls in shard `s` of `shards`.
uint64_t key_in_shard(uint32_t s, uint32_t shards) {
  for (uint64_t k = 1;; ++k) {
    if (kit::slot_shard(kit::hash_slot(k), shards) == s) return k;
  }
}

// One node of a group "cache" of `nodes` nodes, with its own recording context.
struct Node {
  RecordingContext ctx;
  Cache cache;
  uint64_t next_call = 1;
  Node(NodeId self, uint32_t nodes, const Cache::Config& cfg) : ctx(self), cache(cfg) {
    ctx.groups["db"] = {kDb};
    for (NodeId n = 0; n < nodes; ++n)
      ctx.groups["cache"].push_back(n);
    ctx.set_group("cache", self);
    cache.on_start(ctx);
  }
  KvRequest request(KvOpKind op, uint64_t key) {
    KvRequest r;
    r.op = op;
    r.key = key;
    r.value = 5;
    r.value_bytes = 8;
    r.call.id = next_call++;
    r.call.reply_to = kUser;
    r.call.idempotency_key = r.call.id;
    return r;
  }
  std::vector<KvRequest> to_origin() const {
    std::vector<KvRequest> out;
    for (const auto& [to, req] : ctx.sent_of<KvRequest>())
      if (to == kDb) out.push_back(req);
    return out;
  }
  void origin_answers(const KvRequest& req, std::optional<int64_t> value) {
    KvResponse r;
    r.call = req.call.id;
    if (value) r.value = kv::KvValue::single(*value, 8);
    ctx.deliver(cache, kDb, r);
  }
  std::vector<KvResponse> answers() const {
    std::vector<KvResponse> out;
    for (const auto& [to, resp] : ctx.sent_of<KvResponse>())
      if (to == kUser) out.push_back(resp);
    return out;
  }
  template <class T>
  std::vector<T> sent_to(NodeId to) const {
    std::vector<T> out;
    for (const auto& [n, m] : ctx.sent_of<T>())
      if (n == to) out.push_back(m);
    return out;
  }
  /// Fires timers until `until` (true time) or until `done` holds.
  template <class Done>
  void run_until(SimTime until, Done done) {
    while (!done() && !ctx.pending().empty() && ctx.pending().front()->at <= until)
      ctx.fire_next(cache);
  }
};

}  // namespace

TEST_CASE("cache replicas: a node that is not the key's shard's primary redirects to it") {
  const auto cfg = config(1);
  Node n(1, 4, cfg);  // shards {0, 1} and {2, 3}: node 1 is shard 0's replica
  const uint64_t k0 = key_in_shard(0, 2);
  const uint64_t k1 = key_in_shard(1, 2);
  n.ctx.deliver(n.cache, kUser, n.request(KvOpKind::kGet, k0));
  n.ctx.deliver(n.cache, kUser, n.request(KvOpKind::kPut, k1));
  REQUIRE(n.answers().size() == 2);
  CHECK(n.answers()[0].status == KvStatus::kNotLeader);
  CHECK(n.answers()[0].hint == 0);
  CHECK(n.answers()[1].status == KvStatus::kNotLeader);
  CHECK(n.answers()[1].hint == 2);
  CHECK(n.to_origin().empty());  // a replica never fetches
  CHECK(n.ctx.counter("moved") == 2);
  CHECK(n.ctx.counter("misses") == 0);

  Node p(0, 4, cfg);  // shard 0's primary serves k0
  p.ctx.deliver(p.cache, kUser, p.request(KvOpKind::kGet, k0));
  CHECK(p.to_origin().size() == 1);
  CHECK(p.ctx.counter("moved") == 0);
}

TEST_CASE("cache replicas: the replica holds what its primary cached, and drops what it drops") {
  const auto cfg = config(1);
  Node p(0, 2, cfg);
  Node r(1, 2, cfg);
  const uint64_t k = key_in_shard(0, 1);
  // At its first heartbeat the empty replica asks for a full copy (empty too, here).
  p.run_until(SimTime::zero() + ms(100), [] { return false; });
  REQUIRE(p.sent_to<CacheHeartbeat>(1).size() == 1);
  r.ctx.deliver(r.cache, 0, p.sent_to<CacheHeartbeat>(1)[0]);
  REQUIRE(r.sent_to<CacheSync>(0).size() == 1);
  p.ctx.deliver(p.cache, 1, r.sent_to<CacheSync>(0)[0]);
  const auto empty_copy = p.sent_to<CacheReplicate>(1);
  REQUIRE(empty_copy.size() == 1);
  CHECK(empty_copy[0].full);
  CHECK(empty_copy[0].changes.empty());
  r.ctx.deliver(r.cache, 0, empty_copy[0]);

  p.ctx.deliver(p.cache, kUser, p.request(KvOpKind::kGet, k));
  p.origin_answers(p.to_origin().back(), 42);
  for (const int64_t i : {1, 2}) {
    p.ctx.deliver(p.cache, kUser, p.request(KvOpKind::kGet, k + static_cast<uint64_t>(i)));
    p.origin_answers(p.to_origin().back(), 42 + i);
  }
  auto batches = p.sent_to<CacheReplicate>(1);
  batches.erase(batches.begin());  // the full copy
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].seq == 1);
  CHECK(batches[2].seq == 3);
  REQUIRE(batches[0].changes.size() == 1);
  CHECK(batches[0].changes[0].key == k);
  CHECK(p.ctx.counter("replication_messages") == 4);
  CHECK(p.ctx.counter("full_syncs") == 1);
  r.ctx.deliver(r.cache, 0, batches[0]);
  REQUIRE(r.cache.entries().size() == 1);
  CHECK(r.cache.entries().at(k).value.is_single(42));
  // Delivered out of order: the replica holds the third until the second arrives.
  r.ctx.deliver(r.cache, 0, batches[2]);
  CHECK(r.cache.entries().size() == 1);
  r.ctx.deliver(r.cache, 0, batches[1]);
  REQUIRE(r.cache.entries().size() == 3);
  CHECK(r.cache.entries().at(k + 1).value.is_single(43));
  CHECK(r.cache.entries().at(k + 2).value.is_single(44));
  r.ctx.deliver(r.cache, 0, batches[1]);  // a duplicate changes nothing
  CHECK(r.ctx.counter("replicated_changes") == 3);

  // A write invalidates the primary's copy, and the replica's.
  p.ctx.deliver(p.cache, kUser, p.request(KvOpKind::kPut, k));
  p.origin_answers(p.to_origin().back(), std::nullopt);
  CHECK(p.cache.entries().count(k) == 0);
  const auto after = p.sent_to<CacheReplicate>(1);
  REQUIRE(after.size() == 5);
  REQUIRE(after[4].changes.size() == 1);
  CHECK(after[4].changes[0].dropped);
  r.ctx.deliver(r.cache, 0, after[4]);
  CHECK(r.cache.entries().count(k) == 0);
  CHECK(r.cache.entries().count(k + 1) == 1);
  r.cache.check_invariants();
  p.cache.check_invariants();
}

TEST_CASE("cache replicas: a silent primary is replaced by its rank-0 replica, which serves") {
  const auto cfg = config(2);  // one shard: 0 primary, 1 rank 0, 2 rank 1
  Node r1(1, 3, cfg);
  Node r2(2, 3, cfg);
  const uint64_t k = key_in_shard(0, 1);
  // At time 0 the primary's heartbeat, the replicas ask for a copy, and its answer (seq 0)
  // is the primary's last word.
  CacheReplicate copy;
  copy.full = true;
  CacheChange c;
  c.key = k;
  c.value = kv::KvValue::single(42, 8);
  c.bytes = 8;
  copy.changes.push_back(c);
  for (Node* n : {&r1, &r2}) {
    n->ctx.deliver(n->cache, 0, CacheHeartbeat{0, 0, 0});
    REQUIRE(n->sent_to<CacheSync>(0).size() == 1);
    n->ctx.deliver(n->cache, 0, copy);
    REQUIRE(n->cache.entries().count(k) == 1);
  }

  const auto promoted = [](Node& n) { return n.ctx.counter("cache_failovers") > 0; };
  r1.run_until(SimTime::zero() + seconds(3), [&] { return promoted(r1); });
  REQUIRE(promoted(r1));
  CHECK(r1.ctx.now() > SimTime::zero() + seconds(1));
  CHECK(r1.ctx.now() <= SimTime::zero() + ms(1100));
  const auto told = r1.sent_to<CacheFailover>(2);
  REQUIRE(told.size() == 1);
  CHECK(told[0].epoch == 1);
  CHECK(told[0].primary == 1);
  CHECK(r1.sent_to<CacheFailover>(0).size() == 1);
  CHECK(r1.sent_to<CacheHeartbeat>(2).size() == 1);

  // The rank-1 replica waits longer; it hears of the promotion first and follows.
  r2.run_until(SimTime::zero() + ms(1100), [] { return false; });
  CHECK_FALSE(promoted(r2));
  r2.ctx.deliver(r2.cache, 1, told[0]);
  r2.run_until(SimTime::zero() + ms(1900), [] { return false; });
  r2.ctx.deliver(r2.cache, 1, r1.sent_to<CacheHeartbeat>(2)[0]);
  r2.run_until(SimTime::zero() + seconds(3), [&] { return promoted(r2); });
  CHECK_FALSE(promoted(r2));
  r2.ctx.deliver(r2.cache, kUser, r2.request(KvOpKind::kGet, k));
  REQUIRE(r2.answers().size() == 1);
  CHECK(r2.answers()[0].hint == 1);  // redirects to the new primary

  // The new primary serves the key from the copy replication gave it: a hit.
  r1.ctx.deliver(r1.cache, kUser, r1.request(KvOpKind::kGet, k));
  REQUIRE(r1.answers().size() == 1);
  CHECK(r1.answers()[0].status == KvStatus::kOk);
  CHECK(r1.answers()[0].value.is_single(42));
  CHECK(r1.ctx.counter("hits") == 1);
  CHECK(r1.to_origin().empty());
  bool marked = false;
  for (const auto& m : r1.ctx.recorder().marks)
    marked = marked || (r1.ctx.symbol_name(m.kind) == "cache_failover" && m.a == 0 && m.b == 1);
  CHECK(marked);
}

TEST_CASE("cache replicas: a restarted old primary follows the newer one and redirects") {
  const auto cfg = config(1);
  const uint64_t k = key_in_shard(0, 1);
  Node old(0, 2, cfg);  // restarted: a new instance with the initial layout
  Node promoted(1, 2, cfg);
  // What the promoted replica knows: epoch 1, itself primary.
  promoted.ctx.deliver(promoted.cache, 0, CacheFailover{0, 1, 1});
  CHECK(promoted.ctx.counter("cache_failovers") == 0);

  // The old primary's stale heartbeat is answered with the newer view (Redis's UPDATE).
  old.run_until(SimTime::zero() + ms(100), [] { return false; });
  const auto stale = old.sent_to<CacheHeartbeat>(1);
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].epoch == 0);
  promoted.ctx.deliver(promoted.cache, 0, stale[0]);
  const auto update = promoted.sent_to<CacheFailover>(0);
  REQUIRE(update.size() == 1);
  CHECK(update[0].epoch == 1);
  CHECK(update[0].primary == 1);

  // Before it hears, it serves (an empty cache: fetched from the origin) ...
  old.ctx.deliver(old.cache, kUser, old.request(KvOpKind::kGet, k));
  old.origin_answers(old.to_origin().back(), 42);
  CHECK(old.cache.entries().count(k) == 1);
  // ... then it follows the new primary: it empties itself and redirects.
  old.ctx.deliver(old.cache, 1, update[0]);
  CHECK(old.ctx.counter("demotions") == 1);
  CHECK(old.cache.entries().empty());
  old.ctx.deliver(old.cache, kUser, old.request(KvOpKind::kGet, k));
  REQUIRE(old.answers().size() == 2);
  CHECK(old.answers()[1].status == KvStatus::kNotLeader);
  CHECK(old.answers()[1].hint == 1);
  // As a replica, empty, it asks the new primary for a full copy; a batch that comes
  // first waits for it, and it heartbeats no more.
  promoted.ctx.deliver(promoted.cache, kUser, promoted.request(KvOpKind::kGet, k));
  promoted.origin_answers(promoted.to_origin().back(), 43);
  promoted.ctx.deliver(promoted.cache, kUser, promoted.request(KvOpKind::kGet, k + 1));
  promoted.origin_answers(promoted.to_origin().back(), 44);
  const auto batches = promoted.sent_to<CacheReplicate>(0);
  REQUIRE(batches.size() == 2);
  old.ctx.deliver(old.cache, 1, batches[1]);
  CHECK(old.cache.entries().empty());
  const auto asked = old.sent_to<CacheSync>(1);
  REQUIRE(asked.size() == 1);
  promoted.ctx.deliver(promoted.cache, 0, asked[0]);
  const auto copy = promoted.sent_to<CacheReplicate>(0).back();
  CHECK(copy.full);
  CHECK(copy.seq == 2);
  old.ctx.deliver(old.cache, 1, copy);
  old.ctx.deliver(old.cache, 1, batches[0]);  // late: in the copy already
  REQUIRE(old.cache.entries().size() == 2);
  CHECK(old.cache.entries().at(k).value.is_single(43));
  CHECK(old.cache.entries().at(k + 1).value.is_single(44));
  CHECK(old.ctx.counter("replicated_changes") == 2);
  const size_t beats = old.sent_to<CacheHeartbeat>(1).size();
  old.run_until(SimTime::zero() + ms(500), [] { return false; });
  CHECK(old.sent_to<CacheHeartbeat>(1).size() == beats);
  old.cache.check_invariants();
}

TEST_CASE("cache replicas: a run loses a primary and its replica takes over in about the timeout") {
  const auto out = dsim::testing::run_text(R"yaml(
name: failover
duration: 10s
network: {latency: 0.2ms}
groups:
  - name: users
    model: kv_client
    count: 2
    params: {target: cache, rate: 200/s, keys: "zipf(200, s=0.9)", mix: {get: 1}, timeout: 20ms, max_attempts: 3}
  - name: cache
    model: cache
    count: 2
    params: {origin: db, capacity_objects: 5000, object_size: 1KiB, replicas: 1, heartbeat: 100ms, failover_timeout: 1s}
  - {name: db, model: kv_store}
faults:
  - {at: 5s, crash: cache.0}
)yaml");
  const auto failovers = dsim::testing::summary_figure(out, "cache", "", "cache_failovers");
  const auto took = dsim::testing::summary_figure(out, "cache", "", "failover_ms_max");
  const auto moved = dsim::testing::summary_figure(out, "cache", "", "moved");
  const auto repl = dsim::testing::summary_figure(out, "cache", "", "replication_messages");
  REQUIRE(failovers);
  CHECK(*failovers == 1);
  REQUIRE(took);
  CHECK(*took >= 900);
  CHECK(*took <= 1200);
  REQUIRE(moved);
  CHECK(*moved > 0);
  REQUIRE(repl);
  CHECK(*repl > 0);
  // After the failover the promoted replica serves from its copies: the hit ratio holds.
  const auto hit_ratio = dsim::testing::summary_figure(out, "cache", "", "hit_ratio");
  REQUIRE(hit_ratio);
  CHECK(*hit_ratio > 0.7);
}

TEST_CASE("cache replicas: with the rank-0 replica dead too, the rank-1 replica promotes later") {
  const auto cfg = config(2);  // one shard: 0 primary, 1 rank 0, 2 rank 1
  Node r2(2, 3, cfg);
  const auto promoted = [&] { return r2.ctx.counter("cache_failovers") > 0; };
  r2.run_until(SimTime::zero() + seconds(3), promoted);
  REQUIRE(promoted());
  // failover_timeout + 1 x failover_rank_delay, seen at the next heartbeat tick.
  CHECK(r2.ctx.now() > SimTime::zero() + ms(1500));
  CHECK(r2.ctx.now() <= SimTime::zero() + ms(1600));
  const auto told = r2.sent_to<CacheFailover>(1);
  REQUIRE(told.size() == 1);
  CHECK(told[0].primary == 2);
  CHECK(told[0].epoch == 1);
}

TEST_CASE("cache replicas: two primaries of one epoch: the smaller index wins, the other follows") {
  const auto cfg = config(2);
  Node a(1, 3, cfg);
  Node b(2, 3, cfg);
  // Both replicas promoted themselves at once (their primary silent, each other unheard).
  a.run_until(SimTime::zero() + seconds(2), [&] { return a.ctx.counter("cache_failovers") > 0; });
  b.run_until(SimTime::zero() + seconds(2), [&] { return b.ctx.counter("cache_failovers") > 0; });
  REQUIRE(a.ctx.counter("cache_failovers") == 1);
  REQUIRE(b.ctx.counter("cache_failovers") == 1);
  const uint64_t k = key_in_shard(0, 1);
  b.ctx.deliver(b.cache, kUser, b.request(KvOpKind::kGet, k));
  b.origin_answers(b.to_origin().back(), 42);
  CHECK(b.cache.entries().count(k) == 1);
  // b hears a's heartbeat (epoch 1, index 1 < 2): it follows a, empty, and asks for a copy.
  b.ctx.deliver(b.cache, 1, a.sent_to<CacheHeartbeat>(2).back());
  CHECK(b.ctx.counter("demotions") == 1);
  CHECK(b.cache.entries().empty());
  CHECK(b.sent_to<CacheSync>(1).size() == 1);
  // a hears b's (the same epoch, a larger index): it stays, and tells b its view.
  a.ctx.deliver(a.cache, 2, b.sent_to<CacheHeartbeat>(1).back());
  CHECK(a.ctx.counter("demotions") == 0);
  const auto view = a.sent_to<CacheFailover>(2);
  REQUIRE(view.size() == 2);  // its promotion, then the answer to b's heartbeat
  CHECK(view.back().primary == 1);
  CHECK(view.back().epoch == 1);
  b.ctx.deliver(b.cache, kUser, b.request(KvOpKind::kGet, k));
  REQUIRE(b.answers().size() == 2);
  CHECK(b.answers()[1].status == KvStatus::kNotLeader);
  CHECK(b.answers()[1].hint == 1);
}
