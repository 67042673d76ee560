#include "sim/sweep/verdicts.h"

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>

#include "sim/core/assert.h"
#include "sim/run/runner.h"

namespace dsim::sweep {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using FigureKey = std::tuple<std::string, std::string, std::string>;

bool is_check_row(const SummaryRow& r) {
  return r.group == "run" && r.op == "check";
}

// How bad a value is: worse tier first (a failed check, an unknown value), then a higher
// score. Larger is worse.
struct Badness {
  int tier = 0;
  double score = 0;
  bool worse_than(const Badness& o) const {
    return tier != o.tier ? tier > o.tier : score > o.score;
  }
};

// Which way a figure goes wrong.
struct Direction {
  enum class Kind { kHigher, kLower, kFarFrom, kNearTo };
  Kind kind = Kind::kHigher;
  double target = 0;

  Badness of(double v) const {
    if (!std::isfinite(v)) return {1, 0};
    switch (kind) {
      case Kind::kHigher:
        return {0, v};
      case Kind::kLower:
        return {0, -v};
      case Kind::kFarFrom:
        return {0, std::abs(v - target)};
      case Kind::kNearTo:
        return {0, -std::abs(v - target)};
    }
    return {0, v};
  }
};

Direction direction_of_check(const CheckSpec& c) {
  switch (c.cmp) {
    case CheckSpec::Cmp::kLt:
    case CheckSpec::Cmp::kLe:
      return {Direction::Kind::kHigher, c.threshold};
    case CheckSpec::Cmp::kGt:
    case CheckSpec::Cmp::kGe:
      return {Direction::Kind::kLower, c.threshold};
    case CheckSpec::Cmp::kEq:
      return {Direction::Kind::kFarFrom, c.threshold};
    case CheckSpec::Cmp::kNe:
      return {Direction::Kind::kNearTo, c.threshold};
  }
  return {};
}

// The checks of a point, parsed once each (a text that does not parse, which a scenario
// check cannot be, is nullopt: its worst replication is then ranked by pass/fail alone).
class CheckCache {
 public:
  const CheckSpec* get(const std::string& text) {
    auto it = parsed_.find(text);
    if (it == parsed_.end()) {
      std::string error;
      it = parsed_.emplace(text, parse_check(text, &error)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

 private:
  std::map<std::string, std::optional<CheckSpec>> parsed_;
};

// The direction of each figure a check reads, from a point's first replication: the
// first check on a figure decides.
std::map<FigureKey, Direction> checked_directions(const RunRecord& rec, CheckCache& cache) {
  std::map<FigureKey, Direction> dirs;
  for (const auto& r : rec.rows) {
    if (!is_check_row(r)) continue;
    const CheckSpec* c = cache.get(r.metric);
    if (!c) continue;
    if (const SummaryRow* target = checked_row(rec.rows, *c)) {
      dirs.emplace(FigureKey{target->group, target->op, target->metric}, direction_of_check(*c));
    }
  }
  return dirs;
}

// A figure or check being summed up over a point's replications.
struct Tally {
  std::vector<double> values;
  Worst worst;
  Badness badness;
  bool any = false;

  void add(double value, Worst w, Badness b) {
    values.push_back(value);
    if (!any || b.worse_than(badness)) {
      worst = w;
      badness = b;
    }
    any = true;
  }
};

// A check row of one replication: how bad, and the checked figure's value there.
std::pair<Badness, Worst> check_badness(const RunRecord& rec, const SummaryRow& row,
                                        CheckCache& cache) {
  const bool passed = row.value != 0;
  Worst w{rec.replication, rec.seed, kNaN};
  const CheckSpec* c = cache.get(row.metric);
  if (!c) return {{passed ? 0 : 1, 0}, w};
  const SummaryRow* target = checked_row(rec.rows, *c);
  w.missing = target == nullptr;
  if (target) w.value = target->value;
  return {{passed ? 0 : 1, -check_margin(*c, w.value)}, w};
}

// The verdicts of the point whose records are [begin, end).
PointVerdict one_point(const std::vector<RunRecord>& records, size_t begin, size_t end) {
  CheckCache cache;
  const auto dirs = checked_directions(records[begin], cache);
  std::map<FigureKey, size_t> index;
  std::vector<FigureKey> order;
  std::vector<Tally> figures;
  std::map<std::string, size_t> check_index;
  std::vector<Tally> checks;
  std::vector<std::string> check_order;
  for (size_t i = begin; i < end; ++i) {
    const RunRecord& rec = records[i];
    for (const auto& r : rec.rows) {
      FigureKey k{r.group, r.op, r.metric};
      auto [it, inserted] = index.emplace(k, order.size());
      if (inserted) {
        order.push_back(k);
        figures.emplace_back();
      }
      const Worst here{rec.replication, rec.seed, r.value};
      if (is_check_row(r)) {
        const auto [bad, checked] = check_badness(rec, r, cache);
        figures[it->second].add(r.value, here, bad);
        auto [c, fresh] = check_index.emplace(r.metric, checks.size());
        if (fresh) {
          checks.emplace_back();
          check_order.push_back(r.metric);
        }
        checks[c->second].add(r.value, checked, bad);
        continue;
      }
      const auto d = dirs.find(k);
      Direction dir = d != dirs.end() ? d->second : Direction{};
      if (d == dirs.end() && more_is_better(r.metric)) dir.kind = Direction::Kind::kLower;
      figures[it->second].add(r.value, here, dir.of(r.value));
    }
  }
  PointVerdict pv;
  pv.point = records[begin].point;
  for (size_t f = 0; f < order.size(); ++f) {
    const auto& [g, o, m] = order[f];
    pv.figures.push_back({g, o, m, aggregate(figures[f].values), figures[f].worst});
  }
  for (size_t c = 0; c < check_order.size(); ++c) {
    CheckVerdict cv{check_order[c], checks[c].values.size(), 0, checks[c].worst};
    for (double v : checks[c].values)
      cv.passed += v != 0 ? 1 : 0;
    pv.checks.push_back(std::move(cv));
  }
  return pv;
}

}  // namespace

bool more_is_better(const std::string& metric) {
  return metric.starts_with("availability") || metric.starts_with("throughput") ||
         metric.starts_with("goodput") || metric == "ok" || metric.ends_with("_ok") ||
         metric == "linearizable";
}

double check_margin(const CheckSpec& check, double value) {
  if (std::isnan(value)) return -kInf;
  switch (check.cmp) {
    case CheckSpec::Cmp::kLt:
    case CheckSpec::Cmp::kLe:
      return check.threshold - value;
    case CheckSpec::Cmp::kGt:
    case CheckSpec::Cmp::kGe:
      return value - check.threshold;
    case CheckSpec::Cmp::kEq:
      return -std::abs(value - check.threshold);
    case CheckSpec::Cmp::kNe:
      return std::abs(value - check.threshold);
  }
  return 0;
}

std::vector<PointVerdict> point_verdicts(const std::vector<RunRecord>& records) {
  std::vector<PointVerdict> out;
  size_t i = 0;
  while (i < records.size()) {
    size_t end = i;
    while (end < records.size() && records[end].point == records[i].point)
      ++end;
    DSIM_ASSERT(out.empty() || out.back().point < records[i].point, "records not sorted");
    out.push_back(one_point(records, i, end));
    i = end;
  }
  return out;
}

std::string shell_word(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("_./:=,+@%-").find(c) != std::string_view::npos;
    plain = plain && ok;
  }
  if (plain) return word;
  std::string q = "'";
  for (char c : word)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string rerun_command(const SweepMeta& meta, uint32_t point, uint64_t seed,
                          const std::string& sweep_yaml) {
  DSIM_ASSERT(point < meta.point_values.size());
  std::string cmd = "dsim run " + shell_word(sweep_yaml) + " --seed " + std::to_string(seed);
  const auto& values = meta.point_values[point];
  DSIM_ASSERT(values.size() == meta.columns.size());
  for (size_t k = 0; k < values.size(); ++k)
    cmd += " --set " + shell_word(meta.columns[k] + "=" + values[k]);
  return cmd;
}

}  // namespace dsim::sweep
