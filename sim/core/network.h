// The network between nodes: for each message sent, whether it arrives, when, and how
// many copies. See docs/network.md for the user's view.
//
// A message crosses a sequence of links. In the uniform and regions topologies that is
// one link per ordered pair of nodes, whose properties come from the pair's relation
// (same host, rack, zone, region, or a pair of regions); in the graph topology it is the
// shortest route between the nodes' hosts. Crossing a link:
//   1. queueing: with a bandwidth, the link sends one message at a time, FIFO; a message
//      waits for those ahead of it, then takes size / bandwidth to serialize. A link holds
//      at most `queue_bytes` not yet sent (including the message being sent); a message
//      that would exceed it is dropped (queue_overflow).
//   2. loss: dropped with probability `loss` (after using the link);
//   3. propagation: a draw of the link's latency distribution;
//   4. duplication: with probability `duplicate` a copy arrives too, with its own latency;
//   5. reordering: with probability `reorder` the message is held back by a draw of
//      `reorder_delay`, so later messages overtake it.
// Then, once per message: the extra delay of its message kind, and the effect of any
// `degrade` fault on its sender or receiver. Partitions (cuts) drop a message when it is
// sent and when it would arrive. Optionally each node also sits behind an access link
// whose latency is drawn once (access_links.h): a message enters its path after the
// sender's access latency and arrives the receiver's access latency after leaving it.
//
// Draws: the pair links and the per-message effects draw from the sender's network
// stream; each graph link draws from its own stream; so a new message on one link never
// shifts another link's draws. State is created on first use: a pair of nodes that never
// talks costs nothing.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/core/access_links.h"
#include "sim/core/assert.h"
#include "sim/core/distribution.h"
#include "sim/core/ids.h"
#include "sim/core/message.h"
#include "sim/core/partition.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"
#include "sim/core/topology.h"

namespace dsim {

enum class DropCause : uint8_t { kLoss, kPartition, kQueueOverflow, kNodeDown, kCount };
std::string_view drop_cause_name(DropCause c);
inline constexpr size_t kDropCauses = static_cast<size_t>(DropCause::kCount);

/// The properties of one link.
struct LinkSpec {
  Distribution latency = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  Distribution reorder_delay = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  double bandwidth_bps = 0;        ///< bits per second; 0: unlimited (no queueing)
  uint64_t queue_bytes = 1 << 20;  ///< with a bandwidth: most bytes waiting; 0: unbounded
};

enum class TopologyKind : uint8_t { kUniform, kRegions, kGraph };

struct RegionLink {
  uint32_t a;
  uint32_t b;  ///< both directions
  LinkSpec link;
};

struct GraphLink {
  uint32_t from;  ///< vertex
  uint32_t to;
  LinkSpec link;
};

struct NetworkConfig {
  // The default link: every pair of distinct nodes in the uniform topology, and the
  // pairs in one region (different zones) in the regions topology.
  Distribution latency = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  double loss = 0;  ///< probability a message is lost
  double duplicate = 0;
  double reorder = 0;
  Distribution reorder_delay = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  double bandwidth_bps = 0;
  uint64_t queue_bytes = 1 << 20;

  TopologyKind topology = TopologyKind::kUniform;
  /// Narrower levels (regions and graph topologies); unset levels inherit the wider one.
  std::optional<LinkSpec> same_host, same_rack, same_zone;
  std::vector<RegionSpec> regions;
  std::vector<RegionLink> region_links;  ///< every pair of distinct regions
  std::vector<GraphVertex> vertices;
  std::vector<GraphLink> graph_links;
  /// Extra delay per message kind (Message::name()), on top of the links.
  std::vector<std::pair<std::string, Distribution>> message_delay;
  /// Each node's access-link latency, drawn once per node (access_links.h); the constant 0
  /// (the default) means no access links and costs no memory.
  Distribution access_latency = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  /// Count per pair of nodes (links.csv). Without it, and without a pair link that queues,
  /// the network keeps no state per pair: pair() returns kNoPair.
  bool pair_counters = true;

  LinkSpec default_link() const {
    return LinkSpec{latency, loss, duplicate, reorder, reorder_delay, bandwidth_bps, queue_bytes};
  }
};

/// One message handed to the network.
struct Transmission {
  NodeId from;
  NodeId to;
  uint32_t bytes;
  const MessageType* type;
  SimTime now;
};

/// Counters of one node, one pair of nodes, or the whole run.
struct NetworkCounters {
  uint64_t sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t delivered = 0;
  uint64_t bytes_delivered = 0;
  std::array<uint64_t, kDropCauses> dropped{};
  uint64_t duplicated = 0;  ///< extra copies made by the network
  uint64_t dropped_total() const {
    uint64_t n = 0;
    for (auto d : dropped)
      n += d;
    return n;
  }
};

/// What a node sent (as sender: sent, dropped, duplicated, delivered) and received.
struct NodeTraffic {
  NetworkCounters out;
  uint64_t received = 0;
  uint64_t bytes_received = 0;
};

/// Counters of one link of the graph topology.
struct GraphLinkStats {
  uint64_t messages = 0;  ///< entered the link
  uint64_t bytes = 0;
  uint64_t dropped_loss = 0;
  uint64_t dropped_queue_overflow = 0;
  uint64_t duplicated = 0;
  double queue_wait_ns_total = 0;
  int64_t queue_wait_ns_max = 0;
  double busy_ns = 0;  ///< time spent serializing
};

/// A degraded node (fault `degrade`): extra loss, duplication and delay on the messages
/// it sends and/or receives.
struct Degrade {
  std::vector<NodeId> nodes;  ///< sorted
  bool outbound = true;
  bool inbound = true;
  double loss = 0;
  double duplicate = 0;
  std::optional<Distribution> delay;
};

class Network {
 public:
  explicit Network(NetworkConfig config);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  /// Where each node runs (regions and graph topologies); call before the run.
  void set_locations(std::vector<Location> locations, std::vector<std::string> names = {}) {
    locations_ = std::move(locations);
    location_names_ = std::move(names);
  }
  /// "region.zone.rack" or the graph host of a node ("" in the uniform topology).
  std::string_view location_name(NodeId n) const {
    return n < location_names_.size() ? std::string_view(location_names_[n]) : std::string_view();
  }
  /// Sizes the per-node tables (and draws the access links); called by the engine when the
  /// run starts.
  void prepare(size_t nodes);
  void set_seed(uint64_t seed) { seed_ = seed; }
  const NetworkConfig& config() const { return config_; }
  /// The nodes' access links (drawn by prepare()).
  const AccessLinks& access() const { return access_; }

  // --- one message ---
  static constexpr uint32_t kNoPair = 0xffffffffu;
  /// The pair's index in the per-pair tables (created on first use), or kNoPair when the
  /// network keeps no per-pair state (no pair counters, no pair link that queues).
  uint32_t pair(NodeId from, NodeId to) { return tracks_pairs_ ? pair_slot(from, to) : kNoPair; }
  bool tracks_pairs() const { return tracks_pairs_; }
  /// True when a partition drops messages from `from` to `to` now.
  bool cut(NodeId from, NodeId to) const { return !cuts_.empty() && any_cut(from, to); }
  /// The mean latency of the links from `from` to `to` (the pair link's, or the sum over a
  /// graph route's links), without queues, faults or access links.
  Duration typical_latency(NodeId from, NodeId to);
  /// Stages the message crosses: 1 (its pair link) in the uniform and regions topologies;
  /// the route's links in the graph topology (0 between nodes on one host, unless a
  /// same_host link is given).
  struct Path {
    const std::vector<uint32_t>* links = nullptr;  ///< graph: link ids; null: the pair link
    uint32_t stages = 1;
    uint32_t link_class = 0;  ///< the pair link's class (classes_), when links is null
  };
  Path path(NodeId from, NodeId to, uint32_t pair);
  /// The outcome of crossing one stage, entered at `at`.
  struct Crossing {
    bool dropped = false;
    DropCause cause = DropCause::kLoss;
    SimTime exit;
    std::optional<SimTime> duplicate_exit;
  };
  /// True when the stage queues (has a bandwidth): it must be entered in time order.
  bool stage_queues(const Path& p, uint32_t stage, uint32_t pair) const;
  /// True when the path is a pair link that only delays (no bandwidth, loss, duplication
  /// or reordering): cross_plain() then does what cross() would, with the same draws.
  bool plain(const Path& p) const { return !p.links && plain_[p.link_class]; }
  SimTime cross_plain(const Path& p, SimTime at, Rng& sender_rng) const {
    // cross_link() rounds `at` through a double, which is exact below 2^52 ns (52 days).
    DSIM_ASSERT(at.ns() >= 0 && at.ns() < (int64_t{1} << 52));
    return saturating_add(at, classes_[p.link_class].latency.sample_duration(sender_rng));
  }
  Crossing cross(const Path& p, uint32_t stage, uint32_t pair, uint32_t bytes, SimTime at,
                 Rng& sender_rng);
  /// Per-message effects (message kind's delay, degrade faults), drawn from the sender's
  /// stream: extra delay, or a drop, and whether to duplicate.
  struct Extras {
    bool dropped = false;
    bool duplicate = false;
    Duration delay;
  };
  bool has_extras() const { return !kind_delay_.empty() || !degrades_.empty(); }
  Extras extras(NodeId from, NodeId to, const MessageType* type, Rng& sender_rng);

  // --- counting ---
  void count_sent(uint32_t pair, NodeId from, uint32_t bytes);
  void count_delivered(uint32_t pair, NodeId from, NodeId to, uint32_t bytes);
  void count_dropped(uint32_t pair, NodeId from, DropCause cause);
  void count_duplicated(uint32_t pair, NodeId from);

  // --- faults ---
  void add_cut(uint64_t id, Cut cut) { cuts_.emplace(id, std::move(cut)); }
  void remove_cut(uint64_t id) { cuts_.erase(id); }
  void clear_cuts() { cuts_.clear(); }
  void add_degrade(uint64_t id, Degrade d) { degrades_.emplace(id, std::move(d)); }
  void remove_degrade(uint64_t id) { degrades_.erase(id); }
  void clear_degrades() { degrades_.clear(); }

  // --- results ---
  const NetworkCounters& totals() const { return totals_; }
  const std::vector<NodeTraffic>& nodes() const { return node_traffic_; }
  struct PairState {
    NodeId from;
    NodeId to;
    NetworkCounters counters;
    double free_at = 0;  ///< ns: when the pair link has sent what is queued
  };
  /// Every pair that carried a message, in (from, to) order.
  std::vector<const PairState*> pairs_in_order() const;
  size_t pairs_used() const { return pairs_.size(); }
  /// Graph topology: the links, their stats, and routes computed so far.
  const std::vector<GraphLinkStats>& graph_link_stats() const { return graph_stats_; }
  size_t routes_cached() const { return routes_ ? routes_->cached_routes() : 0; }
  const std::vector<Location>& locations() const { return locations_; }

 private:
  struct LinkState {
    double free_at = 0;
  };
  uint32_t pair_class(NodeId from, NodeId to) const;
  uint32_t pair_slot(NodeId from, NodeId to);
  bool any_cut(NodeId from, NodeId to) const;
  NetworkCounters* pair_counters(uint32_t pair) {
    return pair == kNoPair ? nullptr : &pairs_[pair].counters;
  }
  Crossing cross_link(const LinkSpec& spec, double& free_at, uint32_t bytes, SimTime at, Rng& rng,
                      GraphLinkStats* stats);

  NetworkConfig config_;
  uint64_t seed_ = 1;
  AccessLinks access_;
  std::vector<LinkSpec> classes_;  // link classes of node pairs
  std::vector<uint8_t> plain_;     // per class: only a latency (see plain())
  enum Class : uint32_t { kSameRegion = 0, kSameZone = 1, kSameRack = 2, kSameHost = 3 };
  std::vector<uint32_t> region_class_;  // R x R
  std::vector<Location> locations_;
  std::vector<std::string> location_names_;
  std::unique_ptr<RouteTable> routes_;
  std::vector<LinkState> graph_state_;
  std::vector<GraphLinkStats> graph_stats_;
  std::vector<Rng> graph_rng_;
  std::vector<uint32_t> same_host_route_;  // empty route, or the same_host pseudo-link

  bool tracks_pairs_ = true;  // pair_counters, or a pair link with a bandwidth
  std::unordered_map<uint64_t, uint32_t> pair_index_;  // lookups only, never iterated
  std::vector<PairState> pairs_;
  std::vector<NodeTraffic> node_traffic_;
  NetworkCounters totals_;

  std::map<uint64_t, Cut> cuts_;
  std::map<uint64_t, Degrade> degrades_;
  std::vector<Distribution> kind_delay_;
  std::unordered_map<const MessageType*, int32_t> kind_cache_;  // lookups only
};

}  // namespace dsim
