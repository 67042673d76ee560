// The replica side of the quorum store: what a node does with the writes, reads, repairs,
// handoffs and transfers it is sent; how it merges incoming versions into the ones it
// keeps (versions.h), writes them to its disk and reads them back after a restart; and
// its acknowledgements, sent at once or, with sync_writes, once the disk has synced.
#include "models/quorum/store.h"

#include <tuple>

#include "models/quorum/detail/disk_keys.h"
#include "sim/core/assert.h"

namespace dsim::quorum {

namespace {

/// The tag of the disk syncs that acknowledgements wait for.
constexpr uint64_t kSyncForReplies = 1;

}  // namespace

void QuorumStore::on_replica_message(Context& ctx, NodeId from, const Message& msg) {
  if (const auto* w = msg.get<QuorumWrite>()) {
    const bool stored = store_own(ctx, w->key, w->versions, w->hint);
    reply_durably(ctx, from, QuorumWriteAck{w->op, stored});
  } else if (const auto* rd = msg.get<QuorumRead>()) {
    QuorumReadReply reply{rd->op, rd->key, {}};
    if (auto it = data_.find(rd->key); it != data_.end()) reply.versions = it->second;
    ctx.send(from, std::move(reply));
  } else if (const auto* fix = msg.get<QuorumRepair>()) {
    const bool stored = store(ctx, fix->key, fix->versions);
    if (fix->op != 0) reply_durably(ctx, from, QuorumRepairAck{fix->op, stored});
  } else if (const auto* h = msg.get<QuorumHandoff>()) {
    reply_durably(ctx, from, QuorumHandoffAck{h->batch, store_all(ctx, h->entries)});
  } else if (const auto* t = msg.get<QuorumTransfer>()) {
    reply_durably(ctx, from, QuorumTransferAck{t->batch, store_all(ctx, t->entries)});
  }
}

const Siblings* QuorumStore::versions(uint64_t key) const {
  auto it = data_.find(key);
  return it == data_.end() ? nullptr : &it->second;
}

void QuorumStore::load_data(DurableStore& disk) {
  disk.for_each(detail::kDataPrefix, [&](std::string_view k, std::string_view v) {
    if (auto s = decode(v); s && !s->empty()) {
      data_[detail::parse_hex(k.substr(detail::kDataPrefix.size()))] = std::move(*s);
    }
  });
}

bool QuorumStore::store(Context& ctx, uint64_t key, const Siblings& incoming, bool* changed) {
  if (changed) *changed = false;
  if (incoming.empty()) return true;
  const auto it = data_.find(key);
  const Siblings none;
  const Siblings& old = it == data_.end() ? none : it->second;
  MergeResult m =
      merge(old, incoming, config_.versioning, static_cast<size_t>(config_.max_siblings));
  if (m.lww_discarded > 0) ctx.record().count(m_lww_discarded_, m.lww_discarded);
  if (m.capped > 0) ctx.record().count(m_siblings_capped_, m.capped);
  if (same_versions(m.merged, old)) return true;
  if (!persist(ctx, key, m.merged)) return false;
  const bool added = it == data_.end();
  data_[key] = std::move(m.merged);
  unsynced_ = true;
  if (changed) *changed = true;
  if (added) update_levels(ctx);
  return true;
}

bool QuorumStore::store_all(Context& ctx, const std::vector<KeyVersions>& entries) {
  bool stored = true;
  for (const auto& e : entries)
    stored = store(ctx, e.key, e.versions) && stored;
  return stored;
}

bool QuorumStore::store_own(Context& ctx, uint64_t key, const Siblings& versions, NodeId hint) {
  const bool stored = store(ctx, key, versions);
  if (stored && hint != kNoNode && hint != self_) add_hint(ctx, hint, key);
  return stored;
}

bool QuorumStore::persist(Context& ctx, uint64_t key, const Siblings& versions) {
  if (ctx.disk().write(detail::data_key(key), encode(versions))) return true;
  ctx.record().count(m_disk_refused_);
  return false;
}

void QuorumStore::drop_key(Context& ctx, uint64_t key) {
  if (data_.erase(key) == 0) return;
  ctx.disk().erase(detail::data_key(key));
  // Dots this node makes for the key from now on come from a new actor: versions it no
  // longer holds can never be mistaken for ones a later context covers.
  KeyActor& ka = key_actor_[key];
  ++ka.epoch;
  ka.last_counter = 0;
  update_levels(ctx);
}

void QuorumStore::reply_durably(Context& ctx, NodeId to, Message msg) {
  if (!config_.sync_writes) {
    deliver(ctx, to, std::move(msg));
    return;
  }
  const DiskOpId op = ctx.disk().sync(kSyncForReplies);
  unsynced_ = false;
  after_sync_[op.seq].push_back(PendingSend{to, std::move(msg)});
}

void QuorumStore::on_disk(Context& ctx, DiskOpId op, uint64_t /*tag*/) {
  auto it = after_sync_.find(op.seq);
  if (it == after_sync_.end()) return;
  std::vector<PendingSend> sends = std::move(it->second);
  after_sync_.erase(it);
  for (auto& s : sends)
    deliver(ctx, s.to, std::move(s.msg));
}

void QuorumStore::deliver(Context& ctx, NodeId to, Message msg) {
  if (to == self_) {
    on_message(ctx, Envelope{self_, self_, msg});
  } else {
    ctx.send(to, std::move(msg));
  }
}

void QuorumStore::check_invariants() const {
  for (const auto& [key, s] : data_) {
    DSIM_ASSERT(!s.empty(), "quorum: key ", key, " has no version");
    DSIM_ASSERT(config_.versioning != Versioning::kLww || s.size() == 1, "quorum: LWW key ", key,
                " has siblings");
    for (size_t i = 0; i < s.size(); ++i) {
      DSIM_ASSERT(i == 0 || std::tie(s[i - 1].ts, s[i - 1].dot) < std::tie(s[i].ts, s[i].dot),
                  "quorum: siblings of key ", key, " out of order");
      for (size_t j = 0; j < s.size(); ++j) {
        DSIM_ASSERT(i == j || !s[i].obsoleted_by(s[j]), "quorum: key ", key,
                    " keeps a version another supersedes");
      }
    }
  }
}

}  // namespace dsim::quorum
