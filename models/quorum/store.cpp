// The quorum store's node: what it does at start (metrics, recovery from its disk, the
// ring, its periodic timers), where messages and timers go, and its local failure
// detector.
#include "models/quorum/store.h"

#include "models/quorum/detail/disk_keys.h"

namespace dsim::quorum {

using kv::KvRequest;

void QuorumStore::on_start(Context& ctx) {
  intern_metrics(ctx);
  self_ = ctx.self();
  const auto nodes = ctx.group_nodes(ctx.group_name());
  group_.assign(nodes.begin(), nodes.end());
  if (group_.empty()) group_.push_back(ctx.self());
  data_less_ = index_of(self_) >= replica_count();
  layout_ = layout_for(config_);
  recover(ctx);
  join_ring(ctx);
  start_timers(ctx);
  update_levels(ctx);
}

void QuorumStore::declare(const Config&, MetricDecls& d) {
  for (const char* c : {"coordinated_gets",    "coordinated_puts",
                        "coordinated_appends", "coordinated_cas",
                        "forwarded",           "redirected",
                        "unavailable",         "indeterminate",
                        "sloppy_writes",       "hints_stored",
                        "hints_replayed",      "read_repairs",
                        "read_repair_bytes",   "reads_ok",
                        "read_siblings",       "reads_with_siblings",
                        "lww_discarded",       "siblings_capped",
                        "anti_entropy_rounds", "merkle_hash_bytes",
                        "merkle_repair_bytes", "merkle_keys_repaired",
                        "membership_changes",  "keys_moved",
                        "transfer_bytes",      "suspicions",
                        "disk_refused",        "duplicate_appends_skipped",
                        "cas_mismatches"})
    d.counter(c);
  d.level("hints_pending");
  d.level("keys_stored");
}

void QuorumStore::intern_metrics(Context& ctx) {
  m_gets_ = ctx.intern("coordinated_gets");
  m_puts_ = ctx.intern("coordinated_puts");
  m_appends_ = ctx.intern("coordinated_appends");
  m_cas_ = ctx.intern("coordinated_cas");
  m_forwarded_ = ctx.intern("forwarded");
  m_redirected_ = ctx.intern("redirected");
  m_unavailable_ = ctx.intern("unavailable");
  m_indeterminate_ = ctx.intern("indeterminate");
  m_sloppy_ = ctx.intern("sloppy_writes");
  m_hints_stored_ = ctx.intern("hints_stored");
  m_hints_replayed_ = ctx.intern("hints_replayed");
  m_read_repairs_ = ctx.intern("read_repairs");
  m_read_repair_bytes_ = ctx.intern("read_repair_bytes");
  m_reads_ok_ = ctx.intern("reads_ok");
  m_read_siblings_ = ctx.intern("read_siblings");
  m_reads_with_siblings_ = ctx.intern("reads_with_siblings");
  m_lww_discarded_ = ctx.intern("lww_discarded");
  m_siblings_capped_ = ctx.intern("siblings_capped");
  m_ae_rounds_ = ctx.intern("anti_entropy_rounds");
  m_merkle_hash_bytes_ = ctx.intern("merkle_hash_bytes");
  m_merkle_repair_bytes_ = ctx.intern("merkle_repair_bytes");
  m_merkle_keys_repaired_ = ctx.intern("merkle_keys_repaired");
  m_membership_changes_ = ctx.intern("membership_changes");
  m_keys_moved_ = ctx.intern("keys_moved");
  m_transfer_bytes_ = ctx.intern("transfer_bytes");
  m_suspicions_ = ctx.intern("suspicions");
  m_disk_refused_ = ctx.intern("disk_refused");
  m_duplicate_appends_skipped_ = ctx.intern("duplicate_appends_skipped");
  m_cas_mismatch_ = ctx.intern("cas_mismatches");
  m_hints_pending_ = ctx.intern("hints_pending");
  m_keys_stored_ = ctx.intern("keys_stored");
}

void QuorumStore::recover(Context& ctx) {
  // A new incarnation after every restart: its dots never repeat those written before.
  DurableStore& disk = ctx.disk();
  if (auto inc = disk.get(detail::kIncarnationKey)) incarnation_ = detail::parse_hex(*inc);
  ++incarnation_;
  disk.write(detail::kIncarnationKey, detail::hex16(incarnation_));
  disk.sync(0);
  next_op_ = (incarnation_ << 40) | 1;
  next_forward_ = (incarnation_ << 40) | 1;
  next_batch_ = (incarnation_ << 40) | 1;
  next_round_ = (incarnation_ << 40) | 1;
  load_data(disk);
  load_hints(disk);
}

void QuorumStore::start_timers(Context& ctx) {
  maintenance_ = kit::Timeout(kit::timer_tag(Timer::kMaintenance), config_.handoff_interval);
  if ((config_.hinted_handoff && config_.sloppy_quorum) || !config_.membership.empty()) {
    maintenance_.start(ctx);
  }
  anti_entropy_ = kit::Timeout(kit::timer_tag(Timer::kAntiEntropy), config_.anti_entropy_interval);
  if (config_.anti_entropy_interval > Duration::zero()) {
    // A random first phase, so the nodes' rounds do not all start at once.
    const auto first = Duration::from_ns(static_cast<int64_t>(
        ctx.rng().uniform01() * static_cast<double>(config_.anti_entropy_interval.ns())));
    anti_entropy_.start(ctx, first);
  }
  sync_ = kit::Timeout(kit::timer_tag(Timer::kSync), config_.sync_period);
  if (!config_.sync_writes && config_.sync_period > Duration::zero()) sync_.start(ctx);
}

void QuorumStore::on_message(Context& ctx, const Envelope& env) {
  const Message& msg = env.msg;
  if (env.from != self_) heard_from(env.from);
  if (const auto* req = msg.get<KvRequest>()) {
    on_client(ctx, req->call.reply_to, *req, nullptr, false);
  } else if (const auto* creq = msg.get<kv::KvContextRequest>()) {
    on_client(ctx, creq->req.call.reply_to, creq->req, &creq->context, false);
  } else if (const auto* fwd = msg.get<QuorumForward>()) {
    ctx.send(env.from, QuorumForwardAck{fwd->id});
    on_client(ctx, fwd->client, fwd->req, fwd->has_context ? &fwd->context : nullptr, true);
  } else if (const auto* got = msg.get<QuorumForwardAck>()) {
    forwards_.erase(got->id);
  } else if (const auto* ack = msg.get<QuorumWriteAck>()) {
    on_write_ack(ctx, ack->op, env.from, ack->stored);
  } else if (const auto* rep = msg.get<QuorumReadReply>()) {
    on_read_reply(ctx, rep->op, env.from, rep->versions);
  } else if (const auto* fack = msg.get<QuorumRepairAck>()) {
    on_write_ack(ctx, fack->op, env.from, fack->stored);
  } else if (const auto* hack = msg.get<QuorumHandoffAck>()) {
    on_handoff_ack(ctx, env.from, *hack);
  } else if (const auto* tack = msg.get<QuorumTransferAck>()) {
    on_transfer_ack(ctx, *tack);
  } else if (const auto* mh = msg.get<MerkleHashes>()) {
    on_merkle_hashes(ctx, env.from, *mh);
  } else if (const auto* md = msg.get<MerkleDiff>()) {
    on_merkle_diff(ctx, env.from, *md);
  } else if (const auto* ms = msg.get<MerkleSync>()) {
    on_merkle_sync(ctx, env.from, *ms);
  } else if (const auto* msr = msg.get<MerkleSyncReply>()) {
    on_merkle_sync_reply(ctx, env.from, *msr);
  } else {
    on_replica_message(ctx, env.from, msg);
  }
}

void QuorumStore::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kOp:
      if (auto it = ops_.find(value); it != ops_.end() && it->second.timer.fired(id)) {
        op_timeout(ctx, value);
      }
      return;
    case Timer::kMaintenance:
      if (!maintenance_.fired(id)) return;
      maintenance_tick(ctx);
      maintenance_.start(ctx);
      return;
    case Timer::kAntiEntropy:
      if (!anti_entropy_.fired(id)) return;
      anti_entropy_tick(ctx);
      anti_entropy_.start(ctx);
      return;
    case Timer::kRoundTimeout:
      if (round_.timeout.fired(id)) end_round(ctx, false);
      return;
    case Timer::kSync:
      if (!sync_.fired(id)) return;
      if (unsynced_) {
        ctx.disk().sync(0);
        unsynced_ = false;
      }
      sync_.start(ctx);
      return;
    case Timer::kMembership:
      if (value == applied_events_) apply_membership(ctx, applied_events_ + 1);
      return;
    case Timer::kForward:
      forward_timeout(ctx, value);
      return;
  }
}

void QuorumStore::on_stop(Context& ctx) {
  update_levels(ctx);
}

void QuorumStore::update_levels(Context& ctx) {
  ctx.record().level(m_keys_stored_, static_cast<double>(data_.size()));
  ctx.record().level(m_hints_pending_, static_cast<double>(hints_.size()));
}

// --- failure detection ------------------------------------------------------------------
// Dynamo 4.8.3: a node that did not answer in time is suspected for a while (suspect_for)
// and avoided; any message from it clears the suspicion. A node never suspects itself.

bool QuorumStore::healthy(Context& ctx, NodeId n) const {
  return n == self_ || !suspicions_.suspected(n, ctx.now());
}

void QuorumStore::suspect(Context& ctx, NodeId n) {
  if (n == self_) return;
  // Counted only when the node was healthy: a suspicion extended is not a new one.
  if (suspicions_.suspect(n, ctx.now())) ctx.record().count(m_suspicions_);
}

void QuorumStore::heard_from(NodeId n) {
  suspicions_.heard(n);
}

}  // namespace dsim::quorum
