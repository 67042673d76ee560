// Per-node access links (`network.access_latency`): each node sits behind a link whose
// latency is drawn once, when the node is added, from the node's own stream
// ("net-access", id); a message from a to b crosses a's link and b's, so it takes
// access(a) + access(b) on top of whatever else the network adds. This is the star
// network of the engine benchmark (tests/bench/peers/README.md: host i's link has latency
// U(0.05 ms, 0.5 ms) drawn once, a hop i -> j takes lat[i] + lat[j]) and of any
// population of clients with their own last-mile latencies.
//
// It holds one integer per node, and nothing when the latency is the constant 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "sim/core/distribution.h"
#include "sim/core/ids.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

class AccessLinks {
 public:
  explicit AccessLinks(Distribution latency)
      : latency_(std::move(latency)),
        enabled_(!(latency_.kind() == Distribution::Kind::kConstant && latency_.mean() == 0)) {}

  bool enabled() const { return enabled_; }
  /// Draws the links of nodes [current count, `nodes`) of the run seeded with `seed`.
  void grow(size_t nodes, uint64_t seed) {
    if (!enabled_) return;
    for (auto id = static_cast<NodeId>(ns_.size()); id < nodes; ++id) {
      Rng rng(seed, stream_id("net-access", id));
      // At most 2^60 ns (36 years), so that a few of them and a latency cannot overflow.
      ns_.push_back(std::min(latency_.sample_duration(rng).ns(), int64_t{1} << 60));
    }
  }
  /// Node `id`'s access-link latency (zero without access links).
  Duration of(NodeId id) const { return enabled_ ? Duration::from_ns(ns_[id]) : Duration::zero(); }
  /// The delay the two links add to a message from `from` to `to` (distinct nodes).
  Duration between(NodeId from, NodeId to) const {
    return enabled_ ? Duration::from_ns(ns_[from] + ns_[to]) : Duration::zero();
  }

 private:
  Distribution latency_;
  bool enabled_;
  std::vector<int64_t> ns_;  // by node
};

}  // namespace dsim
