// The look-aside cache (a cache without an origin): misses answered `miss`, with a lease
// under `stampede: lease`; fills of what the caller read from the origin; deletes after the
// caller wrote it. See cache.h and kv::KvCacheOp.
#include "models/cache/cache.h"

#include "sim/core/assert.h"

namespace dsim::cache {

// A miss (counted by cause in miss()): answered kMiss. With leases, the first miss of a key
// gets its lease; later misses within lease_period are refused (the caller backs off and
// asks again, by when the lease holder has usually filled the key).
void Cache::aside_miss(Context& ctx, const kv::KvRequest& req) {
  const Waiter w{req.call.reply_to, req.call.id, ctx.monotonic()};
  kv::KvResponse r = kv::kv_reply(req, kv::KvStatus::kMiss);
  if (config_.stampede == Stampede::kLease) {
    const auto it = leases_.find(req.key);
    if (it != leases_.end() && ctx.monotonic() - it->second.issued < config_.lease_period) {
      ctx.record().count(m_.lease_refusals);
      answer(ctx, w, kv::kv_reply(req, kv::KvStatus::kUnavailable));
      return;
    }
    // Random tokens: a restarted node (a new instance) cannot hand out a token again that a
    // caller still holds from before.
    r.lease = ctx.rng().next_u64() | 1;
    leases_[req.key] = Lease{r.lease, ctx.monotonic()};
  }
  answer(ctx, w, std::move(r));
}

void Cache::on_cache_op(Context& ctx, const kv::KvCacheOp& op) {
  if (redirected(ctx, op.key, op.call)) return;  // to the primary of the key's shard
  const Waiter w{op.call.reply_to, op.call.id, ctx.monotonic()};
  kv::KvResponse r;
  if (!config_.look_aside()) {  // a cache with an origin fills and invalidates itself
    ctx.record().count(m_.writes_refused);
    r.status = kv::KvStatus::kUnavailable;
  } else if (op.erase) {
    // A delete voids the key's lease: a fill of what was read before the write is refused.
    leases_.erase(op.key);
    if (entries_.count(op.key)) ctx.record().count(m_.invalidations);
    drop(ctx, op.key, Gone::kInvalidated);
  } else if (config_.stampede == Stampede::kLease) {
    const auto it = leases_.find(op.key);
    if (it == leases_.end() || it->second.token != op.lease) {
      ctx.record().count(m_.fills_refused);
      r.status = kv::KvStatus::kCasMismatch;
    } else {
      leases_.erase(it);
      fill(ctx, op);
    }
  } else {
    fill(ctx, op);
  }
  answer(ctx, w, std::move(r));
}

void Cache::fill(Context& ctx, const kv::KvCacheOp& op) {
  DSIM_ASSERT(config_.look_aside(), "a fill at a cache with an origin");
  ctx.record().count(m_.fills);
  Entry e;
  e.value = op.value;
  e.absent = !config_.object_size && e.value.empty();
  e.bytes = object_bytes(op.key, e.value);
  e.expires = expiry(ctx, op.key, e.absent);
  if (!e.absent || config_.negative_ttl > Duration::zero()) {
    store(ctx, op.key, std::move(e));
  } else {
    drop(ctx, op.key, Gone::kInvalidated);  // the origin holds nothing: no copy is right
  }
}

}  // namespace dsim::cache
