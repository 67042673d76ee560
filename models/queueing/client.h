// `client`: the workload of the queueing slice. Open loop (requests arrive at a rate,
// whether or not earlier ones were answered: Poisson, fixed or bursty) or closed loop
// (N users, each sending a request, waiting for its answer, thinking, and again). Every
// request goes to a node of the target group, has a timeout, and is recorded with its
// latency and outcome (ok, rejected, timeout).
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/queueing/messages.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::queueing {

class Client final : public Model {
 public:
  static constexpr std::string_view kName = "client";
  static constexpr std::string_view kDescription =
      "request workload: open loop (poisson, fixed or bursty rate) or closed loop (users "
      "with think time); per-request timeout; records latency and outcome";

  enum class Load { kOpen, kClosed };
  enum class Arrival { kPoisson, kFixed, kBursty };
  enum class Balance { kRandom, kRoundRobin };

  struct Config {
    std::string target;
    Load load = Load::kOpen;
    Arrival arrival = Arrival::kPoisson;
    double rate = 100;         ///< requests per second per client node (open loop)
    double burst_rate = 1000;  ///< during bursts (bursty arrivals)
    Distribution burst_length = Distribution::exponential(1e9).with_dim(Distribution::Dim::kTime);
    Distribution calm_length = Distribution::exponential(10e9).with_dim(Distribution::Dim::kTime);
    int64_t users = 10;  ///< per client node (closed loop)
    Distribution think_time = Distribution::exponential(1e9).with_dim(Distribution::Dim::kTime);
    std::vector<std::pair<std::string, double>> ops = {{"request", 1.0}};
    Duration timeout = seconds(1);
    Duration start = Duration::zero();  ///< when this client begins sending
    Balance balance = Balance::kRandom;
    uint64_t request_bytes = 512;
  };
  static Config parse(ParamReader& r);

  explicit Client(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  // Timer tags: the kind in the top two bits, a request id or user index below.
  enum TagKind : uint64_t { kArrival = 0, kTimeout = 1, kThink = 2, kPhase = 3 };
  static TimerTag tag(TagKind k, uint64_t v) { return (static_cast<uint64_t>(k) << 62) | v; }

  struct Pending {
    OpToken token;
    TimerId timeout;
    uint64_t user;  // closed loop: who waits for it
  };
  void schedule_arrival(Context& ctx, Duration not_before);
  void issue(Context& ctx, uint64_t user);
  void finish(Context& ctx, uint64_t id, Outcome outcome);
  double current_rate() const { return in_burst_ ? config_.burst_rate : config_.rate; }

  const Config& config_;
  std::vector<NodeId> targets_;
  std::vector<Symbol> op_symbols_;
  std::vector<double> op_cumulative_;
  std::unordered_map<uint64_t, Pending> pending_;  // looked up by id only, never iterated
  uint64_t next_id_ = 1;
  uint64_t next_target_ = 0;
  bool in_burst_ = false;
  TimerId arrival_timer_;
  Symbol m_late_;
};

}  // namespace dsim::queueing
