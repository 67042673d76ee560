// `checks:` in a scenario: assertions on the results that make `dsim run` exit 1 when
// one fails. Syntax: `[group.[op.]]metric <op> number`, with <op> one of < <= > >= == !=,
// e.g. `latency_ms_p99 < 50`, `clients.read.availability >= 0.999`,
// `servers.utilization_mean < 0.8`; `[group.]metric[op]` names one operation type, over
// every client group when unscoped (`availability[put] >= 0.99`,
// `unavailable_seconds[put] < 1`). A bare name (`linearizable`) means `name == 1`.
// Without a scope a check reads the aggregate over every client group and operation
// (group `all`, op `all`), or else a run-wide metric (group `run`).
#pragma once

#include <optional>
#include <string>

#include "sim/core/params.h"

namespace dsim {

struct CheckSpec {
  enum class Cmp { kLt, kLe, kGt, kGe, kEq, kNe };
  std::string text;
  SourceLoc loc;
  std::string group;  ///< empty: unscoped
  std::string op;     ///< empty: the group's aggregate (or group-level metric)
  std::string metric;
  Cmp cmp = Cmp::kEq;
  double threshold = 0;

  bool holds(double value) const;
};

std::optional<CheckSpec> parse_check(const std::string& text, std::string* error);
const char* cmp_text(CheckSpec::Cmp c);

}  // namespace dsim
