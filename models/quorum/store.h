// `quorum`: a Dynamo-style leaderless replicated key-value store (DeCandia et al.,
// "Dynamo: Amazon's Highly Available Key-value Store", SOSP 2007; the seeds' key-value
// store chapter, [003]:433-598 and [002]:644-878; see README "quorum").
//
// Every node of the group is a replica and a possible coordinator. A key's preference
// list is the first N nodes clockwise from it on a consistent-hashing ring with virtual
// nodes (ring.h). A client's request reaches any node; the coordinator — a node of the
// preference list, chosen server-side (the receiving node forwards) or client-side (the
// receiving node redirects the client, which learns where to go) — sends the write to
// the N replicas and answers after W acknowledgements, or asks them for the key and
// answers after R replies, merging what they returned (versions.h: vector clocks with
// siblings, or last-write-wins by the coordinator's wall clock).
//
// Failures: a replica that does not answer within `replica_timeout` is suspected for
// `suspect_for` (Dynamo 4.8.3: local failure detection). A strict quorum then fails the
// operation; a sloppy quorum ("the first W healthy servers for writes and first R
// healthy servers for reads on the hash ring", [003]:563-566) sends it on to the next
// healthy nodes clockwise, and a stand-in keeps the write with a hint naming the node it
// stands in for, on its disk, and hands it back when that node answers again (hinted
// handoff, [003]:435-438, 568-569). Divergence is repaired by read repair (Dynamo 5: the
// seeds do not describe it) in the background or before answering, and by anti-entropy:
// replicas compare Merkle trees per key range and exchange only the keys of differing
// leaves ([002]:751-876; merkle.h). Membership changes at scheduled times move the keys
// whose preference lists change to their new replicas.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/kit/ring.h"
#include "models/kv/contract.h"
#include "models/quorum/merkle.h"
#include "models/quorum/messages.h"
#include "models/quorum/versions.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

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
    int64_t n = 3;  ///< replicas per key ([004]:171-174, [002]:4978-4980: N=3, W=2, R=2)
    int64_t w = 2;
    int64_t r = 2;
    int64_t vnodes = 150;         ///< tokens per node of weight 1 ([002]:8968, 710-715)
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

  explicit QuorumStore(const Config& config) : config_(config) {}

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
    TimerId timer;
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
  struct AeRound {
    uint64_t id = 0;
    NodeId peer = kNoNode;
    uint32_t level = 0;
    TimerId timer;
    bool active = false;
  };
  struct PendingSend {
    NodeId to;
    Message msg;
  };

  // Ring and membership.
  uint32_t index_of(NodeId id) const;
  NodeId node_of(uint32_t index) const { return group_[index]; }
  Ring ring_for(size_t applied_events) const;
  void apply_membership(Context& ctx, size_t applied_events);
  std::vector<NodeId> home(uint64_t key) const;
  std::vector<NodeId> home(const Ring& ring, uint64_t key) const;
  bool is_home(uint64_t key) const;
  /// The replicas an operation on `key` goes to now (with stand-ins when sloppy).
  std::vector<Target> targets(Context& ctx, uint64_t key) const;
  bool healthy(Context& ctx, NodeId n) const;
  void suspect(Context& ctx, NodeId n);
  void heard_from(NodeId n);

  // Client requests and coordination.
  void on_client(Context& ctx, NodeId client, const kv::KvRequest& req,
                 const std::vector<uint64_t>* context, bool forwarded, uint32_t tries = 0);
  void forward_timeout(Context& ctx, uint64_t id);
  void coordinate(Context& ctx, NodeId client, const kv::KvRequest& req,
                  const std::vector<uint64_t>* context);
  void start_read(Context& ctx, uint64_t op_id);
  void start_write(Context& ctx, uint64_t op_id);
  void start_sync_repair(Context& ctx, uint64_t op_id);
  void send_phase(Context& ctx, uint64_t op_id, Target& t);
  void on_read_reply(Context& ctx, uint64_t op_id, NodeId from, Siblings versions);
  void on_write_ack(Context& ctx, uint64_t op_id, NodeId from, bool stored);
  void read_done(Context& ctx, uint64_t op_id);
  void op_timeout(Context& ctx, uint64_t op_id);
  void answer(Context& ctx, Op& op, kv::KvStatus status);
  void answer_read(Context& ctx, Op& op);
  void finish_background_repair(Context& ctx, uint64_t op_id);
  void fail(Context& ctx, uint64_t op_id);
  void end_op(Context& ctx, uint64_t op_id);
  Version new_version(Context& ctx, uint64_t key, VClock past, kv::KvValue value,
                      const Siblings& seen);
  /// Stores the coordinator's own copy of a write (with a hint when it stands in).
  bool store_own(Context& ctx, uint64_t key, const Siblings& versions, NodeId hint);
  uint64_t actor_for(uint64_t key) const;

  // Replica side.
  /// Merges `incoming` into the key's versions; false when the disk refused the change.
  bool store(Context& ctx, uint64_t key, const Siblings& incoming, bool* changed = nullptr);
  void persist(Context& ctx, uint64_t key);
  void drop_key(Context& ctx, uint64_t key);
  void add_hint(Context& ctx, NodeId owner, uint64_t key);
  /// Sends `msg` to `to` now, or once the writes made so far are synced (sync_writes).
  void reply_durably(Context& ctx, NodeId to, Message msg);

  // Background work.
  void handoff_tick(Context& ctx);
  void on_handoff_ack(Context& ctx, NodeId from, const QuorumHandoffAck& ack);
  void send_transfers(Context& ctx, const Ring& old_ring);
  void on_transfer_ack(Context& ctx, const QuorumTransferAck& ack);
  void release_if_unowned(Context& ctx, uint64_t key);
  void anti_entropy_tick(Context& ctx);
  std::vector<MerkleTree> trees_with(NodeId peer) const;
  std::vector<KeyVersions> entries_in(
      NodeId peer, const std::vector<std::pair<uint32_t, uint64_t>>& leaves) const;
  void on_merkle_hashes(Context& ctx, NodeId from, const MerkleHashes& m);
  void on_merkle_diff(Context& ctx, NodeId from, const MerkleDiff& m);
  void on_merkle_sync(Context& ctx, NodeId from, const MerkleSync& m);
  void on_merkle_sync_reply(Context& ctx, NodeId from, const MerkleSyncReply& m);
  uint32_t merge_entries(Context& ctx, const std::vector<KeyVersions>& entries);
  void end_round(Context& ctx, bool completed);
  void update_levels(Context& ctx);

  const Config& config_;
  MerkleLayout layout_;
  NodeId self_ = kNoNode;
  std::string group_name_;
  std::vector<NodeId> group_;
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
  std::set<std::pair<NodeId, uint64_t>> hints_;  // (owner, key)
  std::map<NodeId, SimTime> suspected_until_;    // on this node's clock
  std::map<uint64_t, Op> ops_;
  uint64_t next_op_ = 1;
  std::map<uint64_t, Forward> forwards_;  // awaiting the coordinator's ack
  uint64_t next_forward_ = 1;
  std::map<uint64_t, Batch> handoffs_;   // in flight, by batch id
  std::map<uint64_t, Batch> transfers_;  // in flight, by batch id
  std::set<NodeId> handoff_busy_;        // owners with a batch in flight
  uint64_t next_batch_ = 1;
  AeRound round_;
  uint64_t next_round_ = 1;
  size_t next_peer_ = 0;
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
