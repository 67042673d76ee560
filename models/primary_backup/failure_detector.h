// The monitors' failure detector: heartbeats with a timeout ([001]:330-339, "Heartbeats
// with timeouts"). A monitor pings every replica each heartbeat interval; a replica whose
// answers stop for longer than the timeout is suspected. It has the failure modes the seed
// lists: false positives when messages are only slow or a partition hides a live node,
// false negatives (slow detection: up to timeout + one interval), and flapping when
// answers come and go around the timeout. Times are the monitor's own clock (ctx.now()),
// so a step of that clock moves every deadline at once — as it would in a real monitor.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/core/time.h"

namespace dsim::pb {

class HeartbeatDetector {
 public:
  explicit HeartbeatDetector(Duration timeout) : timeout_(timeout) {}

  /// Watches `n` nodes, each treated as heard at `now` (a grace period at start).
  void watch(size_t n, SimTime now) { last_.assign(n, now); }
  void heard(uint32_t node, SimTime now) {
    if (node < last_.size() && now > last_[node]) last_[node] = now;
  }
  /// No answer from `node` for longer than the timeout.
  bool suspected(uint32_t node, SimTime now) const {
    return node < last_.size() && now - last_[node] > timeout_;
  }
  SimTime last_heard(uint32_t node) const { return node < last_.size() ? last_[node] : SimTime(); }
  Duration timeout() const { return timeout_; }

 private:
  Duration timeout_;
  std::vector<SimTime> last_;
};

}  // namespace dsim::pb
