#include "models/raft/node.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace dsim::raft {

using kv::KvOpKind;

namespace {

// Unconfirmed heartbeat rounds remembered at most (an isolated leader without
// check-quorum starts one per heartbeat forever): the oldest are forgotten first.
constexpr size_t kMaxRoundStarts = 1024;

[[noreturn]] void broken(const std::string& what) {
  throw std::logic_error("raft invariant broken: " + what);
}

}  // namespace

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre_candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

RaftNode::RaftNode(const Config& config)
    : config_(config), eto_min_(config.election_timeout_min()), sm_(config.state) {}

std::string_view RaftNode::role() const {
  switch (role_) {
    case Role::kLeader:
      return "leader";
    case Role::kCandidate:
    case Role::kPreCandidate:
      return "candidate";
    case Role::kFollower:
      return "follower";
  }
  return {};
}

// --- start, timers, persistence ------------------------------------------------------

void RaftNode::on_start(Context& ctx) {
  m_.elections_started = ctx.intern("elections_started");
  m_.prevotes_started = ctx.intern("prevotes_started");
  m_.leaders_elected = ctx.intern("leaders_elected");
  m_.step_downs = ctx.intern("step_downs");
  m_.check_quorum_step_downs = ctx.intern("check_quorum_step_downs");
  m_.votes_granted = ctx.intern("votes_granted");
  m_.append_rejections = ctx.intern("append_rejections");
  m_.snapshots_taken = ctx.intern("snapshots_taken");
  m_.snapshots_sent = ctx.intern("snapshots_sent");
  m_.snapshots_installed = ctx.intern("snapshots_installed");
  m_.entries_committed = ctx.intern("entries_committed");
  m_.redirects = ctx.intern("redirects");
  m_.refused_busy = ctx.intern("refused_busy");
  m_.reads_log = ctx.intern("reads_log");
  m_.reads_index = ctx.intern("reads_read_index");
  m_.reads_lease = ctx.intern("reads_lease");
  m_.lease_fallbacks = ctx.intern("lease_fallbacks");
  m_.disk_refusals = ctx.intern("disk_refusals");
  m_.duplicate_applications = ctx.intern("duplicate_applications");
  m_.deduplicated_writes = ctx.intern("deduplicated_writes");
  m_.commit_latency = ctx.intern("commit_latency");
  m_.election_time = ctx.intern("election");
  m_.log_entries = ctx.intern("log_entries");
  m_.term_level = ctx.intern("term");
  m_.mark_leader = ctx.intern("raft_leader");
  m_.mark_follow = ctx.intern("raft_follow");
  m_.mark_candidate = ctx.intern("raft_candidate");
  m_.mark_step_down = ctx.intern("raft_step_down");

  self_ = ctx.self();
  const std::string name = ctx.node_name(self_);
  const auto group = ctx.group_nodes(name.substr(0, name.rfind('.')));
  peers_.assign(group.begin(), group.end());
  if (peers_.empty()) peers_.push_back(self_);

  // Recover what the disk holds (Figure 2's persistent state, and the snapshot).
  Recovered r = store_.load(ctx.disk());
  term_ = r.term;
  voted_for_ = r.vote;
  if (!r.snapshot_data.empty()) {
    if (!sm_.decode(r.snapshot_data)) broken("the snapshot on disk cannot be decoded");
    snap_index_ = r.snapshot_index;
    snap_term_ = r.snapshot_term;
    snap_data_ = std::make_shared<const std::string>(std::move(r.snapshot_data));
  }
  log_ = std::move(r.log);
  commit_ = applied_ = snap_index_;
  durable_index_ = log_.last_index();
  inv_commit_ = commit_;
  role_ = Role::kFollower;
  // Thesis 4.2.3 with leases: a restarted server cannot know when it last heard from a
  // leader, so it refuses votes for one minimum election timeout, as if it just had.
  if (config_.check_quorum) {
    heard_leader_ = true;
    last_heard_leader_ = ctx.monotonic();
  }
  reset_election_timer(ctx);
  record_levels(ctx);
}

void RaftNode::on_stop(Context& ctx) {
  record_levels(ctx);
}

void RaftNode::record_levels(Context& ctx) {
  ctx.record().level(m_.log_entries, static_cast<double>(log_.size()));
  ctx.record().level(m_.term_level, static_cast<double>(term_));
}

void RaftNode::reset_election_timer(Context& ctx) {
  ctx.cancel_timer(election_timer_);
  election_timer_ =
      ctx.set_timer(config_.election_timeout.sample_duration(ctx.rng()), kElectionTimer);
}

bool RaftNode::heard_from_leader_recently(Context& ctx) const {
  if (role_ == Role::kLeader) return true;
  return heard_leader_ && ctx.monotonic() - last_heard_leader_ < eto_min();
}

bool RaftNode::persist_hard_state(Context& ctx) {
  if (!store_.save_hard_state(ctx.disk(), term_, voted_for_)) {
    ctx.record().count(m_.disk_refusals);
    return false;
  }
  dirty_ = true;
  return true;
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

void RaftNode::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  switch (tag) {
    case kElectionTimer:
      if (id != election_timer_ || role_ == Role::kLeader) break;
      // Raft 5.2: no word from a leader (or a won election) in time: campaign.
      if (config_.pre_vote) {
        become_pre_candidate(ctx);
      } else {
        become_candidate(ctx);
      }
      break;
    case kHeartbeatTimer:
      if (id != heartbeat_timer_ || role_ != Role::kLeader) break;
      broadcast_round(ctx);
      heartbeat_timer_ = ctx.set_timer(config_.heartbeat, kHeartbeatTimer);
      break;
    case kQuorumTimer: {
      if (id != quorum_timer_ || role_ != Role::kLeader) break;
      // Thesis 6.2: step down when no majority answered within an election timeout.
      size_t active = 1;
      for (auto& p : progress_) {
        if (p.recent_active) ++active;
        p.recent_active = false;
      }
      if (active < majority()) {
        ctx.record().count(m_.check_quorum_step_downs);
        become_follower(ctx, term_, kNoNode);
        break;
      }
      quorum_timer_ = ctx.set_timer(eto_min(), kQuorumTimer);
      break;
    }
    case kBatchTimer:
      if (id != batch_timer_ || role_ != Role::kLeader) break;
      batch_timer_ = TimerId{};
      flush_proposals(ctx);
      replicate(ctx);
      break;
    default:
      break;
  }
  request_sync(ctx);
}

// --- messages ---------------------------------------------------------------------

void RaftNode::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<kv::KvRequest>()) {
    handle_client(ctx, req->call.reply_to, *req);
    request_sync(ctx);
    return;
  }
  if (env.from == self_ || !step_term(ctx, env)) {
    request_sync(ctx);
    return;
  }
  switch (role_) {
    case Role::kFollower:
      step_follower(ctx, env);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      step_campaigning(ctx, env);
      break;
    case Role::kLeader:
      step_leader(ctx, env);
      break;
  }
  request_sync(ctx);
}

bool RaftNode::step_term(Context& ctx, const Envelope& env) {
  const Message& msg = env.msg;
  uint64_t t = 0;
  NodeId leader = kNoNode;
  if (const auto* rv = msg.get<RequestVote>()) {
    t = rv->term;
  } else if (const auto* vr = msg.get<VoteReply>()) {
    t = vr->term;
  } else if (const auto* ae = msg.get<AppendEntries>()) {
    t = ae->term;
    leader = env.from;
  } else if (const auto* ar = msg.get<AppendReply>()) {
    t = ar->term;
  } else if (const auto* is = msg.get<InstallSnapshot>()) {
    t = is->term;
    leader = env.from;
  } else if (const auto* sr = msg.get<SnapshotReply>()) {
    t = sr->term;
  } else {
    return false;  // not a Raft message
  }
  if (t > term_) {
    if (const auto* rv = msg.get<RequestVote>()) {
      // Thesis 4.2.3: a server that heard from a leader within the minimum election
      // timeout neither updates its term nor grants its vote (with check-quorum, as
      // leases require; thesis 6.4.1).
      if (config_.check_quorum && heard_from_leader_recently(ctx)) return false;
      // Thesis 9.6: a pre-vote request never changes anyone's term.
      if (rv->pre_vote) return true;
    }
    // A granted pre-vote carries the term the candidate would campaign in.
    if (const auto* vr = msg.get<VoteReply>(); vr && vr->pre_vote && vr->granted) return true;
    // Figure 2, all servers: "If RPC request or response contains term T > currentTerm:
    // set currentTerm = T, convert to follower".
    become_follower(ctx, t, leader);
    return t == term_;  // false: the new term could not be persisted (full disk): dropped
  }
  if (t < term_) {
    // A stale request gets an answer carrying the current term, which tells its sender it
    // is behind (Figure 2: "reply false if term < currentTerm"); stale replies are dropped.
    if (msg.is<AppendEntries>()) {
      AppendReply r;
      r.term = term_;
      r.rejected_prev = msg.get<AppendEntries>()->prev_log_index;
      send_after_sync(ctx, env.from, r);
    } else if (msg.is<InstallSnapshot>()) {
      SnapshotReply r;
      r.term = term_;
      r.last_included_index = msg.get<InstallSnapshot>()->last_included_index;
      send_after_sync(ctx, env.from, r);
    } else if (const auto* rv = msg.get<RequestVote>()) {
      send_after_sync(ctx, env.from, VoteReply{term_, false, rv->pre_vote});
    }
    return false;
  }
  return true;
}

void RaftNode::step_follower(Context& ctx, const Envelope& env) {
  if (const auto* ae = env.msg.get<AppendEntries>()) {
    handle_append_entries(ctx, env.from, *ae);
  } else if (const auto* is = env.msg.get<InstallSnapshot>()) {
    handle_install_snapshot(ctx, env.from, *is);
  } else if (const auto* rv = env.msg.get<RequestVote>()) {
    handle_request_vote(ctx, env.from, *rv);
  }
  // Replies to a role this server no longer has are dropped.
}

// Pre-candidates (thesis 9.6) and candidates count their votes and follow a leader of
// their term.
void RaftNode::step_campaigning(Context& ctx, const Envelope& env) {
  if (const auto* vr = env.msg.get<VoteReply>()) {
    handle_vote_reply(ctx, env.from, *vr);
  } else if (env.msg.is<AppendEntries>() || env.msg.is<InstallSnapshot>()) {
    // Raft 5.2: "If AppendEntries RPC received from new leader: convert to follower".
    become_follower(ctx, term_, env.from);
    step_follower(ctx, env);
  } else if (const auto* rv = env.msg.get<RequestVote>()) {
    handle_request_vote(ctx, env.from, *rv);
  }
}

void RaftNode::step_leader(Context& ctx, const Envelope& env) {
  if (const auto* ar = env.msg.get<AppendReply>()) {
    handle_append_reply(ctx, env.from, *ar);
  } else if (const auto* sr = env.msg.get<SnapshotReply>()) {
    handle_snapshot_reply(ctx, env.from, *sr);
  } else if (const auto* rv = env.msg.get<RequestVote>()) {
    handle_request_vote(ctx, env.from, *rv);  // refused: this server voted for itself
  } else if (env.msg.is<AppendEntries>() || env.msg.is<InstallSnapshot>()) {
    // Election safety (Raft 5.2): two leaders in one term cannot happen.
    broken("leader " + std::to_string(self_) + " received AppendEntries of its own term " +
           std::to_string(term_) + " from " + std::to_string(env.from));
  }
}

// --- transitions ------------------------------------------------------------------

void RaftNode::become_follower(Context& ctx, uint64_t term, NodeId leader) {
  const bool was_follower = role_ == Role::kFollower;
  if (role_ == Role::kLeader) step_down(ctx);  // in the term it led
  role_ = Role::kFollower;
  votes_.clear();
  if (term > term_) {
    const uint64_t old_term = term_;
    const NodeId old_vote = voted_for_;
    term_ = term;
    voted_for_ = kNoNode;
    leader_ = kNoNode;
    if (!persist_hard_state(ctx)) {
      term_ = old_term;  // cannot take the new term (full disk): stay in the old one
      voted_for_ = old_vote;
      if (!was_follower) reset_election_timer(ctx);
      return;
    }
  }
  if (leader != kNoNode) leader_ = leader;
  if (!was_follower) reset_election_timer(ctx);
  record_levels(ctx);
}

void RaftNode::become_pre_candidate(Context& ctx) {
  // Thesis 9.6: ask whether a majority would vote for us in term + 1, changing nothing.
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  votes_.assign(1, self_);
  ctx.record().count(m_.prevotes_started);
  reset_election_timer(ctx);
  if (votes_.size() >= majority()) {
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
  const uint64_t old_term = term_;
  const NodeId old_vote = voted_for_;
  term_ += 1;
  voted_for_ = self_;
  if (!persist_hard_state(ctx)) {
    term_ = old_term;
    voted_for_ = old_vote;
    role_ = Role::kFollower;
    reset_election_timer(ctx);
    return;
  }
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  votes_.assign(1, self_);
  election_started_ = ctx.monotonic();
  ctx.record().count(m_.elections_started);
  ctx.record().mark(m_.mark_candidate, static_cast<int64_t>(term_));
  reset_election_timer(ctx);
  record_levels(ctx);
  if (votes_.size() >= majority()) {
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
  votes_.clear();
  ctx.cancel_timer(election_timer_);
  election_timer_ = TimerId{};
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
  Entry noop;
  noop.term = term_;
  noop.time = ctx.now();
  noop.kind = EntryKind::kNoop;
  if (store_.append(ctx.disk(), log_.last_index() + 1, std::span<const Entry>(&noop, 1))) {
    log_.append(noop);
    dirty_ = true;
  } else {
    ctx.record().count(m_.disk_refusals);
  }
  broadcast_round(ctx);
  heartbeat_timer_ = ctx.set_timer(config_.heartbeat, kHeartbeatTimer);
  if (config_.check_quorum) quorum_timer_ = ctx.set_timer(eto_min(), kQuorumTimer);
  if (peers_.size() == 1) maybe_commit(ctx);
  record_levels(ctx);
}

void RaftNode::step_down(Context& ctx) {
  ctx.record().count(m_.step_downs);
  ctx.record().mark(m_.mark_step_down, static_cast<int64_t>(term_));
  ctx.cancel_timer(heartbeat_timer_);
  ctx.cancel_timer(quorum_timer_);
  ctx.cancel_timer(batch_timer_);
  heartbeat_timer_ = quorum_timer_ = batch_timer_ = TimerId{};
  // Writes in the log may still commit under the next leader: their outcome is unknown.
  for (const auto& [index, p] : writes_) {
    answer(ctx, p,
           kv::kv_reply(p.req, p.req.op == KvOpKind::kGet ? kv::KvStatus::kNotLeader
                                                          : kv::KvStatus::kIndeterminate));
  }
  // Gathered writes were never appended, and reads never change anything: definitely not
  // done.
  for (const auto& p : proposal_clients_)
    answer(ctx, p, kv::kv_reply(p.req, kv::KvStatus::kNotLeader));
  proposals_.clear();
  proposal_clients_.clear();
  for (auto* q : {&reads_waiting_round_, &reads_waiting_apply_, &reads_waiting_commit_}) {
    for (const auto& p : *q)
      answer(ctx, p, kv::kv_reply(p.req, kv::KvStatus::kNotLeader));
    q->clear();
  }
  writes_.clear();
  proposed_at_.clear();
  progress_.clear();
  round_starts_.clear();
  lease_until_ = SimTime::zero();
  committed_in_term_ = false;
  leader_ = kNoNode;
}

// --- votes ------------------------------------------------------------------------

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
  if (grant && voted_for_ != from) {
    voted_for_ = from;
    if (!persist_hard_state(ctx)) {
      voted_for_ = kNoNode;
      grant = false;
    }
  }
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
  if (std::find(votes_.begin(), votes_.end(), from) == votes_.end()) votes_.push_back(from);
  if (votes_.size() < majority()) return;
  if (role_ == Role::kPreCandidate) {
    become_candidate(ctx);
  } else {
    become_leader(ctx);
  }
}

// --- replication: follower side ---------------------------------------------------

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
  heard_from_leader(ctx, from);
  AppendReply reply;
  reply.term = term_;
  reply.round = m.round;
  reply.rejected_prev = m.prev_log_index;
  const uint64_t count = m.count();
  uint64_t prev = m.prev_log_index;
  size_t skip = 0;
  if (prev < log_.base_index()) {
    // The entries up to the base are in our snapshot: committed, so the leader's agree.
    skip = static_cast<size_t>(std::min<uint64_t>(count, log_.base_index() - prev));
    prev += skip;
    if (skip == count) {
      reply.success = true;
      reply.match_index = std::max(prev, log_.base_index());
      send_after_sync(ctx, from, reply);
      return;
    }
  } else {
    // Raft 5.3, the consistency check: we must hold prev with the leader's term there.
    const auto t = log_.term_at(prev);
    if (!t || *t != m.prev_log_term) {
      ctx.record().count(m_.append_rejections);
      if (!t) {  // our log is too short
        reply.conflict_index = log_.last_index() + 1;
        reply.conflict_term = 0;
      } else {  // fast back-off: the conflicting term and where it starts
        reply.conflict_term = *t;
        reply.conflict_index = log_.first_index_of_term_at(prev);
      }
      send_after_sync(ctx, from, reply);
      return;
    }
  }
  // Raft 5.3: skip entries we hold already; at the first conflict, delete it and all that
  // follow; append the rest.
  const std::span<const Entry> entries =
      m.entries ? std::span<const Entry>(*m.entries) : std::span<const Entry>();
  size_t k = skip;
  for (; k < count; ++k) {
    const uint64_t i = m.prev_log_index + 1 + k;
    const auto t = log_.term_at(i);
    if (!t) break;  // beyond our log
    if (*t == entries[k].term) continue;
    if (i <= commit_)
      broken("a committed entry conflicts with the leader's log at " + std::to_string(i));
    const uint64_t kept = store_.truncate_from(ctx.disk(), i, log_);
    dirty_ = true;
    log_.truncate_after(kept);
    durable_index_ = std::min(durable_index_, kept);
    syncing_last_index_ = std::min(syncing_last_index_, kept);
    if (kept >= i) {  // the disk is full: the cut could not be made
      ctx.record().count(m_.disk_refusals);
      return;
    }
    break;
  }
  if (k < count) {
    const uint64_t first = m.prev_log_index + 1 + k;
    const std::span<const Entry> rest = entries.subspan(k);
    if (!store_.append(ctx.disk(), first, rest)) {
      ctx.record().count(m_.disk_refusals);
      return;  // no answer: the leader will try again
    }
    dirty_ = true;
    for (const auto& e : rest)
      log_.append(e);
    record_levels(ctx);
  }
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

void RaftNode::handle_install_snapshot(Context& ctx, NodeId from, const InstallSnapshot& m) {
  heard_from_leader(ctx, from);
  SnapshotReply reply;
  reply.term = term_;
  reply.last_included_index = m.last_included_index;
  reply.round = m.round;
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
  const uint64_t index = incoming_index_;
  const uint64_t term = incoming_term_;
  std::string data = std::move(incoming_snap_);
  incoming_snap_.clear();
  // Figure 13: "If existing log entry has same index and term as snapshot's last included
  // entry, retain log entries following it" (it is committed: apply up to it).
  if (const auto t = log_.term_at(index); t && *t == term) {
    commit_ = std::max(commit_, index);
    apply_committed(ctx);
  } else {
    restore_snapshot(ctx, index, term, data);
  }
  reply.done = true;
  send_after_sync(ctx, from, reply);
}

void RaftNode::restore_snapshot(Context& ctx, uint64_t index, uint64_t term,
                                const std::string& data) {
  // Figure 13: "Discard the entire log; reset state machine using snapshot contents".
  kv::KvStateMachine restored(config_.state);
  if (!restored.decode(data)) broken("a snapshot from the leader cannot be decoded");
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
  durable_index_ = std::min(durable_index_, index);
  syncing_last_index_ = std::min(syncing_last_index_, index);
  ctx.record().count(m_.snapshots_installed);
  record_levels(ctx);
}

// --- replication: leader side -----------------------------------------------------

RaftNode::Peer* RaftNode::peer(NodeId id) {
  for (auto& p : progress_) {
    if (p.id == id) return &p;
  }
  return nullptr;
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

void RaftNode::send_append(Context& ctx, Peer& p, bool heartbeat) {
  const SimTime now = ctx.monotonic();
  if (p.mode == Peer::Mode::kSnapshot) {
    if (!heartbeat) return;
    // A chunk unanswered for an election timeout is sent again; meanwhile a heartbeat
    // keeps the follower from campaigning.
    if (now - p.snap_sent > eto_min()) {
      send_snapshot_chunk(ctx, p);
      return;
    }
    AppendEntries hb;
    hb.term = term_;
    hb.prev_log_index = log_.base_index();
    hb.prev_log_term = log_.base_term();
    hb.leader_commit = std::min(commit_, p.match);
    hb.round = round_;
    ctx.send(p.id, std::move(hb));
    return;
  }
  if (p.mode == Peer::Mode::kReplicate && heartbeat) {
    // In-flight batches unanswered for an election timeout are presumed lost: probe.
    if (!p.inflight.empty() && now - p.oldest_inflight_sent > eto_min()) {
      p.mode = Peer::Mode::kProbe;
      p.next = p.match + 1;
      p.inflight.clear();
      p.probe_sent = false;
    } else if (p.match < log_.base_index()) {
      p.mode = Peer::Mode::kProbe;
      p.next = p.match + 1;
      p.inflight.clear();
      p.probe_sent = false;
    } else {
      // A heartbeat at the follower's match: the check there always passes.
      AppendEntries hb;
      hb.term = term_;
      hb.prev_log_index = p.match;
      hb.prev_log_term = *log_.term_at(p.match);
      hb.leader_commit = commit_;
      hb.round = round_;
      ctx.send(p.id, std::move(hb));
      return;
    }
  }
  if (p.mode == Peer::Mode::kProbe && p.probe_sent && !heartbeat) return;
  const size_t limit = static_cast<size_t>(config_.pipeline ? config_.max_inflight : 1);
  if (p.mode == Peer::Mode::kReplicate && p.inflight.size() >= limit) return;
  do {
    if (p.next <= log_.base_index()) {
      // Raft 7: the entries it needs are compacted: send the snapshot.
      p.mode = Peer::Mode::kSnapshot;
      p.inflight.clear();
      p.probe_sent = false;
      p.snap_index = 0;
      send_snapshot_chunk(ctx, p);
      return;
    }
    AppendEntries m;
    m.term = term_;
    m.prev_log_index = p.next - 1;
    m.prev_log_term = *log_.term_at(p.next - 1);
    m.leader_commit = commit_;
    m.round = round_;
    const uint64_t last = log_.last_index();
    if (p.next <= last) {
      uint64_t to = p.next;
      uint64_t bytes = log_.at(to).size_bytes();
      while (to < last && to - p.next + 1 < static_cast<uint64_t>(config_.max_batch_entries)) {
        const uint64_t b = log_.at(to + 1).size_bytes();
        if (bytes + b > config_.max_batch_bytes) break;
        bytes += b;
        ++to;
      }
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
           p.next <= log_.last_index());
}

void RaftNode::replicate(Context& ctx) {
  for (auto& p : progress_) {
    if (p.mode == Peer::Mode::kReplicate) {
      const size_t limit = static_cast<size_t>(config_.pipeline ? config_.max_inflight : 1);
      if (p.inflight.size() < limit && p.next <= log_.last_index()) send_append(ctx, p, false);
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

bool RaftNode::round_confirmed(uint64_t round) const {
  size_t acks = 1;  // the leader itself
  for (const auto& p : progress_) {
    if (p.acked_round >= round) ++acks;
  }
  return acks >= majority();
}

void RaftNode::on_round_acked(Context& ctx) {
  // The highest round a majority answered: the majority()-th largest acked round.
  std::vector<uint64_t> acked;
  acked.reserve(progress_.size() + 1);
  acked.push_back(round_);
  for (const auto& p : progress_)
    acked.push_back(p.acked_round);
  std::sort(acked.begin(), acked.end(), std::greater<>());
  const uint64_t confirmed = acked[majority() - 1];
  if (confirmed <= confirmed_round_) return;
  confirmed_round_ = confirmed;
  // Thesis 6.4.1: the lease runs from the start of the confirmed round.
  SimTime start;
  bool found = false;
  while (!round_starts_.empty() && round_starts_.front().first <= confirmed) {
    if (round_starts_.front().first == confirmed) {
      start = round_starts_.front().second;
      found = true;
    }
    round_starts_.pop_front();
  }
  if (found && config_.read_mode == ReadMode::kLease) {
    const auto lease = Duration::from_ns(
        static_cast<int64_t>(static_cast<double>(eto_min().ns()) / config_.clock_drift_bound));
    lease_until_ = std::max(lease_until_, start + lease);
  }
  // Thesis 6.4 step 3: reads whose round is confirmed may proceed once applied.
  while (!reads_waiting_round_.empty() && reads_waiting_round_.front().round <= confirmed) {
    reads_waiting_apply_.push_back(reads_waiting_round_.front());
    reads_waiting_round_.pop_front();
  }
  serve_reads(ctx);
  // Reads that arrived during the round need one of their own: start it now.
  if (!reads_waiting_round_.empty() && confirmed_round_ == round_) broadcast_round(ctx);
}

bool RaftNode::lease_valid(Context& ctx) const {
  return ctx.monotonic() < lease_until_;
}

void RaftNode::handle_append_reply(Context& ctx, NodeId from, const AppendReply& m) {
  Peer* pp = peer(from);
  if (!pp) return;
  Peer& p = *pp;
  p.recent_active = true;
  if (m.round > p.acked_round) {
    p.acked_round = m.round;
    on_round_acked(ctx);
    if (role_ != Role::kLeader) return;
  }
  if (p.mode == Peer::Mode::kSnapshot) return;
  if (m.success) {
    if (m.match_index > p.match) p.match = m.match_index;
    while (!p.inflight.empty() && p.inflight.front() <= p.match) {
      p.inflight.pop_front();
      p.oldest_inflight_sent = ctx.monotonic();
    }
    if (p.mode == Peer::Mode::kProbe) {
      p.mode = Peer::Mode::kReplicate;
      p.probe_sent = false;
      p.inflight.clear();
      p.next = p.match + 1;
    }
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
  p.next = std::max({next, p.match + 1, uint64_t{1}});
  p.mode = Peer::Mode::kProbe;
  p.inflight.clear();
  p.probe_sent = false;
  send_append(ctx, p, false);
}

void RaftNode::handle_snapshot_reply(Context& ctx, NodeId from, const SnapshotReply& m) {
  Peer* pp = peer(from);
  if (!pp) return;
  Peer& p = *pp;
  p.recent_active = true;
  if (m.round > p.acked_round) {
    p.acked_round = m.round;
    on_round_acked(ctx);
    if (role_ != Role::kLeader) return;
  }
  if (p.mode != Peer::Mode::kSnapshot || m.last_included_index != p.snap_index) return;
  if (m.done) {
    p.match = std::max(p.match, m.last_included_index);
    p.next = p.match + 1;
    p.mode = Peer::Mode::kProbe;
    p.probe_sent = false;
    maybe_commit(ctx);
    if (role_ == Role::kLeader) send_append(ctx, p, false);
    return;
  }
  p.snap_offset = m.next_offset;
  send_snapshot_chunk(ctx, p);
}

void RaftNode::propose(Context& ctx, Entry e) {
  if (config_.batch_delay > Duration::zero()) {
    proposals_.push_back(std::move(e));
    if (!batch_timer_.valid()) batch_timer_ = ctx.set_timer(config_.batch_delay, kBatchTimer);
    return;
  }
  proposals_.push_back(std::move(e));
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
  if (!store_.append(ctx.disk(), first, batch)) {
    ctx.record().count(m_.disk_refusals);
    for (const auto& p : waiting)
      answer(ctx, p, kv::kv_reply(p.req, kv::KvStatus::kUnavailable));
    return;
  }
  dirty_ = true;
  const SimTime now = ctx.monotonic();
  for (size_t k = 0; k < batch.size(); ++k) {
    log_.append(std::move(batch[k]));
    writes_.emplace(first + k, waiting[k]);
    proposed_at_.emplace(first + k, now);
  }
  record_levels(ctx);
}

void RaftNode::maybe_commit(Context& ctx) {
  // Raft 5.3 and 5.4.2: the largest index held by a majority (the leader counts what it
  // has durably), committed only when it is of the current term.
  std::vector<uint64_t> matches;
  matches.reserve(progress_.size() + 1);
  matches.push_back(durable_index_);
  for (const auto& p : progress_)
    matches.push_back(p.match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const uint64_t n = matches[majority() - 1];
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
    // Thesis 6.4 step 1 done: reads that waited for it take the commit index now.
    while (!reads_waiting_commit_.empty()) {
      Pending p = reads_waiting_commit_.front();
      reads_waiting_commit_.pop_front();
      p.read_index = commit_;
      p.round = round_ + 1;
      reads_waiting_round_.push_back(p);
    }
    if (!reads_waiting_round_.empty() && confirmed_round_ == round_) broadcast_round(ctx);
  }
  apply_committed(ctx);
}

// --- clients ----------------------------------------------------------------------

void RaftNode::answer(Context& ctx, const Pending& p, const kv::KvResponse& resp) {
  kv::KvResponse r = resp;
  r.call = p.req.call.id;
  ctx.send(p.client, std::move(r));
}

void RaftNode::refuse(Context& ctx, NodeId from, const kv::KvRequest& req, kv::KvStatus status) {
  // A refusal tells the client the request was not applied, so a copy of it (the network
  // may duplicate messages) must never be accepted later: remember it.
  if (refused_.insert({from, req.call.id}).second) {
    refused_order_.emplace_back(from, req.call.id);
    if (refused_order_.size() > kMaxRefused) {
      refused_.erase(refused_order_.front());
      refused_order_.pop_front();
    }
  }
  ctx.send(from, kv::kv_reply(req, status, leader_ == self_ ? kNoNode : leader_));
}

void RaftNode::handle_client(Context& ctx, NodeId from, const kv::KvRequest& req) {
  if (refused_.count({from, req.call.id})) {
    ctx.send(from,
             kv::kv_reply(req, kv::KvStatus::kNotLeader, leader_ == self_ ? kNoNode : leader_));
    return;
  }
  if (role_ != Role::kLeader) {
    // Thesis 6.2: a server that is not the leader redirects the client to the leader it
    // knows of (kNoNode when it knows none).
    ctx.record().count(m_.redirects);
    refuse(ctx, from, req, kv::KvStatus::kNotLeader);
    return;
  }
  const size_t held = writes_.size() + proposals_.size() + reads_waiting_round_.size() +
                      reads_waiting_apply_.size() + reads_waiting_commit_.size();
  if (held >= static_cast<size_t>(config_.max_pending)) {
    ctx.record().count(m_.refused_busy);
    refuse(ctx, from, req, kv::KvStatus::kUnavailable);
    return;
  }
  Pending p;
  p.client = from;
  p.req = req;
  p.term = term_;
  if (req.op != KvOpKind::kGet || config_.read_mode == ReadMode::kLog) {
    if (req.op == KvOpKind::kGet) ctx.record().count(m_.reads_log);
    Entry e;
    e.term = term_;
    e.time = ctx.now();
    e.kind = req.op == KvOpKind::kGet ? EntryKind::kRead : EntryKind::kCommand;
    e.cmd = req;
    proposal_clients_.push_back(p);
    propose(ctx, std::move(e));
    return;
  }
  if (config_.read_mode == ReadMode::kLease) {
    // Thesis 6.4.1: within the lease no other leader can exist: read the state as of the
    // commit index without a round of heartbeats.
    if (committed_in_term_ && lease_valid(ctx)) {
      ctx.record().count(m_.reads_lease);
      p.read_index = commit_;
      reads_waiting_apply_.push_back(p);
      serve_reads(ctx);
      return;
    }
    ctx.record().count(m_.lease_fallbacks);
  }
  // Thesis 6.4, ReadIndex: (1) an entry of this term committed; (2) read index = commit
  // index; (3) a heartbeat round started after now answered by a majority; (4) applied up
  // to the read index; (5) read.
  ctx.record().count(m_.reads_index);
  if (!committed_in_term_) {
    reads_waiting_commit_.push_back(p);
    return;
  }
  p.read_index = commit_;
  p.round = round_ + 1;
  reads_waiting_round_.push_back(p);
  if (confirmed_round_ == round_) broadcast_round(ctx);  // else: after the round in flight
}

void RaftNode::serve_reads(Context& ctx) {
  while (!reads_waiting_apply_.empty() && reads_waiting_apply_.front().read_index <= applied_) {
    const Pending p = reads_waiting_apply_.front();
    reads_waiting_apply_.pop_front();
    answer(ctx, p, sm_.apply(p.req, ctx.now()));
  }
}

// --- state machine ----------------------------------------------------------------

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

// --- invariants -------------------------------------------------------------------

void RaftNode::check_invariants() const {
  const auto fail = [&](const std::string& what) {
    broken("node " + std::to_string(self_) + " term " + std::to_string(term_) + ": " + what);
  };
  if (applied_ > commit_) fail("applied beyond the commit index");
  if (commit_ > log_.last_index()) fail("commit index beyond the log");
  if (log_.base_index() > applied_) fail("compacted entries not applied");
  if (snap_index_ > applied_) fail("snapshot beyond what was applied");
  if (log_.base_index() > snap_index_) fail("log base beyond the snapshot");
  if (durable_index_ > log_.last_index()) fail("durable index beyond the log");
  if (commit_ < inv_commit_) fail("the commit index went back");
  inv_commit_ = commit_;
  // Terms never decrease along the log and never exceed the current term. Entries checked
  // before are not checked again unless the log changed under them.
  uint64_t from = log_.base_index() + 1;
  uint64_t prev_term = log_.base_term();
  if (inv_scan_last_ > log_.base_index() && inv_scan_last_ <= log_.last_index() &&
      log_.at(inv_scan_last_).term == inv_scan_term_ && inv_scan_current_term_ == term_) {
    from = inv_scan_last_ + 1;
    prev_term = inv_scan_term_;
  }
  for (uint64_t i = from; i <= log_.last_index(); ++i) {
    const uint64_t t = log_.at(i).term;
    if (t < prev_term) fail("log terms decrease at index " + std::to_string(i));
    if (t > term_) fail("an entry's term is beyond the current term at " + std::to_string(i));
    prev_term = t;
  }
  inv_scan_last_ = log_.last_index();
  inv_scan_term_ = log_.last_term();
  inv_scan_current_term_ = term_;
  if ((role_ == Role::kCandidate || role_ == Role::kLeader) && voted_for_ != self_)
    fail("a candidate or leader that did not vote for itself");
  if (role_ == Role::kLeader) {
    if (leader_ != self_) fail("a leader that does not know it leads");
    // Leader append-only (Raft Figure 3): within its term a leader's log only grows.
    if (inv_leader_term_ == term_) {
      if (log_.last_index() < inv_leader_last_) fail("the leader's log shrank");
    }
    inv_leader_term_ = term_;
    inv_leader_last_ = log_.last_index();
  }
}

}  // namespace dsim::raft
