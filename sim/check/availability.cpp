#include "sim/check/availability.h"

#include <algorithm>
#include <map>

namespace dsim::check {

namespace {

// By group, then invocation.
std::vector<OpSpan> by_group(std::span<const OpSpan> ops) {
  std::vector<OpSpan> sorted(ops.begin(), ops.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const OpSpan& a, const OpSpan& b) {
    return a.group != b.group ? a.group < b.group : a.invoke < b.invoke;
  });
  return sorted;
}

// The unavailability intervals of the group whose operations start at sorted[i] (in
// invocation order). Moves i past the group's operations.
void add_group_intervals(const std::vector<OpSpan>& sorted, size_t& i,
                         const AvailabilityConfig& config, std::vector<UnavailableInterval>& out) {
  const uint32_t group = sorted[i].group;
  std::optional<UnavailableInterval> open;
  SimTime last_failure;  // the latest completion (give-up) of the open interval's failures
  const auto close = [&](SimTime at) {
    open->end = std::min(at, last_failure);
    if (open->length() >= config.min_unavailable) out.push_back(*open);
    open.reset();
  };
  for (; i < sorted.size() && sorted[i].group == group; ++i) {
    const OpSpan& o = sorted[i];
    if (!o.ok) {
      if (!open) {
        open = UnavailableInterval{group, o.invoke, o.invoke, 0};
        last_failure = o.complete;
      }
      ++open->failed_ops;
      last_failure = std::max(last_failure, o.complete);
      continue;
    }
    if (open) close(o.invoke);
  }
  if (open) close(config.run_end);
}

// The successes of every group's operations together, for the recovery after each fault.
class Successes {
 public:
  // `sorted` must outlive this.
  Successes(std::span<const OpSpan> ops, const std::vector<OpSpan>& sorted) {
    for (const OpSpan& o : ops)
      if (o.ok) completions_.push_back(o.complete);
    std::sort(completions_.begin(), completions_.end());
    for (const OpSpan& o : sorted)
      by_invoke_.push_back(&o);
    std::stable_sort(by_invoke_.begin(), by_invoke_.end(),
                     [](const OpSpan* a, const OpSpan* b) { return a->invoke < b->invoke; });
  }

  /// Successes completed in [from, to).
  uint64_t in(SimTime from, SimTime to) const {
    return static_cast<uint64_t>(std::lower_bound(completions_.begin(), completions_.end(), to) -
                                 std::lower_bound(completions_.begin(), completions_.end(), from));
  }

  /// The first success among the operations invoked at or after `start`, from `start`.
  std::optional<Duration> first_after(SimTime start) const {
    std::optional<Duration> first;
    auto it = std::lower_bound(by_invoke_.begin(), by_invoke_.end(), start,
                               [](const OpSpan* o, SimTime t) { return o->invoke < t; });
    for (; it != by_invoke_.end(); ++it) {
      if (!(*it)->ok) continue;
      const Duration d = (*it)->complete - start;
      if (!first || d < *first) first = d;
      // Later invocations complete later than this one only roughly; keep scanning the
      // ones invoked before this success completed.
      if ((*it)->invoke > start + *first) break;
    }
    return first;
  }

 private:
  std::vector<SimTime> completions_;      // of successful operations, sorted
  std::vector<const OpSpan*> by_invoke_;  // every operation
};

// The recovery after one fault.
Recovery recovery(const FaultInterval& f, const Successes& successes,
                  const AvailabilityConfig& config) {
  Recovery r;
  r.fault = f;
  r.to_first_success = successes.first_after(f.start);
  const SimTime base_from = std::max(SimTime::zero(), f.start - config.baseline);
  const double base_seconds = (f.start - base_from).to_seconds();
  if (base_seconds > 0) {
    r.baseline_per_s = static_cast<double>(successes.in(base_from, f.start)) / base_seconds;
  }
  if (r.baseline_per_s <= 0) return r;
  const double need = config.recovered_fraction * r.baseline_per_s;
  for (SimTime w = f.start; w + config.window <= config.run_end; w += config.window) {
    const double rate =
        static_cast<double>(successes.in(w, w + config.window)) / config.window.to_seconds();
    if (rate >= need) {
      r.to_throughput = w - f.start;
      break;
    }
  }
  return r;
}

}  // namespace

AvailabilityResult analyze_availability(std::span<const OpSpan> ops,
                                        std::span<const FaultInterval> faults,
                                        const AvailabilityConfig& config) {
  AvailabilityResult out;
  const std::vector<OpSpan> sorted = by_group(ops);
  // Unavailability intervals, per group.
  for (size_t i = 0; i < sorted.size();)
    add_group_intervals(sorted, i, config, out.intervals);
  // Recovery after each fault, over every group's operations together.
  const Successes successes(ops, sorted);
  for (const FaultInterval& f : faults)
    out.recoveries.push_back(recovery(f, successes, config));
  return out;
}

}  // namespace dsim::check
