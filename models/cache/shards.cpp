// Replicas and failover: a cache group as a Redis Cluster (docs/models/cache.md, "Replicas
// and failover").
//
// Layout. With `replicas` r, node i of the group belongs to shard i / (r + 1), and the
// first node of each shard is its initial primary (epoch 0). A key's shard is its Redis
// hash slot's (models/kit/hash_slots.h). When the group's size is not a multiple of r + 1
// (a size known only at run time), the last shard is short of replicas.
//
// Routing. Only a shard's primary serves its keys; any other node answers `not_leader` with
// the primary it knows as the hint (Redis's MOVED), which the callers' call layer follows.
//
// Replication. An empty replica (at its start, restarted, or demoted) asks its primary for
// a full copy of what it holds (Redis's full resynchronisation) and holds the batches that
// come meanwhile. Every change of the primary's objects (stored after a fetch or a write;
// dropped by a write, a purge, expiry or eviction) is queued while a handler runs and sent
// to the shard's other nodes as one batch when it ends, numbered within the epoch. A
// replica applies the batches in order to its own entries and eviction policy, holding one
// that arrives early and skipping a gap once kHeldMax batches wait behind it (a lost
// message). Asynchronous, as Redis's: what the primary changed in its last moments is lost
// when it crashes. A replica never fetches from the origin.
//
// Failover. The primary heartbeats its shard every `heartbeat` (and the whole group now
// and then, so every node keeps every shard's primary). A replica that heard
// nothing from it for failover_timeout + rank x failover_rank_delay (its rank: its position
// among the shard's replicas) promotes itself: epoch + 1, and it tells every node of the
// group. A node takes in a view of a shard with a higher epoch (or the same epoch and a
// smaller primary index: two replicas promoted at once) and answers a sender whose view is
// older with its own (Redis's UPDATE); a primary that learns of a newer one becomes a
// replica and empties itself (Redis's full resync from the new primary). Unlike Redis, no
// majority of primaries votes on a promotion: a partitioned primary and the replica
// promoted in its place both serve until they hear of each other (split brain), and a
// restarted node starts from the initial layout until the shard's primary heartbeats it.
#include <algorithm>

#include "models/cache/cache.h"
#include "models/kit/hash_slots.h"
#include "sim/core/assert.h"

namespace dsim::cache {

namespace {

constexpr size_t kHeldMax = 64;

}  // namespace

void Cache::start_shards(Context& ctx) {
  const auto nodes = ctx.group_nodes(ctx.group_name());
  group_.assign(nodes.begin(), nodes.end());
  if (group_.empty()) group_.push_back(ctx.self());
  const auto self = std::find(group_.begin(), group_.end(), ctx.self());
  me_ = self != group_.end() ? static_cast<uint32_t>(self - group_.begin()) : 0;
  const uint32_t per = config_.replicas + 1;
  const auto n = static_cast<uint32_t>(group_.size());
  view_.assign((n + per - 1) / per, ShardView{});
  for (uint32_t s = 0; s < view_.size(); ++s)
    view_[s].primary = s * per;
  my_shard_ = me_ / per;
  last_heard_ = ctx.monotonic();
  stream_ = static_cast<uint64_t>(ctx.now().ns());
  const auto s = [&ctx](std::string_view name) { return ctx.intern(name); };
  sm_ = ShardMetrics{s("moved"),
                     s("cache_failovers"),
                     s("demotions"),
                     s("replication_messages"),
                     s("replicated_changes"),
                     s("replication_gaps"),
                     s("full_syncs"),
                     s("cache_failover")};
  ctx.set_timer(config_.heartbeat, kit::timer_tag(Timer::kShard));
}

uint32_t Cache::shard_of(uint64_t key) const {
  return kit::slot_shard(kit::hash_slot(key), static_cast<uint32_t>(view_.size()));
}

bool Cache::redirected(Context& ctx, uint64_t key, const kit::CallHeader& call) {
  if (!sharded()) return false;
  const ShardView& v = view_[shard_of(key)];
  if (v.primary == me_) return false;
  ctx.record().count(sm_.moved);
  kv::KvResponse r;
  r.call = call.id;
  r.status = kv::KvStatus::kNotLeader;
  r.hint = group_[v.primary];
  ctx.send(call.reply_to, std::move(r));
  return true;
}

bool Cache::on_shard_message(Context& ctx, const Envelope& env) {
  if (const auto* hb = env.msg.get<CacheHeartbeat>()) {
    on_heartbeat(ctx, env.from, *hb);
  } else if (const auto* rep = env.msg.get<CacheReplicate>()) {
    on_replicate(ctx, env.from, *rep);
  } else if (const auto* sync = env.msg.get<CacheSync>()) {
    on_sync(ctx, env.from, *sync);
  } else if (const auto* f = env.msg.get<CacheFailover>()) {
    if (f->shard < view_.size() && f->primary < group_.size() &&
        !learn(ctx, f->shard, f->epoch, f->primary)) {
      tell_view(ctx, env.from, f->shard);
    }
  } else {
    return false;
  }
  return true;
}

// Every `heartbeat`: a primary heartbeats its shard (and, every failover_timeout / 2, the
// whole group, as Redis's cluster bus pings every node within half the node timeout, so a
// restarted node of another shard learns who its primary is); a replica checks its
// primary's silence.
void Cache::shard_tick(Context& ctx) {
  if (is_primary()) {
    const int64_t every = std::max<int64_t>(
        1, config_.failover_timeout.ns() / 2 / std::max<int64_t>(1, config_.heartbeat.ns()));
    send_heartbeats(ctx, ++ticks_ % static_cast<uint64_t>(every) == 0);
    return;
  }
  const Duration wait = config_.failover_timeout + config_.failover_rank_delay * rank();
  if (ctx.monotonic() - last_heard_ > wait) promote(ctx);
}

void Cache::send_heartbeats(Context& ctx, bool everyone) {
  const uint32_t per = config_.replicas + 1;
  const auto n = static_cast<uint32_t>(group_.size());
  const uint32_t first = everyone ? 0 : my_shard_ * per;
  const uint32_t end = everyone ? n : std::min<uint32_t>((my_shard_ + 1) * per, n);
  for (uint32_t i = first; i < end; ++i) {
    if (i != me_) ctx.send(group_[i], CacheHeartbeat{my_shard_, view_[my_shard_].epoch, me_});
  }
}

// Redis ranks replicas by replication offset; here a replica's rank is its position among
// the shard's nodes that are not its primary.
uint32_t Cache::rank() const {
  const uint32_t primary = view_[my_shard_].primary;
  uint32_t r = 0;
  for (uint32_t i = my_shard_ * (config_.replicas + 1); i < me_; ++i) {
    if (i != primary) ++r;
  }
  return r;
}

void Cache::promote(Context& ctx) {
  ShardView& v = view_[my_shard_];
  const NodeId old = group_[v.primary];
  v = ShardView{v.epoch + 1, me_};
  ctx.record().count(sm_.failovers);
  ctx.record().mark(sm_.mark_failover, static_cast<int64_t>(old), static_cast<int64_t>(v.epoch));
  // Batches held for a gap that never filled are lost with the old primary.
  held_.clear();
  next_seq_.reset();
  sent_seq_ = 0;
  for (uint32_t i = 0; i < group_.size(); ++i) {
    if (i != me_) ctx.send(group_[i], CacheFailover{my_shard_, v.epoch, me_});
  }
  send_heartbeats(ctx, false);
}

bool Cache::learn(Context& ctx, uint32_t shard, uint64_t epoch, uint32_t primary) {
  ShardView& v = view_[shard];
  if (epoch < v.epoch || (epoch == v.epoch && primary > v.primary)) return false;
  if (epoch == v.epoch && primary == v.primary) return true;
  const bool was_primary = shard == my_shard_ && v.primary == me_;
  v = ShardView{epoch, primary};
  if (shard == my_shard_) {
    last_heard_ = ctx.monotonic();
    syncing_ = false;  // a copy asked of the old primary may never come
  }
  if (was_primary && primary != me_) demote(ctx);
  return true;
}

// A primary that learned of a newer one: a replica from now on, empty, as a Redis node
// that resyncs from its new primary. Write-behind keys it still holds dirty are flushed.
void Cache::demote(Context& ctx) {
  ctx.record().count(sm_.demotions);
  outbox_.clear();
  std::vector<uint64_t> keys;  // sorted: the policy sees the removals in one order
  keys.reserve(entries_.size());
  for (const auto& [key, e] : entries_)
    keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const uint64_t key : keys)
    drop(ctx, key, Gone::kInvalidated);
  held_.clear();
  next_seq_.reset();
  syncing_ = false;
}

void Cache::tell_view(Context& ctx, NodeId to, uint32_t shard) {
  ctx.send(to, CacheFailover{shard, view_[shard].epoch, view_[shard].primary});
}

void Cache::on_heartbeat(Context& ctx, NodeId from, const CacheHeartbeat& hb) {
  if (hb.shard >= view_.size() || hb.primary >= group_.size()) return;
  if (!learn(ctx, hb.shard, hb.epoch, hb.primary)) {
    tell_view(ctx, from, hb.shard);
    return;
  }
  if (hb.shard != my_shard_ || is_primary()) return;
  last_heard_ = ctx.monotonic();
  maybe_sync(ctx, from);
}

void Cache::on_replicate(Context& ctx, NodeId from, const CacheReplicate& rep) {
  if (rep.shard != my_shard_ || rep.primary >= group_.size()) return;
  if (!learn(ctx, rep.shard, rep.epoch, rep.primary)) {
    tell_view(ctx, from, rep.shard);
    return;
  }
  if (is_primary()) return;
  last_heard_ = ctx.monotonic();
  if (rep.full) {
    if (syncing_) apply_full(ctx, rep);  // else late: what followed it was applied already
    return;
  }
  maybe_sync(ctx, from);
  if (syncing_ && held_.size() < kHeldMax) {
    held_.emplace(rep.seq, rep);
    return;
  }
  syncing_ = false;  // the copy is not coming: go on from the batches
  if (!next_seq_ || rep.epoch != applied_epoch_ || rep.stream != applied_stream_) {
    // A primary new to this node (promoted, restarted, or heard first): its batches from
    // the first held on. Were the first two reordered on the way, the first is lost.
    if (!held_.empty() &&
        (held_.begin()->second.epoch != rep.epoch || held_.begin()->second.stream != rep.stream)) {
      held_.clear();
    }
    next_seq_ = held_.empty() ? rep.seq : std::min(rep.seq, held_.begin()->first);
    applied_epoch_ = rep.epoch;
    applied_stream_ = rep.stream;
  }
  if (rep.seq < *next_seq_) return;  // a duplicate
  if (rep.seq == *next_seq_ && held_.empty()) {
    apply(ctx, rep);
    ++*next_seq_;
    return;
  }
  held_.emplace(rep.seq, rep);
  if (held_.size() > kHeldMax) {
    ctx.record().count(sm_.repl_gaps);
    next_seq_ = held_.begin()->first;
  }
  drain_held(ctx);
}

// An empty replica (started, restarted, demoted) asks its primary for a full copy, as a
// Redis replica does when it connects, and holds the batches until it comes.
void Cache::maybe_sync(Context& ctx, NodeId primary) {
  if (syncing_ || next_seq_ || !entries_.empty()) return;
  syncing_ = true;
  ctx.send(primary, CacheSync{my_shard_});
}

void Cache::drain_held(Context& ctx) {
  while (!held_.empty() && held_.begin()->first == *next_seq_) {
    apply(ctx, held_.begin()->second);
    held_.erase(held_.begin());
    ++*next_seq_;
  }
}

// The primary answers a replica's cache_sync with everything it holds, as of its last batch.
void Cache::on_sync(Context& ctx, NodeId from, const CacheSync& req) {
  if (req.shard != my_shard_ || !is_primary()) return;
  std::vector<uint64_t> keys;  // sorted: the replica admits them in one order
  keys.reserve(entries_.size());
  for (const auto& [key, e] : entries_)
    keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  CacheReplicate rep;
  rep.shard = my_shard_;
  rep.epoch = view_[my_shard_].epoch;
  rep.primary = me_;
  rep.stream = stream_;
  rep.seq = sent_seq_;
  rep.full = true;
  for (const uint64_t key : keys) {
    const Entry& e = entries_.at(key);
    CacheChange c;
    c.key = key;
    c.value = e.value;
    c.bytes = e.bytes;
    c.absent = e.absent;
    if (e.expires != SimTime::max()) c.ttl_left = e.expires - ctx.monotonic();
    rep.changes.push_back(std::move(c));
  }
  ctx.send(from, std::move(rep));
  ctx.record().count(sm_.full_syncs);
  ctx.record().count(sm_.repl_messages);
}

// A full copy replaces what the replica held; the held batches made after it follow.
void Cache::apply_full(Context& ctx, const CacheReplicate& rep) {
  syncing_ = false;
  std::vector<uint64_t> keys;
  for (const auto& [key, e] : entries_)
    keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const uint64_t key : keys)
    drop(ctx, key, Gone::kInvalidated);
  apply(ctx, rep);
  applied_epoch_ = rep.epoch;
  applied_stream_ = rep.stream;
  next_seq_ = rep.seq + 1;
  for (auto it = held_.begin(); it != held_.end();) {
    const bool same = it->second.epoch == rep.epoch && it->second.stream == rep.stream;
    it = same && it->first > rep.seq ? std::next(it) : held_.erase(it);
  }
  drain_held(ctx);
}

void Cache::apply(Context& ctx, const CacheReplicate& rep) {
  applying_ = true;
  for (const CacheChange& c : rep.changes) {
    if (c.dropped) {
      drop(ctx, c.key, static_cast<Gone>(c.why));
      continue;
    }
    Entry e;
    e.value = c.value;
    e.bytes = c.bytes;
    e.absent = c.absent;
    e.expires = c.ttl_left == Duration::max() ? SimTime::max() : ctx.monotonic() + c.ttl_left;
    store(ctx, c.key, std::move(e));
  }
  applying_ = false;
  ctx.record().count(sm_.repl_changes, static_cast<int64_t>(rep.changes.size()));
}

void Cache::note_change(Context& ctx, uint64_t key, const Entry* e, Gone why) {
  if (!sharded() || !is_primary() || config_.replicas == 0) return;
  CacheChange c;
  c.key = key;
  if (!e) {
    c.dropped = true;
    c.why = static_cast<uint8_t>(why);
  } else {
    c.value = e->value;
    c.bytes = e->bytes;
    c.absent = e->absent;
    if (e->expires != SimTime::max()) c.ttl_left = e->expires - ctx.monotonic();
  }
  outbox_.push_back(std::move(c));
}

void Cache::replicate(Context& ctx) {
  if (outbox_.empty()) return;
  if (!is_primary()) {
    outbox_.clear();
    return;
  }
  CacheReplicate rep;
  rep.shard = my_shard_;
  rep.epoch = view_[my_shard_].epoch;
  rep.primary = me_;
  rep.stream = stream_;
  rep.seq = ++sent_seq_;
  rep.changes = std::move(outbox_);
  outbox_.clear();
  const uint32_t per = config_.replicas + 1;
  const auto end = std::min<uint32_t>((my_shard_ + 1) * per, static_cast<uint32_t>(group_.size()));
  for (uint32_t i = my_shard_ * per; i < end; ++i) {
    if (i == me_) continue;
    ctx.send(group_[i], rep);
    ctx.record().count(sm_.repl_messages);
  }
}

}  // namespace dsim::cache
