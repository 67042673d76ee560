// The oracles' figures as text for people: a queue's closed-form figures, and a table of
// simulated figures beside theory's. `dsim analyze mmc` prints the first; a model's theory
// hook (registry.h, ModelFactory::theory) builds the second for `dsim analyze run`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dsim::oracle {

/// A number with `digits` significant digits ("-" when not finite).
std::string num(double v, int digits = 4);

/// The M/M/c (Erlang C) figures, or M/M/c/K's with `queue_places` waiting places; rates per
/// second. Lines end with '\n'.
std::string queue_report(double lambda, double mu, int c, std::optional<int64_t> queue_places);

struct Comparison {
  std::string figure;
  std::optional<double> simulated;
  double theory;
};
/// The table: figure, simulated, theory and their relative difference.
std::string comparison_table(const std::vector<Comparison>& rows);

}  // namespace dsim::oracle
