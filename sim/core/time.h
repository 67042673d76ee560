// Simulated time: integer nanoseconds, never floating point.
//
// `Duration` is a signed span of time; `SimTime` is an instant measured from the start of
// the run. Both wrap an int64_t count of nanoseconds, which covers 292 years.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>

namespace dsim {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration from_ns(int64_t ns) { return Duration(ns); }
  static constexpr Duration max() { return Duration(std::numeric_limits<int64_t>::max()); }
  static constexpr Duration zero() { return Duration(0); }

  constexpr int64_t ns() const { return ns_; }
  constexpr double to_seconds() const { return static_cast<double>(ns_) / 1e9; }
  constexpr double to_ms() const { return static_cast<double>(ns_) / 1e6; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator-() const { return Duration(-ns_); }
  constexpr Duration operator*(int64_t k) const { return Duration(ns_ * k); }
  constexpr Duration operator/(int64_t k) const { return Duration(ns_ / k); }
  constexpr int64_t operator/(Duration o) const { return ns_ / o.ns_; }
  constexpr Duration operator%(Duration o) const { return Duration(ns_ % o.ns_); }
  constexpr Duration& operator+=(Duration o) {
    ns_ += o.ns_;
    return *this;
  }
  constexpr Duration& operator-=(Duration o) {
    ns_ -= o.ns_;
    return *this;
  }

 private:
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

class SimTime {
 public:
  constexpr SimTime() = default;
  static constexpr SimTime from_ns(int64_t ns) { return SimTime(ns); }
  static constexpr SimTime zero() { return SimTime(0); }
  static constexpr SimTime max() { return SimTime(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t ns() const { return ns_; }
  constexpr double to_seconds() const { return static_cast<double>(ns_) / 1e9; }
  constexpr Duration since_start() const { return Duration::from_ns(ns_); }

  constexpr auto operator<=>(const SimTime&) const = default;
  constexpr SimTime operator+(Duration d) const { return SimTime(ns_ + d.ns()); }
  constexpr SimTime operator-(Duration d) const { return SimTime(ns_ - d.ns()); }
  constexpr Duration operator-(SimTime o) const { return Duration::from_ns(ns_ - o.ns_); }
  constexpr SimTime& operator+=(Duration d) {
    ns_ += d.ns();
    return *this;
  }

 private:
  constexpr explicit SimTime(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

constexpr Duration nanoseconds(int64_t n) {
  return Duration::from_ns(n);
}
constexpr Duration microseconds(int64_t n) {
  return Duration::from_ns(n * 1'000);
}
constexpr Duration ms(int64_t n) {
  return Duration::from_ns(n * 1'000'000);
}
constexpr Duration seconds(int64_t n) {
  return Duration::from_ns(n * 1'000'000'000);
}
constexpr Duration minutes(int64_t n) {
  return seconds(n * 60);
}
constexpr Duration hours(int64_t n) {
  return seconds(n * 3600);
}

/// Adds without overflow: saturates at SimTime::max().
constexpr SimTime saturating_add(SimTime t, Duration d) {
  if (d.ns() > 0 && t.ns() > std::numeric_limits<int64_t>::max() - d.ns()) return SimTime::max();
  return t + d;
}

/// Human form with the largest unit that keeps it exact where possible: "150ms", "2.5s", "0s".
std::string format_duration(Duration d);
/// Seconds with up to 9 decimals, trailing zeros removed: "12.5".
std::string format_seconds(SimTime t);

}  // namespace dsim
