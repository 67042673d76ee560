// The balancer policies, each alone on a scripted sequence of picks: what it chooses
// given what the caller observed, and what it learns from answers and redirects.
// Statistical checks allow five standard deviations of their sample sizes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "models/kit/balancer.h"
#include "models/kit/hash_slots.h"
#include "sim/core/assert.h"

using namespace dsim;
using namespace dsim::kit;

namespace {

std::unique_ptr<BalancerPolicy> policy(BalancerKind kind, size_t n = 3, size_t home = 0) {
  BalancerSpec s;
  s.kind = kind;
  auto p = make_balancer(s);
  p->start(n, home);
  return p;
}

std::vector<size_t> picks(BalancerPolicy& p, std::vector<Observed>& obs, int count,
                          PickRequest req = {}) {
  Rng rng(1, 2);
  std::vector<size_t> out;
  for (int i = 0; i < count; ++i)
    out.push_back(p.pick(obs, req, rng));
  return out;
}

// Five standard deviations of a share p estimated from n draws.
double tolerance(double p, int n) {
  return 5 * std::sqrt(p * (1 - p) / n);
}

}  // namespace

TEST_CASE("balancer: every policy has a name that reads back") {
  for (const auto& [name, kind] : balancer_choices())
    CHECK(balancer_name(kind) == name);
  CHECK(balancer_choices().size() == 16);
}

TEST_CASE("balancer: random is the caller's draw below n, and skips unhealthy candidates") {
  std::vector<Observed> obs(4);
  auto p = policy(BalancerKind::kRandom, 4);
  Rng mirror(1, 2);
  for (size_t pick : picks(*p, obs, 50))
    CHECK(pick == mirror.below(4));  // exactly one draw per pick, as a client's own code did
  obs[1].healthy = obs[3].healthy = false;
  std::map<size_t, int> count;
  for (size_t pick : picks(*p, obs, 4000))
    ++count[pick];
  CHECK(count.size() == 2);
  CHECK(count[0] == Approx(2000).margin(4000 * tolerance(0.5, 4000)));
  // None healthy: every candidate is eligible again (panic mode).
  for (auto& o : obs)
    o.healthy = false;
  std::set<size_t> seen;
  for (size_t pick : picks(*p, obs, 200))
    seen.insert(pick);
  CHECK(seen.size() == 4);
}

TEST_CASE("balancer: round robin takes turns and passes over unhealthy candidates") {
  std::vector<Observed> obs(3);
  auto p = policy(BalancerKind::kRoundRobin);
  CHECK(picks(*p, obs, 6) == std::vector<size_t>{0, 1, 2, 0, 1, 2});
  obs[1].healthy = false;
  CHECK(picks(*p, obs, 4) == std::vector<size_t>{0, 2, 0, 2});
}

TEST_CASE("balancer: smooth weighted round robin spreads a heavy candidate's turns (nginx)") {
  std::vector<Observed> obs(3);
  obs[0].weight = 5;
  auto p = policy(BalancerKind::kWeightedRoundRobin);
  // nginx's example: weights 5, 1, 1 give a a b a c a a.
  CHECK(picks(*p, obs, 14) == std::vector<size_t>{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0});
}

TEST_CASE("balancer: least outstanding picks the idlest, ties at random") {
  std::vector<Observed> obs(4);
  obs[0].outstanding = 3;
  obs[1].outstanding = 1;
  obs[2].outstanding = 1;
  obs[3].outstanding = 2;
  auto p = policy(BalancerKind::kLeastOutstanding, 4);
  std::map<size_t, int> count;
  for (size_t pick : picks(*p, obs, 2000))
    ++count[pick];
  CHECK(count.size() == 2);
  CHECK(count[1] == Approx(1000).margin(2000 * tolerance(0.5, 2000)));
  obs[2].outstanding = 0;
  CHECK(picks(*p, obs, 3) == std::vector<size_t>{2, 2, 2});
}

TEST_CASE("balancer: power of two choices, with and without replacement") {
  // One idle candidate among four busy ones is picked whenever it is sampled:
  // without replacement with probability 1 - C(3,2)/C(4,2) = 1/2, with replacement
  // 1 - (3/4)^2 = 7/16.
  std::vector<Observed> obs(4);
  for (auto& o : obs)
    o.outstanding = 5;
  obs[2].outstanding = 0;
  for (bool replacement : {false, true}) {
    BalancerSpec s;
    s.kind = BalancerKind::kPowerOfD;
    s.with_replacement = replacement;
    auto p = make_balancer(s);
    p->start(4, 0);
    int idle = 0;
    const int n = 20000;
    for (size_t pick : picks(*p, obs, n))
      idle += pick == 2;
    const double expected = replacement ? 7.0 / 16 : 0.5;
    INFO("with replacement: " << replacement);
    CHECK(static_cast<double>(idle) / n == Approx(expected).margin(tolerance(expected, n)));
  }
  // d as large as the set: always the least loaded.
  BalancerSpec all;
  all.kind = BalancerKind::kPowerOfD;
  all.d = 4;
  auto p = make_balancer(all);
  p->start(4, 0);
  CHECK(picks(*p, obs, 5) == std::vector<size_t>{2, 2, 2, 2, 2});
}

TEST_CASE("balancer: least latency weighs the peak-EWMA estimate by the calls in flight") {
  BalancerSpec s;
  s.kind = BalancerKind::kLeastLatency;
  s.d = 3;  // every candidate: the lowest cost
  auto p = make_balancer(s);
  p->start(3, 0);
  std::vector<Observed> obs(3);
  const SimTime now = SimTime::zero() + seconds(1);
  for (auto& o : obs)
    o.latency_at = now;
  obs[0].latency_ns = 100e6;
  obs[1].latency_ns = 10e6;
  obs[2].latency_ns = 50e6;
  PickRequest req;
  req.now = now;
  CHECK(picks(*p, obs, 3, req) == std::vector<size_t>{1, 1, 1});
  obs[1].outstanding = 20;  // 10 ms x 21 > 50 ms x 1
  CHECK(picks(*p, obs, 1, req) == std::vector<size_t>{2});
  // A busy candidate never measured comes last, an idle one first.
  Observed fresh;
  fresh.outstanding = 1;
  obs.push_back(fresh);
  BalancerSpec s4 = s;
  s4.d = 4;
  auto p4 = make_balancer(s4);
  CHECK(picks(*p4, obs, 1, req) == std::vector<size_t>{2});
  obs[3].outstanding = 0;
  CHECK(picks(*p4, obs, 1, req) == std::vector<size_t>{3});
}

TEST_CASE("balancer: the peak EWMA jumps up at once and decays toward lower samples") {
  Observed o;
  const Duration tau = seconds(10);
  SimTime t = SimTime::zero();
  observe_latency(o, ms(10), t, tau);
  CHECK(o.latency_ns == 10e6);
  observe_latency(o, ms(50), t + ms(1), tau);  // a slow answer: the estimate jumps to it
  CHECK(o.latency_ns == 50e6);
  t = t + ms(1) + seconds(10);  // one time constant later, a 10 ms sample
  observe_latency(o, ms(10), t, tau);
  const double w = std::exp(-1.0);
  CHECK(o.latency_ns == Approx(50e6 * w + 10e6 * (1 - w)));
}

TEST_CASE("balancer: fixed and sticky") {
  std::vector<Observed> obs(3);
  BalancerSpec f;
  f.kind = BalancerKind::kFixed;
  f.fixed = 4;
  auto fixed = make_balancer(f);
  CHECK(picks(*fixed, obs, 2) == std::vector<size_t>{1, 1});

  auto sticky = policy(BalancerKind::kSticky, 3, /*home=*/2);
  Rng rng(1, 1);
  PickRequest req;
  CHECK(sticky->pick(obs, req, rng) == 2);
  sticky->answered(0, req);  // whoever answers is kept
  CHECK(sticky->pick(obs, req, rng) == 0);
  req.retry = true;
  req.failed = 0;  // it failed us: the next one
  CHECK(sticky->pick(obs, req, rng) == 1);
  req.failed = kNoCandidate;  // failed at a node outside the set: start after the first
  CHECK(sticky->pick(obs, req, rng) == 1);
  req.retry = false;
  sticky->redirected(2, req);  // a redirect names the node to stick to
  CHECK(sticky->pick(obs, req, rng) == 2);
  obs[2].healthy = false;  // unhealthy: the next healthy one
  CHECK(sticky->pick(obs, req, rng) == 0);
}

TEST_CASE("balancer: key owner learns per key, forgets after a failure") {
  std::vector<Observed> obs(5);
  auto p = policy(BalancerKind::kKeyOwner, 5);
  Rng rng(3, 4), mirror(3, 4);
  PickRequest k7;
  k7.key = 7;
  CHECK(p->pick(obs, k7, rng) == mirror.below(5));  // not learnt: random
  p->answered(3, k7);
  CHECK(p->pick(obs, k7, rng) == 3);
  PickRequest k8;
  k8.key = 8;
  p->redirected(1, k8);
  CHECK(p->pick(obs, k8, rng) == 1);
  CHECK(p->pick(obs, k7, rng) == 3);
  k7.retry = true;
  k7.failed = 3;
  CHECK(p->pick(obs, k7, rng) == mirror.below(5));  // forgot node 3 for key 7: random again
}

TEST_CASE("balancer: key and client hashes are stable and spread evenly") {
  std::vector<Observed> obs(4);
  auto by_key = policy(BalancerKind::kHashKey, 4);
  auto by_client = policy(BalancerKind::kHashClient, 4);
  Rng rng(1, 1);
  std::map<size_t, int> count;
  const int n = 8000;
  for (uint64_t k = 0; k < n; ++k) {
    PickRequest r;
    r.key = k;
    r.client = 99;
    const size_t a = by_key->pick(obs, r, rng);
    CHECK(by_key->pick(obs, r, rng) == a);
    ++count[a];
    PickRequest same_client;
    same_client.client = 99;
    CHECK(by_client->pick(obs, r, rng) == by_client->pick(obs, same_client, rng));
  }
  for (const auto& [c, k] : count)
    CHECK(static_cast<double>(k) / n == Approx(0.25).margin(tolerance(0.25, n)));
}

TEST_CASE("balancer: consistent hashing follows the ring, bounded loads pass over a full node") {
  BalancerSpec s;
  s.kind = BalancerKind::kConsistentHash;
  s.vnodes = 50;
  s.seed = 9;
  auto p = make_balancer(s);
  p->start(4, 0);
  std::vector<Observed> obs(4);
  const Ring ring({{0, 1}, {1, 1}, {2, 1}, {3, 1}}, 50, 9);
  Rng rng(1, 1);
  for (uint64_t k = 0; k < 500; ++k) {
    PickRequest r;
    r.key = k;
    CHECK(p->pick(obs, r, rng) == ring.owner(key_position(k, 9)));
  }
  // With bounds (c = 1.25): total load 8 over 4 candidates, capacity ceil(1.25 x 9 / 4) = 3.
  BalancerSpec b = s;
  b.load_bound = 1.25;
  auto bounded = make_balancer(b);
  bounded->start(4, 0);
  PickRequest r;
  r.key = 42;
  const auto order = ring.walk(key_position(42, 9), 4);
  obs[order[0]].outstanding = 3;  // the owner is full
  obs[order[1]].outstanding = 5;  // so is the next one clockwise
  CHECK(bounded->pick(obs, r, rng) == order[2]);
  obs[order[0]].outstanding = 2;
  CHECK(bounded->pick(obs, r, rng) == order[0]);
  obs[order[0]].healthy = false;  // unhealthy: passed over like a full one
  CHECK(bounded->pick(obs, r, rng) == order[2]);
}

TEST_CASE("balancer: Maglev fills a prime table evenly and moves few keys when one leaves") {
  const uint32_t m = 65537;
  CHECK(is_prime(m));
  CHECK_FALSE(is_prime(65536));
  CHECK_THROWS_AS(maglev_table(std::vector<double>{1, 1}, 100, 0), InvariantBroken);
  const std::vector<double> five(5, 1.0);
  const auto table = maglev_table(five, m, 7);
  std::map<uint32_t, int> slots;
  for (uint32_t c : table)
    ++slots[c];
  REQUIRE(slots.size() == 5);
  // Round-robin filling: every candidate within one slot of M / 5.
  for (const auto& [c, k] : slots)
    CHECK(std::abs(k - static_cast<int>(m / 5)) <= 1);
  // Candidate 4 leaves: its slots go to the others; the rest mostly stay.
  std::vector<double> four = five;
  four[4] = 0;
  const auto after = maglev_table(four, m, 7);
  int moved = 0;
  for (uint32_t i = 0; i < m; ++i) {
    CHECK(after[i] != 4);
    if (table[i] != 4 && after[i] != table[i]) ++moved;
  }
  CHECK(moved < static_cast<int>(m / 20));  // the paper's "minimal disruption": a few %
  // Weights: a candidate of weight 2 gets twice the slots.
  const auto weighted = maglev_table(std::vector<double>{2, 1, 1}, m, 3);
  int heavy = 0;
  for (uint32_t c : weighted)
    heavy += c == 0;
  CHECK(static_cast<double>(heavy) / m == Approx(0.5).margin(0.01));
  // Through the policy: a key keeps its candidate.
  BalancerSpec s;
  s.kind = BalancerKind::kMaglev;
  s.seed = 7;
  auto p = make_balancer(s);
  std::vector<Observed> obs(5);
  Rng rng(1, 1);
  for (uint64_t k = 0; k < 100; ++k) {
    PickRequest r;
    r.key = k;
    CHECK(p->pick(obs, r, rng) == table[mix64(k ^ mix64(7)) % m]);
  }
}

TEST_CASE("balancer: distinct picks are a partial shuffle of the caller's permutation") {
  std::vector<size_t> order{0, 1, 2, 3, 4, 5};
  Rng rng(5, 5);
  std::set<std::set<size_t>> seen;
  for (int i = 0; i < 50; ++i) {
    pick_distinct(order, 3, rng);
    const std::set<size_t> first(order.begin(), order.begin() + 3);
    CHECK(first.size() == 3);
    seen.insert(first);
  }
  CHECK(seen.size() > 5);
  CHECK(std::set<size_t>(order.begin(), order.end()).size() == 6);  // still a permutation
}

namespace {

std::unique_ptr<BalancerPolicy> dns(Duration ttl, size_t n) {
  BalancerSpec s;
  s.kind = BalancerKind::kDnsRoundRobin;
  s.dns_ttl = ttl;
  auto p = make_balancer(s);
  p->start(n, 0);
  return p;
}

PickRequest at(Duration t) {
  PickRequest req;
  req.now = SimTime::zero() + t;
  return req;
}

}  // namespace

TEST_CASE("balancer: dns_round_robin keeps the first record for a TTL, then the next rotation") {
  std::vector<Observed> obs(3);
  auto p = dns(seconds(10), 3);
  Rng rng(1, 2);
  // The first answer: a drawn rotation, cached for a drawn part of the TTL.
  Rng mirror(1, 2);
  const size_t first = mirror.below(3);
  const auto left = Duration::from_ns(std::llround(mirror.uniform_open01() * 1e10));
  CHECK(p->pick(obs, at(Duration::zero()), rng) == first);
  CHECK(p->pick(obs, at(left - Duration::from_ns(1)), rng) == first);
  // Expired: resolved again, the records rotated by one, kept for a whole TTL.
  CHECK(p->pick(obs, at(left), rng) == (first + 1) % 3);
  CHECK(p->pick(obs, at(left + seconds(10) - Duration::from_ns(1)), rng) == (first + 1) % 3);
  CHECK(p->pick(obs, at(left + seconds(10)), rng) == (first + 2) % 3);
  // A failed attempt's retry takes the record after the one that failed; new calls still go
  // to the first record of the cached answer.
  PickRequest retry = at(left + seconds(11));
  retry.retry = true;
  retry.failed = (first + 2) % 3;
  CHECK(p->pick(obs, retry, rng) == first);
  retry.failed = first;
  CHECK(p->pick(obs, retry, rng) == (first + 1) % 3);
  CHECK(p->pick(obs, at(left + seconds(12)), rng) == (first + 2) % 3);
  // A record the caller knows unhealthy is passed over for the next one.
  obs[(first + 2) % 3].healthy = false;
  CHECK(p->pick(obs, at(left + seconds(13)), rng) == first);
}

TEST_CASE("balancer: under dns_round_robin the clients pinned to a record leave it over one TTL") {
  // N clients resolve at time 0: each gets a random rotation and a cache entry with a
  // uniform part of the TTL left, so those whose answer starts with record 0 (about N/n)
  // re-resolve uniformly over the next TTL, and the share of them still pinned to it
  // after s is 1 - s/TTL. The rotation brings others to record 0 meanwhile: its share of
  // all the clients stays 1/n.
  constexpr int kClients = 4000;
  constexpr size_t kRecords = 4;
  const Duration ttl = seconds(10);
  std::vector<Observed> obs(kRecords);
  std::vector<std::unique_ptr<BalancerPolicy>> clients;
  std::vector<Rng> rngs;
  std::vector<int> pinned;  // the clients on record 0 at time 0
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(dns(ttl, kRecords));
    rngs.emplace_back(7, static_cast<uint64_t>(c));
    if (clients[c]->pick(obs, at(Duration::zero()), rngs[c]) == 0) pinned.push_back(c);
  }
  const double m = static_cast<double>(pinned.size());
  CHECK(m == Approx(kClients / 4.0).margin(kClients * tolerance(0.25, kClients)));
  for (int step = 1; step <= 4; ++step) {
    const Duration s = ttl * step / 4;
    int still = 0, on_first = 0;
    for (int c = 0; c < kClients; ++c) {
      const bool on = clients[c]->pick(obs, at(s - Duration::from_ns(1)), rngs[c]) == 0;
      on_first += on ? 1 : 0;
      still += on && std::binary_search(pinned.begin(), pinned.end(), c) ? 1 : 0;
    }
    const double expect = 1.0 - step / 4.0;
    INFO("after " << step << "/4 of the TTL");
    CHECK(still / m == Approx(expect).margin(tolerance(expect, static_cast<int>(m)) + 1e-9));
    CHECK(on_first == Approx(kClients / 4.0).margin(kClients * tolerance(0.25, kClients)));
  }
}

TEST_CASE("balancer: geo_dns answers the nearest healthy node and keeps it for the TTL") {
  std::vector<Observed> obs(3);
  obs[0].distance = ms(40);
  obs[1].distance = ms(5);  // the nearest
  obs[2].distance = ms(20);
  BalancerSpec s;
  s.kind = BalancerKind::kGeoDns;
  s.dns_ttl = seconds(10);
  auto p = make_balancer(s);
  p->start(3, 0);
  Rng rng(1, 2);
  Rng mirror(1, 2);
  const auto left = Duration::from_ns(std::llround(mirror.uniform_open01() * 1e10));
  CHECK(p->pick(obs, at(Duration::zero()), rng) == 1);
  // The nearest node fails and the caller knows it: the cached answer still stands, for
  // new calls and retries alike (one record: nothing else to try).
  obs[1].healthy = false;
  PickRequest retry = at(left - Duration::from_ns(1));
  retry.retry = true;
  retry.failed = 1;
  CHECK(p->pick(obs, retry, rng) == 1);
  // Expired: the next resolution skips it for the nearest healthy one, for a whole TTL.
  CHECK(p->pick(obs, at(left), rng) == 2);
  obs[1].healthy = true;
  CHECK(p->pick(obs, at(left + seconds(10) - Duration::from_ns(1)), rng) == 2);
  CHECK(p->pick(obs, at(left + seconds(10)), rng) == 1);
}

TEST_CASE("balancer: hash_slots gives each candidate a contiguous, even range of the 16384 slots") {
  std::vector<Observed> obs(4);
  BalancerSpec s;
  s.kind = BalancerKind::kHashSlots;
  auto p = make_balancer(s);
  p->start(4, 0);
  Rng rng(1, 2);
  std::vector<int> count(4, 0);
  std::vector<size_t> owner(1000);
  for (uint64_t key = 0; key < 1000; ++key) {
    PickRequest req;
    req.key = key;
    owner[key] = p->pick(obs, req, rng);
    const uint32_t slot = hash_slot(key);  // Redis's: CRC16 of the key's text
    CHECK(owner[key] == slot / 4096);      // slots [0, 4096) to 0, [4096, 8192) to 1, ...
    ++count[owner[key]];
  }
  for (const int c : count)  // binomial(1000, 1/4): 250 +- 5 standard deviations (68)
    CHECK(std::abs(c - 250) < 69);
  // Candidate 1 fails: its keys, and only its, move to candidate 2.
  obs[1].healthy = false;
  for (uint64_t key = 0; key < 1000; ++key) {
    PickRequest req;
    req.key = key;
    CHECK(p->pick(obs, req, rng) == (owner[key] == 1 ? 2 : owner[key]));
  }
}

TEST_CASE("balancer: local_first keeps any policy to the nearest healthy candidates") {
  std::vector<Observed> obs(4);
  obs[0].distance = ms(35);  // the other data center
  obs[1].distance = ms(1);   // this one
  obs[2].distance = ms(35);
  obs[3].distance = ms(1);
  for (const BalancerKind kind :
       {BalancerKind::kRoundRobin, BalancerKind::kRandom, BalancerKind::kLeastOutstanding,
        BalancerKind::kHashKey, BalancerKind::kConsistentHash}) {
    INFO(balancer_name(kind));
    BalancerSpec s;
    s.kind = kind;
    s.local_first = true;
    auto p = make_balancer(s);
    p->start(4, 0);
    Rng rng(1, 2);
    std::set<size_t> picked;
    for (uint64_t k = 0; k < 200; ++k) {
      PickRequest req = at(Duration::zero());
      req.key = k;
      picked.insert(p->pick(obs, req, rng));
    }
    CHECK(picked == std::set<size_t>{1, 3});  // both near ones, never a far one
    obs[1].healthy = false;                   // one near one is down: the other takes all
    picked.clear();
    for (uint64_t k = 0; k < 200; ++k) {
      PickRequest req = at(Duration::zero());
      req.key = k;
      picked.insert(p->pick(obs, req, rng));
    }
    CHECK(picked == std::set<size_t>{3});
    obs[3].healthy = false;  // none near is healthy: the far ones, both
    picked.clear();
    for (uint64_t k = 0; k < 200; ++k) {
      PickRequest req = at(Duration::zero());
      req.key = k;
      picked.insert(p->pick(obs, req, rng));
    }
    CHECK(picked == std::set<size_t>{0, 2});
    obs[1].healthy = obs[3].healthy = true;
  }
}
