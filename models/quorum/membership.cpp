// The quorum store's ring and its changes: which members form the ring after the
// scheduled changes applied so far, a key's home replicas on it, and the transfers that
// move a key to the replicas a change gives it (and drop it where it no longer belongs).
#include "models/quorum/store.h"

#include <algorithm>

namespace dsim::quorum {

namespace {

bool contains(const std::vector<NodeId>& v, NodeId n) {
  return std::find(v.begin(), v.end(), n) != v.end();
}

}  // namespace

uint32_t QuorumStore::index_of(NodeId id) const {
  auto it = std::find(group_.begin(), group_.end(), id);
  return static_cast<uint32_t>(it - group_.begin());
}

uint32_t QuorumStore::replica_count() const {
  const auto size = static_cast<uint32_t>(group_.size());
  const auto coordinators = static_cast<uint32_t>(config_.coordinators);
  return size > coordinators ? size - coordinators : 0;
}

Ring QuorumStore::ring_for(size_t applied_events) const {
  // Coordinators (the group's last `coordinators` nodes) are never members.
  const uint32_t size = replica_count();
  std::set<uint32_t> members;
  const uint32_t initial =
      config_.initial_members > 0
          ? std::min<uint32_t>(size, static_cast<uint32_t>(config_.initial_members))
          : size;
  for (uint32_t i = 0; i < initial; ++i)
    members.insert(i);
  for (size_t e = 0; e < applied_events && e < config_.membership.size(); ++e) {
    const auto& ch = config_.membership[e];
    if (ch.node >= size) continue;  // beyond the group: ignored
    if (ch.add) {
      members.insert(ch.node);
    } else {
      members.erase(ch.node);
    }
  }
  std::vector<Ring::Member> list;
  for (uint32_t m : members) {
    list.push_back({m, m < config_.weights.size() ? config_.weights[m] : 1.0});
  }
  return Ring(list, static_cast<uint32_t>(config_.vnodes), config_.ring_seed);
}

void QuorumStore::join_ring(Context& ctx) {
  size_t applied = 0;
  while (applied < config_.membership.size() &&
         config_.membership[applied].at <= ctx.now().since_start()) {
    ++applied;
  }
  ring_ = ring_for(applied);
  applied_events_ = applied;
  schedule_membership(ctx, applied);
}

void QuorumStore::apply_membership(Context& ctx, size_t applied_events) {
  const Ring old = ring_;
  ring_ = ring_for(applied_events);
  applied_events_ = applied_events;
  ctx.record().count(m_membership_changes_);
  send_transfers(ctx, old);
  schedule_membership(ctx, applied_events);
}

void QuorumStore::schedule_membership(Context& ctx, size_t next_event) {
  if (next_event >= config_.membership.size()) return;
  const Duration wait = config_.membership[next_event].at - ctx.now().since_start();
  ctx.set_timer(std::max(wait, Duration::zero()), kit::timer_tag(Timer::kMembership, next_event));
}

std::vector<NodeId> QuorumStore::home(const Ring& ring, uint64_t key) const {
  std::vector<NodeId> out;
  for (uint32_t m : ring.walk(key_position(key, config_.ring_seed), static_cast<size_t>(config_.n)))
    out.push_back(node_of(m));
  return out;
}

std::vector<NodeId> QuorumStore::home(uint64_t key) const {
  return home(ring_, key);
}

bool QuorumStore::is_home(uint64_t key) const {
  return contains(home(key), self_);
}

// --- transfers --------------------------------------------------------------------------

void QuorumStore::send_transfers(Context& ctx, const Ring& old_ring) {
  // A key whose preference list changed goes to its new replicas from the replicas that
  // lost it (a join takes keys from the nodes it displaces; a leaving node hands over all
  // of its own), or — when nobody lost it (the list only grew) — from its first old
  // replica. Each key moves once per new replica; the rest catch up by anti-entropy.
  std::map<NodeId, std::vector<uint64_t>> out;
  std::vector<uint64_t> orphaned;
  for (const auto& [key, versions] : data_) {
    const auto before = home(old_ring, key);
    if (!contains(before, self_)) continue;
    const auto after = home(key);
    std::vector<NodeId> gained;
    for (NodeId n : after) {
      if (!contains(before, n)) gained.push_back(n);
    }
    const bool lost = !contains(after, self_);
    if (gained.empty()) {
      if (lost) orphaned.push_back(key);
      continue;
    }
    const bool anyone_lost =
        std::any_of(before.begin(), before.end(), [&](NodeId n) { return !contains(after, n); });
    if (!lost && (anyone_lost || before.front() != self_)) continue;
    for (NodeId n : gained)
      out[n].push_back(key);
  }
  for (uint64_t key : orphaned)
    release_if_unowned(ctx, key);
  const auto batch = static_cast<size_t>(config_.transfer_batch);
  for (const auto& [to, keys] : out) {
    for (size_t i = 0; i < keys.size(); i += batch) {
      const size_t end = std::min(keys.size(), i + batch);
      send_transfer(ctx, to, std::vector<uint64_t>(keys.begin() + i, keys.begin() + end));
    }
  }
}

void QuorumStore::send_transfer(Context& ctx, NodeId to, std::vector<uint64_t> keys) {
  QuorumTransfer t{next_batch_++, {}};
  for (uint64_t key : keys) {
    if (auto d = data_.find(key); d != data_.end()) t.entries.push_back({key, d->second});
  }
  ctx.record().count(m_transfer_bytes_, t.size_bytes());
  transfers_.emplace(t.batch, Batch{to, std::move(keys), ctx.now()});
  ctx.send(to, std::move(t));
}

void QuorumStore::resend_transfers(Context& ctx) {
  for (auto& [id, b] : take_expired(transfers_, ctx.now())) {
    if (!healthy(ctx, b.to)) {
      transfers_.emplace(id, std::move(b));  // try again at the next tick
      continue;
    }
    send_transfer(ctx, b.to, std::move(b.keys));
  }
}

void QuorumStore::on_transfer_ack(Context& ctx, const QuorumTransferAck& ack) {
  auto it = transfers_.find(ack.batch);
  if (it == transfers_.end() || !ack.stored) return;
  const std::vector<uint64_t> keys = std::move(it->second.keys);
  transfers_.erase(it);
  ctx.record().count(m_keys_moved_, static_cast<int64_t>(keys.size()));
  for (uint64_t key : keys)
    release_if_unowned(ctx, key);
}

void QuorumStore::release_if_unowned(Context& ctx, uint64_t key) {
  if (is_home(key)) return;
  for (NodeId n : group_) {
    if (hints_.count({n, key})) return;
  }
  for (const auto& [id, b] : transfers_) {
    if (std::find(b.keys.begin(), b.keys.end(), key) != b.keys.end()) return;
  }
  drop_key(ctx, key);
}

}  // namespace dsim::quorum
