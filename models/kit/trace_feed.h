// Trace-driven workloads: a client group whose operations come from a request trace
// (trace.h: rows of time,key,size[,op]) instead of arrivals, a key distribution and an
// operation mix, so that one's own traffic can be run through an architecture.
//
// The client's `trace` parameter names the file (relative to the scenario's folder, as an
// empirical CDF's); it is read and checked once, at scenario load, and its rows are shared
// by the group's nodes. Row i is sent by node i mod count of the group, at the row's time
// counted from the node's start (the run's start; plus `start` when the client gives one),
// on the node's clock as arrivals are.
// Each node keeps one timer outstanding: its next row's. A node that restarts after a
// crash starts its share over from its first row, counted from the restart, as arrivals
// start over.
//
//   kit::SharedTrace trace = kit::read_trace_param(r, "...");     // in parse()
//   kit::refuse_with_trace(r, {"rate", "keys", "mix"});            // what the trace replaces
//   feed_.start(ctx, config_.trace, start, stop);                  // in on_start()
//   feed_.on_timer(ctx, [&](const kit::TraceRow& row) { ... });    // its timer fired
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kit/trace.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kit {

using SharedTrace = std::shared_ptr<const std::vector<TraceRow>>;

/// Reads the `trace` parameter when the scenario gives it: the rows of the file, or null
/// when it is absent or wrong (reported at `trace`, with the file's own name:line). A trace
/// without rows is refused. With `no_delete` not empty, so is one with a delete row: the
/// message names the first one's file:line and ends with `no_delete` (why).
SharedTrace read_trace_param(ParamReader& r, std::string_view help,
                             std::string_view no_delete = {});

/// Whether the scenario gives `trace` (never in doc mode). A model then leaves unread what
/// the trace replaces, so that its resolved form does not list their defaults beside it.
inline bool has_trace(const ParamReader& r) {
  return r.has("trace") && !r.doc_mode();
}

/// When the scenario gives `trace`, reports each of `keys` it gives too (what the trace
/// replaces: when operations come, on which key, which operation), and takes them as read.
void refuse_with_trace(ParamReader& r, std::initializer_list<std::string_view> keys);

/// A trace's rows counted by op, as operation weights named `names` (of get, put and
/// delete, in that order); ops without rows are left out.
std::vector<std::pair<std::string, double>> trace_mix(const std::vector<TraceRow>& rows,
                                                      const std::array<std::string_view, 3>& names);

/// Replays one node's share of a trace. Give it one of the model's timer tags; route that
/// tag's timers to on_timer().
class TraceFeed {
 public:
  explicit TraceFeed(TimerTag tag) : tag_(tag) {}

  /// Starts at this node's first row (its index in its group): a row at time t is sent at
  /// `start` + t from now. With `stop`, rows sent at or after it are not.
  void start(Context& ctx, SharedTrace rows, Duration start, std::optional<Duration> stop);
  /// The feed's timer fired: calls issue(row) for the row it was set for and every later
  /// row of this node due by now, then sets the timer for the next.
  template <class Issue>
  void on_timer(Context& ctx, Issue&& issue) {
    if (!rows_ || !pending(next_)) return;
    do {
      const TraceRow& row = (*rows_)[next_];
      next_ += step_;
      issue(row);
    } while (pending(next_) && due(ctx, (*rows_)[next_]));
    schedule(ctx);
  }

 private:
  bool pending(size_t i) const;
  bool due(const Context& ctx, const TraceRow& row) const;
  void schedule(Context& ctx);

  TimerTag tag_;
  SharedTrace rows_;
  size_t next_ = 0;
  size_t step_ = 1;
  SimTime origin_;                // the monotonic time of the trace's time 0
  std::optional<Duration> stop_;  // from origin_
};

}  // namespace dsim::kit
