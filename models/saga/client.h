// `saga_client`: the saga workload (a travel booking, an order). Each saga is a call to
// `target`: a saga_orchestrator group (orchestrated), or the first saga_service of a
// choreography; every attempt carries the saga's id and goes to the one node that holds it
// (the orchestrator drawn for it, or the first service's shard: shard_of). The metrics
// record it once (operation `saga`: ok when completed, rejected when compensated, error
// when abandoned, timeout when its end is unknown, rejected and counted unavailable when
// every attempt was refused). An answer to any attempt ends the call:
// a choreography's last service answers the attempt that began the saga.
//
// Its analysis (analysis.cpp) judges every saga the group began from the services' and
// coordinators' marks: a completed saga did every step and undid none; an aborted one
// compensated every step it did, and no step ran after its compensation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/rpc_client.h"
#include "models/kit/workload.h"
#include "models/saga/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/timeline.h"

namespace dsim::saga {

class SagaClient final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "saga_client";
  static constexpr std::string_view kDescription =
      "saga workload: sagas sent to a saga_orchestrator or a choreography's first "
      "saga_service; its analysis checks every aborted saga was fully compensated";

  struct Config {
    std::string target;
    bool choreography = false;  ///< target is a saga_service group (derived)
    kit::ArrivalSpec arrivals = kit::ArrivalSpec::starting_at_once();
    kit::CallPolicy calls;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) { return {c.target}; }
  /// Every saga's fate from the marks: compensation, completion, late steps (analysis.cpp).
  static AnalysisOutput analyze(const AnalysisInput& in);

  explicit SagaClient(const Config& config)
      : config_(config),
        arrivals_(config.arrivals, kit::TimerSpace(Timer::kArrivals)),
        rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kArrivals, kCalls };
  struct Op {
    OpToken token;
    uint64_t saga = 0;
    uint64_t user = 0;
  };

  void start_saga(Context& ctx, uint64_t user);
  void finish(Context& ctx, uint64_t handle, const SagaResponse* resp, bool maybe_applied);
  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const Config& config_;
  kit::Arrivals arrivals_;
  kit::RpcClient rpc_;
  std::map<uint64_t, Op> ops_;            // live sagas by handle
  std::map<uint64_t, uint64_t> by_saga_;  // saga id -> handle
  uint64_t next_handle_ = 1;
  uint64_t next_saga_ = 1;
  Symbol m_saga_, m_completed_, m_compensated_, m_abandoned_, m_unknown_, m_unavailable_,
      m_mark_begin_;
};

}  // namespace dsim::saga
