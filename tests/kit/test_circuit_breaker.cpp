// The circuit breaker's state machine, per variant: what opens it, how long it stays
// open, the trial calls of half-open, and what closes it.
#include <catch2/catch.hpp>

#include "models/kit/circuit_breaker.h"

using namespace dsim;
using namespace dsim::kit;
using State = CircuitBreaker::State;

namespace {

SimTime at(Duration d) {
  return SimTime::zero() + d;
}

}  // namespace

TEST_CASE("breaker: consecutive failures open it, a success in between resets the count") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kConsecutive;
  spec.failures = 3;
  CircuitBreaker b(spec);
  b.record(at(ms(1)), false, ms(1));
  b.record(at(ms(2)), false, ms(1));
  b.record(at(ms(3)), true, ms(1));  // resets
  b.record(at(ms(4)), false, ms(1));
  b.record(at(ms(5)), false, ms(1));
  CHECK(b.state() == State::kClosed);
  b.record(at(ms(6)), false, ms(1));
  CHECK(b.state() == State::kOpen);
  CHECK(b.opened() == 1);
}

TEST_CASE("breaker: cumulative failures open it whatever the successes in between") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kCumulative;
  spec.failures = 3;
  CircuitBreaker b(spec);
  for (int i = 0; i < 2; ++i) {
    b.record(at(ms(i)), false, ms(1));
    b.record(at(ms(i)), true, ms(1));
  }
  CHECK(b.state() == State::kClosed);
  b.record(at(ms(5)), false, ms(1));
  CHECK(b.state() == State::kOpen);
}

TEST_CASE(
    "breaker: open refuses until open_for, half-open lets trials through, closes on success") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kConsecutive;
  spec.failures = 1;
  spec.open_for = seconds(30);
  spec.half_open_calls = 1;
  spec.successes = 2;  // the seeds' second variant closes after 2 trial successes
  CircuitBreaker b(spec);
  b.record(at(seconds(0)), false, ms(1));
  REQUIRE(b.state() == State::kOpen);
  CHECK_FALSE(b.allow(at(seconds(29))));
  CHECK(b.allow(at(seconds(30))));  // the first trial
  CHECK(b.state() == State::kHalfOpen);
  CHECK_FALSE(b.allow(at(seconds(30))));  // one trial at a time
  b.record(at(seconds(31)), true, ms(1));
  CHECK(b.state() == State::kHalfOpen);  // one success of two
  CHECK(b.allow(at(seconds(31))));
  b.record(at(seconds(32)), true, ms(1));
  CHECK(b.state() == State::kClosed);
  CHECK(b.allow(at(seconds(32))));
}

TEST_CASE("breaker: a failed trial opens it again for another open_for") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kConsecutive;
  spec.failures = 1;
  spec.open_for = seconds(10);
  CircuitBreaker b(spec);
  b.record(at(seconds(0)), false, ms(1));
  REQUIRE(b.allow(at(seconds(10))));
  b.record(at(seconds(11)), false, ms(1));
  CHECK(b.state() == State::kOpen);
  CHECK(b.opened() == 2);
  CHECK_FALSE(b.allow(at(seconds(20))));
  CHECK(b.allow(at(seconds(21))));
}

TEST_CASE("breaker: the failure rate over a window opens it once min_calls are counted") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kRate;
  spec.window = 10;
  spec.min_calls = 4;
  spec.failure_rate = 0.5;
  CircuitBreaker b(spec);
  b.record(at(ms(1)), false, ms(1));
  b.record(at(ms(2)), false, ms(1));
  b.record(at(ms(3)), true, ms(1));
  CHECK(b.state() == State::kClosed);  // 2 of 3, but fewer than min_calls
  b.record(at(ms(4)), true, ms(1));
  CHECK(b.state() == State::kOpen);  // 2 of 4 = 50%
}

TEST_CASE("breaker: the window slides, old outcomes leave it") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kRate;
  spec.window = 4;
  spec.min_calls = 4;
  spec.failure_rate = 0.75;
  CircuitBreaker b(spec);
  for (bool ok : {false, false, true, true, true})  // the window: f t t t, then f t t t
    b.record(at(ms(1)), ok, ms(1));
  b.record(at(ms(1)), false, ms(1));  // t t t f
  b.record(at(ms(1)), false, ms(1));  // t t f f
  CHECK(b.state() == State::kClosed);
  b.record(at(ms(1)), false, ms(1));  // t f f f: 75%
  CHECK(b.state() == State::kOpen);
}

TEST_CASE("breaker: slow calls count as failures for slow_rate") {
  CircuitBreakerSpec spec;
  spec.kind = CircuitBreakerSpec::Kind::kSlowRate;
  spec.window = 2;
  spec.min_calls = 2;
  spec.failure_rate = 1.0;
  spec.slow_call = ms(100);
  CircuitBreaker b(spec);
  b.record(at(ms(1)), true, ms(99));
  b.record(at(ms(2)), true, ms(100));
  CHECK(b.state() == State::kClosed);  // one slow of two
  b.record(at(ms(3)), true, ms(150));
  CHECK(b.state() == State::kOpen);
}

TEST_CASE("breaker: none lets everything through") {
  CircuitBreaker b;
  for (int i = 0; i < 100; ++i)
    b.record(at(ms(i)), false, ms(1));
  CHECK(b.allow(at(ms(100))));
  CHECK(b.state() == State::kClosed);
}
