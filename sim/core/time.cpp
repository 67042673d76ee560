#include "sim/core/time.h"

#include <cstdio>
#include <cstdlib>

namespace dsim {

namespace {

// Prints ns / unit with up to 9 decimals, trimming trailing zeros.
std::string decimal(int64_t ns, int64_t unit) {
  const bool negative = ns < 0;
  const uint64_t mag = negative ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  const uint64_t whole = mag / static_cast<uint64_t>(unit);
  uint64_t frac = mag % static_cast<uint64_t>(unit);
  std::string out = negative ? "-" : "";
  out += std::to_string(whole);
  if (frac != 0) {
    int digits = 0;
    for (int64_t u = unit; u > 1; u /= 10)
      ++digits;
    std::string f(static_cast<size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
      f[static_cast<size_t>(i)] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    while (!f.empty() && f.back() == '0')
      f.pop_back();
    out += "." + f;
  }
  return out;
}

}  // namespace

std::string format_duration(Duration d) {
  const int64_t ns = d.ns();
  // Unsigned, so that the magnitude of INT64_MIN does not overflow.
  const uint64_t mag = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  struct Unit {
    uint64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {3'600'000'000'000, "h"}, {60'000'000'000, "min"}, {1'000'000'000, "s"},
      {1'000'000, "ms"},        {1'000, "us"},           {1, "ns"},
  };
  if (mag == 0) return "0s";
  // Hours and minutes only when they divide the value exactly (decimal() prints decimal
  // fractions only); else the largest of s, ms, us, ns not above the value: "2.5s".
  for (const auto& u : kUnits) {
    if (u.ns > 1'000'000'000 && mag % u.ns == 0)
      return decimal(ns, static_cast<int64_t>(u.ns)) + u.name;
  }
  for (const auto& u : kUnits) {
    if (u.ns <= 1'000'000'000 && mag >= u.ns)
      return decimal(ns, static_cast<int64_t>(u.ns)) + u.name;
  }
  return decimal(ns, 1) + "ns";
}

std::string format_seconds(SimTime t) {
  return decimal(t.ns(), 1'000'000'000);
}

}  // namespace dsim
