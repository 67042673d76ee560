// Anti-entropy: now and then a node compares, with its next peer in turn, Merkle trees of
// the key ranges both replicate, recursing into the differing subtrees only, and the two
// exchange the keys of the differing leaves (Dynamo 4.7; merkle.h). A
// round is MerkleHashes (one level at a time) -> MerkleDiff, then at the leaves
// MerkleSync -> MerkleSyncReply; a round that goes silent ends at its timeout.
#include "models/quorum/store.h"

#include <algorithm>

namespace dsim::quorum {

MerkleLayout QuorumStore::layout_for(const Config& config) {
  uint32_t bits = 0;
  while ((1u << bits) < static_cast<uint32_t>(config.merkle_ranges))
    ++bits;
  return MerkleLayout{bits, static_cast<uint32_t>(config.merkle_depth)};
}

bool QuorumStore::shares(uint64_t key, NodeId peer) const {
  const auto h = home(key);
  const auto has = [&](NodeId n) { return std::find(h.begin(), h.end(), n) != h.end(); };
  return has(self_) && has(peer);
}

std::vector<MerkleTree> QuorumStore::trees_with(NodeId peer) const {
  std::vector<std::vector<MerkleTree::Item>> items(layout_.ranges());
  for (const auto& [key, versions] : data_) {
    if (!shares(key, peer)) continue;
    const uint64_t pos = key_position(key, config_.ring_seed);
    items[layout_.range_of(pos)].push_back(
        {layout_.leaf_of(pos), pos, mix64(key ^ hash_of(versions))});
  }
  std::vector<MerkleTree> trees;
  trees.reserve(items.size());
  for (auto& v : items)
    trees.emplace_back(layout_.depth, std::move(v));
  return trees;
}

std::vector<KeyVersions> QuorumStore::entries_in(
    NodeId peer, const std::vector<std::pair<uint32_t, uint64_t>>& leaves) const {
  const std::set<std::pair<uint32_t, uint64_t>> want(leaves.begin(), leaves.end());
  std::vector<KeyVersions> out;
  for (const auto& [key, versions] : data_) {
    const uint64_t pos = key_position(key, config_.ring_seed);
    if (!want.count({layout_.range_of(pos), layout_.leaf_of(pos)})) continue;
    if (!shares(key, peer)) continue;
    out.push_back({key, versions});
  }
  return out;
}

void QuorumStore::anti_entropy_tick(Context& ctx) {
  if (round_.active) return;
  std::vector<NodeId> peers;
  for (uint32_t m : ring_.members()) {
    const NodeId n = node_of(m);
    if (n != self_ && healthy(ctx, n)) peers.push_back(n);
  }
  if (peers.empty() || !ring_.has_member(index_of(self_))) return;
  const NodeId peer = peers[next_peer_++ % peers.size()];
  const auto trees = trees_with(peer);
  MerkleHashes m{next_round_++, 0, {}};
  for (uint32_t r = 0; r < trees.size(); ++r)
    m.nodes.push_back({r, 0, trees[r].root()});
  const TimerTag timeout = kit::timer_tag(Timer::kRoundTimeout, m.round & kit::kMaxTimerValue);
  round_ = AeRound{m.round, peer, 0, kit::Timeout(timeout, config_.replica_timeout * 2), true};
  round_.timeout.start(ctx);
  ctx.record().count(m_merkle_hash_bytes_, m.size_bytes());
  ctx.send(peer, std::move(m));
}

void QuorumStore::on_merkle_hashes(Context& ctx, NodeId from, const MerkleHashes& m) {
  const auto trees = trees_with(from);
  MerkleDiff d{m.round, m.level, {}};
  for (const auto& node : m.nodes) {
    if (node.range >= trees.size()) continue;
    if (trees[node.range].hash(m.level, node.index) != node.hash) {
      d.differing.emplace_back(node.range, node.index);
    }
  }
  ctx.record().count(m_merkle_hash_bytes_, d.size_bytes());
  ctx.send(from, std::move(d));
}

void QuorumStore::on_merkle_diff(Context& ctx, NodeId from, const MerkleDiff& m) {
  if (!round_.active || m.round != round_.id || from != round_.peer || m.level != round_.level) {
    return;
  }
  if (m.differing.empty()) {
    end_round(ctx, true);
    return;
  }
  round_.timeout.start(ctx);
  if (m.level < layout_.depth) {
    descend(ctx, from, m);
    return;
  }
  // Differing leaves: exchange their keys.
  MerkleSync sync{round_.id, m.differing, entries_in(from, m.differing)};
  round_.level = m.level + 1;
  ctx.record().count(m_merkle_repair_bytes_, sync.size_bytes());
  ctx.send(from, std::move(sync));
}

void QuorumStore::descend(Context& ctx, NodeId from, const MerkleDiff& m) {
  // Recurse into the differing subtrees only.
  const auto trees = trees_with(from);
  MerkleHashes next{round_.id, m.level + 1, {}};
  for (const auto& [range, index] : m.differing) {
    for (uint64_t child = index * 2; child <= index * 2 + 1; ++child) {
      next.nodes.push_back({range, child, trees[range].hash(m.level + 1, child)});
    }
  }
  round_.level = m.level + 1;
  ctx.record().count(m_merkle_hash_bytes_, next.size_bytes());
  ctx.send(from, std::move(next));
}

void QuorumStore::on_merkle_sync(Context& ctx, NodeId from, const MerkleSync& m) {
  MerkleSyncReply reply{m.round, entries_in(from, m.leaves)};
  ctx.record().count(m_merkle_repair_bytes_, reply.size_bytes());
  ctx.send(from, std::move(reply));
  merge_entries(ctx, m.entries);
}

void QuorumStore::on_merkle_sync_reply(Context& ctx, NodeId from, const MerkleSyncReply& m) {
  if (!round_.active || m.round != round_.id || from != round_.peer) return;
  merge_entries(ctx, m.entries);
  end_round(ctx, true);
}

uint32_t QuorumStore::merge_entries(Context& ctx, const std::vector<KeyVersions>& entries) {
  uint32_t repaired = 0;
  for (const auto& e : entries) {
    bool changed = false;
    store(ctx, e.key, e.versions, &changed);
    repaired += changed ? 1 : 0;
  }
  if (repaired > 0) ctx.record().count(m_merkle_keys_repaired_, repaired);
  return repaired;
}

void QuorumStore::end_round(Context& ctx, bool completed) {
  round_.timeout.stop(ctx);
  round_.active = false;
  if (completed) ctx.record().count(m_ae_rounds_);
}

}  // namespace dsim::quorum
