// Reads and sessions. Who serves a read (`read_from`): the primary only, whichever replica
// the client asked (a backup answers from its possibly stale copy), or backups (the
// primary sends reads on to an in-sync backup). Read-your-writes by session
// (`read_your_writes`): `window` sends a session's reads to the primary for `ryw_window`
// after it wrote (the Interview Prep Guide's rule); `token` has a backup serve a read only once its
// applied copy covers the session's token (the stamp of what the session wrote or read).
// Under sync and semi-sync the primary does not show a write before it is acknowledged:
// a read of a key with a write still waiting for backups waits for it.
#include "models/primary_backup/replica.h"

#include <algorithm>

namespace dsim::pb {

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
    case Role::kPrimary:
      read_at_primary(ctx, s, sh, client, req, in_window);
      return;
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
      answer_read(ctx, sh, client, req);
      return;
  }
}

void PrimaryBackup::read_at_primary(Context& ctx, uint32_t s, Shard& sh, NodeId client,
                                    const kv::KvRequest& req, bool in_window) {
  if (config_.read_from == ReadFrom::kBackups && !in_window) {
    const uint32_t b = backup_for_read(s, sh, static_cast<int64_t>(req.session_token));
    if (b != kNoIndex) {
      redirect(ctx, client, req, b);
      return;
    }
  }
  auto pend = sh.key_pending.find(req.key);
  if (pend != sh.key_pending.end() && pend->second > sh.commit) {
    count(ctx, m_read_waits_);
    add_waiter(ctx, s, sh, client, req, pend->second, Wait::kRead);
    return;
  }
  answer_read(ctx, sh, client, req);
}

uint32_t PrimaryBackup::backup_for_read(uint32_t s, Shard& sh, int64_t token) {
  std::vector<uint32_t> ok;
  for (uint32_t b : configs_[s].in_sync) {
    auto it = sh.progress.find(b);
    if (it == sh.progress.end() || !it->second.known) continue;
    if (config_.read_your_writes == SessionReads::kToken && it->second.closed < token) continue;
    ok.push_back(b);
  }
  if (ok.empty()) return kNoIndex;
  return ok[sh.read_rr++ % ok.size()];
}

void PrimaryBackup::answer_read(Context& ctx, Shard& sh, NodeId client, const kv::KvRequest& req) {
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

// The session token of entry `index`: its stamp.
int64_t PrimaryBackup::stamp_at(const Shard& sh, uint64_t index) const {
  if (const Entry* e = entry_at(sh, index)) return e->stamp;
  return sh.closed;  // an upper bound: every entry stamped up to it is applied
}

}  // namespace dsim::pb
