// `primary_backup`: single-leader (primary-backup, master-slave) replication of the
// key-value contract, sharded, with failover decided by a group of monitors (monitor.h).
//
// Each shard (layout.h) has one primary and `backups` backups. Writes go to the primary
// (a write sent elsewhere is answered "not leader, try <primary>"); the primary applies
// it (KvStateMachine: idempotency keys honoured), appends it to the shard's log and ships
// the log to the backups, which acknowledge what they received and apply it after
// `apply_delay` (single-leader replication as the Modern System Design - Interview Prep
// Guide describes it: "Replication log", "Replication lag"). The primary
// answers the client:
//   async      at once ("Primary responds immediately, replicas updated in background",
//              the same guide);
//   semi_sync  once one in-sync backup has the entry;
//   sync       once every in-sync backup has it (sync = durable, slower, less available).
// Entries are shipped at once or every `batch_interval` (the guide's "Async replication
// (every 1 second)"), so replication lag is visible and tunable.
//
// The in-sync set (ISR) of a shard is part of its configuration, which only the monitors
// change: the primary asks them to remove a backup whose acknowledgements lag more than
// `lag_timeout`, and to add one that caught up — and keeps waiting for a backup until a
// configuration without it arrives, and waits for a caught-up one before asking to add
// it, so every in-sync backup holds every write acknowledged under sync replication
// (Kafka's ISR). A failover promotes the most up-to-date in-sync backup (monitor.h).
//
// Reads: from the primary only (`read_from: primary`), from whichever replica the client
// asked (`any`: backups answer from their possibly stale copy), or from backups
// (`backups`: the primary sends reads on to a backup). Read-your-writes by session
// (`read_your_writes`): `window` is the guide's rule, "after write, read from PRIMARY for 1
// second, then switch to REPLICA" — a backup sends a session's read to
// the primary when the session wrote less than `ryw_window` ago; `token` gives a session
// token (contract.h): the stamp of what the session wrote or read, and a backup serves a
// read only once its applied copy covers the token (also giving monotonic reads). Under
// sync and semi-sync the primary does not show a write before it is acknowledged: a read
// of a key with a write still waiting for backups waits for it.
//
// Fencing (`fencing: epoch`): every configuration has an epoch; before promoting, the
// monitors fence the in-sync backups with the new epoch, after which they refuse the old
// primary's log; a primary refused that way learns it was deposed and stops serving.
// Without fencing (`none`) a primary cut off from the monitors keeps accepting writes
// from the clients it still reaches, and backups on its side keep following it: split
// brain, whose writes are discarded when it rejoins (counted in `acked_writes_discarded`).
//
// State is in memory: a crashed replica loses its copies and restarts `recovering`,
// resynchronising each shard from its primary (from the backlog, else a snapshot) before
// it counts as a copy again. Only a marker on disk tells a restart from the first start.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "models/kv/state_machine.h"
#include "models/primary_backup/layout.h"
#include "models/primary_backup/messages.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"

namespace dsim::pb {

class PrimaryBackup final : public Model {
 public:
  static constexpr std::string_view kName = "primary_backup";
  static constexpr std::string_view kDescription =
      "sharded primary-backup (master-slave) replication of the kv contract: async, "
      "semi-sync or sync; reads from the primary, any replica or backups; read-your-writes "
      "by session (time window or token); failover by a pb_monitor group with optional "
      "epoch fencing";
  /// What role() reports, for fault targets.
  static constexpr std::string_view kRoles[] = {"primary", "backup", "recovering"};

  enum class OnAckTimeout : uint8_t { kIndeterminate, kAsync };

  struct Config {
    std::string monitors;  ///< the pb_monitor group ("" : none, no failover)
    int64_t shards = 1;
    int64_t backups = 2;
    Sharding sharding = Sharding::kHashSlots;
    Replication replication = Replication::kAsync;
    Duration batch_interval = Duration::zero();
    Distribution apply_delay = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
    Duration ack_timeout = seconds(1);
    OnAckTimeout on_ack_timeout = OnAckTimeout::kIndeterminate;
    int64_t min_in_sync = 0;
    Duration lag_timeout = seconds(10);
    Duration replication_heartbeat = ms(100);
    ReadFrom read_from = ReadFrom::kPrimary;
    SessionReads read_your_writes = SessionReads::kNone;
    Duration ryw_window = seconds(1);
    Fencing fencing = Fencing::kEpoch;
    int64_t backlog = 100000;
    kv::KvStateMachine::Config state;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Its sections of the HTML report: replication lag and refusals (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit PrimaryBackup(const Config& config)
      : config_(config), tick_(kit::timer_tag(Timer::kTick), config.replication_heartbeat) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;
  /// "primary" when it is the primary of some shard, else "backup" (or "recovering").
  std::string_view role() const override;

  // --- inspection (tests) ---
  struct ShardView {
    Role role;
    ShardConfig config;
    LogPos received;
    uint64_t applied = 0;
    uint64_t commit = 0;
    uint64_t fenced = 0;
    EpochHistory history;
    const kv::KvStateMachine* state;
  };
  /// What this node holds of `shard` (nullopt when it is not a replica of it).
  std::optional<ShardView> view(uint32_t shard) const;
  /// The log entries this node acknowledged to clients as primary that are still in its
  /// backlog (index, epoch, the write), oldest first.
  struct Acked {
    uint64_t index;
    uint64_t epoch;
    kv::KvRequest write;
  };
  std::vector<Acked> acknowledged(uint32_t shard) const;
  const Layout& layout() const { return layout_; }

 private:
  /// One timer kind per concern (kit/timer.h): the replication heartbeat, a shard's batch
  /// to ship, a backup's batch to apply, a request's wait for the commit index.
  enum class Timer : uint8_t { kTick = 1, kShip = 2, kApply = 3, kWaitTimeout = 4 };

  struct Progress {      // the primary's view of one backup
    uint64_t acked = 0;  // its last entry, when it is a prefix of ours
    uint64_t next = 1;   // next index to send
    int64_t closed = 0;  // its applied closed stamp, as last reported
    SimTime last_ack;    // our clock
    SimTime last_sent;
    bool known = false;  // acked since we became primary: its log is a prefix of ours
    bool snapshot_sent = false;
  };
  /// What a request waiting for the commit index to reach `index` gets then.
  enum class Wait : uint8_t {
    kAck,    // a write: acknowledged once its entry is committed
    kRead,   // a read of a key whose newest write was not yet committed: answered
    kReply,  // a retried write answered from the idempotency table: the stored answer
    kRetry,  // a compare-and-set on a key with an uncommitted write: applied then
  };
  struct Waiter {
    uint32_t shard;
    NodeId client;
    kv::KvRequest req;
    uint64_t index;
    TimerId timer;
    Wait kind;
    kv::KvResponse reply;  // kReply
  };
  struct ApplyStep {
    uint64_t up_to;
    int64_t closed;
  };
  struct Shard {
    Role role = Role::kBackup;
    uint64_t fenced = 0;         // highest epoch a monitor fenced us with
    uint32_t leader = kNoIndex;  // the primary whose log we follow, when newer than
    uint64_t leader_epoch = 0;   //   our configuration (we heard from it first)
    kv::KvStateMachine sm;
    LogPos received;  // last entry in our log
    uint64_t applied = 0;
    int64_t closed = 0;  // every entry stamped <= this is applied here
    EpochHistory history;
    std::deque<Entry> backlog;  // the newest entries of our log
    std::deque<ApplyStep> to_apply;
    uint64_t apply_gen = 0;  // bumped when to_apply is cleared (stale apply timers)
    SimTime last_apply_due;
    uint64_t known_commit = 0;                          // the primary's commit index, as last told
    std::unordered_map<uint64_t, uint64_t> idem_index;  // idempotency key -> entry; lookups only
    std::deque<std::pair<uint64_t, uint64_t>> idem_fifo;  // (index, idempotency key)
    // As primary:
    uint64_t commit = 0;
    uint64_t shipped = 0;   // entries released to the backups (batching)
    kit::Timeout ship;      // batch_interval: releases the entries appended since
    bool degraded = false;  // on_ack_timeout: async fallback until the backups catch up
    bool served = false;    // acknowledged a write since its promotion
    std::map<uint32_t, Progress> progress;     // by backup index
    std::map<uint32_t, uint64_t> adding;       // caught-up backup -> config epoch when added
    std::map<uint64_t, SimTime> appended;      // uncommitted entry -> when appended (our clock)
    std::map<uint64_t, uint64_t> key_pending;  // key -> newest uncommitted entry of it
    std::deque<std::pair<uint64_t, uint64_t>> key_fifo;  // (entry, key), uncommitted
    std::deque<std::pair<uint64_t, uint64_t>> acked;     // (entry, epoch) answered ok
    std::multimap<uint64_t, uint64_t> waits;             // commit index awaited -> waiter id
    uint32_t isr_request_rr = 0;
    uint32_t read_rr = 0;
  };

  // Start (replica.cpp).
  void start_group(Context& ctx);
  void intern_metrics(Context& ctx);
  void start_shards(Context& ctx);
  void on_tick(Context& ctx);
  // Client requests and writes at the primary (replica_requests.cpp).
  void handle_request(Context& ctx, NodeId client, const kv::KvRequest& req);
  void handle_write(Context& ctx, uint32_t s, Shard& sh, NodeId client, const kv::KvRequest& req);
  /// A write the state machine took without a new entry (an idempotent retry, a failed
  /// compare-and-set): answered now, or once the log it may be in is committed.
  void answer_without_entry(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                            const kv::KvRequest& req, kv::KvResponse resp, bool placed,
                            bool deduplicated);
  void redirect(Context& ctx, NodeId client, const kv::KvRequest& req, uint32_t to_index);
  // Waiters: requests waiting for the commit index (replica_requests.cpp).
  void add_waiter(Context& ctx, uint32_t s, Shard& sh, NodeId client, const kv::KvRequest& req,
                  uint64_t index, Wait kind, kv::KvResponse reply = {});
  void release_waiters(Context& ctx, uint32_t s, Shard& sh);
  void fail_waiters(Context& ctx, Shard& sh);
  void waiter_timeout(Context& ctx, uint64_t id);
  void acknowledge(Context& ctx, uint32_t s, Shard& sh, NodeId client, const kv::KvRequest& req,
                   uint64_t index);
  // Reads and sessions (replica_reads.cpp).
  void handle_read(Context& ctx, uint32_t s, Shard& sh, NodeId client, const kv::KvRequest& req);
  void read_at_primary(Context& ctx, uint32_t s, Shard& sh, NodeId client, const kv::KvRequest& req,
                       bool in_window);
  /// read_from: backups: an in-sync backup whose copy covers the session's token, taken in
  /// turn (kNoIndex: none).
  uint32_t backup_for_read(uint32_t s, Shard& sh, int64_t token);
  void answer_read(Context& ctx, Shard& sh, NodeId client, const kv::KvRequest& req);
  int64_t stamp_at(const Shard& sh, uint64_t index) const;
  // The primary's log, replication and the commit bound (replica_replication.cpp).
  int64_t next_stamp(Context& ctx);
  void append(Context& ctx, uint32_t s, Shard& sh, const kv::KvRequest& req, NodeId client);
  /// What the primary of shard s sends a backup (Replicate, Snapshot) starts with: the
  /// shard, its epoch and its commit index.
  template <class M>
  M from_primary(uint32_t s, const Shard& sh) const {
    M m;
    m.shard = s;
    m.epoch = configs_[s].epoch;
    m.commit = sh.commit;
    return m;
  }
  void ship(Context& ctx, uint32_t s, Shard& sh, uint32_t backup);
  void ship_all(Context& ctx, uint32_t s, Shard& sh);
  void ship_batch(Context& ctx, uint32_t s, TimerId id);
  void handle_ack(Context& ctx, uint32_t from, const ReplicateAck& ack);
  /// A backup whose position we did not know, or that missed entries, and whose log is a
  /// prefix of ours: shipping resumes from its position. False when the backlog does not
  /// reach back that far (it gets a snapshot instead).
  bool resume_backup(Context& ctx, uint32_t s, Shard& sh, uint32_t from, Progress& p,
                     const ReplicateAck& ack);
  /// No snapshot on its way to this backup, or the last one is lag_timeout old.
  bool snapshot_due(Context& ctx, const Progress& p) const;
  void advance_commit(Context& ctx, uint32_t s, Shard& sh);
  /// Every backup the primary waits for holds its whole log (ends the async fallback).
  bool backups_caught_up(const Shard& sh, uint32_t s) const;
  std::vector<uint32_t> waiting_on(const Shard& sh, uint32_t s) const;
  /// The highest entry the acknowledgements let the primary commit, leaving out backup
  /// `without` (kNoIndex: none).
  uint64_t ack_bound(const Shard& sh, uint32_t s, uint32_t without) const;
  uint32_t live_in_sync(Context& ctx, const Shard& sh, uint32_t s) const;
  void tick_primary(Context& ctx, uint32_t s, Shard& sh);
  void push_entry(Shard& sh, Entry e);
  const Entry* entry_at(const Shard& sh, uint64_t index) const;
  bool in_log(const Shard& sh, const LogPos& pos) const;
  uint64_t backlog_front(const Shard& sh) const;
  // Following a primary (replica_backup.cpp).
  void handle_replicate(Context& ctx, uint32_t from, const Replicate& m);
  bool refuse_old_epoch(Context& ctx, uint32_t from, uint32_t s, Shard& sh, uint64_t epoch);
  void follow(Context& ctx, Shard& sh, uint32_t primary, uint64_t epoch);
  /// The primary this node believes in for shard s, and its epoch: the newer of the
  /// configuration and the primary it follows.
  std::pair<uint32_t, uint64_t> primary_of(uint32_t s) const;
  bool accept_sender(Context& ctx, uint32_t from, uint32_t s, Shard& sh, uint64_t epoch);
  void schedule_apply(Context& ctx, uint32_t s, Shard& sh, int64_t closed);
  void apply_due(Context& ctx, uint64_t timer_value);
  void apply_up_to(Context& ctx, Shard& sh, uint64_t up_to, int64_t closed);
  /// What this node holds of shard s (its last entry, its applied closed stamp), as an
  /// acknowledgement to the primary.
  static ReplicateAck ack_of(uint32_t s, const Shard& sh);
  void send_ack(Context& ctx, uint32_t s, const Shard& sh, NodeId to, bool mismatch);
  // Configuration, epochs, fencing and failover (replica_config.cpp).
  void handle_config(Context& ctx, uint32_t s, const ShardConfig& c);
  void handle_fence(Context& ctx, NodeId from, const Fence& f);
  /// A backup refused our log: it knows a newer epoch.
  void handle_refusal(Context& ctx, uint32_t s, Shard& sh, const ReplicateAck& ack);
  void send_pong(Context& ctx, NodeId to, uint64_t seq);
  void request_isr_change(Context& ctx, uint32_t s, Shard& sh);
  void send_to_monitor(Context& ctx, Shard& sh, Message msg);
  void promote(Context& ctx, uint32_t s, Shard& sh, bool failover);
  void step_down(Context& ctx, Shard& sh, Role to);
  /// A primary, or a deposed one, that learns of another primary becomes a backup.
  void become_backup(Context& ctx, Shard& sh);
  /// Forgets what only a primary tracks (its backups' progress, uncommitted entries).
  static void clear_primary_state(Shard& sh);
  // Restart and resynchronisation (replica_resync.cpp).
  static bool mark_started(Context& ctx);
  void send_snapshot(Context& ctx, uint32_t s, Shard& sh, uint32_t backup);
  void handle_snapshot(Context& ctx, uint32_t from, const Snapshot& m);
  void count_discarded(Context& ctx, Shard& sh, const Snapshot& m);

  NodeId node(uint32_t index) const { return replicas_[index]; }
  uint32_t index_of(NodeId n) const { return index_in(replicas_, n); }
  Shard* held(uint32_t s);
  void count(Context& ctx, Symbol m, int64_t d = 1) { ctx.record().count(m, d); }

  const Config& config_;
  Layout layout_;
  std::vector<NodeId> replicas_;
  std::vector<NodeId> monitors_;
  uint32_t me_ = 0;
  kit::Timeout tick_;                   // replication_heartbeat: resends, in-sync requests
  std::vector<ShardConfig> configs_;    // every shard's newest known configuration
  std::map<uint32_t, Shard> shards_;    // the shards this node holds
  std::map<uint64_t, Waiter> waiters_;  // by waiter id
  uint64_t next_waiter_ = 1;
  int64_t hlc_ = 0;
  bool restarted_ = false;

  Symbol m_writes_, m_acked_, m_discarded_, m_acked_discarded_, m_reads_primary_, m_reads_backup_,
      m_ryw_redirects_, m_redirects_, m_refused_in_sync_, m_ack_timeouts_, m_fence_refusals_,
      m_ignored_, m_promotions_, m_demotions_, m_snapshots_, m_snapshot_bytes_, m_catchups_,
      m_batches_, m_dups_, m_dedup_, m_lag_, m_ack_time_, m_commit_wait_, m_lag_entries_,
      m_read_waits_;
};

}  // namespace dsim::pb
