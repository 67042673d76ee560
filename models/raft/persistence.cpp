// Persistence and restart: term, vote and log are written to the node's durable store and
// synced before the node answers an RPC or sends a vote request (Figure 2: "updated on
// stable storage before responding to RPCs"). A sync covers every write before it, and at
// most one is outstanding (group commit): messages that must wait go out when it ends. A
// restarted server recovers from the store.
#include "models/raft/node.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::raft {

void RaftNode::recover(Context& ctx) {
  // Recover what the disk holds (Figure 2's persistent state, and the snapshot).
  Recovered r = store_.load(ctx.disk());
  term_ = r.term;
  voted_for_ = r.vote;
  if (!r.snapshot_data.empty()) {
    const bool decoded = sm_.decode(r.snapshot_data);
    DSIM_ASSERT(decoded, "the snapshot on disk cannot be decoded");
    snap_index_ = r.snapshot_index;
    snap_term_ = r.snapshot_term;
    snap_data_ = std::make_shared<const std::string>(std::move(r.snapshot_data));
  }
  log_ = std::move(r.log);
  commit_ = applied_ = snap_index_;
  durable_index_ = log_.last_index();
  inv_commit_ = commit_;
}

bool RaftNode::save_term_vote(Context& ctx, uint64_t term, NodeId vote) {
  const uint64_t old_term = term_;
  const NodeId old_vote = voted_for_;
  term_ = term;
  voted_for_ = vote;
  if (persist_hard_state(ctx)) return true;
  term_ = old_term;
  voted_for_ = old_vote;
  return false;
}

bool RaftNode::persist_hard_state(Context& ctx) {
  if (!store_.save_hard_state(ctx.disk(), term_, voted_for_)) {
    ctx.record().count(m_.disk_refusals);
    return false;
  }
  dirty_ = true;
  return true;
}

bool RaftNode::persist_entries(Context& ctx, uint64_t first, std::span<const Entry> entries) {
  if (!store_.append(ctx.disk(), first, entries)) {
    ctx.record().count(m_.disk_refusals);
    return false;
  }
  dirty_ = true;
  return true;
}

void RaftNode::log_cut_to(uint64_t last) {
  durable_index_ = std::min(durable_index_, last);
  syncing_last_index_ = std::min(syncing_last_index_, last);
}

void RaftNode::send_after_sync(Context& ctx, NodeId to, Message msg) {
  if (dirty_) {
    after_next_sync_.emplace_back(to, std::move(msg));
  } else if (sync_outstanding_) {
    after_sync_.emplace_back(to, std::move(msg));
  } else {
    ctx.send(to, std::move(msg));
  }
}

void RaftNode::request_sync(Context& ctx) {
  if (!dirty_ || sync_outstanding_) return;
  dirty_ = false;
  sync_outstanding_ = true;
  syncing_last_index_ = log_.last_index();
  for (auto& m : after_next_sync_)
    after_sync_.push_back(std::move(m));
  after_next_sync_.clear();
  ctx.disk().sync();
}

void RaftNode::on_disk(Context& ctx, DiskOpId /*op*/, uint64_t /*tag*/) {
  sync_outstanding_ = false;
  durable_index_ = std::min(syncing_last_index_, log_.last_index());
  auto out = std::move(after_sync_);
  after_sync_.clear();
  for (auto& [to, msg] : out)
    ctx.send(to, std::move(msg));
  if (role_ == Role::kLeader) maybe_commit(ctx);
  request_sync(ctx);
}

}  // namespace dsim::raft
