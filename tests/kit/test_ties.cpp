// Cancellations of tied requests that come before their copy: kept for a while, bounded,
// and taken once.
#include <catch2/catch.hpp>

#include "models/kit/ties.h"

using namespace dsim;
using namespace dsim::kit;

TEST_CASE("ties: a cancellation is taken once, by its caller's tie") {
  CancelledTies t;
  const SimTime t0 = SimTime::zero();
  t.add(7, 1, t0);
  CHECK_FALSE(t.take(8, 1, t0));  // another caller's tie 1
  CHECK(t.take(7, 1, t0 + ms(1)));
  CHECK_FALSE(t.take(7, 1, t0 + ms(2)));
}

TEST_CASE("ties: a cancellation is forgotten after kKeep, and at most kMax are kept") {
  CancelledTies t;
  const SimTime t0 = SimTime::zero();
  t.add(7, 1, t0);
  CHECK_FALSE(t.take(7, 1, t0 + CancelledTies::kKeep));
  for (uint64_t i = 0; i < CancelledTies::kMax + 10; ++i)
    t.add(7, 100 + i, t0 + seconds(2));
  CHECK(t.size() == CancelledTies::kMax);
  CHECK_FALSE(t.take(7, 100, t0 + seconds(2)));  // the oldest went first
  CHECK(t.take(7, 100 + CancelledTies::kMax + 9, t0 + seconds(2)));
}
