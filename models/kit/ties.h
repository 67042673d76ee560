// The cancellations of tied requests a node received before the copy they cancel (tied
// requests, "The Tail at Scale", Dean and Barroso, CACM 2013). A request tied to a copy at
// another node is dropped by whichever node begins the other copy first; when the caller
// spaces the two copies (by about twice the network delay, as the paper advises) an idle
// node begins the first one and its cancellation can reach the second node before the
// second copy does. The second node remembers such a cancellation for a while, so the copy
// that follows is dropped on arrival instead of being worked on for nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <utility>

#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim::kit {

class CancelledTies {
 public:
  /// How long a cancellation is kept, and how many at most (the oldest go first).
  static constexpr Duration kKeep = seconds(1);
  static constexpr size_t kMax = 4096;

  /// Tie `tie` of `caller` was cancelled at `now`, its copy not here yet.
  void add(NodeId caller, uint64_t tie, SimTime now);
  /// Does a copy of tie `tie` of `caller` arriving at `now` find its cancellation? (It is
  /// forgotten then: one copy per tie arrives here.)
  bool take(NodeId caller, uint64_t tie, SimTime now);
  size_t size() const { return by_key_.size(); }

 private:
  void expire(SimTime now);

  std::set<std::pair<NodeId, uint64_t>> by_key_;
  std::deque<std::pair<SimTime, std::pair<NodeId, uint64_t>>> by_age_;
};

}  // namespace dsim::kit
