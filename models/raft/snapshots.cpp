// Snapshots: log compaction (Raft 7), and InstallSnapshot in chunks (Figure 13): the
// leader sends its latest snapshot to a follower whose next entries were compacted away;
// the follower gathers the chunks and installs it.
#include "models/raft/node.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::raft {

// --- leader side ------------------------------------------------------------------------

void RaftNode::start_snapshot(Context& ctx, Peer& p) {
  p.become_snapshot();
  send_snapshot_chunk(ctx, p);
}

void RaftNode::send_snapshot_chunk(Context& ctx, Peer& p) {
  if (!snap_data_ || p.snap_index != snap_index_) {
    p.snap_index = snap_index_;
    p.snap_offset = 0;
  }
  InstallSnapshot m;
  m.term = term_;
  m.last_included_index = snap_index_;
  m.last_included_term = snap_term_;
  m.offset = p.snap_offset;
  const uint64_t size = snap_data_ ? snap_data_->size() : 0;
  m.length = static_cast<uint32_t>(std::min<uint64_t>(config_.snapshot_chunk, size - m.offset));
  m.done = m.offset + m.length >= size;
  m.round = round_;
  m.data = snap_data_;
  p.snap_sent = ctx.monotonic();
  if (m.offset == 0) ctx.record().count(m_.snapshots_sent);
  ctx.send(p.id, std::move(m));
}

void RaftNode::handle_snapshot_reply(Context& ctx, NodeId from, const SnapshotReply& m) {
  Peer* pp = peer(from);
  if (!pp) return;
  Peer& p = *pp;
  if (!heard_from_peer(ctx, p, m.round)) return;
  if (p.mode != Peer::Mode::kSnapshot || m.last_included_index != p.snap_index) return;
  if (m.done) {
    p.match = std::max(p.match, m.last_included_index);
    p.become_probe(p.match + 1);
    maybe_commit(ctx);
    if (role_ == Role::kLeader) send_append(ctx, p, false);
    return;
  }
  p.snap_offset = m.next_offset;
  send_snapshot_chunk(ctx, p);
}

// --- follower side ----------------------------------------------------------------------

void RaftNode::handle_install_snapshot(Context& ctx, NodeId from, const InstallSnapshot& m) {
  SnapshotReply reply = follow_leader<SnapshotReply>(ctx, from, m);
  reply.last_included_index = m.last_included_index;
  if (m.last_included_index <= commit_) {
    // We have all of it already (committed entries, or a newer snapshot).
    incoming_snap_.clear();
    reply.done = true;
    send_after_sync(ctx, from, reply);
    return;
  }
  // Figure 13: a chunk at offset 0 starts a new snapshot; later chunks must continue it.
  if (m.offset == 0) {
    incoming_snap_.clear();
    incoming_index_ = m.last_included_index;
    incoming_term_ = m.last_included_term;
  }
  if (m.last_included_index != incoming_index_ || m.offset != incoming_snap_.size() || !m.data ||
      m.offset + m.length > m.data->size()) {
    reply.next_offset = m.last_included_index == incoming_index_ ? incoming_snap_.size() : 0;
    send_after_sync(ctx, from, reply);
    return;
  }
  incoming_snap_.append(*m.data, m.offset, m.length);
  if (!m.done) {
    reply.next_offset = incoming_snap_.size();
    send_after_sync(ctx, from, reply);
    return;
  }
  std::string data = std::move(incoming_snap_);
  incoming_snap_.clear();
  install_snapshot(ctx, incoming_index_, incoming_term_, data);
  reply.done = true;
  send_after_sync(ctx, from, reply);
}

void RaftNode::install_snapshot(Context& ctx, uint64_t index, uint64_t term,
                                const std::string& data) {
  // Figure 13: "If existing log entry has same index and term as snapshot's last included
  // entry, retain log entries following it" (it is committed: apply up to it).
  if (const auto t = log_.term_at(index); t && *t == term) {
    commit_ = std::max(commit_, index);
    apply_committed(ctx);
  } else {
    restore_snapshot(ctx, index, term, data);
  }
}

void RaftNode::restore_snapshot(Context& ctx, uint64_t index, uint64_t term,
                                const std::string& data) {
  // Figure 13: "Discard the entire log; reset state machine using snapshot contents".
  kv::KvStateMachine restored(config_.state);
  const bool decoded = restored.decode(data);
  DSIM_ASSERT(decoded, "a snapshot from the leader cannot be decoded");
  if (!store_.save_snapshot(ctx.disk(), index, term, index, term, data)) {
    ctx.record().count(m_.disk_refusals);
    return;
  }
  store_.clear_log(ctx.disk());
  dirty_ = true;
  sm_ = std::move(restored);
  log_.reset(index, term);
  snap_index_ = index;
  snap_term_ = term;
  snap_data_ = std::make_shared<const std::string>(data);
  commit_ = applied_ = index;
  log_cut_to(index);
  ctx.record().count(m_.snapshots_installed);
  record_levels(ctx);
}

// --- compaction -------------------------------------------------------------------------

void RaftNode::maybe_snapshot(Context& ctx) {
  // Raft 7: once enough entries are applied, the state machine's state replaces them.
  if (config_.snapshot_threshold <= 0) return;
  if (applied_ < snap_index_ + static_cast<uint64_t>(config_.snapshot_threshold)) return;
  const uint64_t index = applied_;
  const uint64_t term = *log_.term_at(index);
  const uint64_t keep = static_cast<uint64_t>(config_.snapshot_keep);
  const uint64_t base = std::max(log_.base_index(), index > keep ? index - keep : 0);
  const uint64_t base_term = *log_.term_at(base);
  std::string data = sm_.encode();
  if (!store_.save_snapshot(ctx.disk(), index, term, base, base_term, data)) {
    ctx.record().count(m_.disk_refusals);
    return;
  }
  store_.compact(ctx.disk(), base);
  dirty_ = true;
  log_.compact_to(base);
  snap_index_ = index;
  snap_term_ = term;
  snap_data_ = std::make_shared<const std::string>(std::move(data));
  ctx.record().count(m_.snapshots_taken);
  record_levels(ctx);
}

}  // namespace dsim::raft
