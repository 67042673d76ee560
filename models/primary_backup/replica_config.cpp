// Configurations, epochs, fencing and failover at a replica. Only the monitors change a
// shard's configuration (monitor.h): the replica answers their pings with each shard's
// role and position, answers a fence with its position (and, with `fencing: epoch`,
// refuses older epochs from then on), asks them to add a caught-up backup to the in-sync
// set or remove a lagging one, and applies the configurations they choose: the named
// backup is promoted, any other primary steps down. A primary refused by a backup that
// knows a newer epoch learns it was deposed.
#include "models/primary_backup/replica.h"

#include <algorithm>

namespace dsim::pb {

// ---------------------------------------------------------------------------------------
// Talking to the monitors

void PrimaryBackup::send_pong(Context& ctx, NodeId to, uint64_t seq) {
  Pong p;
  p.seq = seq;
  p.layout = layout_;
  for (const auto& [s, sh] : shards_)
    p.shards.push_back(ShardStatus{s, sh.role, sh.received, configs_[s]});
  ctx.send(to, std::move(p));
}

void PrimaryBackup::send_to_monitor(Context& ctx, Shard& sh, Message msg) {
  if (monitors_.empty()) return;
  ctx.send(monitors_[sh.isr_request_rr++ % monitors_.size()], std::move(msg));
}

void PrimaryBackup::request_isr_change(Context& ctx, uint32_t s, Shard& sh) {
  if (monitors_.empty()) return;
  // Ask the monitors to change the in-sync set: remove a backup that stopped answering,
  // add one that caught up. One request per tick; they run one change at a time.
  const SimTime now = ctx.now();
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

// ---------------------------------------------------------------------------------------
// Fences and configurations

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
      step_down(ctx, *sh, Role::kDeposed);
  }
  r.pos = sh->received;
  r.valid = sh->role != Role::kRecovering;
  ctx.send(from, r);
}

void PrimaryBackup::handle_refusal(Context& ctx, uint32_t s, Shard& sh, const ReplicateAck& ack) {
  // A backup knows a newer epoch: a newer configuration, or a failover under way.
  if (ack.config.epoch > configs_[s].epoch) handle_config(ctx, s, ack.config);
  if (sh.role == Role::kPrimary && ack.fenced > configs_[s].epoch)
    step_down(ctx, sh, Role::kDeposed);
}

void PrimaryBackup::handle_config(Context& ctx, uint32_t s, const ShardConfig& c) {
  if (c.epoch <= configs_[s].epoch) return;
  configs_[s] = c;
  Shard* shp = held(s);
  if (!shp) return;
  Shard& sh = *shp;
  if (c.primary != me_) {
    become_backup(ctx, sh);
    return;
  }
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
}

// ---------------------------------------------------------------------------------------
// Promotion and stepping down

void PrimaryBackup::promote(Context& ctx, uint32_t s, Shard& sh, bool failover) {
  // Everything received becomes ours: apply what is still waiting out its delay.
  int64_t closed = sh.closed;
  for (const auto& step : sh.to_apply)
    closed = std::max(closed, step.closed);
  apply_up_to(ctx, sh, sh.received.index, closed);
  sh.to_apply.clear();
  ++sh.apply_gen;
  sh.role = Role::kPrimary;
  sh.commit = std::min(sh.known_commit, sh.received.index);
  sh.shipped = sh.received.index;
  sh.served = false;
  if (!sh.backlog.empty()) hlc_ = std::max(hlc_, sh.backlog.back().stamp);
  hlc_ = std::max(hlc_, sh.closed);
  clear_primary_state(sh);
  for (uint32_t j = 0; j <= layout_.backups; ++j) {
    const uint32_t b = layout_.placement(s, j);
    if (b == me_) continue;
    Progress& p = sh.progress[b];
    p.next = sh.received.index + 1;
    p.last_ack = ctx.now();  // a grace period before it counts as lagging
    p.last_sent = ctx.now() - config_.replication_heartbeat;
  }
  // What is not known to be committed waits for the backups again.
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

void PrimaryBackup::step_down(Context& ctx, Shard& sh, Role to) {
  if (sh.role == Role::kPrimary) {
    fail_waiters(ctx, sh);
    count(ctx, m_demotions_);
  }
  sh.role = to;
  clear_primary_state(sh);
  sh.known_commit = std::max(sh.known_commit, sh.commit);
}

void PrimaryBackup::become_backup(Context& ctx, Shard& sh) {
  if (sh.role == Role::kPrimary || sh.role == Role::kDeposed) step_down(ctx, sh, Role::kBackup);
}

void PrimaryBackup::clear_primary_state(Shard& sh) {
  sh.progress.clear();
  sh.adding.clear();
  sh.appended.clear();
  sh.key_pending.clear();
  sh.key_fifo.clear();
  sh.degraded = false;
}

}  // namespace dsim::pb
