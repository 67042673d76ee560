// `wallet_client`: the digital wallet's transfer workload. Each transfer moves an amount
// (drawn from `amount`, rounded to a whole unit of at least 1) between two distinct accounts
// drawn from the kit's key distributions (uniform, Zipf, hotspot, sequential), and goes to
// a coordinator of the target group (tcc_coordinator), drawn at random for each transfer,
// as a call through the kit's call layer: a timeout per attempt, and retries carrying the
// same transfer id to the same coordinator (the id is the idempotency key the coordinator's
// phase status table and the shards' records are keyed by). Outcomes go to the metrics as
// operation `transfer`: ok when confirmed, rejected when cancelled, timeout when the fate
// is unknown.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/rpc_client.h"
#include "models/kit/workload.h"
#include "models/tcc/messages.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::tcc {

class WalletClient final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "wallet_client";
  static constexpr std::string_view kDescription =
      "digital wallet workload: balance transfers between two accounts drawn from key "
      "distributions, sent to a tcc_coordinator group with retries under one transfer id";

  struct Config {
    std::string target;
    kit::ArrivalSpec arrivals = kit::ArrivalSpec::starting_at_once();
    kit::KeySpec keys;
    uint64_t first_key = 0;
    Distribution amount = Distribution::constant(10);
    kit::CallPolicy calls;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) { return {c.target}; }

  explicit WalletClient(const Config& config)
      : config_(config),
        arrivals_(config.arrivals, kit::TimerSpace(Timer::kArrivals)),
        keys_(config.keys, config.first_key),
        rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kArrivals, kCalls };
  struct Transfer {
    OpToken token;
    TransferRequest req;
    uint64_t user = 0;
  };

  void start_transfer(Context& ctx, uint64_t user);
  void finish(Context& ctx, uint64_t handle, Outcome outcome, const TransferResponse* resp);
  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const Config& config_;
  kit::Arrivals arrivals_;
  kit::KeyChooser keys_;
  kit::RpcClient rpc_;
  std::map<uint64_t, Transfer> transfers_;  // live transfers by handle
  uint64_t next_handle_ = 1;
  uint64_t next_transfer_ = 1;
  Symbol m_transfer_, m_confirmed_, m_cancelled_, m_unknown_, m_moved_;
  Symbol m_cause_[kCancelCauses];
};

}  // namespace dsim::tcc
