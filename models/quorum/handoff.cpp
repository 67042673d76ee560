// Hinted handoff: a stand-in that took a write for an unreachable replica keeps a hint
// naming that replica, on its disk, and hands the write back once the replica answers
// again (Dynamo 4.6; Alex Xu's key-value store chapter). The periodic maintenance tick that does it
// also gives up on silent batches and resends unacknowledged membership transfers.
#include "models/quorum/store.h"

#include "models/quorum/detail/disk_keys.h"

namespace dsim::quorum {

void QuorumStore::load_hints(DurableStore& disk) {
  disk.for_each(detail::kHintPrefix, [&](std::string_view k, std::string_view) {
    const size_t slash = k.find('/', 2);
    if (slash == std::string_view::npos) return;
    hints_.emplace(static_cast<NodeId>(detail::parse_hex(k.substr(2, slash - 2))),
                   detail::parse_hex(k.substr(slash + 1)));
  });
}

void QuorumStore::add_hint(Context& ctx, NodeId owner, uint64_t key) {
  if (!hints_.emplace(owner, key).second) return;
  ctx.disk().write(detail::hint_key(owner, key), "");
  ctx.record().count(m_hints_stored_);
  update_levels(ctx);
}

void QuorumStore::maintenance_tick(Context& ctx) {
  give_up_handoffs(ctx);
  resend_transfers(ctx);
  if (!config_.hinted_handoff) return;
  send_hints(ctx);
  update_levels(ctx);
}

std::vector<std::pair<uint64_t, QuorumStore::Batch>> QuorumStore::take_expired(Batches& batches,
                                                                               SimTime now) const {
  // Batches unanswered for a while are given up (handoffs: their owner is suspected) and
  // retried.
  const Duration patience = config_.replica_timeout * 2;
  std::vector<std::pair<uint64_t, Batch>> expired;
  for (auto it = batches.begin(); it != batches.end();) {
    if (now - it->second.sent < patience) {
      ++it;
      continue;
    }
    expired.emplace_back(it->first, std::move(it->second));
    it = batches.erase(it);
  }
  return expired;
}

void QuorumStore::give_up_handoffs(Context& ctx) {
  for (const auto& expired : take_expired(handoffs_, ctx.now())) {
    const NodeId owner = expired.second.to;
    suspect(ctx, owner);
    handoff_busy_.erase(owner);
  }
}

void QuorumStore::send_hints(Context& ctx) {
  // One batch in flight per owner; an owner still suspected is tried again later (Dynamo
  // 4.6: hinted replicas are scanned periodically and delivered once the node is back).
  NodeId last = kNoNode;
  for (auto it = hints_.begin(); it != hints_.end();) {
    const NodeId owner = it->first;
    if (owner == last) {
      ++it;
      continue;
    }
    last = owner;
    if (handoff_busy_.count(owner) || !healthy(ctx, owner)) {
      ++it;
      continue;
    }
    it = send_hint_batch(ctx, it);
  }
}

QuorumStore::Hints::iterator QuorumStore::send_hint_batch(Context& ctx, Hints::iterator from) {
  const NodeId owner = from->first;
  QuorumHandoff h{next_batch_++, {}};
  Batch b{owner, {}, ctx.now()};
  auto k = from;
  std::vector<uint64_t> stale;  // hints whose key is gone: dropped
  for (; k != hints_.end() && k->first == owner &&
         h.entries.size() < static_cast<size_t>(config_.handoff_batch);
       ++k) {
    auto d = data_.find(k->second);
    if (d == data_.end()) {
      stale.push_back(k->second);
      continue;
    }
    h.entries.push_back({k->second, d->second});
    b.keys.push_back(k->second);
  }
  for (uint64_t key : stale) {
    hints_.erase({owner, key});
    ctx.disk().erase(detail::hint_key(owner, key));
  }
  if (h.entries.empty()) return k;
  handoffs_.emplace(h.batch, std::move(b));
  handoff_busy_.insert(owner);
  ctx.send(owner, std::move(h));
  return k;
}

void QuorumStore::on_handoff_ack(Context& ctx, NodeId from, const QuorumHandoffAck& ack) {
  auto it = handoffs_.find(ack.batch);
  if (it == handoffs_.end()) return;
  Batch b = std::move(it->second);
  handoffs_.erase(it);
  handoff_busy_.erase(b.to);
  if (!ack.stored || b.to != from) return;
  for (uint64_t key : b.keys) {
    if (hints_.erase({b.to, key}) == 0) continue;
    ctx.disk().erase(detail::hint_key(b.to, key));
    ctx.record().count(m_hints_replayed_);
    // Dynamo 4.6: once the hinted replica is delivered, the stand-in may delete it.
    release_if_unowned(ctx, key);
  }
  update_levels(ctx);
  // More hints for the same node: on at once rather than at the next tick (the whole
  // maintenance tick runs, as at the timer).
  auto more = hints_.lower_bound({b.to, 0});
  if (more != hints_.end() && more->first == b.to) maintenance_tick(ctx);
}

}  // namespace dsim::quorum
