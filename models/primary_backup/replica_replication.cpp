// Replication and acknowledgements at the primary. A write becomes an entry of the shard's
// log (replica.h), shipped to the backups at once or every `batch_interval`; the backups
// acknowledge what they received. The commit bound is what the primary may answer: async at once,
// semi_sync once one in-sync backup has the entry, sync once every
// in-sync backup has it, and under sync also every caught-up backup
// about to join the in-sync set (Kafka's ISR). The heartbeat resends what was lost; a
// backup the backlog no longer reaches gets a snapshot (replica_resync.cpp).
#include "models/primary_backup/replica.h"

#include <algorithm>

#include "models/kit/quorum.h"

namespace dsim::pb {

namespace {

constexpr size_t kMaxEntriesPerMessage = 4096;

}  // namespace

// ---------------------------------------------------------------------------------------
// The log

/// The primary's hybrid clock: its local time, but always ahead of every stamp it gave.
int64_t PrimaryBackup::next_stamp(Context& ctx) {
  hlc_ = std::max(ctx.now().ns(), hlc_ + 1);
  return hlc_;
}

void PrimaryBackup::push_entry(Shard& sh, Entry e) {
  sh.received = LogPos{e.epoch, e.index};
  note_entry(sh.history, e.epoch, e.index);
  if (e.write.call.idempotency_key != 0) {
    sh.idem_index[e.write.call.idempotency_key] = e.index;
    sh.idem_fifo.emplace_back(e.index, e.write.call.idempotency_key);
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
  } else if (!sh.ship.running()) {
    sh.ship.start(ctx);
  }
}

// ---------------------------------------------------------------------------------------
// Shipping

void PrimaryBackup::ship_batch(Context& ctx, uint32_t s, TimerId id) {
  Shard* sh = held(s);
  if (!sh || !sh->ship.fired(id)) return;
  if (sh->role != Role::kPrimary) return;
  sh->shipped = sh->received.index;
  ship_all(ctx, s, *sh);
}

void PrimaryBackup::ship_all(Context& ctx, uint32_t s, Shard& sh) {
  for (auto& [b, p] : sh.progress)
    ship(ctx, s, sh, b);
}

void PrimaryBackup::ship(Context& ctx, uint32_t s, Shard& sh, uint32_t backup) {
  Progress& p = sh.progress[backup];
  auto m = from_primary<Replicate>(s, sh);
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

void PrimaryBackup::tick_primary(Context& ctx, uint32_t s, Shard& sh) {
  const SimTime now = ctx.now();
  for (auto& [b, p] : sh.progress) {
    if (p.snapshot_sent && !p.known && now - p.last_sent < config_.lag_timeout) continue;
    if (now - p.last_sent < config_.replication_heartbeat) continue;
    if (p.known && p.acked < sh.shipped) p.next = p.acked + 1;  // resend what was lost
    ship(ctx, s, sh, b);
  }
  request_isr_change(ctx, s, sh);
}

// ---------------------------------------------------------------------------------------
// Acknowledgements and the commit bound

void PrimaryBackup::handle_ack(Context& ctx, uint32_t from, const ReplicateAck& ack) {
  Shard* shp = held(ack.shard);
  if (!shp || shp->role != Role::kPrimary) return;
  Shard& sh = *shp;
  const uint32_t s = ack.shard;
  if (ack.refused) {
    handle_refusal(ctx, s, sh, ack);
    return;
  }
  auto pit = sh.progress.find(from);
  if (pit == sh.progress.end()) return;
  Progress& p = pit->second;
  p.last_ack = ctx.now();
  p.closed = ack.closed;
  if (ack.recovering || !in_log(sh, ack.received)) {
    // No valid copy, or a log that left ours: only the whole state will do.
    p.known = false;
    p.acked = 0;
    if (snapshot_due(ctx, p)) send_snapshot(ctx, s, sh, from);
    advance_commit(ctx, s, sh);
    return;
  }
  if (ack.mismatch || !p.known) {
    if (!resume_backup(ctx, s, sh, from, p, ack)) return;
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

bool PrimaryBackup::snapshot_due(Context& ctx, const Progress& p) const {
  return !p.snapshot_sent || ctx.now() - p.last_sent >= config_.lag_timeout;
}

bool PrimaryBackup::resume_backup(Context& ctx, uint32_t s, Shard& sh, uint32_t from, Progress& p,
                                  const ReplicateAck& ack) {
  // A prefix of our log: continue from where it stands, if the backlog reaches back.
  if (ack.received.index + 1 < backlog_front(sh)) {
    if (snapshot_due(ctx, p)) send_snapshot(ctx, s, sh, from);
    return false;
  }
  if (ack.mismatch) count(ctx, m_catchups_);
  p.known = true;
  p.snapshot_sent = false;
  p.acked = ack.received.index;
  p.next = p.acked + 1;
  ship(ctx, s, sh, from);
  return true;
}

void PrimaryBackup::advance_commit(Context& ctx, uint32_t s, Shard& sh) {
  if (sh.role != Role::kPrimary) return;
  const uint64_t c = sh.degraded ? sh.received.index : ack_bound(sh, s, kNoIndex);
  if (sh.degraded && backups_caught_up(sh, s)) sh.degraded = false;
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

bool PrimaryBackup::backups_caught_up(const Shard& sh, uint32_t s) const {
  for (uint32_t b : waiting_on(sh, s)) {
    auto it = sh.progress.find(b);
    if (it == sh.progress.end() || !it->second.known || it->second.acked != sh.received.index)
      return false;
  }
  return true;
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
  if (need > 0) c = std::min(c, kit::committed_index(isr, need));
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

}  // namespace dsim::pb
