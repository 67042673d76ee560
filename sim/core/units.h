// Quantities with units, as written in scenario files: durations ("150ms"), rates
// ("200/s", "100/30min"), sizes ("64KiB"), bandwidths ("10Gbps"), probabilities ("5%").
// Every parser returns nullopt and sets *error to a one-line reason on bad input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sim/core/time.h"

namespace dsim {

/// "<number><unit>" with unit ns, us, ms, s, min, h, d; "0" alone is accepted.
std::optional<Duration> parse_duration(std::string_view text, std::string* error);
/// Events per second: "<number>/<duration or unit>", e.g. "200/s", "5/ms", "100/30min".
std::optional<double> parse_rate(std::string_view text, std::string* error);
/// The fastest rate a simulation can follow: one event per nanosecond, the clock's
/// resolution. A faster rate would put events at the same instant and time would not move.
constexpr double kMaxRatePerSecond = 1e9;
/// Why rate `text` (worth `per_second`) is above kMaxRatePerSecond; "" when it is not.
std::string rate_too_fast(std::string_view text, double per_second);
/// Bytes: "<number><unit>" with B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB.
std::optional<uint64_t> parse_size(std::string_view text, std::string* error);
/// Bits per second: bps, Kbps, Mbps, Gbps, Tbps, or bytes per second: B/s, KB/s, MB/s, GB/s.
std::optional<double> parse_bandwidth(std::string_view text, std::string* error);
/// "5%" or a plain number in [0, 1].
std::optional<double> parse_probability(std::string_view text, std::string* error);
/// A plain decimal number (no unit).
std::optional<double> parse_number(std::string_view text, std::string* error);
/// A plain integer (no unit, no fraction).
std::optional<int64_t> parse_integer(std::string_view text, std::string* error);

std::string format_rate(double per_second);            ///< "200/s"
std::string format_bytes(uint64_t bytes);              ///< "64KiB", "1500B"
std::string format_bandwidth(double bits_per_second);  ///< "10Gbps"
std::string format_number(double v);                   ///< shortest exact form: "0.25", "1e-06"
/// For people: `decimals` places ("12.500"), "-" for NaN and infinities.
std::string format_fixed(double v, int decimals);
/// a / b as a percentage with 3 decimals ("12.500%"), "-" when b is 0.
std::string format_percent(uint64_t a, uint64_t b);

}  // namespace dsim
