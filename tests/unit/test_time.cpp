// Simulated time: Duration/SimTime arithmetic, the unit helpers, saturation and formatting.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "sim/core/rng.h"
#include "sim/core/time.h"
#include "sim/core/units.h"

using namespace dsim;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
}  // namespace

TEST_CASE("time: unit helpers count nanoseconds", "[time]") {
  CHECK(nanoseconds(7).ns() == 7);
  CHECK(microseconds(3).ns() == 3'000);
  CHECK(ms(150).ns() == 150'000'000);
  CHECK(seconds(2).ns() == 2'000'000'000);
  CHECK(minutes(1) == seconds(60));
  CHECK(hours(1) == minutes(60));
  CHECK(hours(1).ns() == 3'600'000'000'000);
  CHECK(Duration().ns() == 0);
  CHECK(Duration::zero().ns() == 0);
  CHECK(Duration::max().ns() == kMax);
  CHECK(SimTime().ns() == 0);
  CHECK(SimTime::zero().ns() == 0);
  CHECK(SimTime::max().ns() == kMax);
  // 292 years fit in int64 nanoseconds (sim/core/time.h).
  const Duration years292 = hours(24 * 365) * 292;
  CHECK(years292.ns() > 0);
  CHECK(years292 < Duration::max());
}

TEST_CASE("time: the helpers are usable in constant expressions", "[time]") {
  static_assert(ms(1) + ms(2) == ms(3));
  static_assert(seconds(1) / ms(1) == 1000);
  static_assert(SimTime::zero() + seconds(1) > SimTime::zero());
  CHECK(true);
}

TEST_CASE("time: Duration arithmetic", "[time]") {
  CHECK(ms(150) + ms(50) == ms(200));
  CHECK(ms(150) - ms(200) == -ms(50));
  CHECK((-ms(50)).ns() == -50'000'000);
  CHECK(ms(3) * 4 == ms(12));
  CHECK(ms(12) / 4 == ms(3));
  CHECK(ms(7) / 2 == microseconds(3500));
  CHECK(nanoseconds(7) / 2 == nanoseconds(3));  // integer division truncates
  CHECK(seconds(1) / ms(3) == 333);             // how many whole 3ms spans fit in a second
  CHECK(seconds(1) % ms(3) == ms(1));
  CHECK(-nanoseconds(7) % nanoseconds(3) == -nanoseconds(1));

  Duration d = ms(10);
  d += ms(5);
  CHECK(d == ms(15));
  d -= ms(20);
  CHECK(d == -ms(5));

  CHECK(ms(2).to_ms() == 2.0);
  CHECK(ms(1500).to_seconds() == 1.5);
  CHECK(nanoseconds(1).to_seconds() == 1e-9);
  CHECK(microseconds(250).to_ms() == 0.25);
}

TEST_CASE("time: Duration comparisons", "[time]") {
  CHECK(ms(1) < ms(2));
  CHECK(ms(2) > ms(1));
  CHECK(ms(2) >= ms(2));
  CHECK(ms(2) <= ms(2));
  CHECK(ms(2) != ms(3));
  CHECK(-ms(1) < Duration::zero());
  CHECK(microseconds(1000) == ms(1));
  CHECK(nanoseconds(999'999) < ms(1));
  CHECK((ms(1) <=> ms(1)) == std::strong_ordering::equal);
  CHECK((ms(1) <=> ms(2)) == std::strong_ordering::less);
}

TEST_CASE("time: SimTime arithmetic and comparisons", "[time]") {
  const SimTime t0 = SimTime::zero();
  const SimTime t1 = t0 + ms(150);
  CHECK(t1.ns() == 150'000'000);
  CHECK(t1 - t0 == ms(150));
  CHECK(t0 - t1 == -ms(150));
  CHECK(t1 - ms(50) == SimTime::from_ns(100'000'000));
  CHECK(t1.since_start() == ms(150));
  CHECK(t1.to_seconds() == 0.15);
  CHECK(t1 > t0);
  CHECK(t0 < t1);
  CHECK(t0 <= t0);
  CHECK(t1 != t0);
  SimTime t = t0;
  t += seconds(2);
  t += ms(500);
  CHECK(t == SimTime::from_ns(2'500'000'000));
  CHECK(SimTime::from_ns(42).ns() == 42);
}

TEST_CASE("time: saturating_add clamps at SimTime::max()", "[time]") {
  CHECK(saturating_add(SimTime::zero(), ms(5)) == SimTime::zero() + ms(5));
  CHECK(saturating_add(SimTime::from_ns(100), -nanoseconds(40)) == SimTime::from_ns(60));
  CHECK(saturating_add(SimTime::from_ns(100), Duration::zero()) == SimTime::from_ns(100));
  // Exactly reaching max is not an overflow; one nanosecond more saturates.
  CHECK(saturating_add(SimTime::from_ns(kMax - 5), nanoseconds(5)) == SimTime::max());
  CHECK(saturating_add(SimTime::from_ns(kMax - 5), nanoseconds(6)) == SimTime::max());
  CHECK(saturating_add(SimTime::max(), nanoseconds(1)) == SimTime::max());
  CHECK(saturating_add(SimTime::max(), Duration::max()) == SimTime::max());
  CHECK(saturating_add(SimTime::from_ns(1), Duration::max()) == SimTime::max());
  CHECK(saturating_add(SimTime::zero(), Duration::max()) == SimTime::max());
  // A year after a year is far from saturating.
  const SimTime year = SimTime::zero() + hours(24 * 365);
  CHECK(saturating_add(year, hours(24 * 365)) == SimTime::zero() + hours(24 * 365 * 2));
}

TEST_CASE("time: format_duration picks the largest exact unit", "[time][format]") {
  CHECK(format_duration(ms(150)) == "150ms");
  CHECK(format_duration(ms(2500)) == "2.5s");
  CHECK(format_duration(seconds(2)) == "2s");
  CHECK(format_duration(Duration::zero()) == "0s");
  CHECK(format_duration(minutes(1)) == "1min");
  CHECK(format_duration(minutes(61)) == "61min");
  CHECK(format_duration(hours(36)) == "36h");
  CHECK(format_duration(seconds(90)) == "90s");  // 1.5min is not exact in a decimal print
  CHECK(format_duration(microseconds(1500)) == "1.5ms");
  CHECK(format_duration(microseconds(250)) == "250us");
  CHECK(format_duration(nanoseconds(1500)) == "1.5us");
  CHECK(format_duration(nanoseconds(1)) == "1ns");
  CHECK(format_duration(nanoseconds(999)) == "999ns");
  CHECK(format_duration(seconds(1) + nanoseconds(1)) == "1.000000001s");
  CHECK(format_duration(ms(1) + nanoseconds(10)) == "1.00001ms");
}

TEST_CASE("time: format_duration of negative and extreme values", "[time][format]") {
  CHECK(format_duration(-ms(150)) == "-150ms");
  CHECK(format_duration(-ms(2500)) == "-2.5s");
  CHECK(format_duration(-minutes(3)) == "-3min");
  CHECK(format_duration(-nanoseconds(1)) == "-1ns");
  CHECK(format_duration(Duration::max()) == "9223372036.854775807s");
  CHECK(format_duration(Duration::from_ns(kMin)) == "-9223372036.854775808s");
  CHECK(format_duration(-Duration::max()) == "-9223372036.854775807s");
}

TEST_CASE("time: format_duration round-trips through parse_duration", "[time][format]") {
  // Below 2^50 ns (13 days) the two roundings of parsing (text to double, then times the
  // unit, each within 2^-53 relative) stay under half a nanosecond, so parsing is exact.
  Rng rng(7, stream_id("test-time", 0));
  for (int i = 0; i < 5000; ++i) {
    const int shift = static_cast<int>(rng.below(50));
    int64_t ns = static_cast<int64_t>(rng.below64(uint64_t{1} << shift)) + 1;
    // Make round values common too, so every unit is exercised.
    static constexpr int64_t kRound[] = {1, 1'000, 1'000'000, 1'000'000'000, 60'000'000'000};
    const int64_t round = kRound[rng.below(5)];
    if (rng.bernoulli(0.5)) ns = (ns / round + 1) * round;
    if (rng.bernoulli(0.3)) ns = -ns;
    const Duration d = Duration::from_ns(ns);
    const std::string text = format_duration(d);
    std::string err;
    const auto back = parse_duration(text, &err);
    INFO(ns << " -> " << text << " " << err);
    REQUIRE(back.has_value());
    CHECK(*back == d);
  }
  for (Duration d : {Duration::zero(), hours(24 * 365 * 200), -hours(24 * 365 * 200)}) {
    std::string err;
    CHECK(parse_duration(format_duration(d), &err) == d);
  }
}

TEST_CASE("time: format_seconds prints seconds with up to 9 decimals", "[time][format]") {
  CHECK(format_seconds(SimTime::zero()) == "0");
  CHECK(format_seconds(SimTime::zero() + ms(12500)) == "12.5");
  CHECK(format_seconds(SimTime::zero() + seconds(3)) == "3");
  CHECK(format_seconds(SimTime::from_ns(1)) == "0.000000001");
  CHECK(format_seconds(SimTime::from_ns(1'000'000'010)) == "1.00000001");
  CHECK(format_seconds(SimTime::from_ns(-1'500'000'000)) == "-1.5");
  CHECK(format_seconds(SimTime::max()) == "9223372036.854775807");
}
