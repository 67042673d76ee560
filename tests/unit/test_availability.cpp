// The availability analysis: unavailability intervals and time to recover after faults,
// on hand-made operation lists with known answers.
#include <catch2/catch.hpp>

#include "sim/check/availability.h"

using namespace dsim;
using namespace dsim::check;

namespace {

SimTime at_ms(int64_t t) {
  return SimTime::zero() + ms(t);
}

// One operation every `every` ms from `from` to `to` (exclusive), lasting 1 ms, ok or not.
void traffic(std::vector<OpSpan>& ops, int64_t from, int64_t to, int64_t every, bool ok,
             uint32_t group = 0) {
  for (int64_t t = from; t < to; t += every)
    ops.push_back({group, at_ms(t), at_ms(t + 1), ok});
}

}  // namespace

TEST_CASE(
    "availability: an unavailability interval runs from the first failure to the next success") {
  std::vector<OpSpan> ops;
  traffic(ops, 0, 1000, 10, true);
  traffic(ops, 1000, 1500, 10, false);
  traffic(ops, 1500, 3000, 10, true);
  AvailabilityConfig c;
  c.run_end = at_ms(3000);
  const AvailabilityResult r = analyze_availability(ops, {}, c);
  REQUIRE(r.intervals.size() == 1);
  CHECK(r.intervals[0].start == at_ms(1000));
  // The next success is invoked at 1.5 s, but the last failure was answered at 1.491 s:
  // nothing is known of the 9 ms between.
  CHECK(r.intervals[0].end == at_ms(1491));
  CHECK(r.intervals[0].failed_ops == 50);

  // With failures that take their time (a 300 ms timeout), the interval runs to the
  // next success.
  std::vector<OpSpan> slow;
  traffic(slow, 0, 1000, 10, true);
  for (int64_t t = 1000; t < 1500; t += 10)
    slow.push_back({0, at_ms(t), at_ms(t + 300), false});
  traffic(slow, 1500, 3000, 10, true);
  const AvailabilityResult s = analyze_availability(slow, {}, c);
  REQUIRE(s.intervals.size() == 1);
  CHECK(s.intervals[0].end == at_ms(1500));
}

TEST_CASE("availability: short blips are below min_unavailable, an outage at the end is kept") {
  std::vector<OpSpan> ops;
  traffic(ops, 0, 1000, 10, true);
  ops.push_back({0, at_ms(1000) + microseconds(1), at_ms(1001), false});  // one lost request
  traffic(ops, 1010, 2000, 10, true);
  traffic(ops, 2000, 2500, 10, false);  // never recovers
  AvailabilityConfig c;
  c.run_end = at_ms(3000);
  c.min_unavailable = ms(100);
  const AvailabilityResult r = analyze_availability(ops, {}, c);
  REQUIRE(r.intervals.size() == 1);
  CHECK(r.intervals[0].start == at_ms(2000));
  CHECK(r.intervals[0].end == at_ms(2491));  // the last failure; nothing tried after it
}

TEST_CASE("availability: intervals are per client group") {
  std::vector<OpSpan> ops;
  traffic(ops, 0, 1000, 10, true, 0);
  traffic(ops, 0, 500, 10, false, 1);
  traffic(ops, 500, 1000, 10, true, 1);
  AvailabilityConfig c;
  c.run_end = at_ms(1000);
  const AvailabilityResult r = analyze_availability(ops, {}, c);
  REQUIRE(r.intervals.size() == 1);
  CHECK(r.intervals[0].group == 1);
  CHECK(r.intervals[0].length() == ms(491));
}

TEST_CASE("availability: time to first success and to throughput recovery after a fault") {
  std::vector<OpSpan> ops;
  traffic(ops, 0, 10'000, 10, true);        // 100/s before the fault
  traffic(ops, 10'000, 10'700, 10, false);  // outage
  traffic(ops, 10'700, 12'000, 20, true);   // half throughput for a while
  traffic(ops, 12'000, 20'000, 10, true);   // back to 100/s
  AvailabilityConfig c;
  c.run_end = at_ms(20'000);
  c.window = ms(500);
  c.baseline = seconds(10);
  c.recovered_fraction = 0.9;
  const FaultInterval f{at_ms(10'000), at_ms(10'700), "crash store.0"};
  const AvailabilityResult r = analyze_availability(ops, std::vector<FaultInterval>{f}, c);
  REQUIRE(r.recoveries.size() == 1);
  const Recovery& rec = r.recoveries[0];
  CHECK(rec.baseline_per_s == Approx(100));
  REQUIRE(rec.to_first_success);
  CHECK(*rec.to_first_success == ms(701));  // the op invoked at 10.7 s completes at 10.701 s
  // Windows of 500 ms from 10 s: [10, 10.5) 0/s, [10.5, 11) 30/s, [11, 11.5) and
  // [11.5, 12) 50/s, [12, 12.5) 100/s: recovered 2 s after the start.
  REQUIRE(rec.to_throughput);
  CHECK(*rec.to_throughput == seconds(2));
}

TEST_CASE("availability: a fault without effect recovers at once, one without end never does") {
  std::vector<OpSpan> ops;
  traffic(ops, 0, 10'000, 10, true);
  AvailabilityConfig c;
  c.run_end = at_ms(10'000);
  c.window = ms(500);
  const std::vector<FaultInterval> faults = {{at_ms(5'000), at_ms(6'000), "harmless"}};
  const AvailabilityResult r = analyze_availability(ops, faults, c);
  REQUIRE(r.recoveries[0].to_throughput);
  CHECK(*r.recoveries[0].to_throughput == Duration::zero());
  CHECK(*r.recoveries[0].to_first_success == ms(1));

  std::vector<OpSpan> dead;
  traffic(dead, 0, 5'000, 10, true);
  traffic(dead, 5'000, 10'000, 10, false);
  const AvailabilityResult d = analyze_availability(dead, faults, c);
  CHECK_FALSE(d.recoveries[0].to_first_success);
  CHECK_FALSE(d.recoveries[0].to_throughput);
}

TEST_CASE("availability: a pause in which nobody tries is not an outage") {
  std::vector<OpSpan> ops;
  traffic(ops, 0, 1000, 10, true);
  ops.push_back({0, at_ms(1000), at_ms(1050), false});  // times out at 1.05 s
  traffic(ops, 5000, 6000, 10, true);                   // the clients come back at 5 s
  AvailabilityConfig c;
  c.run_end = at_ms(6000);
  c.min_unavailable = Duration::zero();
  const AvailabilityResult r = analyze_availability(ops, {}, c);
  REQUIRE(r.intervals.size() == 1);
  CHECK(r.intervals[0].start == at_ms(1000));
  CHECK(r.intervals[0].end == at_ms(1050));
}
