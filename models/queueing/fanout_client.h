// `fanout_client`: requests that fan out to several servers at once and complete when
// enough of them have answered, as a web search query waits for every index shard or a
// quorum read for k replicas ("The Tail at Scale", Dean and Barroso, CACM 2013). A
// request's latency is the k-th fastest of its sub-requests' latencies, so one slow
// server in N makes the whole request slow: the p99 of a request grows with the fan-out.
//
// Arrivals are the kit's open-loop Poisson process (models/kit/workload.h); each
// sub-request is a call (models/kit/call.h) to one of `fanout` distinct servers drawn at
// random; the request has one timeout for the whole gather.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/kit/balancer.h"
#include "models/kit/workload.h"
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

  /// Sub-requests per request at most.
  static constexpr uint64_t kMaxFanout = 1 << 16;

  struct Config {
    std::string target;
    kit::ArrivalSpec arrivals;  ///< open-loop Poisson, the first one gap after `start`
    int64_t fanout = 0;         ///< servers per request; 0: every node of the target group
    int64_t wait_for = 0;       ///< answers a request needs; 0: all it was sent to
    Duration timeout = seconds(1);
    std::string op = "request";
    uint64_t request_bytes = 512;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) { return {c.target}; }

  explicit FanoutClient(const Config& config)
      : config_(config), arrivals_(config.arrivals, kit::TimerSpace(Timer::kArrivals)) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kArrivals, kTimeout };
  struct Pending {
    OpToken token;
    TimerId timeout;
    uint64_t first_call = 0;  // the call number of its first sub-request
    uint32_t ok = 0;
    uint32_t rejected = 0;
  };
  void issue(Context& ctx);
  void finish(Context& ctx, uint64_t id, Outcome outcome);

  const Config& config_;
  kit::Arrivals arrivals_;
  std::vector<NodeId> targets_;
  std::vector<size_t> order_;  // a permutation of the targets, shuffled as requests pick
  uint32_t fanout_ = 1;        // sub-requests per request (capped at the group's size)
  uint32_t wait_for_ = 1;      // answers needed
  Symbol op_;
  Symbol m_late_;
  std::map<uint64_t, Pending> pending_;  // by request id
  // The first call number of each live request's sub-requests (they are consecutive).
  std::map<uint64_t, uint64_t> first_call_;
  uint64_t next_id_ = 1;
  uint64_t next_call_ = 1;
};

}  // namespace dsim::queueing
