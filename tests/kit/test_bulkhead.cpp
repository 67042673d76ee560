// The bulkhead: a cap on the calls out at once, the oldest waiting call taking the place
// a call frees, waits that run out, and calls that no longer need a place.
#include <catch2/catch.hpp>

#include "models/kit/bulkhead.h"

using namespace dsim;
using namespace dsim::kit;
using Admit = Bulkhead::Admit;

namespace {

SimTime at(Duration d) {
  return SimTime::zero() + d;
}

}  // namespace

TEST_CASE("bulkhead: past max_calls a call is refused at once without max_wait") {
  BulkheadSpec spec{2, Duration::zero()};
  Bulkhead b(spec);
  CHECK(b.acquire(1, at(ms(0))) == Admit::kGo);
  CHECK(b.acquire(2, at(ms(0))) == Admit::kGo);
  CHECK(b.acquire(3, at(ms(1))) == Admit::kFull);
  CHECK(b.in_use() == 2);
  CHECK_FALSE(b.release(3));  // held no place: nothing changes
  CHECK(b.in_use() == 2);
  CHECK_FALSE(b.release(1));  // nobody waits
  CHECK(b.acquire(4, at(ms(2))) == Admit::kGo);
}

TEST_CASE("bulkhead: a freed place goes to the oldest waiting call") {
  BulkheadSpec spec{1, ms(10)};
  Bulkhead b(spec);
  CHECK(b.acquire(1, at(ms(0))) == Admit::kGo);
  CHECK(b.acquire(2, at(ms(1))) == Admit::kWait);
  CHECK(b.acquire(3, at(ms(2))) == Admit::kWait);
  CHECK(b.acquire(4, at(ms(2)), /*may_wait=*/false) == Admit::kFull);
  CHECK(b.next_expiry() == at(ms(11)));
  CHECK(b.release(1) == std::optional<uint64_t>(2));
  CHECK(b.in_use() == 1);
  CHECK(b.waiting() == 1);
  CHECK(b.release(2) == std::optional<uint64_t>(3));
  CHECK(b.waiting() == 0);
  CHECK_FALSE(b.next_expiry());
}

TEST_CASE(
    "bulkhead: waits run out after max_wait, oldest first, and a forgotten call waits no more") {
  BulkheadSpec spec{1, ms(10)};
  Bulkhead b(spec);
  CHECK(b.acquire(1, at(ms(0))) == Admit::kGo);
  CHECK(b.acquire(2, at(ms(1))) == Admit::kWait);
  CHECK(b.acquire(3, at(ms(2))) == Admit::kWait);
  CHECK(b.acquire(4, at(ms(3))) == Admit::kWait);
  CHECK(b.forget(3));
  CHECK_FALSE(b.forget(3));
  CHECK(b.expired(at(ms(10))).empty());
  CHECK(b.expired(at(ms(11))) == std::vector<uint64_t>{2});
  CHECK(b.next_expiry() == at(ms(13)));
  CHECK(b.expired(at(ms(20))) == std::vector<uint64_t>{4});
  CHECK_FALSE(b.release(1));  // nobody waits any more
}

TEST_CASE("bulkhead: without a spec every call goes") {
  BulkheadSpec none;
  Bulkhead b(none);
  for (uint64_t c = 1; c <= 100; ++c)
    CHECK(b.acquire(c, at(ms(0))) == Admit::kGo);
  CHECK(b.in_use() == 0);
}
