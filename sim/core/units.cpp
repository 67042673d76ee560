#include "sim/core/units.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace dsim {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Splits "12.5ms" into 12.5 and "ms". The number is a plain decimal, optionally signed,
// with an optional exponent ("1e6"). Returns false when no number leads the text.
bool split_number(std::string_view s, double* value, std::string_view* unit) {
  s = trim(s);
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const size_t digits_start = i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
    ++i;
  if (i == digits_start) return false;
  // An exponent only when followed by a digit (so "1e6" parses, "5e" does not eat the 'e').
  if (i + 1 < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j;
      i = j;
    }
  }
  std::string_view num = s.substr(0, i);
  if (!num.empty() && num.front() == '+') num.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || ptr != num.data() + num.size()) return false;
  *value = v;
  *unit = trim(s.substr(i));
  return true;
}

void set(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
}

std::optional<int64_t> time_unit_ns(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s") return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  if (u == "min") return 60'000'000'000;
  if (u == "h") return 3'600'000'000'000;
  if (u == "d") return 86'400'000'000'000;
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_number(std::string_view text, std::string* error) {
  double v = 0;
  std::string_view unit;
  if (!split_number(text, &v, &unit) || !unit.empty() || !std::isfinite(v)) {
    set(error, "expected a number, got '" + std::string(trim(text)) + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> parse_integer(std::string_view text, std::string* error) {
  const std::string_view s = trim(text);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    set(error, "expected an integer, got '" + std::string(s) + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  double v = 0;
  std::string_view unit;
  const std::string shown(trim(text));
  if (!split_number(text, &v, &unit)) {
    set(error, "expected a duration such as 150ms or 2.5s, got '" + shown + "'");
    return std::nullopt;
  }
  if (unit.empty()) {
    if (v == 0) return Duration::zero();
    set(error, "'" + shown + "' needs a time unit (ns, us, ms, s, min, h, d)");
    return std::nullopt;
  }
  const auto scale = time_unit_ns(unit);
  if (!scale) {
    set(error, "unknown time unit '" + std::string(unit) + "' in '" + shown +
                   "' (valid: ns, us, ms, s, min, h, d)");
    return std::nullopt;
  }
  const double ns = v * static_cast<double>(*scale);
  if (!std::isfinite(ns) || std::abs(ns) > 9.2e18) {
    set(error, "duration '" + shown + "' is out of range (at most 292 years)");
    return std::nullopt;
  }
  if (ns != 0 && std::abs(ns) < 1) {
    set(error, "duration '" + shown + "' is finer than the clock's resolution (1ns)");
    return std::nullopt;
  }
  return Duration::from_ns(std::llround(ns));
}

std::optional<double> parse_rate(std::string_view text, std::string* error) {
  const std::string shown(trim(text));
  const size_t slash = shown.find('/');
  if (slash == std::string::npos) {
    set(error, "expected a rate such as 200/s or 100/30min, got '" + shown + "'");
    return std::nullopt;
  }
  std::string err;
  const auto count = parse_number(std::string_view(shown).substr(0, slash), &err);
  if (!count || *count < 0) {
    set(error, "the count before '/' in rate '" + shown + "' must be a number >= 0");
    return std::nullopt;
  }
  std::string per(trim(std::string_view(shown).substr(slash + 1)));
  // "200/s": a bare unit means one of it.
  if (!per.empty() && !std::isdigit(static_cast<unsigned char>(per[0])) && per[0] != '.') {
    per = "1" + per;
  }
  const auto span = parse_duration(per, &err);
  if (!span || span->ns() <= 0) {
    set(error, "the period after '/' in rate '" + shown + "' must be a positive duration");
    return std::nullopt;
  }
  return *count / span->to_seconds();
}

std::string rate_too_fast(std::string_view text, double per_second) {
  if (per_second <= kMaxRatePerSecond) return "";
  return "rate " + std::string(trim(text)) +
         " is above 1e9/s: its events would come less than 1ns apart, finer than the "
         "clock's resolution (1ns)";
}

std::optional<uint64_t> parse_size(std::string_view text, std::string* error) {
  double v = 0;
  std::string_view unit;
  const std::string shown(trim(text));
  if (!split_number(text, &v, &unit) || v < 0) {
    set(error, "expected a size such as 512B or 64KiB, got '" + shown + "'");
    return std::nullopt;
  }
  struct U {
    std::string_view name;
    double scale;
  };
  static constexpr U kUnits[] = {
      {"B", 1},           {"KB", 1e3},           {"MB", 1e6},
      {"GB", 1e9},        {"TB", 1e12},          {"KiB", 1024.0},
      {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
  };
  if (unit.empty()) {
    if (v == 0) return 0;
    set(error, "'" + shown + "' needs a size unit (B, KB, MB, GB, KiB, MiB, GiB)");
    return std::nullopt;
  }
  for (const auto& u : kUnits) {
    if (unit == u.name) {
      const double bytes = v * u.scale;
      if (bytes > 9e18) {
        set(error, "size '" + shown + "' is out of range");
        return std::nullopt;
      }
      return static_cast<uint64_t>(std::llround(bytes));
    }
  }
  set(error, "unknown size unit '" + std::string(unit) + "' in '" + shown +
                 "' (valid: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  return std::nullopt;
}

std::optional<double> parse_bandwidth(std::string_view text, std::string* error) {
  double v = 0;
  std::string_view unit;
  const std::string shown(trim(text));
  if (!split_number(text, &v, &unit) || v <= 0) {
    set(error, "expected a bandwidth such as 10Gbps or 100MB/s, got '" + shown + "'");
    return std::nullopt;
  }
  struct U {
    std::string_view name;
    double bits_per_s;
  };
  static constexpr U kUnits[] = {
      {"bps", 1},     {"Kbps", 1e3},     {"Mbps", 1e6},        {"Gbps", 1e9},
      {"Tbps", 1e12}, {"B/s", 8},        {"KB/s", 8e3},        {"MB/s", 8e6},
      {"GB/s", 8e9},  {"KiB/s", 8192.0}, {"MiB/s", 8388608.0}, {"GiB/s", 8589934592.0},
  };
  for (const auto& u : kUnits) {
    if (unit == u.name) return v * u.bits_per_s;
  }
  set(error, "unknown bandwidth unit in '" + shown +
                 "' (valid: bps, Kbps, Mbps, Gbps, Tbps, B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, "
                 "GiB/s)");
  return std::nullopt;
}

std::optional<double> parse_probability(std::string_view text, std::string* error) {
  double v = 0;
  std::string_view unit;
  const std::string shown(trim(text));
  if (split_number(text, &v, &unit)) {
    if (unit == "%") v /= 100.0;
    if ((unit.empty() || unit == "%") && v >= 0 && v <= 1) return v;
  }
  set(error, "expected a probability such as 5% or 0.05 (between 0 and 1), got '" + shown + "'");
  return std::nullopt;
}

std::string format_number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

std::string format_rate(double per_second) {
  return format_number(per_second) + "/s";
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  uint64_t v = bytes;
  while (i < 4 && v >= 1024 && v % 1024 == 0) {
    v /= 1024;
    ++i;
  }
  return std::to_string(v) + kNames[i];
}

std::string format_bandwidth(double bits_per_second) {
  static constexpr struct {
    double scale;
    const char* name;
  } kUnits[] = {{1e12, "Tbps"}, {1e9, "Gbps"}, {1e6, "Mbps"}, {1e3, "Kbps"}};
  for (const auto& u : kUnits) {
    if (bits_per_second >= u.scale) return format_number(bits_per_second / u.scale) + u.name;
  }
  return format_number(bits_per_second) + "bps";
}

std::string format_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string format_percent(uint64_t a, uint64_t b) {
  if (b == 0) return "-";
  return format_fixed(100.0 * static_cast<double>(a) / static_cast<double>(b), 3) + "%";
}

}  // namespace dsim
