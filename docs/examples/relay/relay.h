// `relay`: the smallest complete model, the example of docs/writing-a-model.md. It stands
// in front of a group of servers and hands each request it receives on to one of them,
// picked by a balancer policy of the kit, after a processing delay:
//   - forward: the request goes on unchanged but for its deadline, so the server answers
//     the original caller directly (the call header's reply_to);
//   - proxy: the relay makes a call of its own through the kit's RpcClient and answers
//     the caller when the server has answered it (or refuses when that call fails).
// It speaks the queueing contract (models/queueing/messages.h), so `client` can call it
// and `server` can serve it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/kit/balancer.h"
#include "models/kit/rpc_client.h"
#include "models/queueing/messages.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::examples {

class Relay final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "relay";
  static constexpr std::string_view kDescription =
      "hands each request on to a node of a target group after a delay: forwarded (the "
      "server answers the caller) or proxied (the relay answers)";

  enum class Mode : uint8_t { kForward, kProxy };

  struct Config {
    std::string target;
    Mode mode = Mode::kForward;
    Distribution delay = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
    kit::CallPolicy calls;          ///< the balancer; in proxy mode also the timeout
    uint64_t response_bytes = 512;  ///< proxy: the size of its answers
  };
  static Config parse(ParamReader& r);
  /// What it can report (summary rows `<group>,,forwarded` ...), so that `checks:` naming
  /// anything else are refused before the run.
  static void declare(const Config& c, MetricDecls& d);

  explicit Relay(const Config& config)
      : config_(config), rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kDelay, kCalls };
  struct Job {
    queueing::Request request;  // as received
    SimTime arrived;            // on this node's monotonic clock
  };

  void pass_on(Context& ctx, const Job& job);
  void answer(Context& ctx, const queueing::Request& request, bool accepted);
  // kit::CallHost (proxy mode)
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const Config& config_;
  kit::RpcClient rpc_;
  std::unique_ptr<kit::BalancerPolicy> balancer_;  // forward mode picks with it directly
  std::vector<NodeId> targets_;
  std::vector<kit::Observed> observed_;
  std::map<uint64_t, Job> jobs_;  // waiting out their delay, then (proxy) their call
  uint64_t next_job_ = 1;
  Symbol m_forwarded_, m_proxied_;
};

}  // namespace dsim::examples
