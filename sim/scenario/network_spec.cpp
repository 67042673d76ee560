#include "sim/scenario/network_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>

#include "sim/core/distribution_parse.h"
#include "sim/core/units.h"

namespace dsim {

namespace {

constexpr size_t kMaxRegions = 256;
constexpr uint64_t kMaxRacks = 1'000'000;

const Distribution kZeroTime = Distribution::constant(0).with_dim(Distribution::Dim::kTime);

bool valid_name(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

Diagnostics& diag_of(ParamReader& r) {
  return *r.env().diagnostics;
}

// A scalar's text, or an error.
const std::string* scalar(const ParamNode& n, const std::string& what, Diagnostics& diag) {
  if (n.kind == ParamNode::Kind::kScalar) return &n.scalar;
  diag.error(n.loc, what + ": expected a text, got " + n.kind_name());
  return nullptr;
}

// "unlimited" or a bandwidth.
double read_bandwidth(ParamReader& r, std::string_view key, double def, std::string_view help) {
  const std::string text =
      r.text(key, def > 0 ? format_bandwidth(def) : "unlimited", std::string(help));
  if (text == "unlimited") return 0;
  std::string err;
  auto b = parse_bandwidth(text, &err);
  if (!b || *b <= 0) {
    r.error(key, b ? "must be > 0 (or 'unlimited')" : err + " (or 'unlimited')");
    return def;
  }
  return *b;
}

// "unbounded" or a size.
uint64_t read_queue(ParamReader& r, uint64_t def) {
  const std::string text = r.text("queue", def > 0 ? format_bytes(def) : "unbounded",
                                  "with a bandwidth: most bytes waiting on the link, the "
                                  "message being sent included; 'unbounded' or a size");
  if (text == "unbounded") return 0;
  std::string err;
  auto s = parse_size(text, &err);
  if (!s || *s == 0) {
    r.error("queue", s ? "must be > 0 (or 'unbounded')" : err + " (or 'unbounded')");
    return def;
  }
  return *s;
}

// The keys of a link, with defaults from `def`. Reads no more keys than it lists: the
// caller reads its own (between, from, to) and calls finish().
LinkSpec read_link_keys(ParamReader& r, const LinkSpec& def) {
  LinkSpec l = def;
  l.latency = r.distribution("latency", def.latency, "one-way propagation delay");
  l.loss = r.probability("loss", def.loss, "probability a message is lost on the link");
  l.duplicate = r.probability("duplicate", def.duplicate,
                              "probability a second copy arrives too (own latency draw)");
  l.reorder =
      r.probability("reorder", def.reorder, "probability a message is held back by reorder_delay");
  l.reorder_delay =
      r.distribution("reorder_delay", def.reorder_delay, "extra delay of a reordered message");
  l.bandwidth_bps = read_bandwidth(r, "bandwidth", def.bandwidth_bps,
                                   "serialization rate; 'unlimited': no queueing");
  l.queue_bytes = read_queue(r, def.queue_bytes);
  return l;
}

// A link written as a distribution (its latency) or as a map of link keys.
std::optional<LinkSpec> read_link(ParamReader& parent, std::string_view key, const LinkSpec& def,
                                  std::string_view help) {
  const ParamNode* n = parent.raw(key, "link: a latency distribution or a map of link keys", help);
  if (!n) return std::nullopt;
  const std::string path = (parent.path().empty() ? "" : parent.path() + ".") + std::string(key);
  if (n->kind == ParamNode::Kind::kScalar) {
    std::string err;
    auto d = parse_distribution(n->scalar, Distribution::Dim::kTime, parent.env().base_dir, &err);
    if (!d) {
      diag_of(parent).error(n->loc, path + ": " + err);
      return std::nullopt;
    }
    LinkSpec l = def;
    l.latency = *d;
    return l;
  }
  ParamReader r(n, &parent.env(), path, n->loc);
  LinkSpec l = read_link_keys(r, def);
  r.finish();
  return l;
}

// Two names in a list: [a, b].
std::optional<std::pair<std::string, std::string>> read_pair(const ParamNode* n,
                                                             const std::string& what,
                                                             Diagnostics& diag) {
  if (!n || n->kind != ParamNode::Kind::kList || n->items.size() != 2 ||
      n->items[0].kind != ParamNode::Kind::kScalar ||
      n->items[1].kind != ParamNode::Kind::kScalar) {
    diag.error(n ? n->loc : SourceLoc{}, what + ": expected a list of two names, e.g. [a, b]");
    return std::nullopt;
  }
  return std::pair{n->items[0].scalar, n->items[1].scalar};
}

// The built-in profile with the latency numbers of the system-design books. The Modern
// System Design - Interview Prep Guide ("Latency Numbers Every SDE Should Know"): within a
// datacenter 500 us, cross-country (US) 50 ms, trans-Atlantic 150 ms. Alex Xu's System
// Design Interview ("Back-of-the-envelope Estimation") calls the 150 ms a round trip ("CA
// to Netherlands round trip"), the guide does not say: `seeds` reads them as one-way
// latencies, `seeds_rtt` as round trips (one-way = half).
struct Profile {
  Distribution same_region = kZeroTime;
  std::vector<RegionSpec> regions;
  std::vector<std::tuple<uint32_t, uint32_t, Distribution>> pairs;
};

Profile profile(const std::string& name) {
  Profile p;
  if (name != "seeds" && name != "seeds_rtt") return p;
  const double div = name == "seeds_rtt" ? 2.0 : 1.0;
  auto t = [div](double ms) {
    return Distribution::constant(ms * 1e6 / div).with_dim(Distribution::Dim::kTime);
  };
  p.same_region = t(0.5);
  p.regions = {{"us-east", 3, 1, 0}, {"us-west", 3, 1, 0}, {"eu-west", 3, 1, 0}};
  p.pairs = {{0, 1, t(50)}, {0, 2, t(150)}, {1, 2, t(150)}};
  return p;
}

void read_regions(ParamReader& net, const Profile& prof, NetworkConfig& c) {
  Diagnostics& diag = diag_of(net);
  const ParamNode* list = net.raw("regions", "list",
                                  "regions (a name, or {name, zones, racks, hosts}): the "
                                  "regions topology");
  if (!list) {
    c.regions = prof.regions;
    return;
  }
  if (list->kind != ParamNode::Kind::kList || list->items.empty()) {
    diag.error(list->loc, "network.regions: expected a non-empty list of regions");
    return;
  }
  uint64_t racks = 0;
  for (size_t i = 0; i < list->items.size(); ++i) {
    const ParamNode& item = list->items[i];
    RegionSpec r;
    const std::string where = "network.regions[" + std::to_string(i) + "]";
    if (item.kind == ParamNode::Kind::kScalar) {
      r.name = item.scalar;
    } else {
      ParamReader rr(&item, &net.env(), where, item.loc);
      r.name = rr.text("name", "", "the region's name");
      r.zones =
          static_cast<uint32_t>(rr.integer("zones", 1, "zones in the region (a, b, ...)", 1, 26));
      r.racks = static_cast<uint32_t>(rr.integer("racks", 1, "racks per zone", 1, 100000));
      r.hosts = static_cast<uint32_t>(rr.integer(
          "hosts", 0, "hosts per rack; 0: a host for every node placed there", 0, 1'000'000'000));
      rr.finish();
    }
    if (!valid_name(r.name)) {
      diag.error(item.loc, where + ": region name '" + r.name +
                               "' must start with a letter and hold only letters, digits, '_' "
                               "and '-'");
    }
    for (const auto& other : c.regions) {
      if (other.name == r.name)
        diag.error(item.loc, where + ": region '" + r.name + "' is defined twice");
    }
    racks += uint64_t{r.zones} * r.racks;
    c.regions.push_back(r);
  }
  if (c.regions.size() > kMaxRegions)
    diag.error(list->loc, "network.regions: at most " + std::to_string(kMaxRegions) + " regions");
  if (racks > kMaxRacks)
    diag.error(list->loc,
               "network.regions: more than " + std::to_string(kMaxRacks) + " racks in all");
}

std::optional<uint32_t> region_index(const NetworkConfig& c, const std::string& name) {
  for (uint32_t i = 0; i < c.regions.size(); ++i) {
    if (c.regions[i].name == name) return i;
  }
  return std::nullopt;
}

// Links between pairs of regions, by (lower index, higher index).
using RegionLinks = std::map<std::pair<uint32_t, uint32_t>, LinkSpec>;

// The profile's pairs, when its regions are the ones in use.
RegionLinks profile_links(const Profile& prof, const NetworkConfig& c, const LinkSpec& base) {
  RegionLinks links;
  for (const auto& [a, b, lat] : prof.pairs) {
    if (a < c.regions.size() && b < c.regions.size() && c.regions[a].name == prof.regions[a].name &&
        c.regions[b].name == prof.regions[b].name) {
      LinkSpec l = base;
      l.latency = lat;
      links[{a, b}] = l;
    }
  }
  return links;
}

// The regions a pair names, each of which must exist; none on an error.
std::optional<std::pair<uint32_t, uint32_t>> region_pair(const ParamNode* pair,
                                                         const std::string& where,
                                                         const NetworkConfig& c,
                                                         Diagnostics& diag) {
  auto names = read_pair(pair, where + ".between", diag);
  if (!names) return std::nullopt;
  auto a = region_index(c, names->first), b = region_index(c, names->second);
  for (const auto& [name, idx] : {std::pair{names->first, a}, std::pair{names->second, b}}) {
    if (!idx) {
      std::string valid;
      for (const auto& reg : c.regions)
        valid += (valid.empty() ? "" : ", ") + reg.name;
      diag.error(pair->loc,
                 where + ".between: no region named '" + name + "' (regions: " + valid + ")");
    }
  }
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

// One item of network.region_links: {between: [a, b], latency, ...}.
void read_region_link(ParamReader& net, const ParamNode& item, size_t i, const LinkSpec& def,
                      const NetworkConfig& c, RegionLinks& links) {
  Diagnostics& diag = diag_of(net);
  const std::string where = "network.region_links[" + std::to_string(i) + "]";
  ParamReader r(&item, &net.env(), where, item.loc);
  const ParamNode* pair = r.raw("between", "list", "the two regions");
  const LinkSpec l = read_link_keys(r, def);
  r.finish();
  if (!pair) {
    r.error("between", "missing required key 'between' (the two regions, e.g. [us-east, eu-west])");
    return;
  }
  const auto ab = region_pair(pair, where, c, diag);
  if (!ab) return;
  const auto [a, b] = *ab;
  if (a == b) {
    diag.error(pair->loc, where +
                              ".between: a region with itself; nodes in one region use "
                              "network.latency (and same_zone, same_rack, same_host)");
    return;
  }
  links[{std::min(a, b), std::max(a, b)}] = l;
}

// A link for every pair of regions: listed, or between_regions; a missing one is an error.
void set_region_links(ParamReader& net, const RegionLinks& links,
                      const std::optional<LinkSpec>& between, NetworkConfig& c) {
  for (uint32_t a = 0; a < c.regions.size(); ++a) {
    for (uint32_t b = a + 1; b < c.regions.size(); ++b) {
      auto it = links.find({a, b});
      if (it != links.end()) {
        c.region_links.push_back({a, b, it->second});
      } else if (between) {
        c.region_links.push_back({a, b, *between});
      } else {
        net.error("region_links", "no link between regions '" + c.regions[a].name + "' and '" +
                                      c.regions[b].name +
                                      "': add it to network.region_links, or give "
                                      "network.between_regions");
      }
    }
  }
}

void read_region_links(ParamReader& net, const Profile& prof, NetworkConfig& c) {
  const LinkSpec base = c.default_link();
  RegionLinks links = profile_links(prof, c, base);
  const auto between = read_link(net, "between_regions", base,
                                 "link between two regions not listed in region_links");
  const ParamNode* list = net.raw(
      "region_links", "list", "links between pairs of regions: {between: [a, b], latency, ...}");
  if (list && list->kind != ParamNode::Kind::kList) {
    diag_of(net).error(list->loc,
                       "network.region_links: expected a list of {between: [a, b], latency: ...}");
    list = nullptr;
  }
  for (size_t i = 0; list && i < list->items.size(); ++i)
    read_region_link(net, list->items[i], i, between.value_or(base), c, links);
  set_region_links(net, links, between, c);
}

// A host or a switch of the graph, whose name must be valid and new.
void add_vertex(const GraphVertex& v, const SourceLoc& loc, Diagnostics& diag, NetworkConfig& c) {
  if (!valid_name(v.name)) {
    diag.error(loc, "network.graph: name '" + v.name +
                        "' must start with a letter and hold only letters, digits, '_' and '-'");
  }
  for (const auto& o : c.vertices) {
    if (o.name == v.name) diag.error(loc, "network.graph: '" + v.name + "' is defined twice");
  }
  c.vertices.push_back(v);
}

// network.graph.hosts: names, or {name, region, zone, rack}.
void read_hosts(ParamReader& net, const ParamNode* hosts, const ParamNode* g, NetworkConfig& c) {
  Diagnostics& diag = diag_of(net);
  if (!hosts || hosts->kind != ParamNode::Kind::kList || hosts->items.empty()) {
    diag.error(hosts ? hosts->loc : g->loc,
               "network.graph.hosts: expected a non-empty list of hosts");
    return;
  }
  for (size_t i = 0; i < hosts->items.size(); ++i) {
    const ParamNode& h = hosts->items[i];
    GraphVertex v;
    if (h.kind == ParamNode::Kind::kScalar) {
      v.name = h.scalar;
    } else {
      ParamReader hr(&h, &net.env(), "network.graph.hosts[" + std::to_string(i) + "]", h.loc);
      v.name = hr.text("name", "", "the host's name");
      v.region = hr.text("region", "", "label for placement");
      v.zone = hr.text("zone", "", "label for placement");
      v.rack = hr.text("rack", "", "label for placement");
      hr.finish();
    }
    add_vertex(v, h.loc, diag, c);
  }
}

void read_switches(const ParamNode* switches, Diagnostics& diag, NetworkConfig& c) {
  if (!switches) return;
  if (switches->kind != ParamNode::Kind::kList) {
    diag.error(switches->loc, "network.graph.switches: expected a list of names");
    return;
  }
  for (const auto& s : switches->items) {
    if (const std::string* name = scalar(s, "network.graph.switches", diag))
      add_vertex(GraphVertex{*name, false, "", "", ""}, s.loc, diag, c);
  }
}

std::optional<uint32_t> vertex_index(const NetworkConfig& c, const std::string& name,
                                     const SourceLoc& loc, Diagnostics& diag) {
  for (uint32_t i = 0; i < c.vertices.size(); ++i) {
    if (c.vertices[i].name == name) return i;
  }
  diag.error(loc, "network.graph.links: no host or switch named '" + name + "'");
  return std::nullopt;
}

// One item of network.graph.links: {between: [a, b], ...} (both ways) or {from, to, ...}.
void read_graph_link(ParamReader& net, const ParamNode& item, size_t i, const LinkSpec& base,
                     NetworkConfig& c) {
  Diagnostics& diag = diag_of(net);
  const std::string where = "network.graph.links[" + std::to_string(i) + "]";
  ParamReader r(&item, &net.env(), where, item.loc);
  const ParamNode* between = r.raw("between", "list", "two vertices, linked both ways");
  const std::string from = r.text("from", "", "one-way link: from this vertex");
  const std::string to = r.text("to", "", "one-way link: to this vertex");
  const LinkSpec l = read_link_keys(r, base);
  r.finish();
  if (between) {
    if (!from.empty() || !to.empty()) r.error("between", "give either between or from/to");
    auto names = read_pair(between, where + ".between", diag);
    if (!names) return;
    auto a = vertex_index(c, names->first, between->loc, diag);
    auto b = vertex_index(c, names->second, between->loc, diag);
    if (!a || !b) return;
    c.graph_links.push_back({*a, *b, l});
    c.graph_links.push_back({*b, *a, l});
  } else if (!from.empty() && !to.empty()) {
    auto a = vertex_index(c, from, item.loc, diag), b = vertex_index(c, to, item.loc, diag);
    if (a && b) c.graph_links.push_back({*a, *b, l});
  } else {
    diag.error(item.loc, where + ": a link needs between: [a, b] or from: and to:");
  }
}

// Every host must reach every other.
void check_routes(const ParamNode* links, const NetworkConfig& c, Diagnostics& diag) {
  std::vector<RouteTable::Edge> edges;
  for (const auto& l : c.graph_links)
    edges.push_back({l.from, l.to, 1});
  RouteTable table(static_cast<uint32_t>(c.vertices.size()), std::move(edges));
  std::vector<uint32_t> host_ids;
  for (uint32_t i = 0; i < c.vertices.size(); ++i) {
    if (c.vertices[i].host) host_ids.push_back(i);
  }
  if (auto bad = table.unreachable_pair(host_ids)) {
    diag.error(links->loc, "network.graph: no route from '" + c.vertices[bad->first].name +
                               "' to '" + c.vertices[bad->second].name +
                               "' (links given with from/to go one way only)");
  }
}

void read_graph(ParamReader& net, const ParamNode* g, NetworkConfig& c) {
  Diagnostics& diag = diag_of(net);
  const size_t errors_before = diag.all().size();
  ParamReader gr(g, &net.env(), "network.graph", g->loc);
  const ParamNode* hosts = gr.raw("hosts", "list", "hosts: names, or {name, region, zone, rack}");
  const ParamNode* switches = gr.raw("switches", "list", "switches and routers: names");
  const ParamNode* links =
      gr.raw("links", "list", "links: {between: [a, b], ...} (both ways) or {from, to, ...}");
  gr.finish();
  read_hosts(net, hosts, g, c);
  read_switches(switches, diag, c);
  if (!links || links->kind != ParamNode::Kind::kList || links->items.empty()) {
    diag.error(links ? links->loc : g->loc,
               "network.graph.links: expected a non-empty list of links");
    return;
  }
  const LinkSpec base = c.default_link();
  for (size_t i = 0; i < links->items.size(); ++i)
    read_graph_link(net, links->items[i], i, base, c);
  // Routes only over a graph read without errors, whatever the rest of the scenario holds.
  if (diag.all().size() != errors_before) return;
  check_routes(links, c, diag);
}

// The link between any two nodes (in the regions topology: two nodes of one region).
void read_node_links(ParamReader& net, const Profile& prof, NetworkConfig& c) {
  c.latency = net.distribution("latency", prof.same_region,
                               "one-way delay between two nodes (in the regions topology: "
                               "between two nodes of one region)");
  c.loss = net.probability("loss", c.loss, "probability a message is lost");
  c.duplicate = net.probability("duplicate", c.duplicate,
                                "probability a second copy arrives too (own latency draw)");
  c.reorder =
      net.probability("reorder", c.reorder, "probability a message is held back by reorder_delay");
  c.reorder_delay = net.distribution("reorder_delay", c.latency,
                                     "extra delay of a reordered message (default: the latency)");
  c.bandwidth_bps = read_bandwidth(net, "bandwidth", 0,
                                   "serialization rate of every link; 'unlimited': no queueing");
  c.queue_bytes = read_queue(net, c.queue_bytes);
  c.access_latency = net.distribution(
      "access_latency", c.access_latency,
      "each node's access-link latency, drawn once per node; a message from a to b also "
      "takes access(a) + access(b)");
}

// network.message_delay: extra delay per message kind.
void read_message_delays(ParamReader& net, NetworkConfig& c) {
  const ParamNode* md = net.raw("message_delay", "map of message kind: distribution",
                                "extra delay per message kind (Message name)");
  if (!md) return;
  if (md->kind != ParamNode::Kind::kMap) {
    diag_of(net).error(md->loc,
                       "network.message_delay: expected a map of message kind: "
                       "distribution, e.g. {request: 1ms}");
    return;
  }
  for (const auto& e : md->entries) {
    std::string err;
    const std::string* text = scalar(e.value, "network.message_delay." + e.key, diag_of(net));
    if (!text) continue;
    auto d = parse_distribution(*text, Distribution::Dim::kTime, net.env().base_dir, &err);
    if (!d) {
      diag_of(net).error(e.value.loc, "network.message_delay." + e.key + ": " + err);
      continue;
    }
    c.message_delay.emplace_back(e.key, *d);
  }
}

// Reads keys of a topology the network does not have (and so accepts them), to report them
// as misplaced.
void reject_keys(ParamReader& net, std::initializer_list<const char*> keys, const char* needs) {
  for (const char* k : keys) {
    if (!net.has(k)) continue;
    net.raw(k, "list", "");
    net.error(k, std::string(k) + " needs " + needs);
  }
}

// The uniform topology, regions (given, or a profile's) or an explicit graph, and the
// links within a region.
void read_topology(ParamReader& net, const Profile& prof, NetworkConfig& c) {
  const bool has_regions = net.has("regions") || !prof.regions.empty();
  const bool has_graph = net.has("graph");
  if (has_regions && has_graph) {
    net.error("graph", "give either network.regions (or a profile) or network.graph, not both");
  }
  const LinkSpec base = c.default_link();
  c.same_zone = read_link(net, "same_zone", base, "link between zones of one region");
  c.same_rack = read_link(net, "same_rack", c.same_zone.value_or(base), "link within a rack");
  c.same_host = read_link(net, "same_host", c.same_rack.value_or(c.same_zone.value_or(base)),
                          "link between nodes on one host");
  if (has_regions && !has_graph) {
    c.topology = TopologyKind::kRegions;
    read_regions(net, prof, c);
    read_region_links(net, prof, c);
  } else {
    reject_keys(net, {"regions", "region_links", "between_regions"},
                "the regions topology (network.regions)");
  }
  if (const ParamNode* g =
          net.raw("graph", "map", "an explicit graph of hosts, switches and links");
      g && !has_regions) {
    c.topology = TopologyKind::kGraph;
    read_graph(net, g, c);
  }
  if (c.topology == TopologyKind::kUniform) {
    for (const char* k : {"same_zone", "same_rack", "same_host"}) {
      if (net.has(k)) net.error(k, std::string(k) + " needs network.regions or network.graph");
    }
  }
}

// A group's placement: the locations its nodes are spread over, each of which must exist.
void read_placement(ParamReader& g, const ScenarioSpec& spec, GroupSpec& group) {
  Diagnostics& diag = diag_of(g);
  const ParamNode* p = g.raw("placement", "location or list of locations",
                             "where the nodes run: regions, zones (region.zone), racks or "
                             "graph hosts; nodes are spread over them round-robin");
  if (!p) return;
  std::vector<const ParamNode*> items;
  if (p->kind == ParamNode::Kind::kScalar) {
    items.push_back(p);
  } else if (p->kind == ParamNode::Kind::kList && !p->items.empty()) {
    for (const auto& i : p->items)
      items.push_back(&i);
  } else {
    diag.error(p->loc, g.path() + ".placement: expected a location or a list of locations");
  }
  if (spec.network.topology == TopologyKind::kUniform) {
    diag.error(p->loc,
               g.path() + ".placement: needs network.regions (or a profile) or network.graph");
    items.clear();
  }
  const PlacementTree tree = spec.network.topology == TopologyKind::kGraph
                                 ? PlacementTree::from_graph(spec.network.vertices)
                                 : PlacementTree::from_regions(spec.network.regions);
  for (const ParamNode* i : items) {
    const std::string* text = scalar(*i, g.path() + ".placement", diag);
    if (!text) continue;
    if (!tree.find(*text)) {
      std::string valid;
      for (const auto& r : tree.region_names())
        valid += (valid.empty() ? "" : ", ") + r;
      diag.error(i->loc, g.path() + ".placement: no location '" + *text + "' (regions: " + valid +
                             "; zones are region.a, region.b, ...; racks region.a.0, ...)");
      continue;
    }
    group.placement.push_back(*text);
  }
}

// The keys of a group's `disk:` map.
// Costs of their own for the kinds of writes models name (DiskWrite): each kind given
// here, with `write` and `fsync` defaulting to the disk's.
void read_disk_kinds(ParamReader& d, DiskSpec& disk) {
  constexpr std::pair<const char*, DiskWrite> kKinds[] = {{"metadata", DiskWrite::kMetadata},
                                                          {"log", DiskWrite::kLog},
                                                          {"snapshot", DiskWrite::kSnapshot}};
  for (const auto& [name, kind] : kKinds) {
    auto& own = disk.kinds[static_cast<size_t>(kind)];
    if (!d.has(name)) continue;
    ParamReader k = d.map(name,
                          "costs of this kind of write (Raft: metadata = term and vote, "
                          "log = entries, snapshot = snapshots); default: the disk's");
    const DiskSpec::KindCost base = own ? *own : DiskSpec::KindCost{disk.write, disk.fsync};
    own = DiskSpec::KindCost{
        k.distribution("write", base.write, "device time of one such write"),
        k.distribution("fsync", base.fsync, "device time of a sync covering such writes")};
    k.finish();
    d.adopt(name, k);
  }
}

void read_disk(ParamReader& d, DiskSpec& disk) {
  disk.write = d.distribution("write", disk.write, "device time of one write");
  disk.fsync = d.distribution("fsync", disk.fsync, "device time of one sync");
  disk.bandwidth_bytes_per_s =
      read_bandwidth(d, "bandwidth", 0, "write throughput (size / bandwidth is added to a write)") /
      8.0;
  const std::string cap =
      d.text("capacity", "unbounded", "bytes the store holds; full: writes fail");
  if (cap != "unbounded") {
    std::string err;
    auto s = parse_size(cap, &err);
    if (!s || *s == 0) {
      d.error("capacity", s ? "must be > 0 (or 'unbounded')" : err + " (or 'unbounded')");
    } else {
      disk.capacity_bytes = *s;
    }
  }
  disk.lose_unsynced = d.boolean("lose_unsynced", disk.lose_unsynced,
                                 "a crash loses writes no completed sync covered (false: only "
                                 "writes still in flight)");
  read_disk_kinds(d, disk);
}

}  // namespace

void read_network(ParamReader& top, ScenarioSpec& spec) {
  ParamReader net = top.map("network", "the network between nodes");
  spec.network_profile =
      net.choice("profile", "none", {"none", "seeds", "seeds_rtt"},
                 "built-in regions and latencies from the system-design books' latency "
                 "tables: us-east, us-west, eu-west; "
                 "0.5 ms in a region, 50 ms across the US, 150 ms across the Atlantic "
                 "(seeds: one-way; seeds_rtt: those are round trips)");
  if (spec.network_profile == "none") spec.network_profile.clear();
  const Profile prof = profile(spec.network_profile);
  read_node_links(net, prof, spec.network);
  read_message_delays(net, spec.network);
  read_topology(net, prof, spec.network);
  net.finish();
  top.adopt("network", net);
}

// `profile: server` sets the oscillator drift and the timer jitter of a commodity server;
// keys given beside it override either. `ideal` sets both back to none.
void apply_clock_profile(ParamReader& r, ClockSpec& c) {
  const std::string profile =
      r.choice("profile", "ideal", {"ideal", "server"},
               "sets drift_ppm and timer_jitter: ideal (none) or server (drift uniform(-15, 15) "
               "ppm, timers up to 50us late)");
  if (profile == "ideal") {
    c.drift_ppm = Distribution::constant(0);
    c.timer_jitter = kZeroTime;
    return;
  }
  // NTP (RFC 5905) assumes a computer's oscillator within 15 ppm of true frequency; Linux
  // lets a timer fire up to its default timer slack, 50 us, late.
  c.drift_ppm = Distribution::uniform(-15, 15);
  c.timer_jitter = Distribution::uniform(0, 50e3).with_dim(Distribution::Dim::kTime);
}

ClockSpec read_clock(ParamReader& parent, const ClockSpec& def, const std::string& help) {
  ParamReader r = parent.map("clock", help);
  ClockSpec c = def;
  if (r.has("profile")) apply_clock_profile(r, c);
  c.offset = r.distribution("offset", def.offset,
                            "initial offset of the wall clock from true time (may be negative), "
                            "drawn per node",
                            Distribution::Dim::kTime, true);
  c.drift_ppm = r.distribution("drift_ppm", c.drift_ppm,
                               "oscillator drift in parts per million (+: fast), drawn per node",
                               Distribution::Dim::kNumber);
  c.wobble_amplitude = r.duration("wobble_amplitude", def.wobble_amplitude,
                                  "amplitude of a periodic wobble of the wall clock (0: none)");
  c.wobble_period =
      r.duration("wobble_period", def.wobble_period, "period of the wobble", Duration::from_ns(1));
  c.sync_period =
      r.duration("sync_period", def.sync_period, "NTP-like sync every this long (0: never)");
  c.sync_error = r.duration("sync_error", def.sync_error,
                            "after a sync the clock is within +-this of true time");
  c.timer_jitter = r.distribution("timer_jitter", c.timer_jitter,
                                  "how late each timer fires past its due time (scheduling "
                                  "latency), drawn per timer",
                                  Distribution::Dim::kTime);
  if (const ParamNode* steps =
          r.raw("steps", "list", "jumps of the wall clock: [{at: 10s, by: -2s}, ...]")) {
    c.steps.clear();
    if (steps->kind != ParamNode::Kind::kList) {
      diag_of(r).error(steps->loc, r.path() + ".steps: expected a list of {at, by}");
    } else {
      for (size_t i = 0; i < steps->items.size(); ++i) {
        const ParamNode& s = steps->items[i];
        ParamReader sr(&s, &r.env(), r.path() + ".steps[" + std::to_string(i) + "]", s.loc);
        const Duration at = sr.duration("at", Duration::zero(), "when (true time)");
        const Distribution by = sr.distribution("by", kZeroTime, "the jump (may be negative)",
                                                Distribution::Dim::kTime, true);
        sr.finish();
        if (by.kind() != Distribution::Kind::kConstant) {
          sr.error("by", "a scheduled step is a fixed time such as -2s");
        }
        c.steps.push_back({SimTime::zero() + at, Duration::from_ns(std::llround(by.mean()))});
      }
      std::stable_sort(c.steps.begin(), c.steps.end(),
                       [](const auto& a, const auto& b) { return a.at < b.at; });
    }
  }
  r.finish();
  if (c.drift_ppm.min_value() < -kMaxDriftPpm || c.drift_ppm.quantile(1.0) > kMaxDriftPpm) {
    r.error("drift_ppm",
            "must stay within +-" + std::to_string(static_cast<int64_t>(kMaxDriftPpm)) + " ppm");
  }
  if (c.timer_jitter.min_value() < 0) r.error("timer_jitter", "a timer cannot fire early");
  if (c.sync_period > Duration::zero() && c.sync_error >= c.sync_period) {
    r.error("sync_error", "must be smaller than sync_period");
  }
  parent.adopt("clock", r);
  return c;
}

void read_group_extras(ParamReader& g, const ScenarioSpec& spec, const ClockSpec& clock_default,
                       GroupSpec& group) {
  read_placement(g, spec, group);
  group.clock = read_clock(g, clock_default, "this group's clocks (default: the top-level clock)");
  ParamReader d = g.map("disk", "the durable store of each node");
  read_disk(d, group.disk);
  d.finish();
  g.adopt("disk", d);
}

}  // namespace dsim
