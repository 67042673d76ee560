// RaftNode's frame: construction, the handlers the engine calls (start, stop, messages,
// timers), Figure 2's term rules and the dispatch to one step per role, and the server's
// own invariants. The protocol itself lives by concern: elections.cpp, replication.cpp,
// snapshots.cpp, clients.cpp and persistence.cpp.
#include "models/raft/node.h"

#include <optional>

#include "models/raft/analysis.h"
#include "sim/core/assert.h"

namespace dsim::raft {

namespace {

// The term a Raft message carries; nullopt for any other message.
std::optional<uint64_t> term_of(const Message& msg) {
  if (const auto* m = msg.get<RequestVote>()) return m->term;
  if (const auto* m = msg.get<VoteReply>()) return m->term;
  if (const auto* m = msg.get<AppendEntries>()) return m->term;
  if (const auto* m = msg.get<AppendReply>()) return m->term;
  if (const auto* m = msg.get<InstallSnapshot>()) return m->term;
  if (const auto* m = msg.get<SnapshotReply>()) return m->term;
  return std::nullopt;
}

// A message only a leader sends (whose sender is the leader of its term).
bool from_leader(const Message& msg) {
  return msg.is<AppendEntries>() || msg.is<InstallSnapshot>();
}

// How an invariant's message names the server.
std::string server(NodeId self, uint64_t term) {
  return "node " + std::to_string(self) + " term " + std::to_string(term) + ": ";
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
    : config_(config),
      eto_min_(config.election_timeout_min()),
      sm_(config.state),
      election_(kit::timer_tag(Timer::kElection), eto_min_),
      heartbeat_(kit::timer_tag(Timer::kHeartbeat), config.heartbeat),
      quorum_(kit::timer_tag(Timer::kQuorum), eto_min_),
      batch_(kit::timer_tag(Timer::kBatch), config.batch_delay) {}

std::string_view RaftNode::role() const {
  // Fault targets know leaders, candidates and followers: a pre-candidate is a candidate.
  return role_name(role_ == Role::kPreCandidate ? Role::kCandidate : role_);
}

// --- start, stop, timers ------------------------------------------------------------

void RaftNode::declare(const Config&, MetricDecls& d) {
  for (const char* c : {"elections_started",
                        "prevotes_started",
                        "leaders_elected",
                        "step_downs",
                        "check_quorum_step_downs",
                        "votes_granted",
                        "append_rejections",
                        "snapshots_taken",
                        "snapshots_sent",
                        "snapshots_installed",
                        "entries_committed",
                        "redirects",
                        "refused_busy",
                        "reads_log",
                        "reads_read_index",
                        "reads_lease",
                        "lease_fallbacks",
                        "disk_refusals",
                        "duplicate_applications",
                        "deduplicated_writes"})
    d.counter(c);
  d.timing("commit_latency");
  d.timing("election");
  d.level("log_entries");
  d.level("term");
  declare_analysis(d);
}

void RaftNode::intern_metrics(Context& ctx) {
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
}

void RaftNode::on_start(Context& ctx) {
  intern_metrics(ctx);
  self_ = ctx.self();
  const auto group = ctx.group_nodes(ctx.group_name());
  peers_.assign(group.begin(), group.end());
  if (peers_.empty()) peers_.push_back(self_);
  recover(ctx);
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

void RaftNode::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const bool leads = role_ == Role::kLeader;
  switch (kit::timer_of<Timer>(tag).kind) {
    case Timer::kElection:
      if (!leads && election_.fired(id)) on_election_timeout(ctx);
      break;
    case Timer::kHeartbeat:
      if (leads && heartbeat_.fired(id)) {
        broadcast_round(ctx);
        heartbeat_.start(ctx);
      }
      break;
    case Timer::kQuorum:
      if (leads && quorum_.fired(id)) check_quorum(ctx);
      break;
    case Timer::kBatch:
      if (leads && batch_.fired(id)) {
        flush_proposals(ctx);
        replicate(ctx);
      }
      break;
  }
  request_sync(ctx);
}

// --- messages -------------------------------------------------------------------------

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
  const auto t = term_of(env.msg);
  if (!t) return false;  // not a Raft message
  if (*t > term_) return step_newer_term(ctx, env, *t);
  if (*t < term_) {
    answer_stale(ctx, env);
    return false;
  }
  return true;
}

bool RaftNode::step_newer_term(Context& ctx, const Envelope& env, uint64_t term) {
  const Message& msg = env.msg;
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
  become_follower(ctx, term, from_leader(msg) ? env.from : kNoNode);
  return term == term_;  // false: the new term could not be persisted (full disk): dropped
}

void RaftNode::answer_stale(Context& ctx, const Envelope& env) {
  // A stale request gets an answer carrying the current term, which tells its sender it
  // is behind (Figure 2: "reply false if term < currentTerm"); stale replies are dropped.
  if (const auto* ae = env.msg.get<AppendEntries>()) {
    AppendReply r;
    r.term = term_;
    r.rejected_prev = ae->prev_log_index;
    send_after_sync(ctx, env.from, r);
  } else if (const auto* is = env.msg.get<InstallSnapshot>()) {
    SnapshotReply r;
    r.term = term_;
    r.last_included_index = is->last_included_index;
    send_after_sync(ctx, env.from, r);
  } else if (const auto* rv = env.msg.get<RequestVote>()) {
    send_after_sync(ctx, env.from, VoteReply{term_, false, rv->pre_vote});
  }
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
  } else if (from_leader(env.msg)) {
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
  } else {
    // Election safety (Raft 5.2): two leaders in one term cannot happen.
    DSIM_ASSERT(!from_leader(env.msg), "leader ", self_, " received AppendEntries of its own term ",
                term_, " from ", env.from);
  }
}

// --- invariants -----------------------------------------------------------------------

void RaftNode::check_invariants() const {
  DSIM_ASSERT(applied_ <= commit_, server(self_, term_), "applied beyond the commit index");
  DSIM_ASSERT(commit_ <= log_.last_index(), server(self_, term_), "commit index beyond the log");
  DSIM_ASSERT(log_.base_index() <= applied_, server(self_, term_), "compacted entries not applied");
  DSIM_ASSERT(snap_index_ <= applied_, server(self_, term_), "snapshot beyond what was applied");
  DSIM_ASSERT(log_.base_index() <= snap_index_, server(self_, term_),
              "log base beyond the snapshot");
  DSIM_ASSERT(durable_index_ <= log_.last_index(), server(self_, term_),
              "durable index beyond the log");
  DSIM_ASSERT(commit_ >= inv_commit_, server(self_, term_), "the commit index went back");
  inv_commit_ = commit_;
  check_log_terms();
  if (role_ == Role::kCandidate || role_ == Role::kLeader) {
    DSIM_ASSERT(voted_for_ == self_, server(self_, term_),
                "a candidate or leader that did not vote for itself");
  }
  if (role_ == Role::kLeader) {
    DSIM_ASSERT(leader_ == self_, server(self_, term_), "a leader that does not know it leads");
    // Leader append-only (Raft Figure 3): within its term a leader's log only grows.
    DSIM_ASSERT(inv_leader_term_ != term_ || log_.last_index() >= inv_leader_last_,
                server(self_, term_), "the leader's log shrank");
    inv_leader_term_ = term_;
    inv_leader_last_ = log_.last_index();
  }
}

void RaftNode::check_log_terms() const {
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
    DSIM_ASSERT(t >= prev_term, server(self_, term_), "log terms decrease at index ", i);
    DSIM_ASSERT(t <= term_, server(self_, term_), "an entry's term is beyond the current term at ",
                i);
    prev_term = t;
  }
  inv_scan_last_ = log_.last_index();
  inv_scan_term_ = log_.last_term();
  inv_scan_current_term_ = term_;
}

}  // namespace dsim::raft
