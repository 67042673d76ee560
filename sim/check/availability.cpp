#include "sim/check/availability.h"

#include <algorithm>
#include <map>

namespace dsim::check {

AvailabilityResult analyze_availability(std::span<const OpSpan> ops,
                                        std::span<const FaultInterval> faults,
                                        const AvailabilityConfig& config) {
  AvailabilityResult out;
  std::vector<OpSpan> sorted(ops.begin(), ops.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const OpSpan& a, const OpSpan& b) {
    return a.group != b.group ? a.group < b.group : a.invoke < b.invoke;
  });

  // Unavailability intervals, per group.
  for (size_t i = 0; i < sorted.size();) {
    const uint32_t group = sorted[i].group;
    std::optional<UnavailableInterval> open;
    SimTime last_failure;  // the latest completion (give-up) of the open interval's failures
    const auto close = [&](SimTime at) {
      open->end = std::min(at, last_failure);
      if (open->length() >= config.min_unavailable) out.intervals.push_back(*open);
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

  // Recovery after each fault, over every group's operations together.
  std::vector<SimTime> successes;  // completion times of successful operations, sorted
  for (const OpSpan& o : ops)
    if (o.ok) successes.push_back(o.complete);
  std::sort(successes.begin(), successes.end());
  std::vector<const OpSpan*> by_invoke;
  for (const OpSpan& o : sorted)
    by_invoke.push_back(&o);
  std::stable_sort(by_invoke.begin(), by_invoke.end(),
                   [](const OpSpan* a, const OpSpan* b) { return a->invoke < b->invoke; });
  const auto successes_in = [&](SimTime from, SimTime to) {
    return static_cast<uint64_t>(std::lower_bound(successes.begin(), successes.end(), to) -
                                 std::lower_bound(successes.begin(), successes.end(), from));
  };
  for (const FaultInterval& f : faults) {
    Recovery r;
    r.fault = f;
    // First success among the operations invoked at or after the start.
    auto it = std::lower_bound(by_invoke.begin(), by_invoke.end(), f.start,
                               [](const OpSpan* o, SimTime t) { return o->invoke < t; });
    for (; it != by_invoke.end(); ++it) {
      if (!(*it)->ok) continue;
      const Duration d = (*it)->complete - f.start;
      if (!r.to_first_success || d < *r.to_first_success) r.to_first_success = d;
      // Later invocations complete later than this one only roughly; keep scanning the
      // ones invoked before this success completed.
      if ((*it)->invoke > f.start + *r.to_first_success) break;
    }
    const SimTime base_from = std::max(SimTime::zero(), f.start - config.baseline);
    const double base_seconds = (f.start - base_from).to_seconds();
    if (base_seconds > 0) {
      r.baseline_per_s = static_cast<double>(successes_in(base_from, f.start)) / base_seconds;
    }
    if (r.baseline_per_s > 0) {
      const double need = config.recovered_fraction * r.baseline_per_s;
      for (SimTime w = f.start; w + config.window <= config.run_end; w += config.window) {
        const double rate =
            static_cast<double>(successes_in(w, w + config.window)) / config.window.to_seconds();
        if (rate >= need) {
          r.to_throughput = w - f.start;
          break;
        }
      }
    }
    out.recoveries.push_back(std::move(r));
  }
  return out;
}

}  // namespace dsim::check
