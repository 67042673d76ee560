// Persistence and restart. A replica keeps its state in memory: a crash loses its copies,
// and only a marker on disk tells a restart from the first start. A restarted replica's
// shards are `recovering` (no valid copy); each is resynchronised from its primary by a
// snapshot of the whole shard, as is a backup the backlog no longer reaches or whose log
// left the primary's. A backup that had entries beyond the snapshot's log loses them; among
// them, the writes it had acknowledged as a primary are acknowledged writes lost.
#include "models/primary_backup/replica.h"

#include <algorithm>

namespace dsim::pb {

namespace {

uint32_t state_bytes(const kv::KvStateMachine& sm) {
  uint64_t n = 0;
  for (const auto& [key, value] : sm.data())
    n += 16 + value.bytes();
  return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX / 2));
}

}  // namespace

bool PrimaryBackup::mark_started(Context& ctx) {
  // A marker on disk tells a restart (state lost) from the first start.
  const bool restarted = ctx.disk().get("pb/started").has_value();
  if (!restarted) {
    ctx.disk().write("pb/started", "1");
    ctx.disk().sync(0);
  }
  return restarted;
}

void PrimaryBackup::send_snapshot(Context& ctx, uint32_t s, Shard& sh, uint32_t backup) {
  Progress& p = sh.progress[backup];
  auto m = from_primary<Snapshot>(s, sh);
  m.pos = sh.received;
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

void PrimaryBackup::handle_snapshot(Context& ctx, uint32_t from, const Snapshot& m) {
  Shard* shp = held(m.shard);
  if (!shp || from == me_ || !m.state) return;
  Shard& sh = *shp;
  const uint32_t s = m.shard;
  if (!accept_sender(ctx, from, s, sh, m.epoch)) return;
  if (sh.role != Role::kRecovering) count_discarded(ctx, sh, m);
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

void PrimaryBackup::count_discarded(Context& ctx, Shard& sh, const Snapshot& m) {
  // What we held beyond the common prefix is gone; among it, the writes we had
  // acknowledged as primary are acknowledged writes lost.
  const uint64_t cp = common_prefix(sh.history, sh.received.index, m.history, m.pos.index);
  if (sh.received.index <= cp) return;
  count(ctx, m_discarded_, static_cast<int64_t>(sh.received.index - cp));
  int64_t lost = 0;
  while (!sh.acked.empty() && sh.acked.back().first > cp) {
    if (epoch_at(sh.history, sh.acked.back().first) == sh.acked.back().second) ++lost;
    sh.acked.pop_back();
  }
  if (lost) count(ctx, m_acked_discarded_, lost);
}

}  // namespace dsim::pb
