// The backup side: which primary a backup follows (the newer of its configuration and the
// primary it heard from first), the epoch fence that refuses a deposed primary's log
// (`fencing: epoch`), receiving the log and acknowledging what it holds, and applying it
// in order `apply_delay` after it arrived, so that reads at backups lag by it.
#include "models/primary_backup/replica.h"

#include <algorithm>

namespace dsim::pb {

namespace {

// An apply timer names its shard and the generation of the shard's queue of batches to
// apply, so that a timer set before the queue was dropped finds nothing to do.
constexpr uint64_t kGenerationMask = 0xffffffffULL;

uint64_t apply_timer_value(uint32_t s, uint64_t generation) {
  return (static_cast<uint64_t>(s) << 32) | (generation & kGenerationMask);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Whom to follow

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
  ReplicateAck a = ack_of(s, sh);
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
  if (epoch > cur_epoch || from != cur || sh.role == Role::kPrimary) follow(ctx, sh, from, epoch);
  return true;
}

void PrimaryBackup::follow(Context& ctx, Shard& sh, uint32_t primary, uint64_t epoch) {
  sh.leader = primary;
  sh.leader_epoch = std::max(sh.leader_epoch, epoch);
  become_backup(ctx, sh);
}

// ---------------------------------------------------------------------------------------
// Receiving the log

ReplicateAck PrimaryBackup::ack_of(uint32_t s, const Shard& sh) {
  ReplicateAck a;
  a.shard = s;
  a.received = sh.received;
  a.closed = sh.closed;
  return a;
}

void PrimaryBackup::send_ack(Context& ctx, uint32_t s, const Shard& sh, NodeId to, bool mismatch) {
  ReplicateAck a = ack_of(s, sh);
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

// ---------------------------------------------------------------------------------------
// Applying it

void PrimaryBackup::schedule_apply(Context& ctx, uint32_t s, Shard& sh, int64_t closed) {
  const Duration d = config_.apply_delay.sample_duration(ctx.rng());
  if (d <= Duration::zero() && sh.to_apply.empty()) {
    apply_up_to(ctx, sh, sh.received.index, closed);
    return;
  }
  // In order: a batch is never applied before the one received ahead of it.
  const SimTime due = std::max(ctx.now() + d, sh.last_apply_due);
  sh.last_apply_due = due;
  sh.to_apply.push_back({sh.received.index, closed});
  ctx.set_timer(due - ctx.now(), kit::timer_tag(Timer::kApply, apply_timer_value(s, sh.apply_gen)));
}

void PrimaryBackup::apply_due(Context& ctx, uint64_t timer_value) {
  const auto s = static_cast<uint32_t>(timer_value >> 32);
  Shard* sh = held(s);
  if (!sh || apply_timer_value(s, sh->apply_gen) != timer_value || sh->to_apply.empty()) return;
  const ApplyStep step = sh->to_apply.front();
  sh->to_apply.pop_front();
  apply_up_to(ctx, *sh, step.up_to, step.closed);
}

void PrimaryBackup::apply_up_to(Context& ctx, Shard& sh, uint64_t up_to, int64_t closed) {
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

}  // namespace dsim::pb
