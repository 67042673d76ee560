// Replication: AppendEntries on both sides (the consistency check and fast back-off, Raft
// 5.3), the leader's view of each follower (probe, replicate, snapshot), batching and
// pipelining, heartbeat rounds, commitment by counting replicas (5.4.2) and applying
// committed entries.
#include "models/raft/node.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::raft {

namespace {

// Unconfirmed heartbeat rounds remembered at most (an isolated leader without
// check-quorum starts one per heartbeat forever): the oldest are forgotten first.
constexpr size_t kMaxRoundStarts = 1024;

}  // namespace

// --- follower side ----------------------------------------------------------------------

void RaftNode::heard_from_leader(Context& ctx, NodeId from) {
  // A valid leader of this term (step_term saw to the term).
  leader_ = from;
  heard_leader_ = true;
  last_heard_leader_ = ctx.monotonic();
  reset_election_timer(ctx);
  if (followed_term_ < term_) {
    followed_term_ = term_;
    ctx.record().mark(m_.mark_follow, static_cast<int64_t>(term_), static_cast<int64_t>(from));
  }
}

void RaftNode::handle_append_entries(Context& ctx, NodeId from, const AppendEntries& m) {
  AppendReply reply = follow_leader<AppendReply>(ctx, from, m);
  reply.rejected_prev = m.prev_log_index;
  const uint64_t count = m.count();
  size_t skip = 0;
  if (m.prev_log_index < log_.base_index()) {
    // The entries up to the base are in our snapshot: committed, so the leader's agree.
    skip = static_cast<size_t>(std::min<uint64_t>(count, log_.base_index() - m.prev_log_index));
    if (skip == count) {
      reply.success = true;
      reply.match_index = std::max(m.prev_log_index + skip, log_.base_index());
      send_after_sync(ctx, from, reply);
      return;
    }
  } else if (const auto t = log_.term_at(m.prev_log_index); !t || *t != m.prev_log_term) {
    // Raft 5.3, the consistency check: we must hold prev with the leader's term there.
    // Fast back-off: the conflicting term and where it starts (none: our log is short).
    ctx.record().count(m_.append_rejections);
    reply.conflict_index =
        t ? log_.first_index_of_term_at(m.prev_log_index) : log_.last_index() + 1;
    reply.conflict_term = t.value_or(0);
    send_after_sync(ctx, from, reply);
    return;
  }
  if (!append_from_leader(ctx, m, skip)) return;  // no answer: the leader will try again
  const uint64_t last_new = m.prev_log_index + count;
  // Figure 2: "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of
  // last new entry)".
  if (m.leader_commit > commit_) {
    commit_ = std::max(commit_, std::min(m.leader_commit, last_new));
    apply_committed(ctx);
  }
  reply.success = true;
  reply.match_index = last_new;
  send_after_sync(ctx, from, reply);  // once what we appended is durable
}

bool RaftNode::append_from_leader(Context& ctx, const AppendEntries& m, size_t skip) {
  // Raft 5.3: skip entries we hold already; at the first conflict, delete it and all that
  // follow; append the rest. False: the disk refused.
  const uint64_t count = m.count();
  const std::span<const Entry> entries =
      m.entries ? std::span<const Entry>(*m.entries) : std::span<const Entry>();
  size_t k = skip;
  for (; k < count; ++k) {
    const uint64_t i = m.prev_log_index + 1 + k;
    const auto t = log_.term_at(i);
    if (!t) break;  // beyond our log
    if (*t == entries[k].term) continue;
    if (!truncate_conflict(ctx, i)) return false;
    break;
  }
  if (k == count) return true;
  const std::span<const Entry> rest = entries.subspan(k);
  if (!persist_entries(ctx, m.prev_log_index + 1 + k, rest)) return false;
  for (const auto& e : rest)
    log_.append(e);
  record_levels(ctx);
  return true;
}

bool RaftNode::truncate_conflict(Context& ctx, uint64_t index) {
  // Log matching (Raft 5.4.3): a committed entry is in every later leader's log.
  DSIM_ASSERT(index > commit_, "a committed entry conflicts with the leader's log at ", index);
  const uint64_t kept = store_.truncate_from(ctx.disk(), index, log_);
  dirty_ = true;
  log_.truncate_after(kept);
  log_cut_to(kept);
  if (kept >= index) {  // the disk is full: the cut could not be made
    ctx.record().count(m_.disk_refusals);
    return false;
  }
  return true;
}

// --- leader side: what each follower gets -----------------------------------------------

RaftNode::Peer* RaftNode::peer(NodeId id) {
  for (auto& p : progress_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

bool RaftNode::heard_from_peer(Context& ctx, Peer& p, uint64_t round) {
  p.recent_active = true;
  if (round <= p.acked_round) return true;
  p.acked_round = round;
  on_round_acked(ctx);
  return role_ == Role::kLeader;
}

void RaftNode::handle_append_reply(Context& ctx, NodeId from, const AppendReply& m) {
  Peer* pp = peer(from);
  if (!pp) return;
  Peer& p = *pp;
  if (!heard_from_peer(ctx, p, m.round)) return;
  if (p.mode == Peer::Mode::kSnapshot) return;
  if (m.success) {
    if (m.match_index > p.match) p.match = m.match_index;
    while (!p.inflight.empty() && p.inflight.front() <= p.match) {
      p.inflight.pop_front();
      p.oldest_inflight_sent = ctx.monotonic();
    }
    if (p.mode == Peer::Mode::kProbe) p.become_replicate();
    p.next = std::max(p.next, p.match + 1);
    maybe_commit(ctx);
    if (role_ == Role::kLeader) send_append(ctx, p, false);
    return;
  }
  // A rejection. Stale ones (for an AppendEntries we since moved past) are ignored.
  if (p.mode == Peer::Mode::kReplicate && m.rejected_prev < p.match) return;
  if (p.mode == Peer::Mode::kProbe && m.rejected_prev != p.next - 1) return;
  // Fast back-off (Raft 5.3): skip the follower's whole conflicting term at once.
  uint64_t next = m.conflict_index;
  if (m.conflict_term != 0) {
    const uint64_t last_of_term = log_.last_index_of_term(m.conflict_term);
    if (last_of_term != 0) next = last_of_term + 1;
  }
  next = std::min(next, m.rejected_prev);  // always moves back
  p.become_probe(std::max({next, p.match + 1, uint64_t{1}}));
  send_append(ctx, p, false);
}

size_t RaftNode::inflight_limit() const {
  return static_cast<size_t>(config_.pipeline ? config_.max_inflight : 1);
}

void RaftNode::send_append(Context& ctx, Peer& p, bool heartbeat) {
  if (p.mode == Peer::Mode::kSnapshot) {
    // A chunk unanswered for an election timeout is sent again; meanwhile a heartbeat
    // keeps the follower from campaigning.
    if (!heartbeat) return;
    if (ctx.monotonic() - p.snap_sent > eto_min()) {
      send_snapshot_chunk(ctx, p);
    } else {
      send_heartbeat(ctx, p, log_.base_index(), std::min(commit_, p.match));
    }
    return;
  }
  if (p.mode == Peer::Mode::kReplicate && heartbeat && heartbeat_at_match(ctx, p)) return;
  if (p.mode == Peer::Mode::kProbe && p.probe_sent && !heartbeat) return;
  if (p.mode == Peer::Mode::kReplicate && p.inflight.size() >= inflight_limit()) return;
  send_entries(ctx, p, heartbeat);
}

bool RaftNode::heartbeat_at_match(Context& ctx, Peer& p) {
  // In-flight batches unanswered for an election timeout are presumed lost, and a follower
  // behind the log's base needs the snapshot: either way, probe (false: not sent).
  const bool lost = !p.inflight.empty() && ctx.monotonic() - p.oldest_inflight_sent > eto_min();
  if (lost || p.match < log_.base_index()) {
    p.become_probe(p.match + 1);
    return false;
  }
  // A heartbeat at the follower's match: the check there always passes.
  send_heartbeat(ctx, p, p.match, commit_);
  return true;
}

void RaftNode::send_heartbeat(Context& ctx, const Peer& p, uint64_t prev, uint64_t leader_commit) {
  AppendEntries hb;
  hb.term = term_;
  hb.prev_log_index = prev;
  hb.prev_log_term = *log_.term_at(prev);
  hb.leader_commit = leader_commit;
  hb.round = round_;
  ctx.send(p.id, std::move(hb));
}

bool RaftNode::lagging(NodeId peer) const {
  if (config_.lagging_followers == 0) return false;
  const auto pos = [this](NodeId id) {
    return static_cast<size_t>(std::lower_bound(peers_.begin(), peers_.end(), id) - peers_.begin());
  };
  const size_t n = peers_.size();
  const size_t d = (pos(peer) + n - pos(self_)) % n;
  return d >= 1 && d <= static_cast<size_t>(config_.lagging_followers);
}

uint64_t RaftNode::sendable_last(const Peer& p) const {
  const uint64_t last = log_.last_index();
  if (!lagging(p.id)) return last;
  const auto lag = static_cast<uint64_t>(config_.lag_entries);
  return last > lag ? last - lag : 0;
}

uint64_t RaftNode::batch_end(uint64_t from, uint64_t last) const {
  // Batching: as many entries as max_batch_entries and max_batch_bytes allow (one at least),
  // up to `last`.
  uint64_t to = from;
  uint64_t bytes = log_.at(to).size_bytes();
  while (to < last && to - from + 1 < static_cast<uint64_t>(config_.max_batch_entries)) {
    const uint64_t b = log_.at(to + 1).size_bytes();
    if (bytes + b > config_.max_batch_bytes) break;
    bytes += b;
    ++to;
  }
  return to;
}

void RaftNode::send_entries(Context& ctx, Peer& p, bool heartbeat) {
  // A probe: one AppendEntries. Replicating: batches until the pipeline is full.
  const SimTime now = ctx.monotonic();
  const size_t limit = inflight_limit();
  do {
    if (p.next <= log_.base_index()) {
      start_snapshot(ctx, p);  // Raft 7: the entries it needs are compacted
      return;
    }
    AppendEntries m;
    m.term = term_;
    m.prev_log_index = p.next - 1;
    m.prev_log_term = *log_.term_at(p.next - 1);
    m.leader_commit = commit_;
    m.round = round_;
    const uint64_t last = sendable_last(p);
    if (p.next <= last) {
      const uint64_t to = batch_end(p.next, last);
      m.entries = std::make_shared<const std::vector<Entry>>(log_.slice(p.next, to));
      if (p.mode == Peer::Mode::kReplicate) {
        if (p.inflight.empty()) p.oldest_inflight_sent = now;
        p.inflight.push_back(to);
        p.next = to + 1;
      }
    } else if (!heartbeat && p.mode == Peer::Mode::kReplicate) {
      return;  // nothing new
    }
    if (p.mode == Peer::Mode::kProbe) p.probe_sent = true;
    ctx.send(p.id, std::move(m));
  } while (p.mode == Peer::Mode::kReplicate && p.inflight.size() < limit &&
           p.next <= sendable_last(p));
}

void RaftNode::replicate(Context& ctx) {
  for (auto& p : progress_) {
    if (p.mode == Peer::Mode::kReplicate) {
      if (p.inflight.size() < inflight_limit() && p.next <= sendable_last(p)) {
        send_append(ctx, p, false);
      }
    } else if (p.mode == Peer::Mode::kProbe && !p.probe_sent) {
      send_append(ctx, p, false);
    }
  }
}

void RaftNode::broadcast_round(Context& ctx) {
  // A heartbeat round (Raft 5.2): AppendEntries to every follower, numbered so the replies
  // tell which rounds a majority answered (thesis 6.4's "new round of heartbeats").
  ++round_;
  if (round_starts_.size() >= kMaxRoundStarts) round_starts_.pop_front();
  round_starts_.emplace_back(round_, ctx.monotonic());
  for (auto& p : progress_)
    send_append(ctx, p, true);
  if (majority() == 1) on_round_acked(ctx);
}

// --- leader side: proposals, commitment ---------------------------------------------------

void RaftNode::propose(Context& ctx, Entry e) {
  proposals_.push_back(std::move(e));
  if (config_.batch_delay > Duration::zero()) {
    if (!batch_.running()) batch_.start(ctx);
    return;
  }
  flush_proposals(ctx);
  replicate(ctx);
}

void RaftNode::flush_proposals(Context& ctx) {
  // The gathered writes become log entries, written as one segment; if the disk refuses,
  // none of them happened.
  if (proposals_.empty()) return;
  std::vector<Entry> batch = std::move(proposals_);
  proposals_.clear();
  std::vector<Pending> waiting = std::move(proposal_clients_);
  proposal_clients_.clear();
  const uint64_t first = log_.last_index() + 1;
  if (!persist_entries(ctx, first, batch)) {
    for (const auto& p : waiting)
      answer(ctx, p, kv::kv_reply(p.req, kv::KvStatus::kUnavailable));
    return;
  }
  const SimTime now = ctx.monotonic();
  for (size_t k = 0; k < batch.size(); ++k) {
    log_.append(std::move(batch[k]));
    writes_.emplace(first + k, waiting[k]);
    proposed_at_.emplace(first + k, now);
  }
  record_levels(ctx);
}

uint64_t RaftNode::majority_reached(uint64_t own, uint64_t Peer::*field) const {
  std::vector<uint64_t> acked;
  acked.reserve(progress_.size() + 1);
  acked.push_back(own);
  for (const auto& p : progress_)
    acked.push_back(p.*field);
  return kit::committed_index(acked, majority());
}

void RaftNode::maybe_commit(Context& ctx) {
  // Raft 5.3 and 5.4.2: the largest index held by a majority (the leader counts what it
  // has durably), committed only when it is of the current term.
  const uint64_t n = majority_reached(durable_index_, &Peer::match);
  if (n <= commit_) return;
  const auto t = log_.term_at(n);
  if (!t || *t != term_) return;
  const SimTime now = ctx.monotonic();
  for (auto it = proposed_at_.begin(); it != proposed_at_.end() && it->first <= n;) {
    ctx.record().observe(m_.commit_latency, now - it->second);
    it = proposed_at_.erase(it);
  }
  ctx.record().count(m_.entries_committed, static_cast<int64_t>(n - commit_));
  commit_ = n;
  if (!committed_in_term_) {
    committed_in_term_ = true;
    release_reads_waiting_commit(ctx);
  }
  apply_committed(ctx);
}

void RaftNode::apply_committed(Context& ctx) {
  while (applied_ < commit_) {
    const uint64_t i = applied_ + 1;
    const Entry& e = log_.at(i);
    if (e.kind != EntryKind::kNoop) {
      const uint64_t dups = sm_.duplicate_applications();
      const uint64_t dedup = sm_.deduplicated();
      const kv::KvResponse resp = sm_.apply(e.cmd, e.time);
      if (sm_.duplicate_applications() != dups) ctx.record().count(m_.duplicate_applications);
      if (sm_.deduplicated() != dedup) ctx.record().count(m_.deduplicated_writes);
      if (role_ == Role::kLeader) {
        auto it = writes_.find(i);
        if (it != writes_.end()) {
          if (it->second.term == e.term) answer(ctx, it->second, resp);
          writes_.erase(it);
        }
      }
    }
    applied_ = i;
  }
  serve_reads(ctx);
  maybe_snapshot(ctx);
}

}  // namespace dsim::raft
