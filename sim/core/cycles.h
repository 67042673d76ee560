// The cycle-driven form of a model (`engine: cycles`), after PeerSim's cycle-driven engine:
// time advances in cycles; in each, every node of a group takes one turn (PeerSim's
// `CDProtocol.nextCycle`), in a random or fixed order, and reads and writes its peers'
// state directly. An exchange is instant: there is no latency, no message in flight and
// nothing between the nodes but the network's loss, drawn per message. What a turn changes
// is visible at once to the nodes that come later in the same cycle.
//
// A model with a cycle form keeps its whole group's state (flat arrays, a few bytes per
// node), so a cycle-driven run of 10^6 nodes needs neither an event queue nor a model
// object per node. It records timeline marks as an event-driven node does, so the model's
// post-run analysis (ModelFactory::analyze) reads a cycle-driven run like any other.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/core/ids.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

/// The order of the nodes' turns in a cycle: random, drawn anew each cycle (PeerSim's
/// `shuffle`), or fixed, by index (PeerSim's default).
enum class CycleOrder : uint8_t { kRandom, kFixed };

/// What the cycle engine gives a group: time, randomness, the network's loss and the
/// timeline.
class CycleWorld {
 public:
  virtual ~CycleWorld() = default;
  /// The time of the cycle being run (or of the rumor, request ... being started).
  virtual SimTime now() const = 0;
  /// The group's random stream (its draws decide peers, coins, the nodes' order).
  virtual Rng& rng() = 0;
  /// One message sent: true when the network loses it (network.loss). Counts it, and its
  /// bytes, in the run's traffic.
  virtual bool send(uint32_t bytes) = 0;
  /// A timeline mark on `node` (the group's node at that index) at now().
  virtual void mark(uint32_t node, Symbol kind, int64_t a, int64_t b = 0) = 0;
  virtual Symbol intern(std::string_view name) = 0;
  /// True once warmup is over: figures count only what happens from then on.
  virtual bool measured() const = 0;
};

/// A group of nodes run cycle-driven: the model's whole state for the group.
class CycleGroup {
 public:
  virtual ~CycleGroup() = default;
  /// Time between the group's cycles: they fall at its multiples.
  virtual Duration period() const = 0;
  /// The next time something of the group's own is due (a scheduled rumor, say), or
  /// SimTime::max(): the engine calls at() then, before the cycle of that time.
  virtual SimTime next_due() const = 0;
  virtual void at(CycleWorld& world) = 0;
  /// Node `node`'s turn in the cycle at world.now().
  virtual void turn(CycleWorld& world, uint32_t node) = 0;
  /// A hint: `node` takes its turn soon (a random order's next nodes are far apart in
  /// memory; loading a node's state early hides the wait).
  virtual void prefetch(uint32_t /*node*/) const {}
  /// The run is over: the group's summary rows (metric, value), as the event-driven
  /// model's counters and levels would give them.
  virtual std::vector<std::pair<std::string, double>> finish(CycleWorld& world) = 0;
};

/// What a model is told when its cycle form is made.
struct CycleSetup {
  uint32_t count = 0;                    ///< the group's nodes
  SimTime warmup_end;                    ///< figures count what happens from then on
  Duration measured = Duration::zero();  ///< the run's length after the warmup
};

}  // namespace dsim
