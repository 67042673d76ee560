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

TEST_CASE("failure detector: the acceptable pause is added to the mean interval") {
  // Normal intervals, 1 s +- 100 ms, and a pause of 3 s: phi is that of a mean of 4 s.
  PhiAccrualDetector::Config nc;
  nc.min_std_dev = ms(10);
  nc.acceptable_pause = seconds(3);
  PhiAccrualDetector n(nc);
  Duration t = Duration::zero();
  for (int i = 0; i <= 100; ++i) {
    n.heard(2, at(t));
    t += i % 2 ? ms(1100) : ms(900);
  }
  const Duration last = t - ms(900);
  auto closed_form = [](double late, double mean, double sd) {
    return -std::log10(0.5 * std::erfc((late - mean) / (sd * std::sqrt(2.0))));
  };
  for (const int64_t late : {1000, 3000, 4000, 4100, 4300, 4600}) {
    INFO("late " << late << " ms");
    CHECK(n.phi(2, at(last + ms(late))) ==
          Approx(closed_form(static_cast<double>(late) / 1e3, 1.0 + 3.0, 0.1)).epsilon(1e-9));
  }
  CHECK_FALSE(n.suspected(2, at(last + ms(4500))));  // phi 6.5, 5 deviations out
  CHECK(n.suspected(2, at(last + ms(4600))));        // phi 9.0, 6 deviations out

  // Exponential intervals of 1 s and a pause of 2 s: phi = t / (1 s + 2 s) * log10(e).
  PhiAccrualDetector::Config ec;
  ec.model = PhiAccrualDetector::Model::kExponential;
  ec.acceptable_pause = seconds(2);
  PhiAccrualDetector e(ec);
  for (int i = 0; i <= 10; ++i)
    e.heard(1, at(seconds(i)));
  CHECK(e.phi(1, at(seconds(16))) == Approx(2 * std::log10(std::exp(1.0))));
}

TEST_CASE("failure detector: phi stays finite and exact far in the normal tail") {
  // -log10 Q(z) from erfc computed with 50 digits (mpmath): on both sides of z = 30, where
  // normal_phi leaves erfc for the asymptotic series, and beyond erfc's underflow.
  const std::pair<double, double> reference[] = {{29.9, 196.00705043724337},
                                                 {30, 197.30920926166095},
                                                 {30.1, 198.61570623725257},
                                                 {40, 349.43700645934584},
                                                 {100, 2173.8715428690344}};
  for (const auto& [z, phi] : reference) {
    INFO("z = " << z);
    CHECK(normal_phi(z) == Approx(phi).epsilon(1e-9));
  }
  CHECK(normal_phi(0) == Approx(-std::log10(0.5)));
  // Regular beats every second: the deviation is the 100 ms floor, so 5 s late is 40
  // deviations out, where erfc underflows to 0.
  PhiAccrualDetector d(PhiAccrualDetector::Config{});
  for (int i = 0; i <= 10; ++i)
    d.heard(3, at(seconds(i)));
  const double phi = d.phi(3, at(seconds(15)));
  CHECK(std::isfinite(phi));
  CHECK(phi == Approx(349.43700645934584).epsilon(1e-6));
  CHECK(d.phi(3, at(seconds(16))) > phi);  // and it keeps growing
}
