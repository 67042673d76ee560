// The figures a model's groups can report, declared before the run: the group-level rows
// of summary.csv (`group,,metric`) that its counters, timings, levels and analyses produce,
// and the operation types its clients record (`group,op,...`). `checks:` are resolved
// against them when the scenario loads, so a misspelled check is an error before a long
// run rather than after it; a golden test holds every row a run produces against them.
#pragma once

#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dsim {

class MetricDecls {
 public:
  /// Recorder::count(): the row `<name>`; a counter never incremented reads 0.
  void counter(std::string_view name);
  /// Recorder::observe(): `<name>_count`, `<name>_ms_p50` ... `_p9999`, `_ms_max`, `_ms_mean`.
  void timing(std::string_view name);
  /// Recorder::level(): `<name>_mean` and `<name>_peak`.
  void level(std::string_view name);
  /// A row an analysis computes and reports as is (e.g. `failovers`, `max_term`).
  void figure(std::string_view name);
  /// An operation type the group's clients record (Recorder::begin_op).
  void operation(std::string_view op);
  /// A history family (history.h) its clients record operations in: its checkers' figures
  /// (`linearizable`, ...) can then be checked.
  void history(std::string_view family);

  /// Every name of `names` as a counter (kit components list theirs so).
  void counters(std::span<const std::string_view> names);

  bool reports(std::string_view metric) const { return metrics_.count(std::string(metric)); }
  bool is_counter(std::string_view metric) const { return counters_.count(std::string(metric)); }
  bool records(std::string_view op) const { return ops_.count(std::string(op)); }
  const std::set<std::string>& metrics() const { return metrics_; }
  const std::set<std::string>& operations() const { return ops_; }
  const std::set<std::string>& histories() const { return histories_; }

 private:
  std::set<std::string> metrics_;
  std::set<std::string> counters_;
  std::set<std::string> ops_;
  std::set<std::string> histories_;
};

/// The percentiles every latency and timing reports (`latency_ms_p50`, `<name>_ms_p99`).
inline constexpr std::string_view kPercentileNames[] = {"p50", "p90",  "p95",
                                                        "p99", "p999", "p9999"};

/// The figures of one operation type (`group,op,metric`, and `all`): counts, availability,
/// throughput and latency.
inline constexpr std::string_view kOperationMetrics[] = {"requests",        "ok",
                                                         "rejected",        "timeout",
                                                         "error",           "in_flight",
                                                         "availability",    "throughput_per_s",
                                                         "latency_ms_p50",  "latency_ms_p90",
                                                         "latency_ms_p95",  "latency_ms_p99",
                                                         "latency_ms_p999", "latency_ms_p9999",
                                                         "latency_ms_max",  "latency_ms_mean"};

/// The availability analysis per operation type (`group,op,...` and `all,op,...`, op not
/// `all`) of the groups that record histories: sim/run/availability_report.cpp.
inline constexpr std::string_view kOperationAvailabilityMetrics[] = {
    "unavailable_intervals", "unavailable_seconds", "unavailable_seconds_max",
    "time_to_first_success_ms_max", "time_to_recover_ms_max"};

/// Its figures per client group (`group,,metric`).
inline constexpr std::string_view kGroupAvailabilityMetrics[] = {"unavailable_intervals",
                                                                 "unavailable_seconds"};

/// The whole run's figures (`run,,metric`) besides `faults_<kind>`: the engine's counters
/// and the faults.
inline constexpr std::string_view kRunMetrics[] = {"events",
                                                   "sim_seconds",
                                                   "measured_seconds",
                                                   "aborted",
                                                   "nodes",
                                                   "peak_pending_events",
                                                   "messages_sent",
                                                   "messages_delivered",
                                                   "messages_dropped",
                                                   "messages_duplicated",
                                                   "dropped_loss",
                                                   "dropped_partition",
                                                   "dropped_queue_overflow",
                                                   "dropped_node_down",
                                                   "bytes_sent",
                                                   "faults",
                                                   "faults_no_target"};

/// The run's figures when its clients record histories (besides their checkers'): the
/// history's size and the availability analysis.
inline constexpr std::string_view kRunHistoryMetrics[] = {"history_ops",
                                                          "history_truncated",
                                                          "history_ops_dropped",
                                                          "unavailable_intervals",
                                                          "unavailable_seconds",
                                                          "unavailable_seconds_max",
                                                          "time_to_first_success_ms_max",
                                                          "time_to_recover_ms_max"};

/// Run figures that count something and read 0 when a run did not report them (a run
/// without duplication has no `messages_duplicated` row).
inline constexpr std::string_view kRunCounters[] = {"messages_duplicated", "faults",
                                                    "faults_no_target"};

}  // namespace dsim
