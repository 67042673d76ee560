// The cache's writes, by write_policy: forwarded to the origin (invalidate, write_through,
// write_around), or absorbed and flushed later (write_behind).
//
// A forwarded write keeps the writer's idempotency key and session, so the origin applies
// a retried write once and keeps the writer's session guarantees; its answer (status,
// session token) goes back to the writer as the origin gave it. A forwarded write that
// may have been applied but got no answer invalidates the cached copy whatever the policy
// (the copy may be stale).
//
// write_behind absorbs puts: the copy is updated and the put acknowledged at once; the
// key is dirty until a flush writes its latest value to the origin (one call per key per
// flush, so two writes of one key never race each other to the origin). A crash loses the
// dirty keys: the end users' history then holds acknowledged writes no later read sees.
// Appends and compare-and-sets need the origin's state, so they are forwarded and
// invalidate the copy even under write_behind.
#include "models/cache/cache.h"

#include "sim/core/assert.h"

namespace dsim::cache {

void Cache::on_write(Context& ctx, const kv::KvRequest& req) {
  if (config_.look_aside()) {  // its callers write the origin, then delete the copy
    ctx.record().count(m_.writes_refused);
    answer(ctx, Waiter{req.call.reply_to, req.call.id, ctx.monotonic()},
           kv::kv_reply(req, kv::KvStatus::kUnavailable));
    return;
  }
  if (config_.write_policy == WritePolicy::kWriteBehind && req.op == kv::KvOpKind::kPut) {
    absorb_write(ctx, req);
    return;
  }
  const uint64_t handle = next_job_++;
  Job& j = jobs_[handle];
  j.req = req;
  j.started = ctx.monotonic();
  j.waiters.push_back(Waiter{req.call.reply_to, req.call.id, ctx.monotonic()});
  kit::RpcClient::Options o;
  o.pick.key = req.key;
  o.pick.client = req.call.reply_to;
  o.origin = req.call.origin;
  o.inherited_budget = req.call.budget;
  o.idempotency_key = req.call.idempotency_key;
  ctx.record().count(m_.writes_forwarded);
  rpc_.begin(ctx, handle, o);
}

// The origin applied (or definitely refused) write `handle`.
void Cache::written(Context& ctx, uint64_t handle, const kv::KvResponse& resp) {
  auto node = jobs_.extract(handle);
  const Job& j = node.mapped();
  const kv::KvRequest& req = j.req;
  if (j.flush) {
    flushing_.erase(req.key);
    ctx.record().count(resp.status == kv::KvStatus::kOk ? m_.writes_flushed : m_.flush_failures);
    if (resp.status != kv::KvStatus::kOk && !dirty_.count(req.key)) dirty_.emplace(req.key, req);
    return;
  }
  if (resp.status == kv::KvStatus::kOk) {
    const auto it = entries_.find(req.key);
    const bool behind = config_.write_policy == WritePolicy::kWriteBehind;
    if (config_.write_policy == WritePolicy::kWriteThrough && req.op != kv::KvOpKind::kAppend) {
      Entry e;
      e.value = kv::KvValue::single(req.value, req.value_bytes);
      e.bytes = object_bytes(req.key, e.value);
      e.expires = expiry(ctx, req.key, false);
      store(ctx, req.key, std::move(e));
    } else if (config_.write_policy == WritePolicy::kWriteThrough && it != entries_.end()) {
      Entry e = it->second;  // an append extends the cached list
      if (e.absent) e.value = kv::KvValue();
      e.absent = false;
      e.value.append(req.value, req.value_bytes);
      e.bytes = object_bytes(req.key, e.value);
      store(ctx, req.key, std::move(e));
    } else if ((config_.write_policy == WritePolicy::kInvalidate || behind) &&
               it != entries_.end()) {
      ctx.record().count(m_.invalidations);
      drop(ctx, req.key, Gone::kInvalidated);
    }
  }
  kv::KvResponse r = resp;
  answer(ctx, j.waiters.front(), std::move(r));
}

void Cache::write_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  auto node = jobs_.extract(handle);
  const Job& j = node.mapped();
  if (j.flush) {
    flushing_.erase(j.req.key);
    ctx.record().count(m_.flush_failures);
    if (!dirty_.count(j.req.key)) dirty_.emplace(j.req.key, j.req);
    return;
  }
  if (end.maybe_applied && entries_.count(j.req.key)) {
    ctx.record().count(m_.invalidations);
    drop(ctx, j.req.key, Gone::kInvalidated);
  }
  const kv::KvStatus status =
      end.maybe_applied ? kv::KvStatus::kIndeterminate : kv::KvStatus::kUnavailable;
  answer(ctx, j.waiters.front(), kv::kv_reply(j.req, status));
}

void Cache::absorb_write(Context& ctx, const kv::KvRequest& req) {
  Entry e;
  e.value = kv::KvValue::single(req.value, req.value_bytes);
  e.bytes = object_bytes(req.key, e.value);
  e.expires = expiry(ctx, req.key, false);
  store(ctx, req.key, std::move(e));
  dirty_[req.key] = req;
  ctx.record().count(m_.writes_absorbed);
  ctx.record().level(m_.dirty_level, static_cast<double>(dirty_.size() + flushing_.size()));
  answer(ctx, Waiter{req.call.reply_to, req.call.id, ctx.monotonic()},
         kv::kv_reply(req, kv::KvStatus::kOk));
}

// Writes every dirty key's latest value to the origin, but for keys whose last flush is
// still in flight (they go next time).
void Cache::flush(Context& ctx) {
  for (auto it = dirty_.begin(); it != dirty_.end();) {
    const uint64_t key = it->first;
    if (flushing_.count(key)) {
      ++it;
      continue;
    }
    const uint64_t handle = next_job_++;
    Job& j = jobs_[handle];
    j.req = it->second;
    j.started = ctx.monotonic();
    j.flush = true;
    flushing_[key] = handle;
    it = dirty_.erase(it);
    kit::RpcClient::Options o;
    o.pick.key = key;
    o.idempotency_key = j.req.call.idempotency_key;
    rpc_.begin(ctx, handle, o);
  }
  ctx.record().level(m_.dirty_level, static_cast<double>(dirty_.size() + flushing_.size()));
}

}  // namespace dsim::cache
