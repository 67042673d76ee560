// The scenario syntax of distributions, one way everywhere:
//
//   5ms                                 a constant
//   uniform(1ms, 3ms)                   also uniform(min=1ms, max=3ms)
//   exponential(mean=5ms)               also exponential(rate=200/s) for times
//   normal(mean=10ms, stddev=2ms)       truncated at 0 when it is a time
//   lognormal(median=2ms, p99=20ms)     also lognormal(median=2ms, sigma=0.8) and
//                                       lognormal(mu=-6.2, sigma=0.8) (mu of ln(value in s))
//   pareto(xm=0.2ms, alpha=3)
//   weibull(scale=10ms, shape=1.5)
//   zipf(1000, s=0.99)                  ranks 1..n
//   mixture(0.9*exponential(mean=1ms), 0.1*pareto(xm=5ms, alpha=2))
//   empirical(latency.csv)              see parse_empirical_csv()
//
// Named arguments take '=' (or ':' when the whole value is quoted in YAML, since an
// unquoted ': ' would start a YAML mapping).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sim/core/distribution.h"

namespace dsim {

/// Parses `text` as a distribution of the given dimension: times need time units
/// (ns, us, ms, s, ...), sizes need size units, plain numbers none. Relative file names in
/// empirical(...) are resolved against base_dir. Times and sizes cannot be negative unless
/// `allow_negative` (a clock offset or step).
std::optional<Distribution> parse_distribution(std::string_view text, Distribution::Dim dim,
                                               const std::string& base_dir, std::string* error,
                                               bool allow_negative = false);

/// The path of the data file `name` (an empirical CDF, a trace) named by a scenario read
/// from `base_dir`. An absolute path is taken as given. A relative one is read from that
/// folder and must stay inside its tree once symbolic links are followed: a scenario passed
/// around cannot reach, say, ../../../etc/passwd by a path that looks like one of its own
/// data files. On an error, nullopt and *error is set.
std::optional<std::string> data_file_path(const std::string& base_dir, const std::string& name,
                                          std::string* error);

/// Reads an empirical distribution from CSV text. The first line is a header. With one
/// column, each row is an observed sample (each equally likely); with two, the rows are
/// points (value, cumulative probability) of a piecewise-linear CDF. For a time, the first
/// column's name ends in its unit: latency_ms, rtt_us, delay_s, ... Blank lines and lines
/// starting with '#' are skipped.
std::optional<Distribution> parse_empirical_csv(std::string_view csv, Distribution::Dim dim,
                                                const std::string& what, std::string* error);

}  // namespace dsim
