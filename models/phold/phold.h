// `phold`: the PHOLD benchmark workload (Fujimoto 1990), in the two forms the engine
// benchmarks use (see tests/bench/peers/README.md and `dsim bench phold`):
//   - timers: the group holds `tokens` timers; each waits a `delay` draw, counts one
//     event, and waits again. It measures the bare event loop.
//   - net: the group holds `tokens` messages; a node receiving one forwards it at once to
//     a uniformly random other node of its group. The hop time is the network's alone
//     (e.g. `network.access_latency`), so it measures the message path.
// Tokens start round robin: token t on node t mod n of the group. The counts are the
// run's `events` and `messages_delivered`; the model records nothing per event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::phold {

/// A token passed between nodes (net workload); it carries no payload of its own.
struct Token {
  static constexpr std::string_view kName = "token";
  uint32_t id;
  uint32_t bytes;  ///< size on the wire
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const { return "token " + std::to_string(id); }
};

class Phold final : public Model {
 public:
  static constexpr std::string_view kName = "phold";
  static constexpr std::string_view kDescription =
      "PHOLD benchmark workload: tokens that are timers re-armed on firing (timers) or "
      "messages forwarded at once to a random other node of the group (net)";

  enum class Workload : uint8_t { kTimers, kNet };

  struct Config {
    Workload workload = Workload::kTimers;
    int64_t tokens = 1;  ///< in the whole group, started round robin
    Distribution delay = Distribution::exponential(1e6).with_dim(Distribution::Dim::kTime);
    uint64_t token_bytes = 0;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);

  explicit Phold(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kToken };  // value: the token
  void forward(Context& ctx, uint32_t token);

  const Config& config_;
  const NodeId* peers_ = nullptr;  // the group's nodes (owned by the engine)
  uint32_t peer_count_ = 0;
  uint32_t self_index_ = 0;  // this node's position among them
};

}  // namespace dsim::phold
