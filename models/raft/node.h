// `raft`: one server of a Raft cluster (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", extended version, cited "Raft <section>"; Ongaro,
// "Consensus: Bridging Theory and Practice", cited "thesis <section>").
//
// The cluster is the node's group. Each server is a follower, a candidate or the leader
// (enum Role, one step_<role>() each); the leader replicates a log of key-value commands
// and applies committed entries to a KvStateMachine, the shared key-value contract, so
// kv_client, its history and every checker apply unchanged. What it implements:
//   - elections: randomized timeouts, terms, votes for up-to-date logs only (5.2, 5.4.1);
//     optionally pre-vote (thesis 9.6) and check-quorum with leader stickiness (thesis
//     6.2, 4.2.3);
//   - replication: the consistency check and fast back-off on conflicts (5.3), batching
//     and pipelining of AppendEntries, commitment of current-term entries only by counting
//     replicas (5.4.2), a no-op at the start of each term (8, thesis 6.4);
//   - persistence: term, vote and log written to the node's durable store and synced
//     before the node answers an RPC or sends a vote request (Figure 2); a sync covers
//     every write before it, and at most one is outstanding (group commit); a restarted
//     server recovers from the store;
//   - clients: a non-leader answers "not leader" with the leader it knows as hint; retries
//     carry the operation's idempotency key, which the state machine remembers, so a
//     retried write is applied once (thesis 6.3);
//   - reads through the log, by ReadIndex, or under a leader lease (thesis 6.4, 6.4.1);
//   - log compaction with snapshots and InstallSnapshot in chunks (7, Figure 13).
//
// RaftNode is one class whose member functions live by concern: node.cpp (start, dispatch
// by role, Figure 2's term rules, invariants), elections.cpp, replication.cpp,
// snapshots.cpp, clients.cpp and persistence.cpp.
//
// Timeline marks (Recorder::mark) feed the failover analysis (analysis.h): `raft_leader`
// (a = term) when a server becomes leader, `raft_follow` (a = term, b = leader) when it
// first accepts a leader's AppendEntries (or snapshot) in a term, `raft_candidate` (a =
// term) when it starts an election, `raft_step_down` (a = term) when a leader stops
// leading.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/quorum.h"
#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "models/kv/state_machine.h"
#include "models/raft/config.h"
#include "models/raft/log.h"
#include "models/raft/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::raft {

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view role_name(Role r);

class RaftNode final : public Model {
 public:
  static constexpr std::string_view kName = "raft";
  static constexpr std::string_view kDescription =
      "Raft consensus (Raft paper + Ongaro's thesis): elections, replication, persistence, "
      "snapshots, pre-vote, check-quorum, ReadIndex and lease reads; a replicated store "
      "speaking the kv contract; failover analysis (leaderless_ms)";
  /// What role() reports, for fault targets (a pre-candidate reports candidate).
  static constexpr std::string_view kRoles[] = {"leader", "follower", "candidate"};

  using Config = RaftConfig;
  static Config parse(ParamReader& r) { return RaftConfig::parse(r); }
  static void declare(const Config& c, MetricDecls& d);
  /// The post-run failover analysis (analysis.cpp).
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: leaders, failovers, leaderless times (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  /// One named timer per concern (kit::timer_tag): each is a kit::Timeout member.
  enum class Timer : uint8_t {
    kElection,   ///< follower and candidates: no leader heard from in time
    kHeartbeat,  ///< leader: the next heartbeat round
    kQuorum,     ///< leader with check_quorum: did a majority answer lately?
    kBatch,      ///< leader with batch_delay: replicate the gathered writes
  };

  explicit RaftNode(const Config& config);

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;
  /// "leader", "candidate" (pre-candidates too) or "follower": the fault targets
  /// replicas.leader, replicas.candidate, replicas.follower.
  std::string_view role() const override;

  // --- inspection (tests, cluster invariants) ---
  Role raft_role() const { return role_; }
  uint64_t term() const { return term_; }
  NodeId voted_for() const { return voted_for_; }
  NodeId leader_hint() const { return leader_; }
  NodeId self() const { return self_; }
  const RaftLog& log() const { return log_; }
  uint64_t commit_index() const { return commit_; }
  uint64_t last_applied() const { return applied_; }
  uint64_t snapshot_index() const { return snap_index_; }
  uint64_t snapshot_term() const { return snap_term_; }
  /// The last index known to be on this node's disk (synced).
  uint64_t durable_index() const { return durable_index_; }
  const kv::KvStateMachine& state() const { return sm_; }
  size_t cluster_size() const { return peers_.size(); }

 private:
  /// What the leader knows of one follower (etcd calls it Progress): where its log
  /// matches, what to send next, and how (probe: one AppendEntries at a time until a
  /// match is found; replicate: pipelined; snapshot: an InstallSnapshot in progress).
  struct Peer {
    enum class Mode : uint8_t { kProbe, kReplicate, kSnapshot };
    NodeId id = kNoNode;
    uint64_t next = 1;
    uint64_t match = 0;
    Mode mode = Mode::kProbe;
    bool probe_sent = false;        ///< probe: an AppendEntries awaits its reply
    std::deque<uint64_t> inflight;  ///< replicate: last index of each batch in flight
    SimTime oldest_inflight_sent;   ///< replicate: when the oldest in flight was sent
    uint64_t acked_round = 0;       ///< the highest heartbeat round it answered
    bool recent_active = false;     ///< answered since the last check-quorum
    uint64_t snap_index = 0;        ///< snapshot: which snapshot
    uint64_t snap_offset = 0;       ///< snapshot: bytes acknowledged
    SimTime snap_sent;              ///< snapshot: when the last chunk was sent

    /// Probes from `from`: one AppendEntries at a time until one succeeds.
    void become_probe(uint64_t from) {
      mode = Mode::kProbe;
      next = from;
      inflight.clear();
      probe_sent = false;
    }
    /// Its log matches up to `match`: pipelines from there.
    void become_replicate() {
      mode = Mode::kReplicate;
      probe_sent = false;
      inflight.clear();
      next = match + 1;
    }
    /// Needs entries compacted away: gets the snapshot, from its start.
    void become_snapshot() {
      mode = Mode::kSnapshot;
      inflight.clear();
      probe_sent = false;
      snap_index = 0;
    }
  };

  /// A client request the leader is working on.
  struct Pending {
    NodeId client = kNoNode;
    kv::KvRequest req;
    uint64_t term = 0;
    uint64_t read_index = 0;  ///< ReadIndex / lease reads
    uint64_t round = 0;       ///< ReadIndex: the heartbeat round that must be confirmed
  };

  // --- node.cpp: start and dispatch ---
  void intern_metrics(Context& ctx);
  /// Raft Figure 2, "rules for all servers": a message with a newer term makes this server
  /// a follower in that term (with pre-vote's exceptions, thesis 9.6, and leader
  /// stickiness, thesis 4.2.3). False when the message must be dropped.
  bool step_term(Context& ctx, const Envelope& env);
  bool step_newer_term(Context& ctx, const Envelope& env, uint64_t term);
  void answer_stale(Context& ctx, const Envelope& env);
  // Role steps (on_message dispatches by role after the term rules).
  void step_follower(Context& ctx, const Envelope& env);
  void step_campaigning(Context& ctx, const Envelope& env);
  void step_leader(Context& ctx, const Envelope& env);
  void record_levels(Context& ctx);
  void check_log_terms() const;

  // --- elections.cpp: transitions, votes, check-quorum ---
  void become_follower(Context& ctx, uint64_t term, NodeId leader);
  void become_pre_candidate(Context& ctx);
  void become_candidate(Context& ctx);
  void become_leader(Context& ctx);
  void step_down(Context& ctx);  ///< a leader stops leading: answers what it held
  void start_tally();            ///< a new election: this server votes for itself
  void on_election_timeout(Context& ctx);
  void check_quorum(Context& ctx);
  void handle_request_vote(Context& ctx, NodeId from, const RequestVote& m);
  void handle_vote_reply(Context& ctx, NodeId from, const VoteReply& m);
  void reset_election_timer(Context& ctx);
  bool heard_from_leader_recently(Context& ctx) const;
  /// lagging_followers: whether this leader holds entries back from `peer`, and the last
  /// entry `p` may be sent.
  bool lagging(NodeId peer) const;
  uint64_t sendable_last(const Peer& p) const;
  uint32_t majority() const { return kit::majority(static_cast<uint32_t>(peers_.size())); }
  Duration eto_min() const { return eto_min_; }

  // --- replication.cpp: AppendEntries, batching, pipelining, commit, apply ---
  /// A leader of this term spoke: follow it, and restart the election timer.
  void heard_from_leader(Context& ctx, NodeId from);
  /// heard_from_leader(), and the start of the answer to `m`: this term, m's round.
  template <class Reply, class Request>
  Reply follow_leader(Context& ctx, NodeId from, const Request& m) {
    heard_from_leader(ctx, from);
    Reply reply;
    reply.term = term_;
    reply.round = m.round;
    return reply;
  }
  void handle_append_entries(Context& ctx, NodeId from, const AppendEntries& m);
  bool append_from_leader(Context& ctx, const AppendEntries& m, size_t skip);
  bool truncate_conflict(Context& ctx, uint64_t index);
  Peer* peer(NodeId id);
  /// A follower answered round `round`: counts it (check-quorum, read rounds). False when
  /// this server no longer leads.
  bool heard_from_peer(Context& ctx, Peer& p, uint64_t round);
  void handle_append_reply(Context& ctx, NodeId from, const AppendReply& m);
  void send_append(Context& ctx, Peer& p, bool heartbeat);
  bool heartbeat_at_match(Context& ctx, Peer& p);
  void send_heartbeat(Context& ctx, const Peer& p, uint64_t prev, uint64_t leader_commit);
  void send_entries(Context& ctx, Peer& p, bool heartbeat);
  uint64_t batch_end(uint64_t from, uint64_t last) const;
  size_t inflight_limit() const;
  void replicate(Context& ctx);  ///< sends what each follower can take now
  void broadcast_round(Context& ctx);
  void propose(Context& ctx, Entry e);
  void flush_proposals(Context& ctx);  ///< writes gathered proposals to disk as one segment
  /// The largest value a majority reached: `own` for this server, `field` of each follower.
  uint64_t majority_reached(uint64_t own, uint64_t Peer::*field) const;
  void maybe_commit(Context& ctx);
  void apply_committed(Context& ctx);

  // --- snapshots.cpp: taking, sending and installing snapshots ---
  void start_snapshot(Context& ctx, Peer& p);
  void send_snapshot_chunk(Context& ctx, Peer& p);
  void handle_snapshot_reply(Context& ctx, NodeId from, const SnapshotReply& m);
  void handle_install_snapshot(Context& ctx, NodeId from, const InstallSnapshot& m);
  void install_snapshot(Context& ctx, uint64_t index, uint64_t term, const std::string& data);
  void restore_snapshot(Context& ctx, uint64_t index, uint64_t term, const std::string& data);
  void maybe_snapshot(Context& ctx);

  // --- clients.cpp: requests, redirects, reads (log, ReadIndex, lease) ---
  void handle_client(Context& ctx, NodeId from, const kv::KvRequest& req);
  void propose_request(Context& ctx, const Pending& p);
  void read_under_lease(Context& ctx, Pending p);
  void start_read_index(Context& ctx, Pending p);
  void wait_for_round(Pending p);
  void start_round_for_reads(Context& ctx);
  void release_reads_waiting_commit(Context& ctx);
  void refuse(Context& ctx, NodeId from, const kv::KvRequest& req, kv::KvStatus status);
  NodeId redirect_hint() const { return leader_ == self_ ? kNoNode : leader_; }
  void on_round_acked(Context& ctx);
  void extend_lease(uint64_t confirmed);
  bool lease_valid(Context& ctx) const;
  void serve_reads(Context& ctx);
  void answer(Context& ctx, const Pending& p, const kv::KvResponse& resp);
  void answer_held_requests(Context& ctx);  ///< a leader stepping down answers them all
  Entry new_entry(Context& ctx, EntryKind kind) const;

  // --- persistence.cpp: restart, the durable state, syncs ---
  // Writes are followed by one sync; messages that must wait for it go out in on_disk
  // (Figure 2: "updated on stable storage before responding to RPCs").
  void recover(Context& ctx);
  /// Sets and writes term and vote; on a refusal (full disk) puts the old ones back.
  bool save_term_vote(Context& ctx, uint64_t term, NodeId vote);
  bool persist_hard_state(Context& ctx);
  /// Writes entries first.. as one segment (the log itself is the caller's to extend).
  bool persist_entries(Context& ctx, uint64_t first, std::span<const Entry> entries);
  /// The log was cut back to `last`: what is (being) synced is no further than that.
  void log_cut_to(uint64_t last);
  void send_after_sync(Context& ctx, NodeId to, Message msg);
  void request_sync(Context& ctx);

  const Config& config_;
  Duration eto_min_;
  NodeId self_ = kNoNode;
  std::vector<NodeId> peers_;  ///< every member, this node included, in id order

  // Persistent state (Figure 2), mirrored on disk.
  uint64_t term_ = 0;
  NodeId voted_for_ = kNoNode;
  RaftLog log_;
  LogStore store_;
  uint64_t snap_index_ = 0;
  uint64_t snap_term_ = 0;
  std::shared_ptr<const std::string> snap_data_;  ///< the latest snapshot's bytes

  // Volatile state.
  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;
  kv::KvStateMachine sm_;
  SimTime last_heard_leader_;  ///< monotonic; for stickiness and pre-vote
  bool heard_leader_ = false;
  uint64_t followed_term_ = 0;  ///< the term of the last raft_follow mark
  kit::Timeout election_;       ///< its delay is drawn anew at each start
  SimTime election_started_;    ///< candidacy start (monotonic), for election_ms
  kit::VoteTally votes_;        ///< candidates: the grants (refusals are not counted)

  // Leader state.
  std::vector<Peer> progress_;  ///< one per other member
  uint64_t round_ = 0;
  std::deque<std::pair<uint64_t, SimTime>> round_starts_;  ///< unconfirmed rounds: (round, start)
  uint64_t confirmed_round_ = 0;
  SimTime lease_until_;  ///< monotonic
  bool committed_in_term_ = false;
  kit::Timeout heartbeat_, quorum_, batch_;
  std::map<uint64_t, Pending> writes_;        ///< by log index: answered when applied
  std::map<uint64_t, SimTime> proposed_at_;   ///< by log index: for commit_latency
  std::deque<Pending> reads_waiting_round_;   ///< ReadIndex: waiting for their round
  std::deque<Pending> reads_waiting_apply_;   ///< confirmed: waiting for applied >= index
  std::deque<Pending> reads_waiting_commit_;  ///< before the first commit of the term
  std::vector<Entry> proposals_;              ///< gathered writes, not yet in the log (batch)
  std::vector<Pending> proposal_clients_;     ///< their clients, one per proposal
  uint64_t durable_index_ = 0;                ///< the last index known synced

  // Client requests refused (not leader, busy), by (client, request id): a duplicate copy
  // of one is refused again rather than accepted. Bounded; volatile.
  static constexpr size_t kMaxRefused = 4096;
  std::set<std::pair<NodeId, uint64_t>> refused_;
  std::deque<std::pair<NodeId, uint64_t>> refused_order_;

  // Snapshot being received (Figure 13).
  std::string incoming_snap_;
  uint64_t incoming_index_ = 0;
  uint64_t incoming_term_ = 0;
  bool snapshot_in_progress_ = false;  ///< a snapshot write awaits its sync

  // Persistence.
  bool dirty_ = false;  ///< written since the last sync was requested
  bool sync_outstanding_ = false;
  uint64_t dirty_last_index_ = 0;    ///< the log's last index when the pending writes were made
  uint64_t syncing_last_index_ = 0;  ///< ... when the outstanding sync was requested
  std::vector<std::pair<NodeId, Message>> after_sync_;  ///< sent when the outstanding sync ends
  std::vector<std::pair<NodeId, Message>> after_next_sync_;  ///< sent when the next one ends
  bool campaign_after_sync_ = false;  ///< candidate: send vote requests once durable

  // Checked-build shadows (check_invariants is const).
  mutable uint64_t inv_leader_term_ = 0;
  mutable uint64_t inv_leader_last_ = 0;
  mutable uint64_t inv_commit_ = 0;
  mutable uint64_t inv_scan_last_ = 0;          ///< the log was checked up to here ...
  mutable uint64_t inv_scan_term_ = 0;          ///< ... whose entry had this term ...
  mutable uint64_t inv_scan_current_term_ = 0;  ///< ... in this current term

  // Metric names.
  struct Metrics {
    Symbol elections_started, prevotes_started, leaders_elected, step_downs,
        check_quorum_step_downs, votes_granted, append_rejections, snapshots_taken, snapshots_sent,
        snapshots_installed, entries_committed, redirects, refused_busy, reads_log, reads_index,
        reads_lease, lease_fallbacks, disk_refusals, duplicate_applications, deduplicated_writes,
        commit_latency, election_time, log_entries, term_level;
    Symbol mark_leader, mark_follow, mark_candidate, mark_step_down;
  } m_;
};

}  // namespace dsim::raft
