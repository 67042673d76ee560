// Adaptive concurrency limits: load shedding at a station's door. A node admits a request
// only while fewer than L requests are on it (queued, worked on, or, for a service, waiting
// for its calls); over the limit the request is refused at once, before it can queue. L
// adapts from each finished request's sample: how long it stayed on the node, how many were
// on the node when it came in, and whether it was dropped (refused, cancelled, expired or
// failed). The algorithms are those of Netflix's concurrency-limits library, which applies
// TCP's congestion-control ideas (loss-based AIMD; Vegas's delay-based gradient) to a
// server's requests:
//
//   fixed     L never changes (a plain semaphore, for comparison)
//   aimd      additive increase, multiplicative decrease (the library's AIMDLimit): a sample
//             that was dropped, or stayed longer than `timeout`, sets L to
//             max(min, floor(L x backoff_ratio)); otherwise, when at least L/2 requests were
//             on the node as it came in (the limit is being used), L grows by 1, up to max
//   gradient  a delay gradient (the library's Gradient2Limit): a long-term RTT, the
//             exponential average of the samples over `long_window` (a plain mean of the first
//             10), against the short-term RTT (the sample's, or the mean of a window of them).
//             When the long RTT is over twice the short it decays by 5% (latency back to
//             normal after an overload). When at least L/2 were on the node,
//               gradient = max(0.5, min(1, tolerance x long / short))
//               L' = L x gradient + queue_size;  L <- clamp(L(1 - smoothing) + L' smoothing)
//             Drops play no part: queueing shows as latency.
//
// With `window` > 1 the samples are taken `window` at a time (the library's WindowedLimit):
// one update with their mean RTT, the most requests on the node any of them saw, and
// whether any was dropped.
//
//   ConcurrencyLimit   the algorithm alone: on_sample() -> limit()
//   Admission          the door of one node: enter() admits or sheds, leave() gives back a
//                      place with its sample
#pragma once

#include <cstdint>
#include <optional>

#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/time.h"

namespace dsim::kit {

struct ConcurrencyLimitSpec {
  enum class Kind : uint8_t { kNone, kFixed, kAimd, kGradient };
  Kind kind = Kind::kNone;
  int64_t initial = 20;  ///< L at the start (fixed: always)
  int64_t min = 1;       ///< aimd, gradient: the lowest L
  int64_t max = 200;     ///< aimd, gradient: the highest L
  int64_t window = 1;    ///< aimd, gradient: samples per update
  // aimd
  double backoff_ratio = 0.9;     ///< L's factor on a drop
  Duration timeout = seconds(5);  ///< a sample longer than this counts as a drop
  // gradient
  double tolerance = 1.5;                 ///< the short RTT may be this many times the long one
  double smoothing = 0.2;                 ///< the weight of a new estimate
  int64_t long_window = 600;              ///< the long RTT's averaging window, in samples
  std::optional<int64_t> queue_size = 4;  ///< what L may grow by; none: sqrt(L)
  bool enabled() const { return kind != Kind::kNone; }
};

/// Reads the optional `concurrency_limit: {kind, initial, min, max, ...}` map into `spec`
/// (absent: no limit); parameters the kind does not use are errors.
void read_concurrency_limit(ParamReader& r, ConcurrencyLimitSpec& spec);

class ConcurrencyLimit {
 public:
  struct Sample {
    Duration rtt;          ///< time on the node, arrival to answer
    int64_t inflight = 0;  ///< requests on the node as it came in, itself included
    bool dropped = false;  ///< refused, cancelled, expired or failed
  };

  explicit ConcurrencyLimit(const ConcurrencyLimitSpec& spec);

  /// A request finished: L moves by the kind's rule (every `window` samples).
  void on_sample(const Sample& s);
  int64_t limit() const { return limit_; }
  /// gradient: the long-term RTT average (ns), for tests.
  double long_rtt() const { return long_rtt_; }

 private:
  void update(double rtt_ns, int64_t inflight, bool dropped);
  void update_aimd(double rtt_ns, int64_t inflight, bool dropped);
  void update_gradient(double rtt_ns, int64_t inflight);

  const ConcurrencyLimitSpec* spec_;
  int64_t limit_;
  double estimate_;  // gradient: L before truncation
  double long_rtt_ = 0;
  int64_t long_count_ = 0;  // samples in the long RTT (its first 10 are a plain mean)
  double long_sum_ = 0;     // their sum, while it is
  // The window being filled.
  int64_t in_window_ = 0;
  double window_rtt_sum_ = 0;
  int64_t window_inflight_ = 0;
  bool window_dropped_ = false;
};

class Admission {
 public:
  /// A request admitted: when it came in and how many were then on the node.
  struct Ticket {
    SimTime arrived;
    int64_t inflight = 0;
  };

  explicit Admission(const ConcurrencyLimitSpec& spec) : spec_(&spec), algo_(spec) {}

  /// Interns the figures: `shed` (requests refused by the limit) and `concurrency_limit`
  /// (L, a level).
  void start(Context& ctx);
  static void declare(MetricDecls& d);

  /// A request comes in: admitted (its ticket) while fewer than L are on the node, else
  /// shed (counted) and nullopt. Without a limit, every request is admitted.
  std::optional<Ticket> enter(Context& ctx);
  /// An admitted request is answered (`dropped`: refused, cancelled, expired or failed).
  void leave(Context& ctx, const Ticket& t, bool dropped);
  /// Records L (with a limit): the level's peak counts only values recorded after the warmup.
  void report(Context& ctx) const;

  bool enabled() const { return spec_->enabled(); }
  int64_t inflight() const { return inflight_; }
  int64_t limit() const { return algo_.limit(); }

 private:
  const ConcurrencyLimitSpec* spec_;
  ConcurrencyLimit algo_;
  int64_t inflight_ = 0;
  Symbol m_shed_, m_limit_;
};

}  // namespace dsim::kit
