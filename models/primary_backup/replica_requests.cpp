// Client requests at a replica: routing by shard, redirects ("not leader, try <primary>"),
// writes at the primary (refused below min_in_sync; idempotent retries and
// compare-and-sets wait for the entry they depend on), and the waiters: requests held
// until the commit index reaches an entry, answered then, on a timeout (ack_timeout,
// with MySQL's async fallback) or when the primary steps down.
#include "models/primary_backup/replica.h"

namespace dsim::pb {

using kv::KvOpKind;

namespace {

constexpr size_t kMaxAckedRemembered = 1'000'000;

}  // namespace

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
  const bool placed =
      req.call.idempotency_key != 0 && sh.idem_index.count(req.call.idempotency_key);
  if (req.call.idempotency_key != 0 && config_.state.dedup) {
    auto it = sh.idem_index.find(req.call.idempotency_key);
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
    answer_without_entry(ctx, s, sh, client, req, std::move(resp), placed,
                         sh.sm.deduplicated() != dedup);
    return;
  }
  append(ctx, s, sh, req, client);
}

void PrimaryBackup::answer_without_entry(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                                         const kv::KvRequest& req, kv::KvResponse resp, bool placed,
                                         bool deduplicated) {
  // Answered from the idempotency table, or a compare-and-set that found another value:
  // nothing new to replicate.
  if (config_.read_your_writes != SessionReads::kNone)
    resp.session_token = static_cast<uint64_t>(stamp_at(sh, sh.received.index));
  if (deduplicated && !placed && sh.commit < sh.received.index) {
    // A retry of a write we cannot place in the log (inherited, or resynchronised): it is
    // somewhere up to our last entry, so answer once that is committed.
    add_waiter(ctx, s, sh, client, req, sh.received.index, Wait::kReply, std::move(resp));
    return;
  }
  ctx.send(client, std::move(resp));
}

// ---------------------------------------------------------------------------------------
// Waiters: writes waiting for backups, reads waiting for a key's write to commit

void PrimaryBackup::add_waiter(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                               const kv::KvRequest& req, uint64_t index, Wait kind,
                               kv::KvResponse reply) {
  const uint64_t id = next_waiter_++;
  const TimerId timer = ctx.set_timer(config_.ack_timeout, kit::timer_tag(Timer::kWaitTimeout, id));
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
        answer_read(ctx, sh, w.client, w.req);
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

}  // namespace dsim::pb
