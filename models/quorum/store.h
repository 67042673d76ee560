// `quorum`: a Dynamo-style leaderless replicated key-value store (DeCandia et al.,
// "Dynamo: Amazon's Highly Available Key-value Store", SOSP 2007; the key-value store
// chapters of Alex Xu's System Design Interview and of the Modern System Design - Interview
// Prep Guide; see docs/models/quorum.md).
//
// Every node of the group is a replica and a possible coordinator. A key's preference
// list is the first N nodes clockwise from it on a consistent-hashing ring with virtual
// nodes (models/kit/ring.h). A client's request reaches any node; the coordinator — a node of the
// preference list, chosen server-side (the receiving node forwards) or client-side (the
// receiving node redirects the client, which learns where to go) — sends the write to
// the N replicas and answers after W acknowledgements, or asks them for the key and
// answers after R replies, merging what they returned (versions.h: vector clocks with
// siblings, or last-write-wins by the coordinator's wall clock).
//
// Failures: a replica that does not answer within `replica_timeout` is suspected for
// `suspect_for` (Dynamo 4.8.3: local failure detection). A strict quorum then fails the
// operation; a sloppy quorum ("the first W healthy servers for writes and first R
// healthy servers for reads on the hash ring", as Xu's key-value store chapter puts it) sends it on
// to the next healthy nodes clockwise, and a stand-in keeps the write with a hint naming the node
// it stands in for, on its disk, and hands it back when that node answers again (hinted handoff,
// Xu's key-value store chapter). Divergence is repaired by read repair (Dynamo 5: the system-design
// books do not describe it) in the background or before answering, and by anti-entropy: replicas
// compare Merkle trees per key range and exchange only the keys of differing leaves (the Interview
// Prep Guide's Merkle tree section; merkle.h). Membership changes at scheduled times move the keys
// whose preference lists change to their new replicas.
//
// QuorumStore is one class whose member functions are defined by concern: store.cpp
// (start, dispatch, failure detection), config.cpp, coordinator.cpp, replica.cpp,
// handoff.cpp, anti_entropy.cpp and membership.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kit/failure_detector.h"
#include "models/kit/ring.h"
#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "models/quorum/merkle.h"
#include "models/quorum/messages.h"
#include "models/quorum/versions.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"

namespace dsim::quorum {

using kit::key_position;
using kit::Ring;

class QuorumStore final : public Model {
 public:
  static constexpr std::string_view kName = "quorum";
  static constexpr std::string_view kDescription =
      "Dynamo-style leaderless replication speaking the kv contract: consistent hashing "
      "with virtual nodes, N/W/R quorums, vector clocks with siblings or last-write-wins, "
      "sloppy quorum with hinted handoff, read repair, Merkle-tree anti-entropy, "
      "membership changes";

  enum class Coordinator { kServer, kClient };
  enum class Choice { kReceiver, kFirst, kRandom };
  enum class BlindContext { kLocal, kNone };
  enum class Fanout { kAll, kQuorum };
  enum class ReadRepair { kNone, kBackground, kSync };

  /// A scheduled membership change: node `node` (index in the group) joins or leaves the
  /// ring at `at` (on each node's clock).
  struct MembershipChange {
    Duration at;
    uint32_t node = 0;
    bool add = true;
  };

  struct Config {
    int64_t n = 3;  ///< replicas per key (N=3, W=2, R=2: the usual example)
    int64_t w = 2;
    int64_t r = 2;
    /// The last k nodes of the group hold no data and stay off the ring: each coordinates
    /// every request it receives (a coordinator that is not a replica).
    int64_t coordinators = 0;
    int64_t vnodes = 150;         ///< tokens per node of weight 1 (the Interview Prep Guide's code)
    std::vector<double> weights;  ///< by node index; missing ones are 1
    uint64_t ring_seed = 0;
    int64_t initial_members = 0;  ///< the first k nodes form the ring; 0: all
    std::vector<MembershipChange> membership;
    Coordinator coordinator = Coordinator::kServer;
    Choice coordinator_choice = Choice::kReceiver;
    bool sloppy_quorum = true;
    Versioning versioning = Versioning::kVectorClock;
    BlindContext blind_write_context = BlindContext::kLocal;
    int64_t max_siblings = 100;
    Fanout write_fanout = Fanout::kAll;
    Fanout read_fanout = Fanout::kAll;
    Duration replica_timeout = ms(100);
    Duration suspect_for = seconds(1);
    int64_t max_rounds = 3;
    ReadRepair read_repair = ReadRepair::kBackground;
    Duration read_repair_wait = ms(100);
    bool hinted_handoff = true;
    Duration handoff_interval = seconds(1);
    int64_t handoff_batch = 100;
    Duration anti_entropy_interval = Duration::zero();  ///< 0: off
    int64_t merkle_ranges = 16;
    int64_t merkle_depth = 10;
    bool sync_writes = false;
    Duration sync_period = seconds(1);
    int64_t transfer_batch = 100;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Its sections of the HTML report: availability and convergence figures (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit QuorumStore(const Config& config) : config_(config), suspicions_(config.suspect_for) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;

  // Inspection (tests).
  const std::map<uint64_t, Siblings>& data() const { return data_; }
  const Siblings* versions(uint64_t key) const;
  size_t hints_pending() const { return hints_.size(); }
  const Ring& ring() const { return ring_; }

 private:
  /// The model's timers (kit::timer_tag), each carrying one value.
  enum class Timer : uint8_t {
    kOp = 1,            ///< an operation's round ended (value: the op id)
    kMaintenance = 2,   ///< handoff and transfer retries
    kAntiEntropy = 3,   ///< time to start an anti-entropy round
    kRoundTimeout = 4,  ///< the anti-entropy round went silent (value: the round id)
    kSync = 5,          ///< the periodic disk sync
    kMembership = 6,    ///< the next membership change is due (value: its index)
    kForward = 7,       ///< a forwarded request was not taken over (value: the forward id)
  };
  enum class Phase { kRead, kWrite, kRepair, kLinger };
  struct Target {
    NodeId node = kNoNode;
    NodeId hint = kNoNode;  ///< the home replica a stand-in keeps the write for
    bool replied = false;   ///< answered (read) or acknowledged (write, repair)
    bool stored = false;    ///< a write or repair ack that stored it
    bool asked = false;     ///< the phase's request was sent to it
    Siblings versions;      ///< read: what it returned
  };
  struct Op {
    NodeId client = kNoNode;
    kv::KvRequest req;
    std::vector<uint64_t> client_context;
    bool has_context = false;
    Phase phase = Phase::kRead;
    std::vector<Target> targets;
    uint32_t needed = 0;  ///< replies or acks that complete the phase
    uint32_t rounds = 0;
    Siblings merged;   ///< read: what the replies merged to
    Version written;   ///< write: the new version
    Siblings payload;  ///< write: what replicas are sent
    bool answered = false;
    bool any_stored = false;  ///< write: some replica (maybe) stored it
    bool substituted = false;
    kit::Timeout timer;  ///< the current round (or the background repair's wait)
  };
  /// A reply to an operation that was awaited: the op and the target that sent it.
  struct Awaited {
    Op* op = nullptr;
    Target* target = nullptr;
    explicit operator bool() const { return target != nullptr; }
  };
  struct Forward {
    NodeId client = kNoNode;
    kv::KvRequest req;
    std::vector<uint64_t> context;
    bool has_context = false;
    NodeId to = kNoNode;
    uint32_t tries = 0;
  };
  struct Batch {
    NodeId to = kNoNode;
    std::vector<uint64_t> keys;
    SimTime sent;
  };
  using Batches = std::map<uint64_t, Batch>;            // by batch id
  using Hints = std::set<std::pair<NodeId, uint64_t>>;  // (owner, key)
  struct AeRound {
    uint64_t id = 0;
    NodeId peer = kNoNode;
    uint32_t level = 0;
    kit::Timeout timeout;
    bool active = false;
  };
  struct PendingSend {
    NodeId to;
    Message msg;
  };

  // Start, dispatch and failure detection (store.cpp).
  void intern_metrics(Context& ctx);
  /// A new incarnation, and the data and hints the disk kept.
  void recover(Context& ctx);
  void start_timers(Context& ctx);
  bool healthy(Context& ctx, NodeId n) const;
  void suspect(Context& ctx, NodeId n);
  void heard_from(NodeId n);
  void update_levels(Context& ctx);

  // Ring and membership (membership.cpp).
  uint32_t index_of(NodeId id) const;
  NodeId node_of(uint32_t index) const { return group_[index]; }
  /// The nodes that may hold data: the group less its `coordinators`.
  uint32_t replica_count() const;
  Ring ring_for(size_t applied_events) const;
  /// The ring as of the changes due by now, and a timer for the next one.
  void join_ring(Context& ctx);
  void apply_membership(Context& ctx, size_t applied_events);
  void schedule_membership(Context& ctx, size_t next_event);
  std::vector<NodeId> home(uint64_t key) const;
  std::vector<NodeId> home(const Ring& ring, uint64_t key) const;
  bool is_home(uint64_t key) const;
  void send_transfers(Context& ctx, const Ring& old_ring);
  void send_transfer(Context& ctx, NodeId to, std::vector<uint64_t> keys);
  void resend_transfers(Context& ctx);
  void on_transfer_ack(Context& ctx, const QuorumTransferAck& ack);
  void release_if_unowned(Context& ctx, uint64_t key);

  // Client requests and coordination (coordinator.cpp).
  /// The replicas an operation on `key` goes to now (with stand-ins when sloppy).
  std::vector<Target> targets(Context& ctx, uint64_t key) const;
  /// How many healthy replicas an operation needs to be tried at all.
  size_t replicas_needed(kv::KvOpKind op) const;
  void on_client(Context& ctx, NodeId client, const kv::KvRequest& req,
                 const std::vector<uint64_t>* context, bool forwarded, uint32_t tries = 0);
  void forward(Context& ctx, NodeId client, const kv::KvRequest& req,
               const std::vector<uint64_t>* context, NodeId to, uint32_t tries);
  void forward_timeout(Context& ctx, uint64_t id);
  void coordinate(Context& ctx, NodeId client, const kv::KvRequest& req,
                  const std::vector<uint64_t>* context);
  /// The version a put writes, superseding what its context (or the local copy) names.
  Version put_version(Context& ctx, const Op& op);
  Version new_version(Context& ctx, uint64_t key, VClock past, kv::KvValue value,
                      const Siblings& seen);
  uint64_t actor_for(uint64_t key) const;
  /// Enters a read or write phase with the targets known now; fails the op (false) when
  /// fewer than `needed` are healthy.
  bool begin_phase(Context& ctx, uint64_t op_id, Phase phase, int64_t needed);
  /// The targets the first round of a phase asks: all, or a random quorum.
  std::vector<size_t> first_round(Context& ctx, const Op& op, Fanout fanout);
  void start_read(Context& ctx, uint64_t op_id);
  void start_write(Context& ctx, uint64_t op_id);
  /// What a write sends the replicas.
  Siblings write_payload(const Op& op) const;
  void start_sync_repair(Context& ctx, uint64_t op_id);
  /// Sends the phase's request to the targets at `which`, starts the round's timer, and
  /// lets the coordinator answer for itself when it is one of them.
  void ask(Context& ctx, uint64_t op_id, const std::vector<size_t>& which);
  void send_phase(Context& ctx, uint64_t op_id, Op& op, Target& t);
  void reply_locally(Context& ctx, uint64_t op_id);
  /// The target of `op_id` that a reply from `from` answers, when the op is in one of the
  /// phases and the target was asked and has not answered yet.
  Awaited awaited(uint64_t op_id, NodeId from, Phase a, Phase b);
  void on_read_reply(Context& ctx, uint64_t op_id, NodeId from, Siblings versions);
  /// A write or repair acknowledgement.
  void on_write_ack(Context& ctx, uint64_t op_id, NodeId from, bool stored);
  /// What the replies merge to.
  Siblings merged_replies(const Op& op) const;
  void read_done(Context& ctx, uint64_t op_id);
  void finish_get(Context& ctx, uint64_t op_id);
  void apply_append(Context& ctx, uint64_t op_id);
  void apply_cas(Context& ctx, uint64_t op_id);
  void op_timeout(Context& ctx, uint64_t op_id);
  /// The targets a new round asks: replicas not asked yet, then stand-ins.
  std::vector<size_t> next_round(Context& ctx, Op& op);
  void give_up(Context& ctx, uint64_t op_id);
  void fail(Context& ctx, uint64_t op_id);
  void answer(Context& ctx, Op& op, kv::KvStatus status);
  void answer_read(Context& ctx, Op& op);
  /// A read repair message, counted.
  QuorumRepair counted_repair(Context& ctx, uint64_t op_id, uint64_t key, const Siblings& versions);
  void finish_background_repair(Context& ctx, uint64_t op_id);
  void end_op(Context& ctx, uint64_t op_id);

  // Replica side (replica.cpp).
  void on_replica_message(Context& ctx, NodeId from, const Message& msg);
  void load_data(DurableStore& disk);
  /// Merges `incoming` into the key's versions; false when the disk refused the change.
  bool store(Context& ctx, uint64_t key, const Siblings& incoming, bool* changed = nullptr);
  /// Stores each entry; false when the disk refused any.
  bool store_all(Context& ctx, const std::vector<KeyVersions>& entries);
  /// Stores a write's versions, and a hint when this node stands in for `hint` (a replica
  /// sent the write, or the coordinator's own copy).
  bool store_own(Context& ctx, uint64_t key, const Siblings& versions, NodeId hint);
  /// Writes the key's versions to disk; false when the disk refused them.
  bool persist(Context& ctx, uint64_t key, const Siblings& versions);
  void drop_key(Context& ctx, uint64_t key);
  /// Sends `msg` to `to` now, or once the writes made so far are synced (sync_writes).
  void reply_durably(Context& ctx, NodeId to, Message msg);
  /// Delivers `msg` to `to`, this node included.
  void deliver(Context& ctx, NodeId to, Message msg);

  // Hinted handoff (handoff.cpp).
  void load_hints(DurableStore& disk);
  void add_hint(Context& ctx, NodeId owner, uint64_t key);
  /// The maintenance tick: gives up on silent handoff batches, resends unacknowledged
  /// transfers, and hands hints back.
  void maintenance_tick(Context& ctx);
  void give_up_handoffs(Context& ctx);
  void send_hints(Context& ctx);
  /// Sends one batch of the hints of the owner `from` points at (from there on); returns
  /// where the scan goes on.
  Hints::iterator send_hint_batch(Context& ctx, Hints::iterator from);
  void on_handoff_ack(Context& ctx, NodeId from, const QuorumHandoffAck& ack);
  /// Takes the batches unanswered for twice replica_timeout out of `batches`.
  std::vector<std::pair<uint64_t, Batch>> take_expired(Batches& batches, SimTime now) const;

  // Anti-entropy (anti_entropy.cpp).
  static MerkleLayout layout_for(const Config& config);
  /// Both this node and `peer` are replicas of `key`.
  bool shares(uint64_t key, NodeId peer) const;
  void anti_entropy_tick(Context& ctx);
  std::vector<MerkleTree> trees_with(NodeId peer) const;
  std::vector<KeyVersions> entries_in(
      NodeId peer, const std::vector<std::pair<uint32_t, uint64_t>>& leaves) const;
  void on_merkle_hashes(Context& ctx, NodeId from, const MerkleHashes& m);
  void on_merkle_diff(Context& ctx, NodeId from, const MerkleDiff& m);
  void descend(Context& ctx, NodeId from, const MerkleDiff& m);
  void on_merkle_sync(Context& ctx, NodeId from, const MerkleSync& m);
  void on_merkle_sync_reply(Context& ctx, NodeId from, const MerkleSyncReply& m);
  uint32_t merge_entries(Context& ctx, const std::vector<KeyVersions>& entries);
  void end_round(Context& ctx, bool completed);

  const Config& config_;
  MerkleLayout layout_;
  NodeId self_ = kNoNode;
  std::vector<NodeId> group_;
  bool data_less_ = false;  ///< one of the group's `coordinators`
  Ring ring_;
  size_t applied_events_ = 0;
  uint64_t incarnation_ = 0;

  std::map<uint64_t, Siblings> data_;
  // Per key this node has written: the actor epoch (bumped when the node drops the key)
  // and the last counter it gave a dot, so its dots are unique even when a version it
  // made was thrown away (LWW) before the next one.
  struct KeyActor {
    uint64_t epoch = 0;
    uint64_t last_counter = 0;
  };
  std::map<uint64_t, KeyActor> key_actor_;
  Hints hints_;
  kit::SuspicionList suspicions_;  // on this node's clock
  std::map<uint64_t, Op> ops_;
  uint64_t next_op_ = 1;
  std::map<uint64_t, Forward> forwards_;  // awaiting the coordinator's ack
  uint64_t next_forward_ = 1;
  Batches handoffs_;               // in flight
  Batches transfers_;              // in flight
  std::set<NodeId> handoff_busy_;  // owners with a batch in flight
  uint64_t next_batch_ = 1;
  kit::Timeout maintenance_;
  kit::Timeout anti_entropy_;
  AeRound round_;
  uint64_t next_round_ = 1;
  size_t next_peer_ = 0;
  kit::Timeout sync_;
  std::map<uint64_t, std::vector<PendingSend>> after_sync_;  // by DiskOpId.seq
  bool unsynced_ = false;

  Symbol m_gets_, m_puts_, m_appends_, m_cas_, m_forwarded_, m_redirected_, m_unavailable_,
      m_indeterminate_, m_sloppy_, m_hints_stored_, m_hints_replayed_, m_read_repairs_,
      m_read_repair_bytes_, m_reads_ok_, m_read_siblings_, m_reads_with_siblings_, m_lww_discarded_,
      m_siblings_capped_, m_ae_rounds_, m_merkle_hash_bytes_, m_merkle_repair_bytes_,
      m_merkle_keys_repaired_, m_membership_changes_, m_keys_moved_, m_transfer_bytes_,
      m_suspicions_, m_disk_refused_, m_duplicate_appends_skipped_, m_cas_mismatch_,
      m_hints_pending_, m_keys_stored_;
};

}  // namespace dsim::quorum
