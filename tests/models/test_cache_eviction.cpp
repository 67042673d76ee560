// The cache eviction policies (models/cache/eviction): for each policy a short request
// sequence whose hits and evictions are worked out by hand in the comments, and for every
// policy the properties over a seeded random trace (the totals match what is cached and
// stay within the capacity, contains() agrees with a shadow set, remove() works, an object
// larger than the byte capacity is refused).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "models/cache/eviction/policy.h"
#include "sim/core/assert.h"
#include "sim/core/rng.h"

using namespace dsim;
using namespace dsim::cache;

namespace {

EvictionOptions objects_cap(uint64_t n) {
  EvictionOptions o;
  o.capacity_objects = n;
  return o;
}

/// Requests `keys` in order (a miss admits the key with 1 byte and expiry = key); the
/// answer is one letter a request, H or M, and every evicted key in order.
struct Trace {
  std::string answers;
  std::vector<ObjectKey> evicted;
};

Trace run(EvictionPolicy& p, std::initializer_list<ObjectKey> keys) {
  Trace t;
  for (ObjectKey k : keys) {
    if (p.lookup(k)) {
      t.answers += 'H';
    } else {
      t.answers += 'M';
      p.admit(k, 1, k, t.evicted);
    }
  }
  return t;
}

using Keys = std::vector<ObjectKey>;

}  // namespace

TEST_CASE("eviction names round-trip") {
  for (const auto& [name, kind] : eviction_names()) {
    CHECK(eviction_name(kind) == name);
    CHECK(eviction_from_name(name) == kind);
  }
  CHECK(eviction_names().size() == 10);
  CHECK_FALSE(eviction_from_name("mru").has_value());
}

TEST_CASE("LRU and FIFO differ on a re-referenced key") {
  // Capacity 2; requests 1 2 1 3 1.
  // LRU: 1M 2M 1H (order 2,1) 3M evicts 2 (order 1,3) 1H.
  // FIFO: 1M 2M 1H (order stays 1,2) 3M evicts 1 (2,3) 1M evicts 2 (3,1).
  auto lru = make_eviction(EvictionKind::kLru, objects_cap(2));
  const Trace a = run(*lru, {1, 2, 1, 3, 1});
  CHECK(a.answers == "MMHMH");
  CHECK(a.evicted == Keys{2});
  auto fifo = make_eviction(EvictionKind::kFifo, objects_cap(2));
  const Trace b = run(*fifo, {1, 2, 1, 3, 1});
  CHECK(b.answers == "MMHMM");
  CHECK(b.evicted == Keys{1, 2});
}

TEST_CASE("CLOCK gives a referenced object a second chance per counter step") {
  // Capacity 2; requests 1 1 1 2 3 4 1.
  // max 2: 1M(c0) 1H(c1) 1H(c2) 2M ring [1:2, 2:0]. 3M: the hand takes 1 to 1 and passes,
  // evicts 2 -> [1:1, 3:0]. 4M: 1 to 0 and passes, evicts 3 -> [1:0, 4:0]. 1H.
  // max 1: the second hit is capped (1 at c1). 3M: 1 to 0, evicts 2 -> [1:0, 3:0]. 4M
  // evicts 1 -> [3, 4]. 1M evicts 3.
  EvictionOptions o = objects_cap(2);
  o.clock_max_count = 2;
  auto two = make_eviction(EvictionKind::kClock, o);
  const Trace a = run(*two, {1, 1, 1, 2, 3, 4, 1});
  CHECK(a.answers == "MHHMMMH");
  CHECK(a.evicted == Keys{2, 3});
  o.clock_max_count = 1;
  auto one = make_eviction(EvictionKind::kClock, o);
  const Trace b = run(*one, {1, 1, 1, 2, 3, 4, 1});
  CHECK(b.answers == "MHHMMMM");
  CHECK(b.evicted == Keys{2, 1, 3});
}

TEST_CASE("LFU evicts the least count, the least recent among equals") {
  // Capacity 2; requests 1 1 2 3 2: 1 has count 2, 2 count 1: 3 evicts 2; then 2 evicts 3
  // (count 1, beside 1's 2).
  auto lfu = make_eviction(EvictionKind::kLfu, objects_cap(2));
  const Trace a = run(*lfu, {1, 1, 2, 3, 2});
  CHECK(a.answers == "MHMMM");
  CHECK(a.evicted == Keys{2, 3});
  // Requests 1 2 3: both counts 1, 1 is the less recently used.
  auto tie = make_eviction(EvictionKind::kLfu, objects_cap(2));
  CHECK(run(*tie, {1, 2, 3}).evicted == Keys{1});
}

TEST_CASE("LFU aging changes the victim") {
  // Capacity 2; requests 1 1 1 1 2 2 2 3 (lookups 1..8).
  // Without aging: counts 1:4, 2:3, so 3 evicts 2.
  // Halving every 4 lookups: after lookup 4, 1:4 -> 2; 2 reaches 3 by lookup 7; after
  // lookup 8 (the miss on 3) 1:2 -> 1 and 2:3 -> 1: a tie, and 1 is less recent: 3 evicts 1.
  auto plain = make_eviction(EvictionKind::kLfu, objects_cap(2));
  CHECK(run(*plain, {1, 1, 1, 1, 2, 2, 2, 3}).evicted == Keys{2});
  EvictionOptions o = objects_cap(2);
  o.lfu_aging_period = 4;
  auto aged = make_eviction(EvictionKind::kLfu, o);
  const Trace t = run(*aged, {1, 1, 1, 1, 2, 2, 2, 3});
  CHECK(t.answers == "MHHHMHHM");
  CHECK(t.evicted == Keys{1});
}

TEST_CASE("TTL evicts the soonest expiry, the earliest admitted among equals") {
  auto ttl = make_eviction(EvictionKind::kTtl, objects_cap(3));
  std::vector<ObjectKey> ev;
  ttl->admit(1, 1, 30, ev);
  ttl->admit(2, 1, 10, ev);
  ttl->admit(3, 1, 20, ev);
  ttl->admit(4, 1, 50, ev);         // evicts 2 (10)
  ttl->admit(5, 1, 20, ev);         // evicts 3 (20, admitted before 5 exists)
  ttl->admit(6, 1, 20, ev);         // 1:30 4:50 5:20: evicts 5
  ttl->admit(7, 1, kNoExpiry, ev);  // 1:30 4:50 6:20: evicts 6
  ttl->admit(8, 1, 30, ev);         // 1:30 4:50 7:never: evicts 1 (30, earlier than 8)
  CHECK(ev == Keys{2, 3, 5, 6, 1});
}

TEST_CASE("TTL's victim is always the soonest expiry over a random trace") {
  // A shadow ordered set of (expiry, admission number, key) names the expected victim.
  auto ttl = make_eviction(EvictionKind::kTtl, objects_cap(20));
  Rng rng(5, stream_id("ttl_property"));
  std::set<std::tuple<uint64_t, uint64_t, ObjectKey>> order;
  std::map<ObjectKey, std::pair<uint64_t, uint64_t>> stamp;
  for (uint64_t n = 0; n < 20000; ++n) {
    const ObjectKey key = rng.below(60);
    if (rng.bernoulli(0.1) || stamp.count(key) == 1) {
      ttl->remove(key);
      if (stamp.count(key) == 1) order.erase({stamp[key].first, stamp[key].second, key});
      stamp.erase(key);
      continue;
    }
    const uint64_t expiry = rng.below(50);
    std::vector<ObjectKey> ev;
    REQUIRE(ttl->admit(key, 1, expiry, ev));
    REQUIRE(ev.size() == (order.size() == 20 ? 1u : 0u));
    if (!ev.empty()) {
      REQUIRE(ev.front() == std::get<2>(*order.begin()));
      stamp.erase(ev.front());
      order.erase(order.begin());
    }
    order.emplace(expiry, n, key);
    stamp[key] = {expiry, n};
  }
}

TEST_CASE("Random eviction is deterministic for a seed and uniform over cached objects") {
  auto victims = [](uint64_t seed) {
    EvictionOptions o = objects_cap(10);
    o.seed = seed;
    auto p = make_eviction(EvictionKind::kRandom, o);
    std::vector<ObjectKey> ev;
    for (ObjectKey k = 0; k < 200; ++k)
      p->admit(k, 1, 0, ev);
    return ev;
  };
  CHECK(victims(7) == victims(7));
  CHECK(victims(7) != victims(8));
  // The first victim over 4000 seeds: each of the 10 cached keys with p = 0.1; the count
  // of each is binomial(4000, 0.1): mean 400, sd 19; within 5 sd.
  std::vector<int> counts(10, 0);
  for (uint64_t seed = 0; seed < 4000; ++seed)
    ++counts[victims(seed).front()];
  for (int c : counts)
    CHECK(std::abs(c - 400) < 5 * 19);
}

TEST_CASE("ARC adapts p on ghost hits") {
  // c = 2; requests 1 2 1 3 2 1 (p starts at 0).
  // 1M T1=[1]. 2M T1=[1,2]. 1H T1=[2] T2=[1]. 3M (case IV.B): REPLACE with |T1|=1 > p=0
  // moves 2 to B1: T1=[3] T2=[1] B1=[2]. 2M, a B1 ghost: p = min(2, 0 + max(1, 0/1)) = 1;
  // REPLACE: |T1|=1 is not > p, so T2's 1 goes to B2 (with p = 0 it would have been 3):
  // T1=[3] T2=[2] B2=[1]. 1M, a B2 ghost: p = max(0, 1 - max(1, 0/1)) = 0; REPLACE:
  // |T1|=1 > 0 moves 3 to B1: T2=[2,1] B1=[3]. 3M, a B1 ghost: p = 1; T1 is empty, so
  // T2's 2 goes to B2: T2=[1,3]. 1H, 3H.
  auto arc = make_eviction(EvictionKind::kArc, objects_cap(2));
  const Trace t = run(*arc, {1, 2, 1, 3, 2, 1, 3, 1, 3});
  CHECK(t.answers == "MMHMMMMHH");
  CHECK(t.evicted == Keys{2, 1, 3, 2});
}

TEST_CASE("ARC in bytes counts its lists and ghosts by size") {
  // c = 100 bytes; keys 1, 2, 3 of 40 bytes, 4 of 70. Requests 1 2 1 3 2 1 as in objects,
  // each step scaled by 40: 3M moves 2 to B1; 2M (B1 ghost) raises p to 40 and moves 1 to
  // B2; 1M (B2 ghost) lowers p to 0 and moves 3 to B1: T2=[2,1], B1=[3]. 4M (70 bytes):
  // case IV.A, |T1| + |B1| + 70 = 110 > 100, so B1's 3 is forgotten; then REPLACE twice
  // (T1 empty) moves 2 and 1 to B2 to make 70 bytes of room: T1=[4]. 3M, no longer a ghost:
  // case IV.A again, |T1| + 40 = 110 > 100 with B1 empty, so 4 is evicted leaving no ghost.
  auto arc = make_eviction(EvictionKind::kArc, [] {
    EvictionOptions o;
    o.capacity_bytes = 100;
    return o;
  }());
  std::string answers;
  std::vector<ObjectKey> ev;
  for (ObjectKey k : {1, 2, 1, 3, 2, 1, 4, 3}) {
    if (arc->lookup(k)) {
      answers += 'H';
      continue;
    }
    answers += 'M';
    REQUIRE(arc->admit(k, k == 4 ? 70 : 40, 0, ev));
  }
  CHECK(answers == "MMHMMMMM");
  CHECK(ev == Keys{2, 1, 3, 2, 1, 4});
  CHECK(arc->bytes() == 40);
}

TEST_CASE("2Q promotes a key found in A1out to Am") {
  // Capacity 4: Kin = 1, Kout = 2. Requests 1 2 3 4 fill A1in. 5M: A1in holds 4 > Kin, so
  // 1 leaves to A1out=[1]. 1M: a ghost, so 1 enters Am once 2 has left (A1out=[2]). 1H.
  // 6M: 3 leaves (A1out=[2,3]). 7M: 4 leaves, A1out trimmed to [3,4]. 2M is a plain miss
  // (trimmed): 5 leaves, A1out=[4,5]. 3M and 4M are plain misses too: 6 and 7 leave,
  // A1out=[6,7], A1in=[2,3,4]. 6M: a ghost: 2 leaves (A1out=[7,2]) and 6 enters Am=[1,6].
  // 8M: 3 leaves. 9M: 4 leaves. 1H and 6H: Am kept them while A1in turned over.
  auto q = make_eviction(EvictionKind::kTwoQ, objects_cap(4));
  const Trace t = run(*q, {1, 2, 3, 4, 5, 1, 1, 6, 7, 2, 3, 4, 6, 8, 9, 1, 6});
  CHECK(t.answers == "MMMMMMHMMMMMMMMHH");
  CHECK(t.evicted == Keys{1, 2, 3, 4, 5, 6, 7, 2, 3, 4});
}

TEST_CASE("W-TinyLFU refuses a cold candidate against a hot victim") {
  // Capacity 3: window 1, main 2. 1 is requested 4 times (estimate 4) and moves to
  // probation when 2 arrives; 3 pushes 2 to probation too (room left). 4M: window
  // candidate 3 (estimate 1) meets victim 1 (4): refused, 3 evicted. 5M and 6M: 4 and 5
  // are refused likewise. 6 is then requested 6 times (estimate 6). 7M: candidate 6 meets victim 1:
  // 6 > 4, so 1 is evicted and 6 enters probation.
  auto w = make_eviction(EvictionKind::kWTinyLfu, objects_cap(3));
  const Trace t = run(*w, {1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 7, 6, 2});
  CHECK(t.answers == "MHHHMMMMMHHHHHMHH");
  CHECK(t.evicted == Keys{3, 4, 5, 1});
}

TEST_CASE("W-TinyLFU can refuse the object being admitted") {
  // 100 bytes: the window holds 1 byte, so every object is a candidate at once. 1 (50
  // bytes) is looked up 3 times (estimate 3) and sits in main. 2 (60 bytes, estimate 1
  // after its missed lookup) needs 1's room and loses: admit returns false, and 2 is not
  // reported as evicted since it never was cached.
  EvictionOptions o;
  o.capacity_bytes = 100;
  auto w = make_eviction(EvictionKind::kWTinyLfu, o);
  std::vector<ObjectKey> ev;
  CHECK_FALSE(w->lookup(1));
  CHECK(w->admit(1, 50, 0, ev));
  CHECK(w->lookup(1));
  CHECK(w->lookup(1));
  CHECK_FALSE(w->lookup(2));
  CHECK_FALSE(w->admit(2, 60, 0, ev));
  CHECK(ev.empty());
  CHECK(w->contains(1));
  CHECK_FALSE(w->contains(2));
  CHECK(w->bytes() == 50);
  // 3 (30 bytes) fits beside 1 without meeting a victim.
  CHECK_FALSE(w->lookup(3));
  CHECK(w->admit(3, 30, 0, ev));
  CHECK(ev.empty());
  CHECK(w->bytes() == 80);
}

TEST_CASE("S3-FIFO sends one-hit wonders to the ghost queue") {
  // Capacity 4: S holds 1 object, M 3, G 3 keys. 1..4 fill S. 5M: S's 1 (freq 0) goes to
  // G. 1M: a ghost, enters M; 2 goes to G. 1H (freq 1), 3H 3H (freq 2). 6M: S's 3 has
  // freq 2 > 1 and moves to M; 4 (freq 0) goes to G. 6H (freq 1). 7M: 5 to G. 8M: 6 has
  // freq 1, not > 1: to G (G trimmed to [4,5,6]). 4M: a ghost, into M; 7 to G. 5M: a
  // ghost, into M; 8 to G; S is empty. 9M: from M=[1:1,3:2,4:0,5:0], 1 and 3 are
  // reinserted with their freq decremented and 4 is evicted.
  auto s3 = make_eviction(EvictionKind::kS3Fifo, objects_cap(4));
  const Trace t = run(*s3, {1, 2, 3, 4, 5, 1, 1, 3, 3, 6, 6, 7, 8, 4, 5, 9, 1, 3});
  CHECK(t.answers == "MMMMMMHHHMHMMMMMHH");
  CHECK(t.evicted == Keys{1, 2, 4, 5, 6, 7, 8, 4});
}

namespace {

/// The properties of one policy over a seeded random trace: requests for 300 keys with a
/// skewed popularity, sizes 0..200 bytes by key, 1% removals, occasional oversize offers.
/// Returns a digest of every answer and eviction, so two runs can be compared.
uint64_t check_properties(EvictionKind kind, const EvictionOptions& options, uint64_t seed) {
  auto p = make_eviction(kind, options);
  uint64_t digest = 0;
  Rng rng(seed, stream_id("eviction_property"));
  std::map<ObjectKey, uint64_t> shadow;
  uint64_t refused = 0;
  for (int step = 0; step < 30000; ++step) {
    const double u = rng.uniform01();
    const auto key = static_cast<ObjectKey>(300 * u * u);
    const uint64_t size = mix64(key) % 201;
    if (rng.bernoulli(0.01)) {
      p->remove(key);
      shadow.erase(key);
    } else if (p->lookup(key)) {
      REQUIRE(shadow.count(key) == 1);
      digest = mix64(digest ^ key);
    } else {
      REQUIRE(shadow.count(key) == 0);
      std::vector<ObjectKey> evicted;
      const bool in = p->admit(key, size, rng.below(1000), evicted);
      for (ObjectKey e : evicted) {
        REQUIRE(e != key);
        REQUIRE(shadow.erase(e) == 1);
        digest = mix64(digest ^ (e << 1));
      }
      if (in) shadow.emplace(key, size);
      refused += in ? 0 : 1;
    }
    if (options.capacity_bytes > 0 && step % 97 == 0) {
      std::vector<ObjectKey> evicted;
      REQUIRE_FALSE(p->admit(1000000 + step, options.capacity_bytes + 1, 0, evicted));
      REQUIRE(evicted.empty());
    }
    uint64_t bytes = 0;
    for (const auto& [k, s] : shadow)
      bytes += s;
    REQUIRE(p->bytes() == bytes);
    REQUIRE(p->objects() == shadow.size());
    if (options.capacity_bytes > 0) REQUIRE(p->bytes() <= options.capacity_bytes);
    if (options.capacity_objects > 0) REQUIRE(p->objects() <= options.capacity_objects);
    if (step % 500 == 0)
      for (ObjectKey k = 0; k < 300; ++k)
        REQUIRE(p->contains(k) == (shadow.count(k) == 1));
  }
  if (kind != EvictionKind::kWTinyLfu) CHECK(refused == 0);
  for (const auto& [k, s] : shadow)
    p->remove(k);
  CHECK(p->objects() == 0);
  CHECK(p->bytes() == 0);
  return digest;
}

}  // namespace

TEST_CASE("every policy keeps its totals, capacity and contents over a random trace") {
  std::vector<EvictionOptions> configs(4);
  configs[0].capacity_objects = 40;
  configs[1].capacity_bytes = 5000;
  configs[2].capacity_bytes = 4000;
  configs[2].capacity_objects = 30;
  configs[3].capacity_objects = 3;
  configs[3].lfu_aging_period = 50;
  configs[3].clock_max_count = 3;
  for (const auto& [name, kind] : eviction_names()) {
    for (size_t c = 0; c < configs.size(); ++c) {
      INFO(name << " configuration " << c);
      const uint64_t first = check_properties(kind, configs[c], 11 + c);
      CHECK(check_properties(kind, configs[c], 11 + c) == first);  // deterministic
    }
  }
}

TEST_CASE("an object larger than the byte capacity is refused and evicts nothing") {
  for (const auto& [name, kind] : eviction_names()) {
    INFO(name);
    EvictionOptions o;
    o.capacity_bytes = 100;
    auto p = make_eviction(kind, o);
    std::vector<ObjectKey> ev;
    REQUIRE(p->admit(1, 60, 0, ev));
    CHECK_FALSE(p->admit(2, 101, 0, ev));
    CHECK(ev.empty());
    CHECK(p->contains(1));
    CHECK_FALSE(p->contains(2));
    CHECK(p->bytes() == 60);
    // Exactly the capacity: admitted, 1 evicted (W-TinyLFU: 3's estimate, 1 after its
    // missed lookup, beats 1's 0).
    CHECK_FALSE(p->lookup(3));
    REQUIRE(p->admit(3, 100, 0, ev));
    CHECK(ev == Keys{1});
    p->remove(3);
    CHECK(p->objects() == 0);
    p->remove(3);  // not cached: a no-op
    CHECK(p->bytes() == 0);
  }
}

TEST_CASE("admitting a cached key is an invariant broken") {
  for (const auto& [name, kind] : eviction_names()) {
    INFO(name);
    auto p = make_eviction(kind, objects_cap(4));
    std::vector<ObjectKey> ev;
    REQUIRE(p->admit(1, 1, 0, ev));
    CHECK_THROWS_AS(p->admit(1, 1, 0, ev), InvariantBroken);
  }
}
