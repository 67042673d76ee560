// The network between nodes: decides, for each message sent, whether it arrives and
// after how long. This is the all-pairs model: one latency distribution for every pair
// of distinct nodes, plus independent loss; optionally each node also sits behind an
// access link whose latency is drawn once (a star: a message from a to b crosses a's
// link and b's, so it takes access(a) + access(b) more).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

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
  /// Each node's access-link latency, drawn once per node from its own stream; the
  /// constant 0 (the default) means no access links and costs no memory.
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
        has_access_(!is_zero(config_.access_latency)),
        has_latency_(!is_zero(config_.latency)) {}

  /// Adds node `id` (the next one: ids are dense), drawing its access-link latency from
  /// the stream ("net-access", id) of the run seeded with `seed`.
  void add_node(NodeId id, uint64_t seed) {
    if (!has_access_) return;
    Rng rng(seed, stream_id("net-access", id));
    // At most 2^60 ns (36 years), so that latency + two access links cannot overflow.
    access_.push_back(std::min(config_.access_latency.sample_duration(rng).ns(), int64_t{1} << 60));
  }

  /// Decides the fate of one message, drawing from the sender's network stream. A message
  /// to oneself arrives with no delay and is never lost.
  Fate transmit(const Transmission& t, Rng& rng) {
    if (t.from == t.to) return {true, DropCause::kLoss, Duration::zero()};
    if (config_.loss > 0 && rng.bernoulli(config_.loss)) return {false, DropCause::kLoss, {}};
    Duration delay = has_latency_ ? config_.latency.sample_duration(rng) : Duration::zero();
    if (has_access_) delay += Duration::from_ns(access_[t.from] + access_[t.to]);
    return {true, DropCause::kLoss, delay};
  }

  /// Node `id`'s access-link latency (zero without access links).
  Duration access_latency(NodeId id) const {
    return has_access_ ? Duration::from_ns(access_[id]) : Duration::zero();
  }
  const NetworkConfig& config() const { return config_; }

 private:
  static bool is_zero(const Distribution& d) {
    return d.kind() == Distribution::Kind::kConstant && d.mean() == 0;
  }

  NetworkConfig config_;
  bool has_access_;
  bool has_latency_;
  std::vector<int64_t> access_;  // ns, by node; empty without access links
};

}  // namespace dsim
