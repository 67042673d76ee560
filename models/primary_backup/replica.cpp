// The primary_backup replica's parameters, start, dispatch of messages and timers, its
// invariants and what tests inspect. The protocol itself is in the replica_*.cpp files:
// client requests (replica_requests.cpp), reads and sessions (replica_reads.cpp), the
// primary's log and replication (replica_replication.cpp), the backup side
// (replica_backup.cpp), configurations and failover (replica_config.cpp), and restart
// and resynchronisation (replica_resync.cpp).
#include "models/primary_backup/replica.h"

#include <algorithm>
#include <string>

#include "models/primary_backup/monitor.h"
#include "sim/core/assert.h"

namespace dsim::pb {

// ---------------------------------------------------------------------------------------
// Parameters

namespace {

using Config = PrimaryBackup::Config;

void check_monitors(ParamReader& r, const std::string& monitors) {
  if (monitors.empty() || r.doc_mode()) return;
  const auto& names = r.env().group_names;
  if (std::find(names.begin(), names.end(), monitors) == names.end()) {
    r.error("monitors", "no group named '" + monitors + "'");
  } else if (const std::string_view m = r.env().model_of(monitors);
             !m.empty() && m != Monitor::kName) {
    r.error("monitors", "group '" + monitors + "' runs " + std::string(m) + ", not " +
                            std::string(Monitor::kName));
  }
}

// Monitors, shards, backups and sharding.
void parse_placement(ParamReader& r, Config& c) {
  c.monitors = r.text("monitors", "",
                      "the pb_monitor group that watches these replicas and decides failovers "
                      "(empty: no automatic failover)");
  check_monitors(r, c.monitors);
  c.shards =
      r.integer("shards", c.shards, "number of shards the keys are divided into", 1, 1'000'000);
  c.backups = r.integer("backups", c.backups,
                        "backups per shard (each shard has backups + 1 copies; at most count - 1)",
                        0, 1000);
  if (r.env().group_count > 0 && c.backups + 1 > static_cast<int64_t>(r.env().group_count)) {
    r.error("backups", "a shard has backups + 1 = " + std::to_string(c.backups + 1) +
                           " copies on distinct nodes, but the group has only " +
                           std::to_string(r.env().group_count) +
                           (r.env().group_count == 1 ? " node" : " nodes"));
  }
  c.sharding = r.choice("sharding", c.sharding,
                        {{"hash_slots", Sharding::kHashSlots}, {"modulo", Sharding::kModulo}},
                        "hash_slots: CRC16 of the key's decimal text mod 16384 slots, dealt to "
                        "shards in contiguous ranges (Redis Cluster); modulo: key mod shards");
}

// When the primary answers, how it ships, and when a backup counts as lagging.
void parse_replication(ParamReader& r, Config& c) {
  c.replication = r.choice("replication", c.replication,
                           {{"async", Replication::kAsync},
                            {"semi_sync", Replication::kSemiSync},
                            {"sync", Replication::kSync}},
                           "when the primary answers a write: at once (async), once one in-sync "
                           "backup has it (semi_sync), or once every in-sync backup has it (sync)");
  c.batch_interval = r.duration("batch_interval", c.batch_interval,
                                "the primary ships new log entries every this long (0: each "
                                "write at once)");
  c.apply_delay = r.distribution("apply_delay", c.apply_delay,
                                 "a backup applies what it received this long after it arrived "
                                 "(in order); reads at backups lag by it");
  c.ack_timeout = r.duration("ack_timeout", c.ack_timeout,
                             "semi_sync/sync: how long a write waits for backups before "
                             "on_ack_timeout; also how long a read waits for a key's pending "
                             "write");
  c.on_ack_timeout =
      r.choice("on_ack_timeout", c.on_ack_timeout,
               {{"indeterminate", PrimaryBackup::OnAckTimeout::kIndeterminate},
                {"async", PrimaryBackup::OnAckTimeout::kAsync}},
               "indeterminate: answer the write 'indeterminate'; async: answer ok anyway and "
               "stop waiting until the backups catch up (MySQL's semi-sync fallback)");
  c.min_in_sync = r.integer("min_in_sync", c.min_in_sync,
                            "refuse writes (unavailable) while fewer in-sync backups answered "
                            "within lag_timeout (Redis min-replicas-to-write)",
                            0, 1000);
  c.lag_timeout = r.duration("lag_timeout", c.lag_timeout,
                             "a backup silent for this long is out of sync: the primary asks "
                             "the monitors to remove it (Kafka replica.lag.time.max.ms)");
  c.replication_heartbeat =
      r.duration("replication_heartbeat", c.replication_heartbeat,
                 "an idle primary sends each backup an empty batch this often; lost batches "
                 "are resent after it");
}

// Who serves reads, and the sessions' read-your-writes rule.
void parse_reads(ParamReader& r, Config& c) {
  c.read_from = r.choice(
      "read_from", c.read_from,
      {{"primary", ReadFrom::kPrimary}, {"any", ReadFrom::kAny}, {"backups", ReadFrom::kBackups}},
      "who serves reads: the primary only; whichever replica the client "
      "asked; or backups (the primary sends reads on to an in-sync backup)");
  c.read_your_writes =
      r.choice("read_your_writes", c.read_your_writes,
               {{"none", SessionReads::kNone},
                {"window", SessionReads::kWindow},
                {"token", SessionReads::kToken}},
               "session reads from backups: none; window: a session's reads go to the primary for "
               "ryw_window after it wrote; token: a backup serves a read only once "
               "it has applied what the session saw");
  c.ryw_window = r.duration("ryw_window", c.ryw_window,
                            "window: how long after a write its session reads from the primary");
}

void validate(ParamReader& r, const Config& c) {
  if (c.ack_timeout <= Duration::zero()) r.error("ack_timeout", "must be > 0");
  if (c.lag_timeout <= Duration::zero()) r.error("lag_timeout", "must be > 0");
  if (c.replication_heartbeat <= Duration::zero()) r.error("replication_heartbeat", "must be > 0");
  if (c.min_in_sync > c.backups) {
    r.error("min_in_sync", "cannot exceed backups (" + std::to_string(c.backups) + ")");
  }
}

}  // namespace

PrimaryBackup::Config PrimaryBackup::parse(ParamReader& r) {
  Config c;
  parse_placement(r, c);
  parse_replication(r, c);
  parse_reads(r, c);
  c.fencing = r.choice("fencing", c.fencing, {{"none", Fencing::kNone}, {"epoch", Fencing::kEpoch}},
                       "epoch: a failover fences the backups with a new epoch, so a deposed "
                       "primary is refused and steps down; none: it keeps serving (split brain)");
  c.backlog = r.integer("backlog", c.backlog,
                        "log entries kept to catch a backup up; one further behind gets a "
                        "snapshot (Redis repl-backlog)",
                        1, 1'000'000'000);
  kv::read_state_machine_params(r, c.state);
  validate(r, c);
  return c;
}

// ---------------------------------------------------------------------------------------
// Start, dispatch, timers

void PrimaryBackup::on_start(Context& ctx) {
  start_group(ctx);
  intern_metrics(ctx);
  restarted_ = mark_started(ctx);
  start_shards(ctx);
  tick_.start(ctx);
}

// The replica group, the monitors and the layout every replica of the group shares.
void PrimaryBackup::start_group(Context& ctx) {
  const auto group = ctx.group_nodes(ctx.group_name());
  replicas_.assign(group.begin(), group.end());
  if (replicas_.empty()) replicas_.push_back(ctx.self());
  me_ = index_of(ctx.self());
  if (!config_.monitors.empty()) {
    const auto mons = ctx.group_nodes(config_.monitors);
    monitors_.assign(mons.begin(), mons.end());
  }
  layout_.nodes = static_cast<uint32_t>(replicas_.size());
  layout_.shards = static_cast<uint32_t>(config_.shards);
  layout_.backups = std::min<uint32_t>(static_cast<uint32_t>(config_.backups), layout_.nodes - 1);
  layout_.sharding = config_.sharding;
  layout_.replication = config_.replication;
  layout_.fencing = config_.fencing;
  layout_.min_in_sync = static_cast<uint32_t>(config_.min_in_sync);
}

void PrimaryBackup::declare(const Config&, MetricDecls& d) {
  for (const char* c : {"writes",
                        "writes_acknowledged",
                        "writes_discarded",
                        "acked_writes_discarded",
                        "reads_primary",
                        "reads_backup",
                        "ryw_redirects",
                        "redirects",
                        "writes_refused",
                        "ack_timeouts",
                        "fence_refusals",
                        "stale_primary_ignored",
                        "promotions",
                        "demotions",
                        "snapshots",
                        "snapshot_bytes",
                        "catch_ups",
                        "replication_messages",
                        "duplicate_applications",
                        "deduplicated_writes",
                        "read_waits"})
    d.counter(c);
  for (const char* t : {"replication_lag", "replication_ack", "commit_wait"})
    d.timing(t);
  d.level("lag_entries");
}

void PrimaryBackup::intern_metrics(Context& ctx) {
  m_writes_ = ctx.intern("writes");
  m_acked_ = ctx.intern("writes_acknowledged");
  m_discarded_ = ctx.intern("writes_discarded");
  m_acked_discarded_ = ctx.intern("acked_writes_discarded");
  m_reads_primary_ = ctx.intern("reads_primary");
  m_reads_backup_ = ctx.intern("reads_backup");
  m_ryw_redirects_ = ctx.intern("ryw_redirects");
  m_redirects_ = ctx.intern("redirects");
  m_refused_in_sync_ = ctx.intern("writes_refused");
  m_ack_timeouts_ = ctx.intern("ack_timeouts");
  m_fence_refusals_ = ctx.intern("fence_refusals");
  m_ignored_ = ctx.intern("stale_primary_ignored");
  m_promotions_ = ctx.intern("promotions");
  m_demotions_ = ctx.intern("demotions");
  m_snapshots_ = ctx.intern("snapshots");
  m_snapshot_bytes_ = ctx.intern("snapshot_bytes");
  m_catchups_ = ctx.intern("catch_ups");
  m_batches_ = ctx.intern("replication_messages");
  m_dups_ = ctx.intern("duplicate_applications");
  m_dedup_ = ctx.intern("deduplicated_writes");
  m_read_waits_ = ctx.intern("read_waits");
  m_lag_ = ctx.intern("replication_lag");
  m_ack_time_ = ctx.intern("replication_ack");
  m_commit_wait_ = ctx.intern("commit_wait");
  m_lag_entries_ = ctx.intern("lag_entries");
}

// Every shard's initial configuration (unknown after a restart: the monitors resend it),
// and this node's copies: empty at the first start, the initial primaries promoted; to be
// resynchronised after a restart.
void PrimaryBackup::start_shards(Context& ctx) {
  configs_.assign(layout_.shards, ShardConfig{});
  for (uint32_t s = 0; s < layout_.shards; ++s) {
    if (!restarted_) configs_[s] = initial_config(layout_, s);
    if (!layout_.holds(me_, s)) continue;
    Shard& sh = shards_[s];
    sh.sm = kv::KvStateMachine(config_.state);
    sh.ship = kit::Timeout(kit::timer_tag(Timer::kShip, s), config_.batch_interval);
    if (restarted_) {
      sh.role = Role::kRecovering;
    } else if (configs_[s].primary == me_) {
      sh.role = Role::kBackup;
      promote(ctx, s, sh, false);
      sh.served = true;  // the initial primary, not a failover
      for (auto& [b, p] : sh.progress)
        p.known = true;  // every log is empty
    }
  }
}

PrimaryBackup::Shard* PrimaryBackup::held(uint32_t s) {
  auto it = shards_.find(s);
  return it == shards_.end() ? nullptr : &it->second;
}

void PrimaryBackup::on_message(Context& ctx, const Envelope& env) {
  const Message& m = env.msg;
  if (const auto* req = m.get<kv::KvRequest>()) {
    handle_request(ctx, req->call.reply_to, *req);
    return;
  }
  const uint32_t from = index_of(env.from);
  if (const auto* r = m.get<Replicate>()) {
    if (from != kNoIndex) handle_replicate(ctx, from, *r);
  } else if (const auto* a = m.get<ReplicateAck>()) {
    if (from != kNoIndex) handle_ack(ctx, from, *a);
  } else if (const auto* sn = m.get<Snapshot>()) {
    if (from != kNoIndex) handle_snapshot(ctx, from, *sn);
  } else if (const auto* p = m.get<Ping>()) {
    send_pong(ctx, env.from, p->seq);
  } else if (const auto* f = m.get<Fence>()) {
    handle_fence(ctx, env.from, *f);
  } else if (const auto* c = m.get<ConfigUpdate>()) {
    if (c->shard < layout_.shards) handle_config(ctx, c->shard, c->config);
  }
}

void PrimaryBackup::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kTick:
      if (tick_.fired(id)) on_tick(ctx);
      return;
    case Timer::kShip:
      ship_batch(ctx, static_cast<uint32_t>(value), id);
      return;
    case Timer::kApply:
      apply_due(ctx, value);
      return;
    case Timer::kWaitTimeout:
      waiter_timeout(ctx, value);
      return;
  }
}

// The replication heartbeat: each primary shard resends and asks for in-sync changes; the
// node reports its largest replication lag, in entries.
void PrimaryBackup::on_tick(Context& ctx) {
  double lag = 0;
  for (auto& [s, sh] : shards_) {
    if (sh.role != Role::kPrimary) continue;
    tick_primary(ctx, s, sh);
    for (const auto& [b, p] : sh.progress)
      lag = std::max(lag,
                     static_cast<double>(sh.received.index - std::min(p.acked, sh.received.index)));
  }
  ctx.record().level(m_lag_entries_, lag);
  tick_.start(ctx);
}

void PrimaryBackup::on_stop(Context& ctx) {
  // Every counter appears in the summary, zero or not, so checks can name them.
  for (Symbol m : {m_writes_,          m_acked_,        m_discarded_,      m_acked_discarded_,
                   m_reads_primary_,   m_reads_backup_, m_ryw_redirects_,  m_redirects_,
                   m_refused_in_sync_, m_ack_timeouts_, m_fence_refusals_, m_ignored_,
                   m_promotions_,      m_demotions_,    m_snapshots_,      m_snapshot_bytes_,
                   m_catchups_,        m_batches_,      m_dups_,           m_dedup_,
                   m_read_waits_})
    ctx.record().count(m, 0);
}

std::string_view PrimaryBackup::role() const {
  bool any_valid = false;
  for (const auto& [s, sh] : shards_) {
    if (sh.role == Role::kPrimary) return "primary";
    if (sh.role != Role::kRecovering) any_valid = true;
  }
  return any_valid || shards_.empty() ? "backup" : "recovering";
}

void PrimaryBackup::check_invariants() const {
  for (const auto& [s, sh] : shards_) {
    DSIM_ASSERT(sh.applied <= sh.received.index, "pb: shard ", s, " applied ", sh.applied,
                " beyond received ", sh.received.index);
    DSIM_ASSERT(sh.role != Role::kPrimary || sh.commit <= sh.received.index, "pb: shard ", s,
                " commit ", sh.commit, " beyond the log's end ", sh.received.index);
    DSIM_ASSERT(sh.backlog.empty() || sh.backlog.back().index == sh.received.index, "pb: shard ", s,
                " backlog does not end at the last entry ", sh.received.index);
    DSIM_ASSERT(sh.backlog.empty() ||
                    sh.backlog.back().index - sh.backlog.front().index + 1 == sh.backlog.size(),
                "pb: shard ", s, " backlog not contiguous");
    DSIM_ASSERT(sh.role != Role::kPrimary || configs_[s].primary == me_, "pb: primary of shard ", s,
                " whose configuration names another (", configs_[s].primary, ")");
  }
}

// ---------------------------------------------------------------------------------------
// Inspection (tests)

std::optional<PrimaryBackup::ShardView> PrimaryBackup::view(uint32_t shard) const {
  auto it = shards_.find(shard);
  if (it == shards_.end()) return std::nullopt;
  const Shard& sh = it->second;
  return ShardView{sh.role,   configs_[shard], sh.received, sh.applied,
                   sh.commit, sh.fenced,       sh.history,  &sh.sm};
}

std::vector<PrimaryBackup::Acked> PrimaryBackup::acknowledged(uint32_t shard) const {
  std::vector<Acked> out;
  auto it = shards_.find(shard);
  if (it == shards_.end()) return out;
  for (const auto& [index, epoch] : it->second.acked) {
    if (const Entry* e = entry_at(it->second, index)) out.push_back({index, epoch, e->write});
  }
  return out;
}

}  // namespace dsim::pb
