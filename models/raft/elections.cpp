// Elections: the role transitions, votes (Raft 5.2, 5.4.1), pre-vote (thesis 9.6) and
// check-quorum with leader stickiness (thesis 6.2, 4.2.3).
#include "models/raft/node.h"

namespace dsim::raft {

void RaftNode::reset_election_timer(Context& ctx) {
  election_.start(ctx, config_.election_timeout.sample_duration(ctx.rng()));
}

bool RaftNode::heard_from_leader_recently(Context& ctx) const {
  if (role_ == Role::kLeader) return true;
  return heard_leader_ && ctx.monotonic() - last_heard_leader_ < eto_min();
}

void RaftNode::on_election_timeout(Context& ctx) {
  // Raft 5.2: no word from a leader (or a won election) in time: campaign.
  if (config_.pre_vote) {
    become_pre_candidate(ctx);
  } else {
    become_candidate(ctx);
  }
}

void RaftNode::check_quorum(Context& ctx) {
  // Thesis 6.2: step down when no majority answered within an election timeout.
  uint32_t active = 1;
  for (auto& p : progress_) {
    if (p.recent_active) ++active;
    p.recent_active = false;
  }
  if (active < majority()) {
    ctx.record().count(m_.check_quorum_step_downs);
    become_follower(ctx, term_, kNoNode);
    return;
  }
  quorum_.start(ctx);
}

// --- transitions ------------------------------------------------------------------------

void RaftNode::become_follower(Context& ctx, uint64_t term, NodeId leader) {
  const bool was_follower = role_ == Role::kFollower;
  if (role_ == Role::kLeader) step_down(ctx);  // in the term it led
  role_ = Role::kFollower;
  votes_ = {};
  if (term > term_) {
    leader_ = kNoNode;
    if (!save_term_vote(ctx, term, kNoNode)) {
      // Cannot take the new term (full disk): stay in the old one.
      if (!was_follower) reset_election_timer(ctx);
      return;
    }
  }
  if (leader != kNoNode) leader_ = leader;
  if (!was_follower) reset_election_timer(ctx);
  record_levels(ctx);
}

void RaftNode::start_tally() {
  votes_.reset(static_cast<uint32_t>(peers_.size()), majority());
  votes_.record(self_, true);
}

void RaftNode::become_pre_candidate(Context& ctx) {
  // Thesis 9.6: ask whether a majority would vote for us in term + 1, changing nothing.
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  start_tally();
  ctx.record().count(m_.prevotes_started);
  reset_election_timer(ctx);
  if (votes_.result() == kit::VoteResult::kWon) {
    become_candidate(ctx);
    return;
  }
  RequestVote rv{term_ + 1, log_.last_index(), log_.last_term(), true};
  for (NodeId p : peers_) {
    if (p != self_) ctx.send(p, rv);
  }
}

void RaftNode::become_candidate(Context& ctx) {
  // Raft 5.2: increment the term, vote for yourself, ask everyone else. The new term and
  // vote must be durable before any vote request leaves (Figure 2).
  if (!save_term_vote(ctx, term_ + 1, self_)) {
    role_ = Role::kFollower;
    reset_election_timer(ctx);
    return;
  }
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  start_tally();
  election_started_ = ctx.monotonic();
  ctx.record().count(m_.elections_started);
  ctx.record().mark(m_.mark_candidate, static_cast<int64_t>(term_));
  reset_election_timer(ctx);
  record_levels(ctx);
  if (votes_.result() == kit::VoteResult::kWon) {
    become_leader(ctx);
    return;
  }
  RequestVote rv{term_, log_.last_index(), log_.last_term(), false};
  for (NodeId p : peers_) {
    if (p != self_) send_after_sync(ctx, p, rv);
  }
}

void RaftNode::become_leader(Context& ctx) {
  role_ = Role::kLeader;
  leader_ = self_;
  votes_ = {};
  election_.stop(ctx);
  ctx.record().count(m_.leaders_elected);
  ctx.record().observe(m_.election_time, ctx.monotonic() - election_started_);
  ctx.record().mark(m_.mark_leader, static_cast<int64_t>(term_));
  progress_.clear();
  for (NodeId p : peers_) {
    if (p == self_) continue;
    Peer pr;
    pr.id = p;
    pr.next = log_.last_index() + 1;  // Figure 2: "initialized to leader last log index + 1"
    progress_.push_back(pr);
  }
  round_ = 0;
  confirmed_round_ = 0;
  round_starts_.clear();
  lease_until_ = SimTime::zero();
  committed_in_term_ = false;
  // Raft 8 / thesis 6.4: a no-op entry at the start of the term commits the entries of
  // earlier terms (5.4.2) and tells the leader which entries are committed.
  Entry noop = new_entry(ctx, EntryKind::kNoop);
  if (persist_entries(ctx, log_.last_index() + 1, std::span<const Entry>(&noop, 1))) {
    log_.append(noop);
  }
  broadcast_round(ctx);
  heartbeat_.start(ctx);
  if (config_.check_quorum) quorum_.start(ctx);
  if (peers_.size() == 1) maybe_commit(ctx);
  record_levels(ctx);
}

void RaftNode::step_down(Context& ctx) {
  ctx.record().count(m_.step_downs);
  ctx.record().mark(m_.mark_step_down, static_cast<int64_t>(term_));
  heartbeat_.stop(ctx);
  quorum_.stop(ctx);
  batch_.stop(ctx);
  answer_held_requests(ctx);
  progress_.clear();
  round_starts_.clear();
  lease_until_ = SimTime::zero();
  committed_in_term_ = false;
  leader_ = kNoNode;
}

// --- votes ------------------------------------------------------------------------------

void RaftNode::handle_request_vote(Context& ctx, NodeId from, const RequestVote& m) {
  const bool up_to_date = log_.candidate_up_to_date(m.last_log_index, m.last_log_term);
  if (m.pre_vote) {
    // Thesis 9.6: grant when the candidate's log is up to date and this server has not
    // heard from a leader for an election timeout; nothing changes here.
    const bool grant = m.term > term_ && up_to_date && !heard_from_leader_recently(ctx);
    send_after_sync(ctx, from, VoteReply{grant ? m.term : term_, grant, true});
    return;
  }
  // Raft 5.2 and 5.4.1: one vote per term, first come first served, and only for a
  // candidate whose log is at least as up to date as ours.
  bool grant = m.term == term_ && (voted_for_ == kNoNode || voted_for_ == from) && up_to_date;
  if (grant && voted_for_ != from) grant = save_term_vote(ctx, term_, from);
  if (grant) {
    ctx.record().count(m_.votes_granted);
    reset_election_timer(ctx);  // Figure 2: granting a vote resets the election timer
  }
  send_after_sync(ctx, from, VoteReply{term_, grant, false});
}

void RaftNode::handle_vote_reply(Context& ctx, NodeId from, const VoteReply& m) {
  if (!m.granted) return;
  if (role_ == Role::kPreCandidate) {
    if (!m.pre_vote || m.term != term_ + 1) return;  // a reply to another round
  } else if (role_ == Role::kCandidate) {
    if (m.pre_vote || m.term != term_) return;
  } else {
    return;
  }
  votes_.record(from, true);
  if (votes_.result() != kit::VoteResult::kWon) return;
  if (role_ == Role::kPreCandidate) {
    become_candidate(ctx);
  } else {
    become_leader(ctx);
  }
}

}  // namespace dsim::raft
