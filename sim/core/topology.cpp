#include "sim/core/topology.h"

// Boost.Graph's edge iterators trip GCC 12's -Wmaybe-uninitialized (a false positive in
// boost::optional inside adj_list_edge_iterator); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <deque>
#include <limits>

#include "sim/core/assert.h"

namespace dsim {

// ---------------------------------------------------------------- placement

uint32_t PlacementTree::add(Level level, std::string name, uint32_t parent) {
  const auto id = static_cast<uint32_t>(tree_.size());
  tree_.push_back(TreeNode{level, std::move(name), parent, {}, 0, kNoIndex, 0, 0});
  if (level == Level::kRegion) {
    tree_.back().ordinal = static_cast<uint32_t>(region_names_.size());
    region_names_.push_back(tree_.back().name);
  }
  if (parent != kNoIndex) tree_[parent].children.push_back(id);
  return id;
}

PlacementTree PlacementTree::from_regions(const std::vector<RegionSpec>& regions) {
  PlacementTree t;
  t.add(Level::kRoot, "", kNoIndex);
  for (const auto& r : regions) {
    const uint32_t region = t.add(Level::kRegion, r.name, 0);
    for (uint32_t z = 0; z < r.zones; ++z) {
      const uint32_t zone = t.add(Level::kZone, std::string(1, static_cast<char>('a' + z)), region);
      for (uint32_t k = 0; k < r.racks; ++k) {
        const uint32_t rack = t.add(Level::kRack, std::to_string(k), zone);
        t.tree_[rack].hosts = r.hosts;
      }
    }
  }
  return t;
}

PlacementTree PlacementTree::from_graph(const std::vector<GraphVertex>& vertices) {
  PlacementTree t;
  t.add(Level::kRoot, "", kNoIndex);
  auto child = [&t](uint32_t parent, Level level, const std::string& name) {
    for (uint32_t c : t.tree_[parent].children) {
      if (t.tree_[c].name == name) return c;
    }
    return t.add(level, name, parent);
  };
  for (uint32_t v = 0; v < vertices.size(); ++v) {
    const GraphVertex& g = vertices[v];
    if (!g.host) continue;
    const uint32_t region = child(0, Level::kRegion, g.region);
    const uint32_t zone = child(region, Level::kZone, g.zone);
    const uint32_t rack = child(zone, Level::kRack, g.rack);
    const uint32_t host = t.add(Level::kHost, g.name, rack);
    t.tree_[host].vertex = v;
  }
  return t;
}

std::optional<uint32_t> PlacementTree::find(std::string_view location) const {
  // A graph host by its own name.
  for (uint32_t i = 0; i < tree_.size(); ++i) {
    if (tree_[i].level == Level::kHost && tree_[i].vertex != kNoIndex && tree_[i].name == location)
      return i;
  }
  uint32_t at = 0;
  size_t start = 0;
  while (start <= location.size()) {
    const size_t dot = location.find('.', start);
    const std::string_view part = location.substr(
        start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    bool found = false;
    for (uint32_t c : tree_[at].children) {
      if (tree_[c].name == part) {
        at = c;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (at == 0) return std::nullopt;
  return at;
}

Location PlacementTree::descend(uint32_t n) {
  // Walk down, taking the next child round-robin at every level.
  while (!tree_[n].children.empty()) {
    TreeNode& node = tree_[n];
    const uint32_t next = node.children[node.counter % node.children.size()];
    ++node.counter;
    n = next;
  }
  Location loc;
  uint32_t rack = n;
  if (tree_[n].level == Level::kHost) {
    loc.vertex = tree_[n].vertex;
    loc.host = n;
    rack = tree_[n].parent;
  } else {
    // A rack of the regions topology: hosts per rack, or a fresh host per node.
    TreeNode& r = tree_[n];
    const uint64_t k = r.counter++;
    loc.host = r.hosts ? (uint64_t{n} << 32) | (k % r.hosts) : (uint64_t{1} << 63) | fresh_host_++;
  }
  loc.rack = rack;
  loc.zone = tree_[rack].parent;
  loc.region = tree_[tree_[loc.zone].parent].ordinal;
  return loc;
}

std::string PlacementTree::describe(const Location& loc) const {
  if (loc.vertex != kNoIndex) return tree_[static_cast<uint32_t>(loc.host)].name;
  const uint32_t zone = tree_[loc.rack].parent;
  const uint32_t region = tree_[zone].parent;
  return tree_[region].name + "." + tree_[zone].name + "." + tree_[loc.rack].name;
}

std::vector<Location> PlacementTree::place(const std::vector<uint32_t>& subtrees, uint32_t count) {
  DSIM_ASSERT(!subtrees.empty());
  for (auto& n : tree_)
    n.counter = 0;
  std::vector<Location> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i)
    out.push_back(descend(subtrees[i % subtrees.size()]));
  return out;
}

// ---------------------------------------------------------------- routes

struct RouteTable::Graph {
  using G = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                  boost::property<boost::edge_weight_t, double,
                                                  boost::property<boost::edge_index_t, uint32_t>>>;
  G g;
};

RouteTable::RouteTable(uint32_t vertices, std::vector<Edge> edges)
    : graph_(std::make_unique<Graph>()), edges_(std::move(edges)) {
  graph_->g = Graph::G(vertices);
  for (uint32_t i = 0; i < edges_.size(); ++i) {
    boost::add_edge(edges_[i].from, edges_[i].to, Graph::G::edge_property_type(edges_[i].weight, i),
                    graph_->g);
  }
}

RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

const std::vector<uint32_t>* RouteTable::route(uint32_t src, uint32_t dst) {
  auto cached = routes_.find({src, dst});
  if (cached != routes_.end()) return &cached->second;
  auto pit = pred_edge_.find(src);
  if (pit == pred_edge_.end()) {
    const auto n = boost::num_vertices(graph_->g);
    std::vector<uint32_t> pred(n, kNoIndex);
    std::vector<double> dist(n, std::numeric_limits<double>::infinity());
    auto index = boost::get(boost::edge_index, graph_->g);
    struct Recorder : boost::default_dijkstra_visitor {
      std::vector<uint32_t>* pred;
      boost::property_map<Graph::G, boost::edge_index_t>::type index;
      void edge_relaxed(Graph::G::edge_descriptor e, const Graph::G& g) const {
        (*pred)[boost::target(e, g)] = boost::get(index, e);
      }
    };
    Recorder rec;
    rec.pred = &pred;
    rec.index = index;
    boost::dijkstra_shortest_paths(graph_->g, src, boost::distance_map(dist.data()).visitor(rec));
    pit = pred_edge_.emplace(src, std::move(pred)).first;
  }
  const std::vector<uint32_t>& pred = pit->second;
  std::vector<uint32_t> path;
  for (uint32_t v = dst; v != src;) {
    const uint32_t e = pred[v];
    if (e == kNoIndex) return nullptr;
    path.push_back(e);
    v = edges_[e].from;
  }
  std::reverse(path.begin(), path.end());
  return &routes_.emplace(std::pair{src, dst}, std::move(path)).first->second;
}

std::optional<std::pair<uint32_t, uint32_t>> RouteTable::unreachable_pair(
    const std::vector<uint32_t>& among) const {
  if (among.empty()) return std::nullopt;
  const auto n = static_cast<uint32_t>(boost::num_vertices(graph_->g));
  auto reach = [&](bool forward) {
    std::vector<std::vector<uint32_t>> adj(n);
    for (const auto& e : edges_)
      forward ? adj[e.from].push_back(e.to) : adj[e.to].push_back(e.from);
    std::vector<bool> seen(n, false);
    std::deque<uint32_t> q{among[0]};
    seen[among[0]] = true;
    while (!q.empty()) {
      const uint32_t v = q.front();
      q.pop_front();
      for (uint32_t w : adj[v]) {
        if (!seen[w]) {
          seen[w] = true;
          q.push_back(w);
        }
      }
    }
    return seen;
  };
  const auto fwd = reach(true), back = reach(false);
  for (uint32_t v : among) {
    if (!fwd[v]) return std::pair{among[0], v};
    if (!back[v]) return std::pair{v, among[0]};
  }
  return std::nullopt;
}

}  // namespace dsim
