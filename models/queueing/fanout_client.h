// `fanout_client`: requests that fan out to several servers at once and complete when
// enough of them have answered, as a web search query waits for every index shard or a
// quorum read for k replicas ("The Tail at Scale", Dean and Barroso, CACM 2013). A
// request's latency is the k-th fastest of its sub-requests' latencies, so one slow
// server in N makes the whole request slow: the p99 of a request grows with the fan-out.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "models/queueing/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::queueing {

class FanoutClient final : public Model {
 public:
  static constexpr std::string_view kName = "fanout_client";
  static constexpr std::string_view kDescription =
      "open-loop Poisson requests, each sent to `fanout` servers of the target group at once "
      "and complete when `wait_for` of them have answered (scatter-gather, quorum reads)";

  struct Config {
    std::string target;
    double rate = 100;     ///< requests per second per client node
    int64_t fanout = 0;    ///< servers per request; 0: every node of the target group
    int64_t wait_for = 0;  ///< answers a request needs; 0: all it was sent to
    Duration timeout = seconds(1);
    Duration start = Duration::zero();
    std::string op = "request";
    uint64_t request_bytes = 512;
  };
  static Config parse(ParamReader& r);

  explicit FanoutClient(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

  /// Sub-request ids: the request id times this, plus the sub-request's index.
  static constexpr uint64_t kMaxFanout = 1 << 16;

 private:
  enum TagKind : uint64_t { kArrival = 0, kTimeout = 1 };
  static TimerTag tag(TagKind k, uint64_t v) { return (static_cast<uint64_t>(k) << 62) | v; }

  struct Pending {
    OpToken token;
    TimerId timeout;
    uint32_t ok = 0;
    uint32_t rejected = 0;
  };
  void schedule_arrival(Context& ctx, Duration not_before);
  void issue(Context& ctx);
  void finish(Context& ctx, uint64_t id, Outcome outcome);

  const Config& config_;
  std::vector<NodeId> targets_;
  uint32_t fanout_ = 1;    // sub-requests per request (capped at the group's size)
  uint32_t wait_for_ = 1;  // answers needed
  Symbol op_;
  Symbol m_late_;
  std::unordered_map<uint64_t, Pending> pending_;  // looked up by id only, never iterated
  uint64_t next_id_ = 1;
};

}  // namespace dsim::queueing
