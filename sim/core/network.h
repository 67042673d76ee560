// The network between nodes: decides, for each message sent, whether it arrives and
// after how long. This is the all-pairs model: one latency distribution for every pair
// of distinct nodes, plus independent loss; optionally each node also sits behind an
// access link whose latency is drawn once (access_links.h).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "sim/core/access_links.h"
#include "sim/core/distribution.h"
#include "sim/core/ids.h"
#include "sim/core/message.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

enum class DropCause : uint8_t { kLoss, kPartition, kQueueOverflow, kNodeDown, kCount };
std::string_view drop_cause_name(DropCause c);

struct NetworkConfig {
  Distribution latency = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  double loss = 0;  ///< probability a message is lost
  /// Each node's access-link latency, drawn once per node (access_links.h); the constant 0
  /// (the default) means no access links and costs no memory.
  Distribution access_latency = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
};

/// One message handed to the network.
struct Transmission {
  NodeId from;
  NodeId to;
  uint32_t bytes;
  const MessageType* type;
  SimTime now;
};

/// What the network decided: delivered after `delay`, or dropped for `cause`.
struct Fate {
  bool delivered;
  DropCause cause;
  Duration delay;
};

struct NetworkCounters {
  uint64_t sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t delivered = 0;
  uint64_t bytes_delivered = 0;
  std::array<uint64_t, static_cast<size_t>(DropCause::kCount)> dropped{};
  uint64_t dropped_total() const {
    uint64_t n = 0;
    for (auto d : dropped)
      n += d;
    return n;
  }
};

class Network {
 public:
  explicit Network(NetworkConfig config)
      : config_(std::move(config)),
        access_(config_.access_latency),
        has_latency_(!(config_.latency.kind() == Distribution::Kind::kConstant &&
                       config_.latency.mean() == 0)) {}

  /// Sizes the per-node state for `nodes` nodes of the run seeded with `seed`.
  void add_nodes(size_t nodes, uint64_t seed) { access_.grow(nodes, seed); }

  /// Decides the fate of one message, drawing from the sender's network stream. A message
  /// to oneself arrives with no delay and is never lost.
  Fate transmit(const Transmission& t, Rng& rng) {
    if (t.from == t.to) return {true, DropCause::kLoss, Duration::zero()};
    if (config_.loss > 0 && rng.bernoulli(config_.loss)) return {false, DropCause::kLoss, {}};
    const Duration latency = has_latency_ ? config_.latency.sample_duration(rng) : Duration::zero();
    return {true, DropCause::kLoss, latency + access_.between(t.from, t.to)};
  }

  const AccessLinks& access() const { return access_; }
  const NetworkConfig& config() const { return config_; }

 private:
  NetworkConfig config_;
  AccessLinks access_;
  bool has_latency_;  // false: the constant 0, no draw needed
};

}  // namespace dsim
