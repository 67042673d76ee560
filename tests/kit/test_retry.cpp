// Retries: the seeds' backoff schedule with its two jitters, and retry budgets.
#include <catch2/catch.hpp>

#include "models/kit/retry.h"

using namespace dsim;
using namespace dsim::kit;

TEST_CASE("retry: delays follow the seeds' pattern and its two jitters") {
  RetryPolicy c;
  c.backoff = RetryPolicy::Backoff::kExponential;
  c.base = seconds(1);
  c.cap = seconds(60);
  c.jitter = RetryPolicy::Jitter::kNone;
  Rng rng(1, 2);
  // The seeds: 1 s, 2 s, 4 s, 8 s, 16 s... capped at 60 s.
  CHECK(c.delay(1, rng) == seconds(1));
  CHECK(c.delay(2, rng) == seconds(2));
  CHECK(c.delay(5, rng) == seconds(16));
  CHECK(c.delay(7, rng) == seconds(60));
  CHECK(c.delay(200, rng) == seconds(60));
  c.jitter = RetryPolicy::Jitter::kProportional;
  c.jitter_fraction = 0.25;
  double lo = 1e30, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    const double d = c.delay(3, rng).to_seconds();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(lo >= 3.0);  // 4 s * 0.75
  CHECK(lo < 3.05);
  CHECK(hi <= 5.0);  // 4 s * 1.25
  CHECK(hi > 4.95);
  c.jitter = RetryPolicy::Jitter::kAdditive;
  c.jitter_max = ms(500);
  lo = 1e30;
  hi = 0;
  for (int i = 0; i < 2000; ++i) {
    const double d = c.delay(3, rng).to_seconds();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(lo >= 4.0);
  CHECK(hi <= 4.5);
  CHECK(hi - lo > 0.45);
  c.backoff = RetryPolicy::Backoff::kFixed;
  c.jitter = RetryPolicy::Jitter::kNone;
  CHECK(c.delay(9, rng) == seconds(1));
  CHECK(c.attempts() == 5);
  c.backoff = RetryPolicy::Backoff::kNone;
  CHECK(c.attempts() == 1);
  CHECK(c.delay(2, rng) == seconds(1));  // a call given attempts anyway waits `base`
}

TEST_CASE("retry: a budget allows ratio x requests plus a floor over its window") {
  RetryBudgetSpec s;
  s.ratio = 0.2;
  s.min_per_second = 1;
  s.window = seconds(10);
  RetryBudget b(s);
  const SimTime t0 = SimTime::zero() + seconds(100);
  for (int i = 0; i < 100; ++i)
    b.request(t0 + ms(i));
  // 0.2 x 100 + 1/s x 10 s = 30 retries, no more.
  int allowed = 0;
  for (int i = 0; i < 50; ++i)
    allowed += b.try_retry(t0 + ms(200 + i));
  CHECK(allowed == 30);
  // Past the window, the old requests and retries no longer count: the floor again.
  allowed = 0;
  for (int i = 0; i < 50; ++i)
    allowed += b.try_retry(t0 + seconds(20) + ms(i));
  CHECK(allowed == 10);
  // No budget: every retry is allowed.
  RetryBudget none;
  for (int i = 0; i < 1000; ++i)
    CHECK(none.try_retry(t0));
}
