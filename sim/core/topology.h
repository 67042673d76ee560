// Where nodes are, and how messages get from one to another.
//
// Placement: a hierarchy region -> zone -> rack -> host. In the regions topology it is
// given by counts (per region: zones, racks per zone, hosts per rack; zones are named a,
// b, c, ..., racks and hosts 0, 1, ...); in the graph topology by the labels of the
// graph's hosts. A group is placed over a list of locations ("us-east", "us-east.b",
// "us-east.b.2", a host of the graph): node i goes to location i mod n, and inside a
// location nodes are spread round-robin over its zones, then racks, then hosts, so "5
// replicas over [us-east, us-west, eu-west]" lands 2, 2 and 1 in distinct zones.
//
// Routes (graph topology): a directed graph of hosts and switches (Boost.Graph); a message
// follows the shortest path by mean link latency, computed per source host on first use
// and cached with the routes taken (memory grows with the routes used, not with hosts²).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsim {

inline constexpr uint32_t kNoIndex = 0xffffffffu;

/// One region of the regions topology.
struct RegionSpec {
  std::string name;
  uint32_t zones = 1;  ///< at most 26: a..z
  uint32_t racks = 1;  ///< per zone
  uint32_t hosts = 0;  ///< per rack; 0: every node placed there gets a host of its own
};

/// A vertex of the graph topology: a host (nodes can be placed on it) or a switch.
struct GraphVertex {
  std::string name;
  bool host = true;
  std::string region, zone, rack;  ///< optional labels of a host, for placement
};

/// Where a node runs. Zone, rack and host ids are unique across the whole topology, so
/// two nodes share a zone iff their zone ids are equal.
struct Location {
  uint32_t region = 0;  ///< index in declaration order
  uint32_t zone = 0;
  uint32_t rack = 0;
  uint32_t vertex = kNoIndex;  ///< graph topology: the host's vertex
  uint64_t host = 0;
};

/// The placement hierarchy, and the round-robin spreading of groups over it.
class PlacementTree {
 public:
  static PlacementTree from_regions(const std::vector<RegionSpec>& regions);
  static PlacementTree from_graph(const std::vector<GraphVertex>& vertices);

  /// The subtree a location names ("region", "region.zone", "region.zone.rack",
  /// or a graph host's name); nullopt if there is none.
  std::optional<uint32_t> find(std::string_view location) const;
  /// Every region, in declaration order.
  std::vector<uint32_t> regions() const { return tree_[0].children; }
  const std::vector<std::string>& region_names() const { return region_names_; }
  /// "region.zone.rack" (regions) or the host's name (graph).
  std::string describe(const Location& loc) const;
  /// Places `count` nodes: node i in subtrees[i % n], spread inside it. Counters start
  /// afresh for each call (each group is spread on its own).
  std::vector<Location> place(const std::vector<uint32_t>& subtrees, uint32_t count);

 private:
  enum class Level : uint8_t { kRoot, kRegion, kZone, kRack, kHost };
  struct TreeNode {
    Level level;
    std::string name;
    uint32_t parent = kNoIndex;
    std::vector<uint32_t> children;
    uint32_t hosts = 0;          // rack of the regions topology: hosts per rack (0: fresh)
    uint32_t vertex = kNoIndex;  // host of a graph: its vertex
    uint32_t ordinal = 0;        // region: its index in declaration order
    uint64_t counter = 0;        // round-robin position during place()
  };
  uint32_t add(Level level, std::string name, uint32_t parent);
  Location descend(uint32_t subtree);

  std::vector<TreeNode> tree_;  // [0] is the root
  std::vector<std::string> region_names_;
  uint64_t fresh_host_ = 0;  // next host id for nodes that get their own host
};

/// Shortest routes over a directed graph with non-negative edge weights.
class RouteTable {
 public:
  struct Edge {
    uint32_t from;
    uint32_t to;
    double weight;  ///< mean latency, ns
  };
  RouteTable(uint32_t vertices, std::vector<Edge> edges);
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;

  /// The edges (indexes into the edge list) of the shortest path from `src` to `dst`;
  /// empty when src == dst; nullptr when dst is unreachable.
  const std::vector<uint32_t>* route(uint32_t src, uint32_t dst);
  /// A vertex that cannot reach `from`, or cannot be reached from it; nullopt when every
  /// vertex of `among` reaches every other.
  std::optional<std::pair<uint32_t, uint32_t>> unreachable_pair(
      const std::vector<uint32_t>& among) const;
  size_t cached_routes() const { return routes_.size(); }

 private:
  struct Graph;
  std::unique_ptr<Graph> graph_;
  std::vector<Edge> edges_;
  std::map<uint32_t, std::vector<uint32_t>> pred_edge_;  // source -> predecessor edge per vertex
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> routes_;
};

}  // namespace dsim
