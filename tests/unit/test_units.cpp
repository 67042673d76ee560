// Quantities with units: durations, rates, sizes, bandwidths, probabilities, numbers.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "sim/core/rng.h"
#include "sim/core/time.h"
#include "sim/core/units.h"

using namespace dsim;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Runs a parser that must fail; returns its error message.
template <class F>
std::string error_of(F parse, const std::string& text) {
  std::string err;
  const auto v = parse(text, &err);
  INFO("'" << text << "' should not parse");
  CHECK_FALSE(v.has_value());
  CHECK_FALSE(err.empty());
  CHECK_FALSE(parse(text, nullptr).has_value());  // a null error pointer is allowed
  return err;
}

std::optional<Duration> dur(const std::string& text) {
  return parse_duration(text, nullptr);
}

}  // namespace

TEST_CASE("units: parse_duration", "[units]") {
  CHECK(dur("10ns") == nanoseconds(10));
  CHECK(dur("250us") == microseconds(250));
  CHECK(dur("250\xC2\xB5s") == microseconds(250));  // the micro sign
  CHECK(dur("150ms") == ms(150));
  CHECK(dur("2s") == seconds(2));
  CHECK(dur("2min") == minutes(2));
  CHECK(dur("3h") == hours(3));
  CHECK(dur("1d") == hours(24));
  CHECK(dur("1.5s") == ms(1500));
  CHECK(dur("0.25ms") == microseconds(250));
  CHECK(dur(".5s") == ms(500));
  CHECK(dur("2.5min") == seconds(150));
  CHECK(dur("1e3ms") == seconds(1));
  CHECK(dur("1.5e-3s") == microseconds(1500));
  CHECK(dur("0") == Duration::zero());
  CHECK(dur("0.0") == Duration::zero());
  CHECK(dur("0s") == Duration::zero());
  CHECK(dur("  5ms  ") == ms(5));
  CHECK(dur("5 ms") == ms(5));
  CHECK(dur("+5ms") == ms(5));
  CHECK(dur("-5ms") == -ms(5));
  CHECK(dur("100000d") == hours(24) * 100000);                // 274 years fit
  CHECK(dur("1.0000000004s") == nanoseconds(1'000'000'000));  // rounded to whole ns
}

TEST_CASE("units: parse_duration errors", "[units][errors]") {
  {
    const auto err = error_of(parse_duration, "5");
    CHECK(contains(err, "needs a time unit"));
    CHECK(contains(err, "'5'"));
  }
  CHECK(contains(error_of(parse_duration, "1.5"), "needs a time unit"));
  {
    const auto err = error_of(parse_duration, "5sec");
    CHECK(contains(err, "unknown time unit 'sec'"));
    CHECK(contains(err, "ns, us, ms, s, min, h, d"));
  }
  CHECK(contains(error_of(parse_duration, "5MS"), "unknown time unit"));
  CHECK(contains(error_of(parse_duration, "ms"), "expected a duration"));
  CHECK(contains(error_of(parse_duration, ""), "expected a duration"));
  CHECK(contains(error_of(parse_duration, "abc"), "expected a duration"));
  CHECK(contains(error_of(parse_duration, "5ms5"), "unknown time unit"));
  CHECK(contains(error_of(parse_duration, "1.2.3s"), "expected a duration"));
  CHECK(contains(error_of(parse_duration, "200000d"), "out of range"));
  CHECK(contains(error_of(parse_duration, "1e300s"), "out of range"));
}

TEST_CASE("units: parse_rate", "[units]") {
  auto rate = [](const std::string& t) { return parse_rate(t, nullptr); };
  CHECK(rate("200/s") == 200);
  CHECK(rate("5/ms") == Approx(5000));
  CHECK(rate("100/30min") == Approx(100.0 / 1800));
  CHECK(rate("3/2s") == Approx(1.5));
  CHECK(rate("60/min") == Approx(1));
  CHECK(rate("1/h") == Approx(1.0 / 3600));
  CHECK(rate("0.5/s") == 0.5);
  CHECK(rate("0/s") == 0);
  CHECK(rate("1/0.5s") == Approx(2));
  CHECK(rate(" 200 / s ") == 200);
  CHECK(contains(error_of(parse_rate, "200"), "expected a rate"));
  CHECK(contains(error_of(parse_rate, "-1/s"), ">= 0"));
  CHECK(contains(error_of(parse_rate, "abc/s"), ">= 0"));
  CHECK(contains(error_of(parse_rate, "5/0s"), "positive duration"));
  CHECK(contains(error_of(parse_rate, "5/x"), "positive duration"));
  CHECK(contains(error_of(parse_rate, "5/"), "positive duration"));
  CHECK(contains(error_of(parse_rate, "5/-1s"), "positive duration"));
}

TEST_CASE("units: parse_size", "[units]") {
  auto size = [](const std::string& t) { return parse_size(t, nullptr); };
  CHECK(size("512B") == 512u);
  CHECK(size("1KB") == 1000u);
  CHECK(size("1.5MB") == 1'500'000u);
  CHECK(size("2GB") == 2'000'000'000u);
  CHECK(size("1TB") == 1'000'000'000'000u);
  CHECK(size("64KiB") == 65536u);
  CHECK(size("1MiB") == 1u << 20);
  CHECK(size("3GiB") == uint64_t{3} << 30);
  CHECK(size("2TiB") == uint64_t{2} << 40);
  CHECK(size("0.5KiB") == 512u);
  CHECK(size("0") == 0u);
  CHECK(size(" 8 B ") == 8u);
  CHECK(contains(error_of(parse_size, "5"), "needs a size unit"));
  CHECK(contains(error_of(parse_size, "5XB"), "unknown size unit 'XB'"));
  CHECK(contains(error_of(parse_size, "5kb"), "unknown size unit"));
  CHECK(contains(error_of(parse_size, "-1B"), "expected a size"));
  CHECK(contains(error_of(parse_size, "KiB"), "expected a size"));
  CHECK(contains(error_of(parse_size, "1e30TB"), "out of range"));
}

TEST_CASE("units: parse_bandwidth", "[units]") {
  auto bw = [](const std::string& t) { return parse_bandwidth(t, nullptr); };
  CHECK(bw("10Gbps") == 1e10);
  CHECK(bw("100Mbps") == 1e8);
  CHECK(bw("1Kbps") == 1e3);
  CHECK(bw("2Tbps") == 2e12);
  CHECK(bw("9600bps") == 9600);
  CHECK(bw("100MB/s") == 8e8);
  CHECK(bw("1B/s") == 8);
  CHECK(bw("1KB/s") == 8e3);
  CHECK(bw("1GB/s") == 8e9);
  CHECK(bw("1KiB/s") == 8192);
  CHECK(bw("1MiB/s") == 8.0 * 1024 * 1024);
  CHECK(bw("1GiB/s") == 8.0 * 1024 * 1024 * 1024);
  CHECK(bw("2.5Gbps") == 2.5e9);
  CHECK(contains(error_of(parse_bandwidth, "10"), "unknown bandwidth unit"));
  CHECK(contains(error_of(parse_bandwidth, "10Gbit"), "unknown bandwidth unit"));
  CHECK(contains(error_of(parse_bandwidth, "0Gbps"), "expected a bandwidth"));
  CHECK(contains(error_of(parse_bandwidth, "-1Gbps"), "expected a bandwidth"));
  CHECK(contains(error_of(parse_bandwidth, "fast"), "expected a bandwidth"));
}

TEST_CASE("units: parse_probability", "[units]") {
  auto prob = [](const std::string& t) { return parse_probability(t, nullptr); };
  CHECK(prob("5%") == Approx(0.05));
  CHECK(prob("0.05") == 0.05);
  CHECK(prob("0") == 0);
  CHECK(prob("1") == 1);
  CHECK(prob("100%") == 1);
  CHECK(prob("0%") == 0);
  CHECK(prob("12.5%") == 0.125);
  CHECK(prob(" 0.5 ") == 0.5);
  for (const char* bad : {"1.5", "150%", "-0.1", "-5%", "5", "abc", "", "0.5x", "5 percent"}) {
    CHECK(contains(error_of(parse_probability, bad), "between 0 and 1"));
  }
}

TEST_CASE("units: parse_number and parse_integer", "[units]") {
  auto num = [](const std::string& t) { return parse_number(t, nullptr); };
  CHECK(num("42") == 42);
  CHECK(num("-3.5") == -3.5);
  CHECK(num("+2") == 2);
  CHECK(num("1e-6") == 1e-6);
  CHECK(num("2.5E3") == 2500);
  CHECK(num(".5") == 0.5);
  CHECK(num(" 7 ") == 7);
  for (const char* bad : {"abc", "", "1.5ms", "inf", "nan", "1e400", "1,5", "--1"}) {
    CHECK(contains(error_of(parse_number, bad), "expected a number"));
  }
  auto integer = [](const std::string& t) { return parse_integer(t, nullptr); };
  CHECK(integer("42") == 42);
  CHECK(integer("-7") == -7);
  CHECK(integer(" 12 ") == 12);
  CHECK(integer("0") == 0);
  CHECK(integer("9223372036854775807") == std::numeric_limits<int64_t>::max());
  CHECK(integer("-9223372036854775808") == std::numeric_limits<int64_t>::min());
  for (const char* bad : {"3.5", "1e3", "", "abc", "12abc", "9223372036854775808", "5ms"}) {
    CHECK(contains(error_of(parse_integer, bad), "expected an integer"));
  }
}

TEST_CASE("units: formatting", "[units][format]") {
  CHECK(format_rate(200) == "200/s");
  CHECK(format_rate(0.5) == "0.5/s");
  CHECK(format_bytes(65536) == "64KiB");
  CHECK(format_bytes(1500) == "1500B");
  CHECK(format_bytes(0) == "0B");
  CHECK(format_bytes(1024) == "1KiB");
  CHECK(format_bytes(1536) == "1536B");
  CHECK(format_bytes(uint64_t{3} << 20) == "3MiB");
  CHECK(format_bytes(uint64_t{5} << 30) == "5GiB");
  CHECK(format_bytes(uint64_t{1} << 40) == "1TiB");
  CHECK(format_bytes(uint64_t{1} << 50) == "1024TiB");
  CHECK(format_bandwidth(1e10) == "10Gbps");
  CHECK(format_bandwidth(1.5e6) == "1.5Mbps");
  CHECK(format_bandwidth(2e12) == "2Tbps");
  CHECK(format_bandwidth(1e3) == "1Kbps");
  CHECK(format_bandwidth(500) == "500bps");
  CHECK(format_number(0.25) == "0.25");
  CHECK(format_number(1e-6) == "1e-06");
  CHECK(format_number(3) == "3");
  CHECK(format_number(-2.5) == "-2.5");
}

TEST_CASE("units: format and parse round-trip", "[units][format]") {
  Rng rng(31, stream_id("test-units", 0));
  for (int i = 0; i < 2000; ++i) {
    // Numbers: the shortest form parses back to the same double.
    const double x = std::ldexp(rng.uniform01() - 0.5, static_cast<int>(rng.below(120)) - 60);
    CHECK(parse_number(format_number(x), nullptr) == x);
    // Rates.
    const double r = std::ldexp(rng.uniform_open01(), static_cast<int>(rng.below(40)));
    CHECK(parse_rate(format_rate(r), nullptr) == r);
    // Sizes: any byte count below 2^40, and whole KiB/MiB multiples.
    uint64_t b = rng.below64(uint64_t{1} << (1 + rng.below(40)));
    if (rng.bernoulli(0.5)) b <<= 10 * rng.below(3);
    INFO(b << " -> " << format_bytes(b));
    CHECK(parse_size(format_bytes(b), nullptr) == b);
    // Bandwidths.
    const double bw = std::ldexp(rng.uniform_open01(), static_cast<int>(rng.below(45)));
    const auto back = parse_bandwidth(format_bandwidth(bw), nullptr);
    REQUIRE(back.has_value());
    CHECK(*back == Approx(bw).epsilon(1e-12));
  }
}

TEST_CASE("units: a duration finer than a nanosecond is refused", "[units]") {
  std::string err;
  CHECK(parse_duration("1ns", &err) == Duration::from_ns(1));
  CHECK(parse_duration("0ns", &err) == Duration::zero());
  CHECK(parse_duration("1.4ns", &err) == Duration::from_ns(1));
  CHECK(parse_duration("0.001us", &err) == Duration::from_ns(1));
  for (const char* fine : {"0.5ns", "-0.5ns", "1e-10s", "0.0001us"}) {
    INFO(fine);
    CHECK_FALSE(parse_duration(fine, &err));
    CHECK(err.find("finer than the clock's resolution (1ns)") != std::string::npos);
  }
}

TEST_CASE("units: rates up to one event per nanosecond", "[units]") {
  CHECK(rate_too_fast("1e9/s", 1e9).empty());
  CHECK(rate_too_fast("200/s", 200).empty());
  CHECK(rate_too_fast(" 2/ns ", 2e9) ==
        "rate 2/ns is above 1e9/s: its events would come less than 1ns apart, finer than the "
        "clock's resolution (1ns)");
}
