#include "models/primary_backup/replica.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "models/primary_backup/monitor.h"

namespace dsim::pb {

using kv::KvOpKind;

namespace {

constexpr size_t kMaxEntriesPerMessage = 4096;
constexpr size_t kMaxAckedRemembered = 1'000'000;
constexpr uint64_t kTagValueMask = (uint64_t{1} << 56) - 1;

uint32_t state_bytes(const kv::KvStateMachine& sm) {
  uint64_t n = 0;
  for (const auto& [key, value] : sm.data())
    n += 16 + value.bytes();
  return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX / 2));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Parameters

PrimaryBackup::Config PrimaryBackup::parse(ParamReader& r) {
  Config c;
  c.monitors = r.text("monitors", "",
                      "the pb_monitor group that watches these replicas and decides failovers "
                      "(empty: no automatic failover)");
  if (!c.monitors.empty() && !r.doc_mode()) {
    const auto& names = r.env().group_names;
    if (std::find(names.begin(), names.end(), c.monitors) == names.end()) {
      r.error("monitors", "no group named '" + c.monitors + "'");
    } else if (const std::string_view m = r.env().model_of(c.monitors);
               !m.empty() && m != Monitor::kName) {
      r.error("monitors", "group '" + c.monitors + "' runs " + std::string(m) + ", not " +
                              std::string(Monitor::kName));
    }
  }
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
  const std::string sharding =
      r.choice("sharding", "hash_slots", {"hash_slots", "modulo"},
               "hash_slots: CRC16 of the key's decimal text mod 16384 slots, dealt to shards in "
               "contiguous ranges (Redis Cluster); modulo: key mod shards");
  c.sharding = sharding == "modulo" ? Sharding::kModulo : Sharding::kHashSlots;
  const std::string repl =
      r.choice("replication", "async", {"async", "semi_sync", "sync"},
               "when the primary answers a write: at once (async), once one in-sync backup has "
               "it (semi_sync), or once every in-sync backup has it (sync)");
  c.replication = repl == "sync"        ? Replication::kSync
                  : repl == "semi_sync" ? Replication::kSemiSync
                                        : Replication::kAsync;
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
  const std::string on_timeout =
      r.choice("on_ack_timeout", "indeterminate", {"indeterminate", "async"},
               "indeterminate: answer the write 'indeterminate'; async: answer ok anyway and "
               "stop waiting until the backups catch up (MySQL's semi-sync fallback)");
  c.on_ack_timeout = on_timeout == "async" ? OnAckTimeout::kAsync : OnAckTimeout::kIndeterminate;
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
  const std::string read_from =
      r.choice("read_from", "primary", {"primary", "any", "backups"},
               "who serves reads: the primary only; whichever replica the client asked; or "
               "backups (the primary sends reads on to an in-sync backup)");
  c.read_from = read_from == "any"       ? ReadFrom::kAny
                : read_from == "backups" ? ReadFrom::kBackups
                                         : ReadFrom::kPrimary;
  const std::string ryw = r.choice(
      "read_your_writes", "none", {"none", "window", "token"},
      "session reads from backups: none; window: a session's reads go to the primary for "
      "ryw_window after it wrote (the seeds' rule); token: a backup serves a read only once "
      "it has applied what the session saw");
  c.read_your_writes = ryw == "window"  ? SessionReads::kWindow
                       : ryw == "token" ? SessionReads::kToken
                                        : SessionReads::kNone;
  c.ryw_window = r.duration("ryw_window", c.ryw_window,
                            "window: how long after a write its session reads from the primary");
  const std::string fencing =
      r.choice("fencing", "epoch", {"none", "epoch"},
               "epoch: a failover fences the backups with a new epoch, so a deposed primary is "
               "refused and steps down; none: it keeps serving (split brain)");
  c.fencing = fencing == "none" ? Fencing::kNone : Fencing::kEpoch;
  c.backlog = r.integer("backlog", c.backlog,
                        "log entries kept to catch a backup up; one further behind gets a "
                        "snapshot (Redis repl-backlog)",
                        1, 1'000'000'000);
  kv::read_state_machine_params(r, c.state);
  if (c.ack_timeout <= Duration::zero()) r.error("ack_timeout", "must be > 0");
  if (c.lag_timeout <= Duration::zero()) r.error("lag_timeout", "must be > 0");
  if (c.replication_heartbeat <= Duration::zero()) r.error("replication_heartbeat", "must be > 0");
  if (c.min_in_sync > c.backups) {
    r.error("min_in_sync", "cannot exceed backups (" + std::to_string(c.backups) + ")");
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Start, dispatch, timers

void PrimaryBackup::on_start(Context& ctx) {
  const std::string name = ctx.node_name(ctx.self());
  const auto group = ctx.group_nodes(name.substr(0, name.rfind('.')));
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

  // A marker on disk tells a restart (state lost) from the first start.
  restarted_ = ctx.disk().get("pb/started").has_value();
  if (!restarted_) {
    ctx.disk().write("pb/started", "1");
    ctx.disk().sync(0);
  }
  configs_.assign(layout_.shards, ShardConfig{});
  for (uint32_t s = 0; s < layout_.shards; ++s) {
    if (!restarted_) {
      ShardConfig& c = configs_[s];
      c.epoch = 1;
      c.primary = layout_.placement(s, 0);
      for (uint32_t j = 1; j <= layout_.backups; ++j)
        c.in_sync.push_back(layout_.placement(s, j));
      std::sort(c.in_sync.begin(), c.in_sync.end());
    }
    if (!layout_.holds(me_, s)) continue;
    Shard& sh = shards_[s];
    sh.sm = kv::KvStateMachine(config_.state);
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
  ctx.set_timer(config_.replication_heartbeat, tag(kTick, 0));
}

uint32_t PrimaryBackup::index_of(NodeId n) const {
  const auto it = std::lower_bound(replicas_.begin(), replicas_.end(), n);
  if (it == replicas_.end() || *it != n) return kNoIndex;
  return static_cast<uint32_t>(it - replicas_.begin());
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

void PrimaryBackup::on_timer(Context& ctx, TimerId /*id*/, TimerTag t) {
  const auto kind = static_cast<TagKind>(t >> kTagShift);
  const uint64_t v = t & kTagValueMask;
  switch (kind) {
    case kTick: {
      double lag = 0;
      for (auto& [s, sh] : shards_) {
        if (sh.role != Role::kPrimary) continue;
        tick_primary(ctx, s, sh);
        for (const auto& [b, p] : sh.progress)
          lag = std::max(
              lag, static_cast<double>(sh.received.index - std::min(p.acked, sh.received.index)));
      }
      ctx.record().level(m_lag_entries_, lag);
      ctx.set_timer(config_.replication_heartbeat, tag(kTick, 0));
      return;
    }
    case kShip: {
      Shard* sh = held(static_cast<uint32_t>(v));
      if (!sh) return;
      sh->ship_timer = false;
      if (sh->role != Role::kPrimary) return;
      sh->shipped = sh->received.index;
      ship_all(ctx, static_cast<uint32_t>(v), *sh);
      return;
    }
    case kApply: {
      const auto s = static_cast<uint32_t>(v >> 32);
      Shard* sh = held(s);
      if (!sh || (sh->apply_gen & 0xffffffffULL) != (v & 0xffffffffULL) || sh->to_apply.empty())
        return;
      const ApplyStep step = sh->to_apply.front();
      sh->to_apply.pop_front();
      apply_up_to(ctx, s, *sh, step.up_to, step.closed);
      return;
    }
    case kWaitTimeout:
      waiter_timeout(ctx, v);
      return;
  }
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
    if (sh.applied > sh.received.index) throw std::logic_error("pb: applied beyond received");
    if (sh.role == Role::kPrimary && sh.commit > sh.received.index)
      throw std::logic_error("pb: commit beyond the log");
    if (!sh.backlog.empty() && sh.backlog.back().index != sh.received.index)
      throw std::logic_error("pb: backlog does not end at the last entry");
    if (!sh.backlog.empty() &&
        sh.backlog.back().index - sh.backlog.front().index + 1 != sh.backlog.size())
      throw std::logic_error("pb: backlog not contiguous");
    if (sh.role == Role::kPrimary && configs_[s].primary != me_)
      throw std::logic_error("pb: primary of a shard whose configuration names another");
  }
}

// ---------------------------------------------------------------------------------------
// Client requests

void PrimaryBackup::redirect(Context& ctx, NodeId client, const kv::KvRequest& req,
                             uint32_t to_index) {
  count(ctx, m_redirects_);
  const NodeId hint = (to_index == kNoIndex || to_index == me_ || to_index >= replicas_.size())
                          ? kNoNode
                          : node(to_index);
  ctx.send(client, kv::kv_reply(req, kv::KvStatus::kNotLeader, hint));
}

void PrimaryBackup::handle_request(Context& ctx, NodeId client, const kv::KvRequest& req) {
  const uint32_t s = layout_.shard_of(req.key);
  Shard* sh = held(s);
  if (!sh) {
    redirect(ctx, client, req, primary_of(s).first);
    return;
  }
  if (req.op == KvOpKind::kGet) {
    handle_read(ctx, s, *sh, client, req);
  } else {
    handle_write(ctx, s, *sh, client, req);
  }
}

void PrimaryBackup::handle_write(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                                 const kv::KvRequest& req) {
  if (sh.role != Role::kPrimary) {
    redirect(ctx, client, req, primary_of(s).first);
    return;
  }
  if (config_.min_in_sync > 0 &&
      live_in_sync(ctx, sh, s) < static_cast<uint32_t>(config_.min_in_sync)) {
    count(ctx, m_refused_in_sync_);
    ctx.send(client, kv::kv_reply(req, kv::KvStatus::kUnavailable));
    return;
  }
  // A retry of a write still waiting for its backups waits for the same entry.
  const bool placed = req.idempotency_key != 0 && sh.idem_index.count(req.idempotency_key);
  if (req.idempotency_key != 0 && config_.state.dedup) {
    auto it = sh.idem_index.find(req.idempotency_key);
    if (it != sh.idem_index.end() && it->second > sh.commit && it->second <= sh.received.index) {
      add_waiter(ctx, s, sh, client, req, it->second, Wait::kAck);
      return;
    }
  }
  // A compare-and-set reads its key: not before the key's newest write is committed.
  if (req.op == KvOpKind::kCas) {
    auto pend = sh.key_pending.find(req.key);
    if (pend != sh.key_pending.end() && pend->second > sh.commit) {
      add_waiter(ctx, s, sh, client, req, pend->second, Wait::kRetry);
      return;
    }
  }
  const uint64_t applied = sh.sm.applied_writes();
  const uint64_t dups = sh.sm.duplicate_applications();
  const uint64_t dedup = sh.sm.deduplicated();
  kv::KvResponse resp = sh.sm.apply(req, ctx.now());
  if (sh.sm.duplicate_applications() != dups) count(ctx, m_dups_);
  if (sh.sm.deduplicated() != dedup) count(ctx, m_dedup_);
  if (sh.sm.applied_writes() == applied) {
    // Answered from the idempotency table, or a compare-and-set that found another value:
    // nothing new to replicate.
    if (config_.read_your_writes != SessionReads::kNone)
      resp.session_token = static_cast<uint64_t>(stamp_at(sh, sh.received.index));
    if (sh.sm.deduplicated() != dedup && !placed && sh.commit < sh.received.index) {
      // A retry of a write we cannot place in the log (inherited, or resynchronised): it is
      // somewhere up to our last entry, so answer once that is committed.
      add_waiter(ctx, s, sh, client, req, sh.received.index, Wait::kReply, std::move(resp));
      return;
    }
    ctx.send(client, std::move(resp));
    return;
  }
  append(ctx, s, sh, req, client);
}

void PrimaryBackup::handle_read(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                                const kv::KvRequest& req) {
  const auto token = static_cast<int64_t>(req.session_token);
  const bool in_window = config_.read_your_writes == SessionReads::kWindow && token != 0 &&
                         ctx.now().ns() - token < config_.ryw_window.ns();
  switch (sh.role) {
    case Role::kRecovering:
    case Role::kDeposed:
      redirect(ctx, client, req, primary_of(s).first);
      return;
    case Role::kPrimary: {
      if (config_.read_from == ReadFrom::kBackups && !in_window) {
        // Send the read on to an in-sync backup whose copy covers the session's token.
        std::vector<uint32_t> ok;
        for (uint32_t b : configs_[s].in_sync) {
          auto it = sh.progress.find(b);
          if (it == sh.progress.end() || !it->second.known) continue;
          if (config_.read_your_writes == SessionReads::kToken && it->second.closed < token)
            continue;
          ok.push_back(b);
        }
        if (!ok.empty()) {
          redirect(ctx, client, req, ok[sh.read_rr++ % ok.size()]);
          return;
        }
      }
      auto pend = sh.key_pending.find(req.key);
      if (pend != sh.key_pending.end() && pend->second > sh.commit) {
        count(ctx, m_read_waits_);
        add_waiter(ctx, s, sh, client, req, pend->second, Wait::kRead);
        return;
      }
      answer_read(ctx, s, sh, client, req);
      return;
    }
    case Role::kBackup:
      if (config_.read_from == ReadFrom::kPrimary) {
        redirect(ctx, client, req, primary_of(s).first);
        return;
      }
      if (in_window || (config_.read_your_writes == SessionReads::kToken && token > sh.closed)) {
        count(ctx, m_ryw_redirects_);
        redirect(ctx, client, req, primary_of(s).first);
        return;
      }
      answer_read(ctx, s, sh, client, req);
      return;
  }
}

void PrimaryBackup::answer_read(Context& ctx, uint32_t /*s*/, Shard& sh, NodeId client,
                                const kv::KvRequest& req) {
  kv::KvResponse resp = kv::kv_reply(req, kv::KvStatus::kOk);
  resp.value = sh.sm.get(req.key);
  if (config_.read_your_writes == SessionReads::kToken) {
    // What the read reflects: every entry up to the commit index (primary) or the closed
    // stamp (backup).
    resp.session_token = static_cast<uint64_t>(
        sh.role == Role::kPrimary ? stamp_at(sh, sh.commit) : std::max<int64_t>(sh.closed, 0));
  }
  count(ctx, sh.role == Role::kPrimary ? m_reads_primary_ : m_reads_backup_);
  ctx.send(client, std::move(resp));
}

int64_t PrimaryBackup::stamp_at(const Shard& sh, uint64_t index) const {
  if (const Entry* e = entry_at(sh, index)) return e->stamp;
  return sh.closed;  // an upper bound: every entry stamped up to it is applied
}

// ---------------------------------------------------------------------------------------
// Waiters: writes waiting for backups, reads waiting for a key's write to commit

void PrimaryBackup::add_waiter(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                               const kv::KvRequest& req, uint64_t index, Wait kind,
                               kv::KvResponse reply) {
  const uint64_t id = next_waiter_++;
  const TimerId timer = ctx.set_timer(config_.ack_timeout, tag(kWaitTimeout, id));
  waiters_.emplace(id, Waiter{s, client, req, index, timer, kind, std::move(reply)});
  sh.waits.emplace(index, id);
}

void PrimaryBackup::acknowledge(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                                const kv::KvRequest& req, uint64_t index) {
  kv::KvResponse resp = kv::kv_reply(req, kv::KvStatus::kOk);
  if (config_.read_your_writes != SessionReads::kNone)
    resp.session_token = static_cast<uint64_t>(stamp_at(sh, index));
  ctx.send(client, std::move(resp));
  count(ctx, m_acked_);
  if (sh.acked.empty() || sh.acked.back().first != index) {
    sh.acked.emplace_back(index, epoch_at(sh.history, index));
    if (sh.acked.size() > kMaxAckedRemembered) sh.acked.pop_front();
  }
  if (!sh.served) {
    sh.served = true;
    for (NodeId m : monitors_)
      ctx.send(m, Serving{s, configs_[s].epoch});
  }
}

void PrimaryBackup::release_waiters(Context& ctx, uint32_t s, Shard& sh) {
  while (!sh.waits.empty() && sh.waits.begin()->first <= sh.commit) {
    const uint64_t id = sh.waits.begin()->second;
    sh.waits.erase(sh.waits.begin());
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    Waiter w = std::move(it->second);
    waiters_.erase(it);
    ctx.cancel_timer(w.timer);
    switch (w.kind) {
      case Wait::kAck:
        acknowledge(ctx, s, sh, w.client, w.req, w.index);
        break;
      case Wait::kRead:
        answer_read(ctx, s, sh, w.client, w.req);
        break;
      case Wait::kReply:
        ctx.send(w.client, std::move(w.reply));
        break;
      case Wait::kRetry:
        handle_write(ctx, s, sh, w.client, w.req);
        break;
    }
  }
}

void PrimaryBackup::fail_waiters(Context& ctx, Shard& sh) {
  // Writes that may be in the log may or may not survive the change of primary; reads
  // and compare-and-sets not yet applied definitely did not happen.
  for (const auto& [index, id] : sh.waits) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    const Waiter& w = it->second;
    ctx.cancel_timer(w.timer);
    const bool applied = w.kind == Wait::kAck || w.kind == Wait::kReply;
    ctx.send(w.client, kv::kv_reply(w.req, applied ? kv::KvStatus::kIndeterminate
                                                   : kv::KvStatus::kUnavailable));
    waiters_.erase(it);
  }
  sh.waits.clear();
}

void PrimaryBackup::waiter_timeout(Context& ctx, uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  Shard* sh = held(w.shard);
  if (!sh) return;
  for (auto [a, b] = sh->waits.equal_range(w.index); a != b; ++a) {
    if (a->second == id) {
      sh->waits.erase(a);
      break;
    }
  }
  count(ctx, m_ack_timeouts_);
  if (w.kind == Wait::kRead || w.kind == Wait::kRetry) {
    ctx.send(w.client, kv::kv_reply(w.req, kv::KvStatus::kUnavailable));
    return;
  }
  if (config_.on_ack_timeout == OnAckTimeout::kAsync && sh->role == Role::kPrimary) {
    // MySQL's semi-synchronous fallback: answer anyway and stop waiting for backups until
    // they have caught up.
    sh->degraded = true;
    if (w.kind == Wait::kReply) {
      ctx.send(w.client, std::move(w.reply));
    } else {
      acknowledge(ctx, w.shard, *sh, w.client, w.req, w.index);
    }
    advance_commit(ctx, w.shard, *sh);
    return;
  }
  ctx.send(w.client, kv::kv_reply(w.req, kv::KvStatus::kIndeterminate));
}

// ---------------------------------------------------------------------------------------
// The primary's log and replication

int64_t PrimaryBackup::next_stamp(Context& ctx) {
  hlc_ = std::max(ctx.now().ns(), hlc_ + 1);
  return hlc_;
}

void PrimaryBackup::push_entry(Shard& sh, Entry e) {
  sh.received = LogPos{e.epoch, e.index};
  note_entry(sh.history, e.epoch, e.index);
  if (e.write.idempotency_key != 0) {
    sh.idem_index[e.write.idempotency_key] = e.index;
    sh.idem_fifo.emplace_back(e.index, e.write.idempotency_key);
  }
  sh.backlog.push_back(std::move(e));
  const auto cap = static_cast<size_t>(config_.backlog);
  while (sh.backlog.size() > cap && sh.backlog.front().index <= sh.applied)
    sh.backlog.pop_front();
  while (sh.idem_fifo.size() > cap) {
    auto it = sh.idem_index.find(sh.idem_fifo.front().second);
    if (it != sh.idem_index.end() && it->second == sh.idem_fifo.front().first)
      sh.idem_index.erase(it);
    sh.idem_fifo.pop_front();
  }
}

const Entry* PrimaryBackup::entry_at(const Shard& sh, uint64_t index) const {
  if (sh.backlog.empty() || index < sh.backlog.front().index || index > sh.backlog.back().index)
    return nullptr;
  return &sh.backlog[index - sh.backlog.front().index];
}

uint64_t PrimaryBackup::backlog_front(const Shard& sh) const {
  return sh.backlog.empty() ? sh.received.index + 1 : sh.backlog.front().index;
}

bool PrimaryBackup::in_log(const Shard& sh, const LogPos& pos) const {
  return pos.index <= sh.received.index && epoch_at(sh.history, pos.index) == pos.epoch;
}

void PrimaryBackup::append(Context& ctx, uint32_t s, Shard& sh, const kv::KvRequest& req,
                           NodeId client) {
  Entry e;
  e.index = sh.received.index + 1;
  e.epoch = configs_[s].epoch;
  e.stamp = next_stamp(ctx);
  e.write = req;
  e.write.session_token = 0;
  const uint64_t index = e.index;
  push_entry(sh, std::move(e));
  sh.applied = index;
  sh.closed = hlc_;
  count(ctx, m_writes_);
  if (sh.degraded || ack_bound(sh, s, kNoIndex) >= index) {
    sh.commit = index;
    acknowledge(ctx, s, sh, client, req, index);
  } else {
    sh.appended[index] = ctx.now();
    sh.key_pending[req.key] = index;
    sh.key_fifo.emplace_back(index, req.key);
    add_waiter(ctx, s, sh, client, req, index, Wait::kAck);
  }
  if (config_.batch_interval <= Duration::zero()) {
    sh.shipped = index;
    ship_all(ctx, s, sh);
  } else if (!sh.ship_timer) {
    sh.ship_timer = true;
    ctx.set_timer(config_.batch_interval, tag(kShip, s));
  }
}

std::vector<uint32_t> PrimaryBackup::waiting_on(const Shard& sh, uint32_t s) const {
  std::vector<uint32_t> w = configs_[s].in_sync;
  for (const auto& [b, since] : sh.adding) {
    if (!configs_[s].in_sync_has(b)) w.push_back(b);
  }
  w.erase(std::remove(w.begin(), w.end(), me_), w.end());
  return w;
}

uint64_t PrimaryBackup::ack_bound(const Shard& sh, uint32_t s, uint32_t without) const {
  auto acked = [&](uint32_t b) -> uint64_t {
    auto it = sh.progress.find(b);
    return it != sh.progress.end() && it->second.known ? it->second.acked : 0;
  };
  std::vector<uint64_t> isr;
  for (uint32_t b : configs_[s].in_sync) {
    if (b != me_ && b != without) isr.push_back(acked(b));
  }
  uint64_t c = sh.received.index;
  const uint32_t need = layout_.acks_needed(static_cast<uint32_t>(isr.size()));
  if (need > 0) {
    std::sort(isr.rbegin(), isr.rend());
    c = std::min(c, isr[need - 1]);
  }
  // Under sync a backup about to join the in-sync set must hold everything acknowledged
  // from the moment it caught up. (Semi-sync counts in-sync backups only: a write
  // acknowledged through a backup the monitors do not yet fence would be unprotected.)
  if (layout_.replication == Replication::kSync) {
    for (const auto& [b, since] : sh.adding) {
      if (b != without && !configs_[s].in_sync_has(b)) c = std::min(c, acked(b));
    }
  }
  return c;
}

uint32_t PrimaryBackup::live_in_sync(Context& ctx, const Shard& sh, uint32_t s) const {
  uint32_t n = 0;
  for (uint32_t b : configs_[s].in_sync) {
    auto it = sh.progress.find(b);
    if (it != sh.progress.end() && ctx.now() - it->second.last_ack <= config_.lag_timeout) ++n;
  }
  return n;
}

void PrimaryBackup::ship_all(Context& ctx, uint32_t s, Shard& sh) {
  for (auto& [b, p] : sh.progress)
    ship(ctx, s, sh, b);
}

void PrimaryBackup::ship(Context& ctx, uint32_t s, Shard& sh, uint32_t backup) {
  Progress& p = sh.progress[backup];
  Replicate m;
  m.shard = s;
  m.epoch = configs_[s].epoch;
  m.commit = sh.commit;
  if (!p.known) {
    // Where the backup stands is unknown: a heartbeat after our last entry makes it say.
    m.prev = sh.received;
  } else {
    if (p.next <= sh.received.index && p.next < backlog_front(sh)) {
      send_snapshot(ctx, s, sh, backup);
      return;
    }
    m.prev = LogPos{epoch_at(sh.history, p.next - 1), p.next - 1};
    for (uint64_t i = p.next; i <= sh.shipped && m.entries.size() < kMaxEntriesPerMessage; ++i) {
      const Entry* e = entry_at(sh, i);
      if (!e) break;
      m.entries.push_back(*e);
    }
  }
  const uint64_t last = m.prev.index + m.entries.size();
  // The closed stamp: every entry stamped at or below it is in this message or before.
  if (last >= sh.received.index) {
    hlc_ = std::max(hlc_, ctx.now().ns());
    m.closed = hlc_;
  } else if (const Entry* after = entry_at(sh, last + 1)) {
    m.closed = after->stamp - 1;
  }
  if (p.known) p.next = last + 1;
  p.last_sent = ctx.now();
  count(ctx, m_batches_);
  ctx.send(node(backup), std::move(m));
}

void PrimaryBackup::send_snapshot(Context& ctx, uint32_t s, Shard& sh, uint32_t backup) {
  Progress& p = sh.progress[backup];
  Snapshot m;
  m.shard = s;
  m.epoch = configs_[s].epoch;
  m.pos = sh.received;
  m.commit = sh.commit;
  hlc_ = std::max(hlc_, ctx.now().ns());
  m.closed = hlc_;
  m.history = sh.history;
  m.state = std::make_shared<const kv::KvStateMachine>(sh.sm);
  m.bytes = state_bytes(sh.sm);
  count(ctx, m_snapshots_);
  count(ctx, m_snapshot_bytes_, m.bytes);
  p.known = false;
  p.acked = 0;
  p.snapshot_sent = true;
  p.next = sh.received.index + 1;
  p.last_sent = ctx.now();
  ctx.send(node(backup), std::move(m));
}

void PrimaryBackup::handle_ack(Context& ctx, uint32_t from, const ReplicateAck& ack) {
  Shard* shp = held(ack.shard);
  if (!shp || shp->role != Role::kPrimary) return;
  Shard& sh = *shp;
  const uint32_t s = ack.shard;
  if (ack.refused) {
    // A backup knows a newer epoch: a newer configuration, or a failover under way.
    if (ack.config.epoch > configs_[s].epoch) handle_config(ctx, s, ack.config);
    if (sh.role == Role::kPrimary && ack.fenced > configs_[s].epoch)
      step_down(ctx, s, sh, Role::kDeposed);
    return;
  }
  auto pit = sh.progress.find(from);
  if (pit == sh.progress.end()) return;
  Progress& p = pit->second;
  p.last_ack = ctx.now();
  p.closed = ack.closed;
  const bool retry_snapshot = !p.snapshot_sent || ctx.now() - p.last_sent >= config_.lag_timeout;
  if (ack.recovering || !in_log(sh, ack.received)) {
    // No valid copy, or a log that left ours: only the whole state will do.
    p.known = false;
    p.acked = 0;
    if (retry_snapshot) send_snapshot(ctx, s, sh, from);
    advance_commit(ctx, s, sh);
    return;
  }
  if (ack.mismatch || !p.known) {
    // A prefix of our log: continue from where it stands, if the backlog reaches back.
    if (ack.received.index + 1 < backlog_front(sh)) {
      if (retry_snapshot) send_snapshot(ctx, s, sh, from);
      return;
    }
    if (ack.mismatch) count(ctx, m_catchups_);
    p.known = true;
    p.snapshot_sent = false;
    p.acked = ack.received.index;
    p.next = p.acked + 1;
    ship(ctx, s, sh, from);
  } else if (ack.received.index > p.acked) {
    for (auto it = sh.appended.upper_bound(p.acked);
         it != sh.appended.end() && it->first <= ack.received.index; ++it)
      ctx.record().observe(m_ack_time_, ctx.now() - it->second);
    p.acked = ack.received.index;
  }
  advance_commit(ctx, s, sh);
  if (sh.role != Role::kPrimary) return;
  // A backup that caught up is waited for from now on, then added to the in-sync set.
  const auto w = waiting_on(sh, s);
  if (p.known && p.acked == sh.received.index && std::find(w.begin(), w.end(), from) == w.end()) {
    sh.adding[from] = configs_[s].epoch;
  }
}

void PrimaryBackup::advance_commit(Context& ctx, uint32_t s, Shard& sh) {
  if (sh.role != Role::kPrimary) return;
  const auto w = waiting_on(sh, s);
  const uint64_t c = sh.degraded ? sh.received.index : ack_bound(sh, s, kNoIndex);
  if (sh.degraded) {
    bool all = true;
    for (uint32_t b : w) {
      auto it = sh.progress.find(b);
      all = all && it != sh.progress.end() && it->second.known &&
            it->second.acked == sh.received.index;
    }
    if (all) sh.degraded = false;
  }
  if (c <= sh.commit) return;
  for (auto it = sh.appended.begin(); it != sh.appended.end() && it->first <= c;) {
    ctx.record().observe(m_commit_wait_, ctx.now() - it->second);
    it = sh.appended.erase(it);
  }
  sh.commit = c;
  while (!sh.key_fifo.empty() && sh.key_fifo.front().first <= c) {
    auto it = sh.key_pending.find(sh.key_fifo.front().second);
    if (it != sh.key_pending.end() && it->second <= c) sh.key_pending.erase(it);
    sh.key_fifo.pop_front();
  }
  release_waiters(ctx, s, sh);
}

void PrimaryBackup::tick_primary(Context& ctx, uint32_t s, Shard& sh) {
  const SimTime now = ctx.now();
  for (auto& [b, p] : sh.progress) {
    if (p.snapshot_sent && !p.known && now - p.last_sent < config_.lag_timeout) continue;
    if (now - p.last_sent < config_.replication_heartbeat) continue;
    if (p.known && p.acked < sh.shipped) p.next = p.acked + 1;  // resend what was lost
    ship(ctx, s, sh, b);
  }
  if (monitors_.empty()) return;
  // Ask the monitors to change the in-sync set: remove a backup that stopped answering,
  // add one that caught up. One request per tick; they run one change at a time.
  const ShardConfig& c = configs_[s];
  auto lagging = [&](uint32_t b) {
    auto it = sh.progress.find(b);
    return it == sh.progress.end() || now - it->second.last_ack > config_.lag_timeout;
  };
  IsrChange req;
  req.shard = s;
  req.base = c.epoch;
  // Removing a backup is safe only once the others hold every acknowledged write (under
  // semi-sync, a write may have been acknowledged through that backup alone).
  auto others_cover_commit = [&](uint32_t gone) { return ack_bound(sh, s, gone) >= sh.commit; };
  for (uint32_t b : c.in_sync) {
    if (req.node == kNoIndex && b != me_ && lagging(b) && others_cover_commit(b)) req.node = b;
  }
  for (const auto& [b, since] : sh.adding) {
    if (req.node != kNoIndex || c.in_sync_has(b)) continue;
    req.node = b;
    req.add = !lagging(b);
  }
  if (req.node != kNoIndex) send_to_monitor(ctx, sh, req);
}

void PrimaryBackup::send_to_monitor(Context& ctx, Shard& sh, Message msg) {
  if (monitors_.empty()) return;
  ctx.send(monitors_[sh.isr_request_rr++ % monitors_.size()], std::move(msg));
}

void PrimaryBackup::promote(Context& ctx, uint32_t s, Shard& sh, bool failover) {
  // Everything received becomes ours: apply what is still waiting out its delay.
  int64_t closed = sh.closed;
  for (const auto& step : sh.to_apply)
    closed = std::max(closed, step.closed);
  apply_up_to(ctx, s, sh, sh.received.index, closed);
  sh.to_apply.clear();
  ++sh.apply_gen;
  sh.role = Role::kPrimary;
  sh.commit = std::min(sh.known_commit, sh.received.index);
  sh.shipped = sh.received.index;
  sh.degraded = false;
  sh.served = false;
  if (!sh.backlog.empty()) hlc_ = std::max(hlc_, sh.backlog.back().stamp);
  hlc_ = std::max(hlc_, sh.closed);
  sh.progress.clear();
  for (uint32_t j = 0; j <= layout_.backups; ++j) {
    const uint32_t b = layout_.placement(s, j);
    if (b == me_) continue;
    Progress& p = sh.progress[b];
    p.next = sh.received.index + 1;
    p.last_ack = ctx.now();  // a grace period before it counts as lagging
    p.last_sent = ctx.now() - config_.replication_heartbeat;
  }
  sh.adding.clear();
  sh.appended.clear();
  sh.key_pending.clear();
  sh.key_fifo.clear();
  for (uint64_t i = sh.commit + 1; i <= sh.received.index; ++i) {
    if (const Entry* e = entry_at(sh, i)) {
      sh.appended[i] = ctx.now();
      sh.key_pending[e->write.key] = i;
      sh.key_fifo.emplace_back(i, e->write.key);
    }
  }
  if (failover) count(ctx, m_promotions_);
  ship_all(ctx, s, sh);
  advance_commit(ctx, s, sh);
}

void PrimaryBackup::step_down(Context& ctx, uint32_t /*s*/, Shard& sh, Role to) {
  if (sh.role == Role::kPrimary) {
    fail_waiters(ctx, sh);
    count(ctx, m_demotions_);
  }
  sh.role = to;
  sh.progress.clear();
  sh.adding.clear();
  sh.appended.clear();
  sh.key_pending.clear();
  sh.key_fifo.clear();
  sh.degraded = false;
  sh.known_commit = std::max(sh.known_commit, sh.commit);
}

// ---------------------------------------------------------------------------------------
// Backups

std::pair<uint32_t, uint64_t> PrimaryBackup::primary_of(uint32_t s) const {
  auto it = shards_.find(s);
  if (it != shards_.end() && it->second.leader_epoch > configs_[s].epoch)
    return {it->second.leader, it->second.leader_epoch};
  return {configs_[s].primary, configs_[s].epoch};
}

bool PrimaryBackup::refuse_old_epoch(Context& ctx, uint32_t from, uint32_t s, Shard& sh,
                                     uint64_t epoch) {
  if (layout_.fencing != Fencing::kEpoch) return false;
  const uint64_t floor = std::max({configs_[s].epoch, sh.fenced, sh.leader_epoch});
  if (epoch >= floor) return false;
  ReplicateAck a;
  a.shard = s;
  a.received = sh.received;
  a.closed = sh.closed;
  a.refused = true;
  a.fenced = floor;
  a.config = configs_[s];
  count(ctx, m_fence_refusals_);
  ctx.send(node(from), std::move(a));
  return true;
}

bool PrimaryBackup::accept_sender(Context& ctx, uint32_t from, uint32_t s, Shard& sh,
                                  uint64_t epoch) {
  if (refuse_old_epoch(ctx, from, s, sh, epoch)) return false;
  const auto [cur, cur_epoch] = primary_of(s);
  if (epoch < cur_epoch && from != cur) {
    count(ctx, m_ignored_);  // an old primary we no longer follow (fencing: none)
    return false;
  }
  if (epoch > cur_epoch || from != cur || sh.role == Role::kPrimary)
    follow(ctx, s, sh, from, epoch);
  return true;
}

void PrimaryBackup::follow(Context& ctx, uint32_t s, Shard& sh, uint32_t primary, uint64_t epoch) {
  sh.leader = primary;
  sh.leader_epoch = std::max(sh.leader_epoch, epoch);
  if (sh.role == Role::kPrimary || sh.role == Role::kDeposed) step_down(ctx, s, sh, Role::kBackup);
}

void PrimaryBackup::send_ack(Context& ctx, uint32_t s, const Shard& sh, NodeId to, bool mismatch) {
  ReplicateAck a;
  a.shard = s;
  a.received = sh.received;
  a.closed = sh.closed;
  a.mismatch = mismatch;
  a.recovering = sh.role == Role::kRecovering;
  ctx.send(to, std::move(a));
}

void PrimaryBackup::handle_replicate(Context& ctx, uint32_t from, const Replicate& m) {
  Shard* shp = held(m.shard);
  if (!shp || from == me_) return;
  Shard& sh = *shp;
  const uint32_t s = m.shard;
  if (!accept_sender(ctx, from, s, sh, m.epoch)) return;
  if (sh.role == Role::kRecovering) {
    send_ack(ctx, s, sh, node(from), true);
    return;
  }
  // Does the message continue our log?
  if (m.prev.index > sh.received.index || epoch_at(sh.history, m.prev.index) != m.prev.epoch) {
    send_ack(ctx, s, sh, node(from), true);
    return;
  }
  bool added = false;
  for (const Entry& e : m.entries) {
    if (e.index <= sh.received.index) {
      if (epoch_at(sh.history, e.index) != e.epoch) {
        send_ack(ctx, s, sh, node(from), true);  // our log diverged here
        return;
      }
      continue;
    }
    if (e.index != sh.received.index + 1) break;
    push_entry(sh, e);
    added = true;
  }
  sh.known_commit = std::max(sh.known_commit, m.commit);
  if (added || m.closed > sh.closed) schedule_apply(ctx, s, sh, m.closed);
  send_ack(ctx, s, sh, node(from), false);
}

void PrimaryBackup::handle_snapshot(Context& ctx, uint32_t from, const Snapshot& m) {
  Shard* shp = held(m.shard);
  if (!shp || from == me_ || !m.state) return;
  Shard& sh = *shp;
  const uint32_t s = m.shard;
  if (!accept_sender(ctx, from, s, sh, m.epoch)) return;
  if (sh.role != Role::kRecovering) {
    // What we held beyond the common prefix is gone; among it, the writes we had
    // acknowledged as primary are acknowledged writes lost.
    const uint64_t cp = common_prefix(sh.history, sh.received.index, m.history, m.pos.index);
    if (sh.received.index > cp) {
      count(ctx, m_discarded_, static_cast<int64_t>(sh.received.index - cp));
      int64_t lost = 0;
      while (!sh.acked.empty() && sh.acked.back().first > cp) {
        if (epoch_at(sh.history, sh.acked.back().first) == sh.acked.back().second) ++lost;
        sh.acked.pop_back();
      }
      if (lost) count(ctx, m_acked_discarded_, lost);
    }
  }
  sh.sm = *m.state;
  sh.received = m.pos;
  sh.applied = m.pos.index;
  sh.closed = m.closed;
  sh.history = m.history;
  truncate_history(sh.history, m.pos.index);
  sh.backlog.clear();
  sh.to_apply.clear();
  ++sh.apply_gen;
  sh.known_commit = m.commit;
  sh.idem_index.clear();
  sh.idem_fifo.clear();
  sh.role = Role::kBackup;
  send_ack(ctx, s, sh, node(from), false);
}

void PrimaryBackup::schedule_apply(Context& ctx, uint32_t s, Shard& sh, int64_t closed) {
  const Duration d = config_.apply_delay.sample_duration(ctx.rng());
  if (d <= Duration::zero() && sh.to_apply.empty()) {
    apply_up_to(ctx, s, sh, sh.received.index, closed);
    return;
  }
  // In order: a batch is never applied before the one received ahead of it.
  const SimTime due = std::max(ctx.now() + d, sh.last_apply_due);
  sh.last_apply_due = due;
  sh.to_apply.push_back({sh.received.index, closed});
  ctx.set_timer(due - ctx.now(),
                tag(kApply, (static_cast<uint64_t>(s) << 32) | (sh.apply_gen & 0xffffffffULL)));
}

void PrimaryBackup::apply_up_to(Context& ctx, uint32_t /*s*/, Shard& sh, uint64_t up_to,
                                int64_t closed) {
  up_to = std::min(up_to, sh.received.index);
  while (sh.applied < up_to) {
    const Entry* e = entry_at(sh, sh.applied + 1);
    if (!e) break;  // cannot happen: the backlog keeps every entry not yet applied
    const uint64_t dups = sh.sm.duplicate_applications();
    sh.sm.apply(e->write, ctx.now());
    if (sh.sm.duplicate_applications() != dups) count(ctx, m_dups_);
    const int64_t lag = ctx.now().ns() - e->stamp;
    if (lag >= 0) ctx.record().observe(m_lag_, Duration::from_ns(lag));
    ++sh.applied;
  }
  if (sh.applied == up_to) sh.closed = std::max(sh.closed, closed);
}

// ---------------------------------------------------------------------------------------
// Monitors: heartbeats, fences, configurations

void PrimaryBackup::send_pong(Context& ctx, NodeId to, uint64_t seq) {
  Pong p;
  p.seq = seq;
  p.layout = layout_;
  for (const auto& [s, sh] : shards_)
    p.shards.push_back(ShardStatus{s, sh.role, sh.received, configs_[s]});
  ctx.send(to, std::move(p));
}

void PrimaryBackup::handle_fence(Context& ctx, NodeId from, const Fence& f) {
  FenceReply r;
  r.shard = f.shard;
  r.epoch = f.epoch;
  Shard* sh = held(f.shard);
  if (!sh) {
    r.valid = false;
    ctx.send(from, r);
    return;
  }
  if (f.fence && f.epoch > sh->fenced) {
    sh->fenced = f.epoch;
    // A primary being fenced out learns it is deposed.
    if (sh->role == Role::kPrimary && f.epoch > configs_[f.shard].epoch)
      step_down(ctx, f.shard, *sh, Role::kDeposed);
  }
  r.pos = sh->received;
  r.valid = sh->role != Role::kRecovering;
  ctx.send(from, r);
}

void PrimaryBackup::handle_config(Context& ctx, uint32_t s, const ShardConfig& c) {
  if (c.epoch <= configs_[s].epoch) return;
  configs_[s] = c;
  Shard* shp = held(s);
  if (!shp) return;
  Shard& sh = *shp;
  if (c.primary == me_) {
    // No valid copy, or a newer epoch already under way: not a primary (the monitors see
    // it in our pongs and fail over again).
    if (sh.role == Role::kRecovering || c.epoch < std::max(sh.fenced, sh.leader_epoch)) return;
    if (sh.role != Role::kPrimary) {
      promote(ctx, s, sh, true);
      return;
    }
    // Still the primary: a backup joined or left the in-sync set. A backup we asked to add
    // stays waited for until a configuration newer than our request says otherwise.
    for (auto it = sh.adding.begin(); it != sh.adding.end();) {
      if (c.in_sync_has(it->first) || it->second < c.epoch) {
        it = sh.adding.erase(it);
      } else {
        ++it;
      }
    }
    advance_commit(ctx, s, sh);
    return;
  }
  if (sh.role == Role::kPrimary || sh.role == Role::kDeposed) step_down(ctx, s, sh, Role::kBackup);
}

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
