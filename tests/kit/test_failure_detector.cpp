// Failure detectors: heartbeat timeouts, Dynamo-style suspicion, and phi accrual against
// its definition, -log10 of the chance that a heartbeat is this late.
#include <catch2/catch.hpp>

#include <cmath>

#include "models/kit/failure_detector.h"

using namespace dsim;
using namespace dsim::kit;

namespace {
SimTime at(Duration d) {
  return SimTime::zero() + d;
}
}  // namespace

TEST_CASE("failure detector: heartbeats, suspected after the timeout without one") {
  HeartbeatDetector d(ms(300));
  d.watch(2, at(ms(0)));
  CHECK_FALSE(d.suspected(0, at(ms(300))));  // a grace period from the start
  CHECK(d.suspected(0, at(ms(301))));
  d.heard(0, at(ms(250)));
  CHECK_FALSE(d.suspected(0, at(ms(550))));
  CHECK(d.suspected(1, at(ms(550))));
  d.heard(0, at(ms(100)));  // an older heartbeat changes nothing
  CHECK(d.last_heard(0) == at(ms(250)));
  CHECK_FALSE(d.suspected(7, at(seconds(9))));  // not watched
}

TEST_CASE("failure detector: a suspicion lasts suspect_for, or until heard from") {
  SuspicionList s(seconds(1));
  CHECK_FALSE(s.suspected(4, at(ms(0))));
  CHECK(s.suspect(4, at(ms(100))));
  CHECK_FALSE(s.suspect(4, at(ms(200))));  // already suspected: not a new suspicion
  CHECK(s.suspected(4, at(ms(1199))));     // renewed at 200 ms
  CHECK_FALSE(s.suspected(4, at(ms(1200))));
  s.suspect(5, at(ms(0)));
  s.heard(5);
  CHECK_FALSE(s.suspected(5, at(ms(1))));
}

TEST_CASE("failure detector: phi accrual follows the interval distribution") {
  // Exponential intervals (Cassandra): phi = t / mean * log10(e).
  PhiAccrualDetector::Config ec;
  ec.model = PhiAccrualDetector::Model::kExponential;
  PhiAccrualDetector e(ec);
  CHECK(e.phi(1, at(seconds(5))) == 0);  // never heard
  for (int i = 0; i <= 10; ++i)
    e.heard(1, at(seconds(i)));
  CHECK(e.phi(1, at(seconds(10))) == 0);
  CHECK(e.phi(1, at(seconds(12))) == Approx(2 * std::log10(std::exp(1.0))));
  CHECK(e.phi(1, at(seconds(30))) == Approx(20 * std::log10(std::exp(1.0))));

  // Normal intervals (Akka): heartbeats every 1 s +- 100 ms.
  PhiAccrualDetector::Config nc;
  nc.min_std_dev = ms(10);
  PhiAccrualDetector n(nc);
  Duration t = Duration::zero();
  for (int i = 0; i <= 100; ++i) {  // 100 intervals, half 900 ms, half 1100 ms
    n.heard(2, at(t));
    t += i % 2 ? ms(1100) : ms(900);  // mean 1 s, standard deviation 100 ms
  }
  const Duration last = t - ms(900);
  // At the mean interval, P(later) = 1/2; one and three deviations later, the normal tails.
  CHECK(n.phi(2, at(last + seconds(1))) == Approx(-std::log10(0.5)).epsilon(0.01));
  CHECK(n.phi(2, at(last + ms(1100))) == Approx(-std::log10(0.158655)).epsilon(0.01));
  CHECK(n.phi(2, at(last + ms(1300))) == Approx(-std::log10(0.0013499)).epsilon(0.01));
  CHECK_FALSE(n.suspected(2, at(last + ms(1300))));
  CHECK(n.suspected(2, at(last + ms(1700))));  // phi past 8
}
