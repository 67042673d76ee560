// Availability of a service as its clients saw it, from the operation history:
// unavailability intervals, and the time to recover after each fault.
//
// Definitions (docs/consistency.md, "Availability analysis"):
//   - An operation succeeded when its outcome is ok; it failed when it is fail or unknown.
//   - An unavailability interval of a client group starts at the invocation of a failed
//     operation while no interval is open, and ends at the invocation of the group's next
//     operation that succeeded (or at the end of the run) — but no later than the last
//     completion (give-up) of the failed operations it holds, so a pause in which the
//     clients try nothing is not counted. It is reported when it lasts at least
//     `min_unavailable`. Operations are taken in invocation order.
//   - For each fault (an interval [start, end) given by the caller: the fault schedule),
//     time to first success = the earliest completion of a successful operation invoked
//     at or after the fault's start, minus the start; time to recover throughput = the
//     start of the first window of `window` width, in a grid starting at the fault's
//     start, whose successes per second reach `recovered_fraction` of the baseline, minus
//     the start. The baseline is the success rate over the `baseline` before the start
//     (clipped at the run's start). With no baseline (no success before the fault) the
//     throughput recovery is not defined.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/core/time.h"

namespace dsim::check {

/// One operation, as the availability analysis sees it.
struct OpSpan {
  uint32_t group = 0;
  SimTime invoke;
  SimTime complete;  ///< when it succeeded or was given up
  bool ok = false;
};

/// A fault, from the scenario's fault schedule.
struct FaultInterval {
  SimTime start;
  SimTime end;       ///< == start for an instantaneous fault
  std::string what;  ///< e.g. "crash replicas.0"
};

struct AvailabilityConfig {
  SimTime run_end;
  Duration window = seconds(1);
  Duration min_unavailable = ms(100);
  Duration baseline = seconds(10);
  double recovered_fraction = 0.9;
};

struct UnavailableInterval {
  uint32_t group = 0;
  SimTime start;
  SimTime end;
  uint64_t failed_ops = 0;
  Duration length() const { return end - start; }
};

struct Recovery {
  FaultInterval fault;
  double baseline_per_s = 0;
  std::optional<Duration> to_first_success;
  std::optional<Duration> to_throughput;
};

struct AvailabilityResult {
  std::vector<UnavailableInterval> intervals;  ///< by group, then start
  std::vector<Recovery> recoveries;            ///< in the order of the faults given
};

/// `ops` in any order.
AvailabilityResult analyze_availability(std::span<const OpSpan> ops,
                                        std::span<const FaultInterval> faults,
                                        const AvailabilityConfig& config);

}  // namespace dsim::check
