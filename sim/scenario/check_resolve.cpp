#include "sim/scenario/check_resolve.h"

#include <algorithm>
#include <map>
#include <set>

#include "sim/core/faults.h"

namespace dsim {

namespace {

using Names = std::set<std::string, std::less<>>;

void add(Names& to, std::span<const std::string_view> names) {
  for (std::string_view n : names)
    to.emplace(n);
}

// Levenshtein distance, for "did you mean".
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// "; did you mean 'x'?" for the nearest name within a few edits, or a short list.
std::string hint(std::string_view name, const Names& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = distance(name, c);
    if (d < best_d) best = c, best_d = d;
  }
  if (!best.empty()) return "; did you mean '" + best + "'?";
  if (candidates.empty()) return "";
  constexpr size_t kListed = 12;
  std::string list;
  size_t n = 0;
  for (const auto& c : candidates) {
    if (n++ == kListed) break;
    list += (list.empty() ? "" : ", ") + c;
  }
  if (candidates.size() > kListed)
    list += ", ... (" + std::to_string(candidates.size()) + " in all)";
  return " (" + list + ")";
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

// What the scenario can report: per group, its model's declarations; over the run, the
// engine's figures and those of the history checkers its clients' families have.
class Resolver {
 public:
  explicit Resolver(const ScenarioSpec& spec) {
    add(run_, kRunMetrics);
    add(run_counters_, kRunCounters);
    for (int k = 0; k <= static_cast<int>(kLastFaultKind); ++k) {
      const std::string name = "faults_" + std::string(fault_kind_name(static_cast<FaultKind>(k)));
      run_.insert(name);
      run_counters_.insert(name);
    }
    add(op_metrics_, kOperationMetrics);
    add(op_availability_, kOperationAvailabilityMetrics);
    for (const auto& g : spec.groups)
      add_group(spec, g);
    if (!spec.registry) return;
    for (const auto& f : spec.registry->families()) {
      for (const auto& checker : f.checkers) {
        for (const auto& m : checker.metrics)
          checker_family_.emplace(m, std::string(f.family->name));
      }
    }
  }

  bool resolve(CheckSpec& c, std::string* error) const {
    const auto fail = [&](const std::string& why) {
      *error = "'" + c.text + "': " + why;
      return false;
    };
    if (c.group.empty()) return unscoped(c, fail);
    if (c.group == "run") {
      if (run_.count(c.metric) && c.op.empty()) return zero_if_counter(c, run_counters_);
      if (const auto why = no_history(c.metric, true, ""); !why.empty()) return fail(why);
      return fail("the run reports no figure '" + c.metric + "'" + hint(c.metric, run_));
    }
    if (c.group == "all") return over_groups(c, fail);
    const auto g = groups_.find(c.group);
    if (g == groups_.end()) return true;  // the caller reports unknown groups
    return in_group(g->second, c, fail);
  }

 private:
  struct Group {
    std::string model;
    MetricDecls decls;
    bool has_history = false;
    std::set<std::string> checker_metrics;  // of the families it records
  };

  void add_group(const ScenarioSpec& spec, const GroupSpec& g) {
    if (!g.factory || !g.config) return;  // its params had errors, already reported
    Group& out = groups_[g.name];
    out.model = g.model;
    g.factory->declare(g.config.get(), out.decls);
    for (const auto& op : out.decls.operations())
      ops_.insert(op);
    if (!spec.registry) return;
    for (const auto& f : spec.registry->families()) {
      if (!out.decls.histories().count(std::string(f.family->name))) continue;
      out.has_history = true;
      add(run_, kRunHistoryMetrics);
      for (const auto& checker : f.checkers) {
        for (const auto& m : checker.metrics) {
          run_.insert(m);
          out.checker_metrics.insert(m);
        }
      }
    }
  }

  static bool zero_if_counter(CheckSpec& c, const Names& counters) {
    c.absent_is_zero = counters.count(c.metric) > 0;
    return true;
  }

  // A history checker's figure, in a scenario (or group) that records no such history.
  std::string no_history(const std::string& metric, bool scenario, const std::string& group) const {
    const auto f = checker_family_.find(metric);
    if (f == checker_family_.end()) return "";
    const std::string who =
        scenario ? "no group of this scenario records a " : "group '" + group + "' records no ";
    return "'" + metric + "' is a figure of the checkers of the " + f->second + " history, but " +
           who + f->second + " history";
  }

  template <class Fail>
  bool unscoped(CheckSpec& c, const Fail& fail) const {
    if (!ops_.empty() && op_metrics_.count(c.metric)) return true;
    if (run_.count(c.metric)) return zero_if_counter(c, run_counters_);
    if (const auto why = no_history(c.metric, true, ""); !why.empty()) return fail(why);
    Names all = run_;
    if (!ops_.empty()) all.insert(op_metrics_.begin(), op_metrics_.end());
    return fail("no figure '" + c.metric + "' over the whole run" + hint(c.metric, all));
  }

  // `all.metric`, `all.op.metric`, `metric[op]`: every client group together.
  template <class Fail>
  bool over_groups(CheckSpec& c, const Fail& fail) const {
    if (ops_.empty()) return fail("no group of this scenario records operations");
    if (!c.op.empty() && c.op != "all" && !ops_.count(c.op)) {
      return fail("no client group records an operation '" + c.op +
                  "' (operations: " + joined(ops_) + ")");
    }
    return op_figure(c, c.op.empty() || c.op == "all", fail);
  }

  template <class Fail>
  bool op_figure(const CheckSpec& c, bool pooled, const Fail& fail) const {
    if (op_metrics_.count(c.metric) || (!pooled && op_availability_.count(c.metric))) return true;
    Names all = op_metrics_;
    if (!pooled) all.insert(op_availability_.begin(), op_availability_.end());
    return fail("an operation has no figure '" + c.metric + "'" + hint(c.metric, all));
  }

  template <class Fail>
  bool in_group(const Group& g, CheckSpec& c, const Fail& fail) const {
    const auto& ops = g.decls.operations();
    if (!c.op.empty()) {
      if (ops.empty()) {
        return fail("group '" + c.group + "' (model " + g.model + ") records no operations");
      }
      if (c.op != "all" && !ops.count(c.op)) {
        return fail("group '" + c.group + "' records no operation '" + c.op +
                    "' (its operations: " + joined(ops) + ")");
      }
      return op_figure(c, c.op == "all", fail);
    }
    if (!ops.empty() && op_metrics_.count(c.metric)) return true;
    if (g.decls.reports(c.metric)) {
      c.absent_is_zero = g.decls.is_counter(c.metric);
      return true;
    }
    if (g.has_history &&
        (g.checker_metrics.count(c.metric) ||
         std::find(std::begin(kGroupAvailabilityMetrics), std::end(kGroupAvailabilityMetrics),
                   c.metric) != std::end(kGroupAvailabilityMetrics)))
      return true;
    if (const auto why = no_history(c.metric, false, c.group); !why.empty()) return fail(why);
    Names all(g.decls.metrics().begin(), g.decls.metrics().end());
    if (!ops.empty()) all.insert(op_metrics_.begin(), op_metrics_.end());
    return fail("group '" + c.group + "' (model " + g.model + ") reports no figure '" + c.metric +
                "'" + hint(c.metric, all));
  }

  std::map<std::string, Group, std::less<>> groups_;
  std::set<std::string> ops_;                          // every group's operation types
  std::map<std::string, std::string> checker_family_;  // a checker's figure -> its family
  Names run_, run_counters_, op_metrics_, op_availability_;
};

}  // namespace

void resolve_checks(const ScenarioSpec& spec, std::span<CheckSpec> checks,
                    const std::function<void(const CheckSpec&, const std::string&)>& on_error) {
  if (checks.empty()) return;
  const Resolver resolver(spec);
  for (auto& c : checks) {
    std::string error;
    if (!resolver.resolve(c, &error)) on_error(c, error);
  }
}

void resolve_checks(ScenarioSpec& spec, Diagnostics& diag) {
  resolve_checks(spec, spec.checks, [&](const CheckSpec& c, const std::string& error) {
    diag.error(c.loc, "checks: " + error);
  });
}

}  // namespace dsim
