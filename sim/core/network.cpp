#include "sim/core/network.h"

#include <algorithm>
#include <cmath>

#include "sim/core/assert.h"

namespace dsim {

std::string_view drop_cause_name(DropCause c) {
  switch (c) {
    case DropCause::kLoss:
      return "loss";
    case DropCause::kPartition:
      return "partition";
    case DropCause::kQueueOverflow:
      return "queue_overflow";
    case DropCause::kNodeDown:
      return "node_down";
    case DropCause::kCount:
      break;
  }
  return "?";
}

namespace {

double route_weight(const Distribution& d) {
  const double m = d.mean();
  return std::isfinite(m) ? std::max(0.0, m) : std::max(0.0, d.quantile(0.5));
}

}  // namespace

Network::Network(NetworkConfig config)
    : config_(std::move(config)), access_(config_.access_latency) {
  const LinkSpec region = config_.default_link();
  const LinkSpec zone = config_.same_zone.value_or(region);
  const LinkSpec rack = config_.same_rack.value_or(zone);
  LinkSpec host = config_.same_host.value_or(rack);
  if (config_.topology == TopologyKind::kGraph && !config_.same_host) host = LinkSpec{};
  classes_ = {region, zone, rack, host};
  if (config_.topology == TopologyKind::kRegions) {
    const size_t r = config_.regions.size();
    region_class_.assign(r * r, kSameRegion);
    for (const auto& rl : config_.region_links) {
      const auto c = static_cast<uint32_t>(classes_.size());
      classes_.push_back(rl.link);
      region_class_[rl.a * r + rl.b] = c;
      region_class_[rl.b * r + rl.a] = c;
    }
  }
  if (config_.topology == TopologyKind::kGraph) {
    std::vector<RouteTable::Edge> edges;
    for (const auto& l : config_.graph_links)
      edges.push_back({l.from, l.to, route_weight(l.link.latency)});
    routes_ = std::make_unique<RouteTable>(static_cast<uint32_t>(config_.vertices.size()),
                                           std::move(edges));
    graph_state_.resize(config_.graph_links.size());
    graph_stats_.resize(config_.graph_links.size());
  }
  for (const auto& [name, dist] : config_.message_delay) {
    (void)name;
    kind_delay_.push_back(dist);
  }
  tracks_pairs_ = config_.pair_counters;
  for (const LinkSpec& c : classes_) {
    tracks_pairs_ = tracks_pairs_ || c.bandwidth_bps > 0;  // a pair link's queue is per pair
    plain_.push_back(c.bandwidth_bps == 0 && c.loss == 0 && c.duplicate == 0 && c.reorder == 0);
  }
}

Network::~Network() = default;

void Network::prepare(size_t nodes) {
  node_traffic_.assign(nodes, NodeTraffic{});
  access_.grow(nodes, seed_);
  if (config_.topology == TopologyKind::kGraph) {
    graph_rng_.clear();
    for (uint32_t i = 0; i < config_.graph_links.size(); ++i)
      graph_rng_.emplace_back(seed_, stream_id("link", i));
  }
}

uint32_t Network::pair_slot(NodeId from, NodeId to) {
  const uint64_t key = (static_cast<uint64_t>(from) << 32) | to;
  auto [it, inserted] = pair_index_.try_emplace(key, static_cast<uint32_t>(pairs_.size()));
  if (inserted) pairs_.push_back(PairState{from, to, {}, 0});
  return it->second;
}

bool Network::any_cut(NodeId from, NodeId to) const {
  for (const auto& [id, c] : cuts_) {
    if (c.blocks(from, to)) return true;
  }
  return false;
}

uint32_t Network::pair_class(NodeId from, NodeId to) const {
  if (config_.topology == TopologyKind::kUniform || locations_.empty()) return kSameRegion;
  const Location& a = locations_[from];
  const Location& b = locations_[to];
  if (a.host == b.host) return kSameHost;
  if (config_.topology == TopologyKind::kGraph) return kSameHost;  // unused: graphs route
  if (a.rack == b.rack) return kSameRack;
  if (a.zone == b.zone) return kSameZone;
  if (a.region == b.region) return kSameRegion;
  return region_class_[a.region * config_.regions.size() + b.region];
}

Duration Network::typical_latency(NodeId from, NodeId to) {
  const Path p = path(from, to, kNoPair);
  double ns = 0;
  if (p.links) {
    for (const uint32_t link : *p.links)
      ns += config_.graph_links[link].link.latency.mean();
  } else {
    ns = classes_[p.link_class].latency.mean();
  }
  return Duration::from_ns(static_cast<int64_t>(std::min(ns, 4.0e18)));
}

Network::Path Network::path(NodeId from, NodeId to, uint32_t /*pair*/) {
  if (config_.topology != TopologyKind::kGraph || locations_.empty())
    return Path{nullptr, 1, pair_class(from, to)};
  const Location& a = locations_[from];
  const Location& b = locations_[to];
  if (a.host == b.host) return Path{nullptr, 1, kSameHost};  // the same_host pseudo-link
  const std::vector<uint32_t>* r = routes_->route(a.vertex, b.vertex);
  DSIM_ASSERT(r, "the scenario layer checks that every host reaches every other");
  return Path{r, static_cast<uint32_t>(r->size())};
}

bool Network::stage_queues(const Path& p, uint32_t stage, uint32_t pair) const {
  if (p.links) return config_.graph_links[(*p.links)[stage]].link.bandwidth_bps > 0;
  (void)pair;
  return classes_[p.link_class].bandwidth_bps > 0;
}

Network::Crossing Network::cross(const Path& p, uint32_t stage, uint32_t pair, uint32_t bytes,
                                 SimTime at, Rng& sender_rng) {
  if (p.links) {
    const uint32_t link = (*p.links)[stage];
    return cross_link(config_.graph_links[link].link, graph_state_[link].free_at, bytes, at,
                      graph_rng_[link], &graph_stats_[link]);
  }
  const LinkSpec& spec = classes_[p.link_class];
  // Only a link with a bandwidth reads or moves free_at; such links make tracks_pairs_.
  double unused_free_at = 0;
  double& free_at = spec.bandwidth_bps > 0 ? pairs_[pair].free_at : unused_free_at;
  return cross_link(spec, free_at, bytes, at, sender_rng, nullptr);
}

Network::Crossing Network::cross_link(const LinkSpec& spec, double& free_at, uint32_t bytes,
                                      SimTime at, Rng& rng, GraphLinkStats* stats) {
  Crossing c;
  if (stats) {
    ++stats->messages;
    stats->bytes += bytes;
  }
  // 1. Queueing and serialization (no draws).
  double sent_ns = static_cast<double>(at.ns());
  if (spec.bandwidth_bps > 0) {
    const double now_ns = static_cast<double>(at.ns());
    const double bytes_per_ns = spec.bandwidth_bps / 8e9;
    const double waiting_ns = std::max(0.0, free_at - now_ns);
    if (spec.queue_bytes > 0 &&
        waiting_ns * bytes_per_ns + bytes > static_cast<double>(spec.queue_bytes) + 1e-6) {
      if (stats) ++stats->dropped_queue_overflow;
      c.dropped = true;
      c.cause = DropCause::kQueueOverflow;
      return c;
    }
    const double serialize_ns = static_cast<double>(bytes) / bytes_per_ns;
    free_at = std::max(free_at, now_ns) + serialize_ns;
    sent_ns = free_at;
    if (stats) {
      stats->queue_wait_ns_total += waiting_ns;
      stats->queue_wait_ns_max =
          std::max(stats->queue_wait_ns_max, static_cast<int64_t>(std::ceil(waiting_ns)));
      stats->busy_ns += serialize_ns;
    }
  }
  const SimTime sent = SimTime::from_ns(static_cast<int64_t>(std::ceil(sent_ns - 1e-6)));
  // 2. Loss, 3. propagation: in this order (the draws of the first slice).
  if (spec.loss > 0 && rng.bernoulli(spec.loss)) {
    if (stats) ++stats->dropped_loss;
    c.dropped = true;
    c.cause = DropCause::kLoss;
    return c;
  }
  c.exit = saturating_add(sent, spec.latency.sample_duration(rng));
  // 4. Duplication.
  if (spec.duplicate > 0 && rng.bernoulli(spec.duplicate)) {
    if (stats) ++stats->duplicated;
    c.duplicate_exit = saturating_add(sent, spec.latency.sample_duration(rng));
  }
  // 5. Reordering.
  if (spec.reorder > 0 && rng.bernoulli(spec.reorder)) {
    c.exit = saturating_add(c.exit, spec.reorder_delay.sample_duration(rng));
  }
  return c;
}

Network::Extras Network::extras(NodeId from, NodeId to, const MessageType* type, Rng& rng) {
  Extras x;
  if (!kind_delay_.empty() && type) {
    auto [it, inserted] = kind_cache_.try_emplace(type, -1);
    if (inserted) {
      for (size_t i = 0; i < config_.message_delay.size(); ++i) {
        if (config_.message_delay[i].first == type->name) it->second = static_cast<int32_t>(i);
      }
    }
    if (it->second >= 0)
      x.delay += kind_delay_[static_cast<size_t>(it->second)].sample_duration(rng);
  }
  for (const auto& [id, d] : degrades_) {
    const bool hit = (d.outbound && std::binary_search(d.nodes.begin(), d.nodes.end(), from)) ||
                     (d.inbound && std::binary_search(d.nodes.begin(), d.nodes.end(), to));
    if (!hit) continue;
    if (d.loss > 0 && rng.bernoulli(d.loss)) {
      x.dropped = true;
      return x;
    }
    if (d.delay) x.delay += d.delay->sample_duration(rng);
    if (d.duplicate > 0 && rng.bernoulli(d.duplicate)) x.duplicate = true;
  }
  return x;
}

void Network::count_sent(uint32_t pair, NodeId from, uint32_t bytes) {
  for (NetworkCounters* c : {pair_counters(pair), &node_traffic_[from].out, &totals_}) {
    if (!c) continue;
    ++c->sent;
    c->bytes_sent += bytes;
  }
}

void Network::count_delivered(uint32_t pair, NodeId from, NodeId to, uint32_t bytes) {
  for (NetworkCounters* c : {pair_counters(pair), &node_traffic_[from].out, &totals_}) {
    if (!c) continue;
    ++c->delivered;
    c->bytes_delivered += bytes;
  }
  ++node_traffic_[to].received;
  node_traffic_[to].bytes_received += bytes;
}

void Network::count_dropped(uint32_t pair, NodeId from, DropCause cause) {
  const auto i = static_cast<size_t>(cause);
  for (NetworkCounters* c : {pair_counters(pair), &node_traffic_[from].out, &totals_}) {
    if (c) ++c->dropped[i];
  }
}

void Network::count_duplicated(uint32_t pair, NodeId from) {
  for (NetworkCounters* c : {pair_counters(pair), &node_traffic_[from].out, &totals_}) {
    if (c) ++c->duplicated;
  }
}

std::vector<const Network::PairState*> Network::pairs_in_order() const {
  std::vector<const PairState*> out;
  out.reserve(pairs_.size());
  for (const auto& p : pairs_)
    out.push_back(&p);
  std::sort(out.begin(), out.end(), [](const PairState* a, const PairState* b) {
    return std::pair{a->from, a->to} < std::pair{b->from, b->to};
  });
  return out;
}

}  // namespace dsim
