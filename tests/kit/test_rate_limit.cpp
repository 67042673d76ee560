// The rate limiters of the kit: the token bucket's exact bound (burst + floor(rate x t) in
// any interval of length t, reached under saturating demand), GCRA making the same
// decisions, the leaky queue's spacing, the fixed window's boundary burst, the sliding
// log's exactness, the sliding window counter's documented error, keyed limiters and the
// rate_limit parameters.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/rate_limit.h"
#include "sim/core/params.h"
#include "sim/core/rng.h"
#include "sim/core/units.h"

using namespace dsim;
using namespace dsim::kit;

namespace {

SimTime at(Duration d) {
  return SimTime::zero() + d;
}

struct Admitted {
  int64_t time_ns;
  uint64_t cost;
};

// burst + floor(rate x t), exact (the rates and spans of these tests keep it in 64 bits).
uint64_t bucket_bound(Rate rate, uint64_t burst, int64_t t_ns) {
  return burst + static_cast<uint64_t>(t_ns) * rate.count / static_cast<uint64_t>(rate.per.ns());
}

// The largest sum of costs admitted in a closed interval [s, s + t], over every s (an
// interval holding the most starts at an admission).
uint64_t most_in_closed(const std::vector<Admitted>& log, int64_t t_ns) {
  uint64_t best = 0, sum = 0;
  size_t j = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    while (j < log.size() && log[j].time_ns - log[i].time_ns <= t_ns)
      sum += log[j++].cost;
    best = std::max(best, sum);
    sum -= log[i].cost;
  }
  return best;
}

// Requests at random times (gaps uniform in [0, 2 x mean_gap_ns]) and costs (1 to
// max_cost), non-decreasing, from 0.
std::vector<Admitted> arrivals(uint64_t seed, size_t n, uint64_t mean_gap_ns, uint32_t max_cost) {
  Rng rng(seed, stream_id("rate_limit_test"));
  std::vector<Admitted> out;
  int64_t t = 0;
  for (size_t i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng.below64(2 * mean_gap_ns + 1));
    out.push_back({t, 1 + rng.below(max_cost)});
  }
  return out;
}

struct BucketCase {
  Rate rate;
  uint64_t burst;
  Duration horizon;
};

const BucketCase kBucketCases[] = {
    {Rate{7, seconds(3)}, 5, seconds(20)},    // 7/3 per second
    {Rate{7, seconds(3)}, 1, seconds(10)},    // not exact: overflows between instants
    {Rate{100, seconds(1)}, 20, seconds(2)},  //
    {Rate{1, seconds(1)}, 1, seconds(5)},     //
    {Rate{3, ms(7)}, 3, ms(300)},             // 428.57.../s
    {Rate{1'000'000, seconds(1)}, 10, ms(20)},
    {Rate{999'999, seconds(7)}, 4, ms(50)},
};

}  // namespace

TEST_CASE("rate: per_second recovers the exact fraction of a rate as written") {
  const auto exact = [](const char* text) {
    std::string err;
    const auto r = parse_rate(text, &err);
    REQUIRE(r);
    return Rate::per_second(*r);
  };
  CHECK(exact("7/3s").count == 7);
  CHECK(exact("7/3s").per == seconds(3));
  CHECK(exact("100/30min").count == 1);
  CHECK(exact("100/30min").per == seconds(18));
  CHECK(exact("5/ms").count == 1);
  CHECK(exact("5/ms").per == microseconds(200));
  CHECK(exact("2.5/s").count == 1);
  CHECK(exact("2.5/s").per == ms(400));
  CHECK(exact("1e9/s").per == nanoseconds(1));
  CHECK(Rate::per_second(7.0 / 3).per == seconds(3));
}

// Demand every microsecond, each instant asking until refused: from a full bucket, the
// requests admitted in [0, t] are exactly burst + floor(rate x t) at every instant t, when
// the bucket never overflows between two instants (burst >= 2 here, or whole tokens
// falling on the microsecond grid). With burst 1 and 7/3 per second a token becomes whole
// between two instants and the cap loses the fraction accrued until the next: the bound
// holds, not the equality.
TEST_CASE("token bucket: exactly burst + floor(rate x t) under saturating demand") {
  for (const BucketCase& c : kBucketCases) {
    INFO("rate " << c.rate.count << " per " << c.rate.per.ns() << "ns, burst " << c.burst);
    TokenBucket bucket(c.rate, c.burst);
    const bool lossy = c.burst == 1 && c.rate.count == 7;
    std::vector<Admitted> log;
    uint64_t admitted = 0;
    bool exact = true;
    for (int64_t t = 0; t <= c.horizon.ns(); t += 1'000) {
      while (bucket.try_acquire(SimTime::from_ns(t))) {
        ++admitted;
        log.push_back({t, 1});
      }
      const uint64_t bound = bucket_bound(c.rate, c.burst, t);
      if (admitted > bound || (admitted != bound && !lossy)) {
        exact = false;
        FAIL_CHECK("at " << t << "ns: " << admitted << " admitted");
        break;
      }
    }
    CHECK(exact);
    for (int64_t len : {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1'000}, c.horizon.ns() / 7,
                        c.horizon.ns() / 3, c.horizon.ns()}) {
      CHECK(most_in_closed(log, len) <= bucket_bound(c.rate, c.burst, len));
    }
  }
}

// Random demand (bursts and quiet spells, costs 1 to 3): no closed interval of length t
// holds more than burst + floor(rate x t) tokens' worth; the GCRA meter decides alike.
TEST_CASE("token bucket: the bound holds in every interval, and GCRA decides the same") {
  for (const BucketCase& c : kBucketCases) {
    for (uint64_t seed : {1, 2, 3}) {
      INFO("rate " << c.rate.count << " per " << c.rate.per.ns() << "ns, burst " << c.burst
                   << ", seed " << seed);
      const uint64_t gap =
          static_cast<uint64_t>(c.rate.per.ns()) / c.rate.count / 2 + 1;  // twice the rate
      const auto demand = arrivals(seed, 20'000, gap, 3);
      TokenBucket bucket(c.rate, c.burst);
      GcraMeter gcra(c.rate, c.burst);
      std::vector<Admitted> log;
      size_t differ = 0;
      for (const Admitted& a : demand) {
        const auto now = SimTime::from_ns(a.time_ns);
        const auto cost = static_cast<uint32_t>(a.cost);
        const bool ok = bucket.try_acquire(now, cost);
        if (ok != gcra.try_acquire(now, cost)) ++differ;
        if (ok) log.push_back(a);
      }
      CHECK(differ == 0);
      CHECK(log.size() > c.burst);
      const int64_t span = demand.back().time_ns;
      for (int i = 0; i <= 40; ++i) {
        const int64_t len = span / 40 * i + i;
        CHECK(most_in_closed(log, len) <= bucket_bound(c.rate, c.burst, len));
      }
    }
  }
}

TEST_CASE("token bucket: refills to full and no further, a cost above burst never passes") {
  TokenBucket b(Rate{10, seconds(1)}, 5);
  CHECK(b.idle(at(ms(0))));
  CHECK(b.try_acquire(at(ms(0)), 5));
  CHECK_FALSE(b.try_acquire(at(ms(0))));
  CHECK(b.tokens(at(ms(99))) == 0);
  CHECK(b.tokens(at(ms(100))) == 1);
  CHECK_FALSE(b.idle(at(ms(499))));
  CHECK(b.idle(at(ms(500))));
  CHECK(b.tokens(at(seconds(100))) == 5);
  CHECK_FALSE(b.try_acquire(at(seconds(100)), 6));
  CHECK(b.tokens(at(seconds(100))) == 5);  // a refusal takes nothing
}

// A FIFO drained at 100/s with 4 places: requests that find it busy leave 10 ms apart; the
// one that finds it free leaves at once and does not wait.
TEST_CASE("leaky queue: delays are the spacing 1/r, at most queue requests wait") {
  LeakyQueue q(Rate{100, seconds(1)}, 4);
  for (int i = 0; i <= 4; ++i) {
    const RateDecision d = q.try_acquire(at(ms(0)));
    CHECK(d.admitted);
    CHECK(d.delay == ms(10) * i);
  }
  CHECK_FALSE(q.try_acquire(at(ms(0))).admitted);  // a fifth would wait
  // At 25 ms the drain is free at 50 ms: newcomers leave at 50 and 60 ms; then four wait
  // (30, 40, 50, 60 ms) and the queue is full.
  const RateDecision d = q.try_acquire(at(ms(25)));
  CHECK(d.admitted);
  CHECK(d.delay == ms(25));
  CHECK(q.try_acquire(at(ms(25))).delay == ms(35));
  CHECK_FALSE(q.try_acquire(at(ms(25))).admitted);
  CHECK_FALSE(q.idle(at(ms(69))));
  CHECK(q.idle(at(ms(70))));
  CHECK(q.try_acquire(at(ms(200))).delay == Duration::zero());
}

TEST_CASE(
    "leaky queue: with a rate of 7/3 per second each departure is the exact one, rounded up") {
  LeakyQueue q(Rate{7, seconds(3)}, 1'000);
  for (int64_t k = 0; k <= 1'000; ++k) {
    const RateDecision d = q.try_acquire(at(ms(0)));
    REQUIRE(d.admitted);
    const int64_t exact_up = (k * 3'000'000'000 + 6) / 7;  // ceil(k x 3 s / 7)
    if (d.delay.ns() != exact_up) FAIL("request " << k << " delayed " << d.delay.ns() << "ns");
  }
  CHECK_FALSE(q.try_acquire(at(ms(0))).admitted);
  // At 1 s the 1001st and 1002nd places are within 1000 x 3/7 s: on the same exact grid.
  for (int64_t k : {1'001, 1'002}) {
    const RateDecision d = q.try_acquire(at(seconds(1)));
    REQUIRE(d.admitted);
    CHECK(d.delay.ns() == (k * 3'000'000'000 + 6) / 7 - seconds(1).ns());
  }
  CHECK_FALSE(q.try_acquire(at(seconds(1))).admitted);
}

TEST_CASE("leaky queue: with no room to wait only a request finding the drain free passes") {
  LeakyQueue q(Rate{10, seconds(1)}, 0);
  CHECK(q.try_acquire(at(ms(0))).admitted);
  CHECK_FALSE(q.try_acquire(at(ms(99))).admitted);
  CHECK(q.try_acquire(at(ms(100))).admitted);
  CHECK(q.try_acquire(at(ms(100))).admitted == false);
}

// The fixed window's known weakness: limit at the end of one window and limit at the start
// of the next, 2 x limit within a millisecond.
TEST_CASE("fixed window: twice the limit passes across a window boundary") {
  FixedWindow w(10, seconds(1));
  int early = 0, late = 0;
  for (int i = 0; i < 15; ++i)
    early += w.try_acquire(at(ms(999)));
  for (int i = 0; i < 15; ++i)
    late += w.try_acquire(at(ms(1'000)));  // 1 s starts the second window
  CHECK(early == 10);
  CHECK(late == 10);
  CHECK_FALSE(w.try_acquire(at(ms(1'999))));
  CHECK(w.try_acquire(at(ms(2'000)), 10));
  CHECK_FALSE(w.idle(at(ms(2'500))));
  CHECK(w.idle(at(ms(3'000))));
}

// Random arrivals, five times the limit's rate: every half-open interval (s - window, s]
// holds at most `limit` admitted, and every refusal is one that would have broken that.
TEST_CASE("sliding log: never more than limit in any window, refuses only when full") {
  for (uint64_t seed : {4, 5, 6}) {
    INFO("seed " << seed);
    const uint64_t limit = 50;
    const Duration window = ms(100);
    SlidingLog log(limit, window);
    const auto demand = arrivals(seed, 20'000, 400'000, 2);
    std::vector<Admitted> admitted;
    size_t j = 0;
    uint64_t sum = 0;  // admitted in (now - window, now], kept here independently
    for (const Admitted& a : demand) {
      while (j < admitted.size() && a.time_ns - admitted[j].time_ns >= window.ns())
        sum -= admitted[j++].cost;
      const bool ok = log.try_acquire(SimTime::from_ns(a.time_ns), static_cast<uint32_t>(a.cost));
      if (ok != (sum + a.cost <= limit)) FAIL("decision at " << a.time_ns << "ns, " << sum);
      if (ok) {
        admitted.push_back(a);
        sum += a.cost;
      }
      REQUIRE(sum <= limit);
      REQUIRE(log.entries() <= limit);
    }
    CHECK(admitted.size() > 1'000);
    CHECK(most_in_closed(admitted, window.ns() - 1) <= limit);
  }
}

TEST_CASE("sliding log: an entry stops counting exactly one window after it") {
  SlidingLog log(2, seconds(1));
  CHECK(log.try_acquire(at(ms(0))));
  CHECK(log.try_acquire(at(ms(500))));
  CHECK_FALSE(log.try_acquire(at(ms(999))));
  CHECK(log.try_acquire(at(ms(1'000))));
  CHECK(log.in_window(at(ms(1'000))) == 2);
  CHECK(log.idle(at(ms(2'000))));
}

// Cloudflare's worked example: 42 requests in the previous minute, 18 in this one, 15 s
// into it: 42 x 45/60 + 18 = 49.5 < 50 admits; then 50.5 refuses.
TEST_CASE("sliding window counter: the previous window weighted by its overlap") {
  SlidingWindowCounter c(50, seconds(60));
  for (int i = 0; i < 42; ++i)
    REQUIRE(c.try_acquire(at(seconds(30))));
  for (int i = 0; i < 18; ++i)
    REQUIRE(c.try_acquire(at(seconds(75))));
  CHECK(c.try_acquire(at(seconds(75))));        // 42 x 0.75 + 18 = 49.5 < 50
  CHECK_FALSE(c.try_acquire(at(seconds(75))));  // 42 x 0.75 + 19 = 50.5
  CHECK(c.try_acquire(at(seconds(90))));        // 42 x 0.5 + 19 = 40
  // Two windows on, nothing counts.
  CHECK(c.idle(at(seconds(180))));
  CHECK(c.try_acquire(at(seconds(180)), 50));
}

// The documented error: at every admission time s in window k (elapsed e), the admitted
// count in (s - window, s] is at most limit + ceil(max(E, 0)), where E is the previous
// window's admitted count after s - window minus its estimate prev x (window - e)/window;
// and never above 2 x limit; one window's own count never above limit.
TEST_CASE("sliding window counter: its excess over limit is bounded by the estimate's error") {
  for (uint64_t seed : {7, 8, 9, 10}) {
    INFO("seed " << seed);
    const uint64_t limit = 40;
    const int64_t w = ms(100).ns();
    SlidingWindowCounter counter(limit, ms(100));
    // Demand far above the limit: admissions bunch at each window's end, as the
    // previous window's weight fades.
    const auto demand = arrivals(seed, 30'000, 300'000, 1);
    std::vector<int64_t> admitted;
    for (const Admitted& a : demand) {
      if (counter.try_acquire(SimTime::from_ns(a.time_ns))) admitted.push_back(a.time_ns);
    }
    REQUIRE(admitted.size() > 1'000);
    bool excess_seen = false;
    for (size_t i = 0; i < admitted.size(); ++i) {
      const int64_t s = admitted[i], k = s / w, e = s - k * w;
      const auto first = [&](int64_t t) {  // index of the first admission at or after t
        return std::lower_bound(admitted.begin(), admitted.end(), t) - admitted.begin();
      };
      const int64_t end = std::upper_bound(admitted.begin(), admitted.end(), s) - admitted.begin();
      const int64_t in_window = end - first(s - w + 1);
      const int64_t own = end - first(k * w);
      const int64_t prev = first(k * w) - first((k - 1) * w);
      const int64_t tail = first(k * w) - first(s - w + 1);
      // ceil(max(E, 0)) with E x w = tail x w - prev x (w - e), exactly.
      const int64_t err_w = std::max<int64_t>(0, tail * w - prev * (w - e));
      const int64_t err = (err_w + w - 1) / w;
      REQUIRE(own <= static_cast<int64_t>(limit));
      REQUIRE(in_window <= static_cast<int64_t>(limit) + err);
      REQUIRE(in_window <= 2 * static_cast<int64_t>(limit));
      excess_seen |= in_window > static_cast<int64_t>(limit);
    }
    CHECK(excess_seen);  // the approximation does let more than limit through at times
  }
}

TEST_CASE("keyed limiters: each key has its own limiter") {
  KeyedLimiters keyed(TokenBucket(Rate{1, seconds(1)}, 2), 100);
  CHECK(keyed.admit(at(ms(0)), 1).admitted);
  CHECK(keyed.admit(at(ms(0)), 1).admitted);
  CHECK_FALSE(keyed.admit(at(ms(0)), 1).admitted);
  CHECK(keyed.admit(at(ms(0)), 2).admitted);  // key 2 untouched by key 1's use
  CHECK(keyed.admit(at(ms(0)), 2).admitted);
  CHECK_FALSE(keyed.admit(at(ms(0)), 2).admitted);
  CHECK(keyed.admit(at(ms(1'000)), 1).admitted);
  CHECK(keyed.keys() == 2);
  CHECK(keyed.evicted() == 0);
}

TEST_CASE("keyed limiters: past max_keys the least recently used key is dropped") {
  KeyedLimiters keyed(FixedWindow(1, seconds(10)), 2);
  CHECK(keyed.admit(at(ms(0)), 1).admitted);
  CHECK(keyed.admit(at(ms(1)), 2).admitted);
  CHECK_FALSE(keyed.admit(at(ms(2)), 1).admitted);  // key 1 is now the most recent
  CHECK(keyed.admit(at(ms(3)), 3).admitted);        // drops key 2
  CHECK(keyed.keys() == 2);
  CHECK(keyed.evicted() == 1);
  CHECK(keyed.find(1) != nullptr);
  CHECK(keyed.find(2) == nullptr);
  CHECK(keyed.find(3) != nullptr);
  CHECK(keyed.admit(at(ms(4)), 2).admitted);  // a fresh limiter: key 2's use is forgotten
  CHECK(keyed.find(1) == nullptr);
  CHECK_FALSE(keyed.admit(at(ms(5)), 3).admitted);
}

// Seven keys in turn, 50 ms apart: each key's limiter (at most 3 x 100 ms of backlog) is
// idle again by the key's next request, so one place, dropping a limiter at every request,
// decides as a place for each key does.
TEST_CASE("keyed limiters: dropping idle limiters changes no decision") {
  const Limiter proto = GcraMeter(Rate{10, seconds(1)}, 3);
  KeyedLimiters one(proto, 1), many(proto, 1'000);
  Rng rng(12, stream_id("rate_limit_test"));
  size_t differ = 0, busy = 0, refused = 0;
  for (int64_t i = 0; i < 5'000; ++i) {
    const auto now = at(ms(50) * i);
    const uint64_t key = static_cast<uint64_t>(i % 7);
    const auto cost = 1 + rng.below(4);  // a cost of 4 is above the burst: refused
    if (many.find(key) && !idle(*many.find(key), now)) ++busy;
    const bool a = one.admit(now, key, cost).admitted;
    if (a != many.admit(now, key, cost).admitted) ++differ;
    refused += !a;
  }
  CHECK(busy == 0);
  CHECK(differ == 0);
  CHECK(refused > 0);
  CHECK(one.evicted() == 4'999);
  CHECK(many.keys() == 7);
}

TEST_CASE("rate limiter: scope global shares one limiter, per_key one each, counted") {
  RateLimitPolicy p;
  p.algorithm = RateLimitPolicy::Algorithm::kFixedWindow;
  p.limit = 2;
  p.window = seconds(1);
  RateLimiter global(p);
  p.scope = RateLimitPolicy::Scope::kPerKey;
  RateLimiter keyed(p);
  for (uint64_t key = 0; key < 4; ++key) {
    global.admit(at(ms(0)), key);
    keyed.admit(at(ms(0)), key);
  }
  CHECK(global.allowed() == 2);
  CHECK(global.rejected() == 2);
  CHECK(keyed.allowed() == 4);
  CHECK(keyed.keys() == 4);
  p.algorithm = RateLimitPolicy::Algorithm::kLeakyQueue;
  p.rate = Rate{50, seconds(1)};
  p.queue = 1;
  RateLimiter queued(p);
  CHECK(queued.admit(at(ms(0)), 9).delay == Duration::zero());
  CHECK(queued.admit(at(ms(0)), 9).delay == ms(20));  // the key's own queue
  CHECK_FALSE(queued.admit(at(ms(0)), 9).admitted);
  CHECK(queued.admit(at(ms(0)), 8).delay == Duration::zero());
  CHECK(queued.rejected() == 1);
  RateLimiter none{RateLimitPolicy{}};
  CHECK(none.admit(at(ms(0))).admitted);
  CHECK(none.allowed() == 1);
}

namespace {

SourceLoc loc(int line) {
  return SourceLoc{"s.yaml", line, 7};
}

struct Params {
  Diagnostics diags;
  ParamEnv env;
  ParamNode node = ParamNode::make_map(loc(1));
  Params() { env.diagnostics = &diags; }

  // Reads `rate_limit: {entries}` of a group's params.
  RateLimitPolicy read(const std::vector<std::pair<std::string, std::string>>& entries) {
    ParamNode m = ParamNode::make_map(loc(2));
    int line = 3;
    for (const auto& [k, v] : entries)
      m.set(k, ParamNode::make_scalar(v, loc(line++)));
    node.set("rate_limit", std::move(m));
    ParamReader r(&node, &env, "groups[0].params");
    RateLimitPolicy p;
    read_rate_limit(r, p);
    r.finish();
    return p;
  }
  std::string errors() const { return diags.render(); }
};

bool has(const std::string& all, const std::string& part) {
  return all.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("rate_limit params: a full map is read, an absent one is none") {
  Params a;
  const RateLimitPolicy p = a.read({{"algorithm", "leaky_queue"},
                                    {"rate", "7/3s"},
                                    {"queue", "5"},
                                    {"scope", "per_client"},
                                    {"max_keys", "64"}});
  INFO(a.errors());
  CHECK(a.diags.ok());
  CHECK(p.algorithm == RateLimitPolicy::Algorithm::kLeakyQueue);
  CHECK(p.rate.count == 7);
  CHECK(p.rate.per == seconds(3));
  CHECK(p.queue == 5);
  CHECK(p.scope == RateLimitPolicy::Scope::kPerClient);
  CHECK(p.max_keys == 64);

  Params b;
  const RateLimitPolicy w =
      b.read({{"algorithm", "sliding_window"}, {"limit", "30"}, {"window", "2s"}});
  CHECK(b.diags.ok());
  CHECK(w.limit == 30);
  CHECK(w.window == seconds(2));

  Diagnostics diags;
  ParamEnv env;
  env.diagnostics = &diags;
  const ParamNode empty = ParamNode::make_map(loc(1));
  ParamReader r(&empty, &env, "p");
  RateLimitPolicy none;
  read_rate_limit(r, none);
  r.finish();
  CHECK(diags.ok());
  CHECK_FALSE(none.enabled());
}

TEST_CASE("rate_limit params: impossible values are errors naming the key") {
  const std::string k = "groups[0].params.rate_limit.";
  Params a;
  a.read({{"algorithm", "token_bucket"}, {"rate", "0/s"}, {"burst", "0"}});
  CHECK(has(a.errors(), "s.yaml:4:7: error: " + k + "rate: must be > 0"));
  CHECK(has(a.errors(), k + "burst: must be between 1 and 1000000000, got 0"));
  CHECK(a.diags.all().size() == 2);

  Params b;
  b.read({{"algorithm", "fixed_window"}, {"window", "0s"}, {"limit", "0"}});
  CHECK(has(b.errors(), k + "window: must be > 0"));
  CHECK(has(b.errors(), k + "limit: must be between 1 and 1000000000, got 0"));
  CHECK(b.diags.all().size() == 2);

  Params c;
  c.read({{"algorithm", "token_buckets"}});
  CHECK(has(c.errors(), k + "algorithm"));
  CHECK(has(c.errors(), "token_buckets"));
  CHECK(has(c.errors(), "sliding_window"));

  Params d;  // a parameter the algorithm does not use
  d.read({{"algorithm", "token_bucket"}, {"queue", "5"}, {"max_keys", "9"}});
  CHECK(has(d.errors(), "unknown key 'queue'"));
  CHECK(has(d.errors(), "unknown key 'max_keys'"));

  Params e;
  e.read({{"algorithm", "sliding_log"}, {"limit", "2000000"}});
  CHECK(has(e.errors(), k + "limit: sliding_log keeps one entry per request"));

  Params f;
  f.read({{"algorithm", "leaky_bucket"}, {"rate", "fast"}});
  CHECK(has(f.errors(), k + "rate"));
}

TEST_CASE("rate_limit params: documented, every key with its default") {
  Diagnostics diags;
  ParamEnv env;
  env.diagnostics = &diags;
  env.doc_mode = true;
  ParamReader r(nullptr, &env, "");
  RateLimitPolicy p;
  read_rate_limit(r, p);
  std::vector<std::string> keys;
  for (const auto& d : r.docs())
    keys.push_back(d.key);
  for (const char* key :
       {"rate_limit.algorithm", "rate_limit.rate", "rate_limit.burst", "rate_limit.queue",
        "rate_limit.limit", "rate_limit.window", "rate_limit.scope", "rate_limit.max_keys"}) {
    CHECK(std::find(keys.begin(), keys.end(), key) != keys.end());
  }
}
