// The cache's reads: hits, misses by cause, fetches from the origin with stampede control
// and early refresh, and the windows of hits and misses it reports.
#include "models/cache/cache.h"

#include <algorithm>
#include <cmath>

#include "sim/core/assert.h"
#include "sim/core/rng.h"

namespace dsim::cache {

namespace {

kit::Answer answer_of(kv::KvStatus s) {
  switch (s) {
    case kv::KvStatus::kOk:
    case kv::KvStatus::kCasMismatch:
      return kit::Answer::kDone;
    case kv::KvStatus::kNotLeader:
      return kit::Answer::kRedirect;
    case kv::KvStatus::kUnavailable:
      return kit::Answer::kRefused;
    case kv::KvStatus::kIndeterminate:
      return kit::Answer::kIndeterminate;
    case kv::KvStatus::kMiss:  // a look-aside cache tier behind this one: nothing read
      return kit::Answer::kRefused;
  }
  return kit::Answer::kRefused;
}

}  // namespace

void Cache::on_start(Context& ctx) {
  EvictionOptions o = config_.eviction_options;
  o.seed = ctx.rng().next_u64();
  policy_ = make_eviction(config_.eviction, o);
  if (!config_.look_aside()) {
    const auto targets = kit::entry_points(ctx, config_.origin);
    const size_t home =
        targets.empty() ? 0 : ctx.rng().below(static_cast<uint32_t>(targets.size()));
    rpc_.start(ctx, targets, home);
  }
  const auto s = [&ctx](std::string_view n) { return ctx.intern(n); };
  m_ = Metrics{s("hits"),
               s("misses"),
               s("misses_cold"),
               s("misses_capacity"),
               s("misses_expired"),
               s("misses_invalidated"),
               s("negative_hits"),
               s("coalesced"),
               s("lease_refusals"),
               s("origin_fetches"),
               s("origin_fetch_failures"),
               s("stale_served"),
               s("refreshes"),
               s("evictions"),
               s("not_admitted"),
               s("invalidations"),
               s("writes_forwarded"),
               s("writes_absorbed"),
               s("writes_flushed"),
               s("flush_failures"),
               s("cached_bytes"),
               s("cached_objects"),
               s("dirty_keys"),
               s("cache_window"),
               s("cache_window_bytes"),
               s("cache_request"),
               s("purged"),
               s("cache_purge"),
               s("fills"),
               s("fills_refused"),
               s("writes_refused")};
  ctx.record().level(m_.bytes_level, 0);
  ctx.record().level(m_.objects_level, 0);
  ctx.set_timer(config_.report_interval, kit::timer_tag(Timer::kReport));
  for (size_t i = 0; i < config_.purges.size(); ++i) {
    const Purge& p = config_.purges[i];
    ctx.set_timer(p.at + p.delay.sample_duration(ctx.rng()), kit::timer_tag(Timer::kPurge, i));
  }
  if (config_.write_policy == WritePolicy::kWriteBehind) {
    ctx.record().level(m_.dirty_level, 0);
    ctx.set_timer(config_.flush_interval, kit::timer_tag(Timer::kFlush));
  }
  if (sharded()) start_shards(ctx);
}

void Cache::on_message(Context& ctx, const Envelope& env) {
  if (sharded() && on_shard_message(ctx, env)) return;
  if (const auto* req = env.msg.get<kv::KvRequest>()) {
    on_request(ctx, *req);
  } else if (const auto* creq = env.msg.get<kv::KvContextRequest>()) {
    on_request(ctx, creq->req);  // the cache keeps no causal contexts: a blind write
  } else if (const auto* op = env.msg.get<kv::KvCacheOp>()) {
    on_cache_op(ctx, *op);
  } else if (const auto* resp = env.msg.get<kv::KvResponse>()) {
    on_origin_answer(ctx, env.from, *resp);
  }
  if (sharded()) replicate(ctx);
}

void Cache::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  on_timer_kind(ctx, tag);
  if (sharded()) replicate(ctx);
}

void Cache::on_timer_kind(Context& ctx, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kCalls:
      rpc_.on_timer(ctx, value);
      return;
    case Timer::kService: {
      const auto it = pending_.find(value);
      if (it == pending_.end()) return;
      ctx.send(it->second.waiter.to, it->second.resp);
      pending_.erase(it);
      return;
    }
    case Timer::kFlush:
      flush(ctx);
      ctx.set_timer(config_.flush_interval, kit::timer_tag(Timer::kFlush));
      return;
    case Timer::kReport:
      report_window(ctx);
      ctx.set_timer(config_.report_interval, kit::timer_tag(Timer::kReport));
      return;
    case Timer::kPurge:
      purge(ctx, value);
      return;
    case Timer::kShard:
      shard_tick(ctx);
      ctx.set_timer(config_.heartbeat, kit::timer_tag(Timer::kShard));
      return;
  }
}

void Cache::on_stop(Context& ctx) {
  report_window(ctx);
}

void Cache::check_invariants() const {
  DSIM_ASSERT(policy_ == nullptr || policy_->objects() == entries_.size(), "the policy holds ",
              policy_->objects(), " objects, the cache ", entries_.size());
  DSIM_ASSERT(fetching_.size() <= jobs_.size(), "more fetches than calls");
  DSIM_ASSERT(!sharded() || policy_ == nullptr ||
                  (me_ < group_.size() && my_shard_ < view_.size() &&
                   view_[my_shard_].primary < group_.size()),
              "node ", me_, " of ", group_.size(), " in shard ", my_shard_, " of ", view_.size());
  DSIM_ASSERT(!applying_, "a replicated batch was left half-applied");
}

void Cache::on_request(Context& ctx, const kv::KvRequest& req) {
  if (redirected(ctx, req.key, req.call)) return;
  if (config_.trace_requests) trace_request(ctx, req);
  if (req.op == kv::KvOpKind::kGet) {
    on_get(ctx, req);
  } else {
    on_write(ctx, req);
  }
}

// A mark per request: the key, and the object's size (known exactly with object_size;
// else the written value's, or the cached copy's, or 0 for a miss) times 4 plus the
// operation (0 get, 1 a write).
void Cache::trace_request(Context& ctx, const kv::KvRequest& req) {
  uint64_t size = 0;
  if (config_.object_size) {
    size = object_bytes(req.key, kv::KvValue());
  } else if (req.op != kv::KvOpKind::kGet) {
    size = req.value_bytes;
  } else if (const auto it = entries_.find(req.key); it != entries_.end()) {
    size = it->second.bytes;
  }
  const int64_t op = req.op == kv::KvOpKind::kGet ? 0 : 1;
  ctx.record().mark(m_.mark_request, static_cast<int64_t>(req.key),
                    static_cast<int64_t>(size << 2) | op);
}

void Cache::on_get(Context& ctx, const kv::KvRequest& req) {
  const Waiter w{req.call.reply_to, req.call.id, ctx.monotonic()};
  const auto it = entries_.find(req.key);
  if (it == entries_.end()) {
    miss(ctx, req, nullptr);
    return;
  }
  if (ctx.monotonic() >= it->second.expires) {
    Gone why = Gone::kExpired;
    miss(ctx, req, &why);
    return;
  }
  const bool hit = policy_->lookup(req.key);
  DSIM_ASSERT(hit, "key ", req.key, " is cached but its policy does not hold it");
  const Entry& e = it->second;
  ctx.record().count(m_.hits);
  if (e.absent) ctx.record().count(m_.negative_hits);
  count_request(true, e.bytes);
  answer_hit(ctx, w, e);
  maybe_refresh(ctx, req.key, e);
}

// A miss of `req.key`; `expired` when the cache held an expired copy (dropped here, kept
// by the fetch for stale_if_error).
void Cache::miss(Context& ctx, const kv::KvRequest& req, Gone* expired) {
  std::optional<Entry> stale;
  if (expired) {
    stale = entries_.at(req.key);
    drop(ctx, req.key, Gone::kExpired);
  }
  const auto gone = gone_.find(req.key);
  const Symbol cause = gone == gone_.end()              ? m_.cold
                       : gone->second == Gone::kEvicted ? m_.capacity
                       : gone->second == Gone::kExpired ? m_.expired
                                                        : m_.invalidated;
  ctx.record().count(m_.misses);
  ctx.record().count(cause);
  count_request(false, 0);
  if (config_.look_aside()) {
    aside_miss(ctx, req);
    return;
  }
  const Waiter w{req.call.reply_to, req.call.id, ctx.monotonic()};
  const auto in_flight = fetching_.find(req.key);
  if (in_flight != fetching_.end() && config_.stampede == Stampede::kCoalesce) {
    ctx.record().count(m_.coalesced);
    jobs_.at(in_flight->second).waiters.push_back(w);
    return;
  }
  if (in_flight != fetching_.end() && config_.stampede == Stampede::kLease) {
    ctx.record().count(m_.lease_refusals);
    answer(ctx, w, kv::kv_reply(req, kv::KvStatus::kUnavailable));
    return;
  }
  begin_fetch(ctx, req.key, &req, std::move(stale));
}

void Cache::maybe_refresh(Context& ctx, uint64_t key, const Entry& e) {
  if (!config_.ttl || e.expires == SimTime::max() || fetching_.count(key)) return;
  const Duration left = e.expires - ctx.monotonic();
  bool refresh = config_.refresh_ahead > 0 &&
                 left.to_seconds() < config_.ttl->to_seconds() * config_.refresh_ahead;
  if (!refresh && config_.early_expiration > 0) {
    // XFetch: refresh when delta x beta x -ln(u) reaches the time left.
    const double gap = e.fetch_time.to_seconds() * config_.early_expiration *
                       -std::log(ctx.rng().uniform_open01());
    refresh = gap >= left.to_seconds();
  }
  if (!refresh) return;
  ctx.record().count(m_.refreshes);
  begin_fetch(ctx, key, nullptr, std::nullopt);
}

void Cache::begin_fetch(Context& ctx, uint64_t key, const kv::KvRequest* for_req,
                        std::optional<Entry> stale) {
  const uint64_t handle = next_job_++;
  Job& j = jobs_[handle];
  j.req.op = kv::KvOpKind::kGet;
  j.req.key = key;
  j.started = ctx.monotonic();
  j.stale = std::move(stale);
  kit::RpcClient::Options o;
  o.pick.key = key;
  if (for_req) {
    j.waiters.push_back(Waiter{for_req->call.reply_to, for_req->call.id, ctx.monotonic()});
    o.origin = for_req->call.origin;
    o.inherited_budget = for_req->call.budget;
    o.pick.client = for_req->call.reply_to;
  }
  fetching_[key] = handle;
  ctx.record().count(m_.fetches);
  rpc_.begin(ctx, handle, o);
}

void Cache::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                         uint32_t /*request*/) {
  Job& j = jobs_.at(handle);
  j.req.call = header;
  ctx.send(to, j.req);
}

void Cache::on_origin_answer(Context& ctx, NodeId from, const kv::KvResponse& resp) {
  const auto out = rpc_.on_answer(ctx, resp.call, from, answer_of(resp.status), resp.hint);
  if (out.status != kit::RpcClient::Outcome::Status::kDone) return;
  if (jobs_.at(out.handle).req.op == kv::KvOpKind::kGet) {
    fetched(ctx, out.handle, resp);
  } else {
    written(ctx, out.handle, resp);
  }
}

void Cache::fetched(Context& ctx, uint64_t handle, const kv::KvResponse& resp) {
  auto node = jobs_.extract(handle);
  Job& j = node.mapped();
  const uint64_t key = j.req.key;
  if (const auto f = fetching_.find(key); f != fetching_.end() && f->second == handle)
    fetching_.erase(f);
  Entry e;
  e.value = resp.value;
  if (const auto d = dirty_.find(key); d != dirty_.end()) {
    // A write-behind write the origin does not have yet is newer than what it answered.
    e.value = kv::KvValue::single(d->second.value, d->second.value_bytes);
  }
  e.absent = !config_.object_size && e.value.empty();
  e.bytes = object_bytes(key, e.value);
  e.fetch_time = ctx.monotonic() - j.started;
  e.expires = expiry(ctx, key, e.absent);
  if (!e.absent || config_.negative_ttl > Duration::zero()) store(ctx, key, e);
  for (const Waiter& w : j.waiters) {
    window_miss_bytes_ += static_cast<int64_t>(e.bytes);
    kv::KvResponse r;
    r.value = config_.object_size ? e.value.with_bytes(static_cast<uint32_t>(e.bytes)) : e.value;
    r.call = w.call;
    answer(ctx, w, std::move(r));
  }
}

void Cache::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  if (jobs_.at(handle).req.op != kv::KvOpKind::kGet) {
    write_failed(ctx, handle, end);
    return;
  }
  auto node = jobs_.extract(handle);
  Job& j = node.mapped();
  if (const auto f = fetching_.find(j.req.key); f != fetching_.end() && f->second == handle)
    fetching_.erase(f);
  ctx.record().count(m_.fetch_failures);
  for (const Waiter& w : j.waiters) {
    kv::KvResponse r;
    r.call = w.call;
    if (config_.stale_if_error && j.stale) {
      ctx.record().count(m_.stale_served);
      r.value = j.stale->value;
    } else {
      r.status = kv::KvStatus::kUnavailable;
    }
    answer(ctx, w, std::move(r));
  }
}

void Cache::answer(Context& ctx, const Waiter& w, kv::KvResponse resp) {
  resp.call = w.call;
  ctx.send(w.to, std::move(resp));
}

void Cache::answer_hit(Context& ctx, const Waiter& w, const Entry& e) {
  kv::KvResponse r;
  r.call = w.call;
  r.value = config_.object_size ? e.value.with_bytes(static_cast<uint32_t>(e.bytes)) : e.value;
  const Duration service = config_.service.sample_duration(ctx.rng());
  if (service <= Duration::zero()) {
    ctx.send(w.to, std::move(r));
    return;
  }
  const uint64_t n = next_pending_++;
  pending_.emplace(n, Pending{w, std::move(r)});
  ctx.set_timer(service, kit::timer_tag(Timer::kService, n));
}

void Cache::store(Context& ctx, uint64_t key, Entry e) {
  // With replicas, only a primary caches what it fetched or was written (a demoted one's
  // fetches still answer their waiters); a replica caches what its primary sends.
  if (sharded() && !is_primary() && !applying_) return;
  if (entries_.count(key)) {
    policy_->remove(key);
    entries_.erase(key);
  }
  evicted_.clear();
  const uint64_t expires =
      e.expires == SimTime::max() ? kNoExpiry : static_cast<uint64_t>(e.expires.ns());
  const bool admitted = policy_->admit(key, e.bytes, expires, evicted_);
  for (const ObjectKey k : evicted_) {
    entries_.erase(k);
    gone_[k] = Gone::kEvicted;
    ctx.record().count(m_.evictions);
    if (sharded()) note_change(ctx, k, nullptr, Gone::kEvicted);
  }
  if (admitted) {
    const auto it = entries_.emplace(key, std::move(e)).first;
    gone_.erase(key);
    if (sharded()) note_change(ctx, key, &it->second);
  } else {
    gone_[key] = Gone::kEvicted;
    ctx.record().count(m_.not_admitted);
    if (sharded()) note_change(ctx, key, nullptr, Gone::kEvicted);
  }
  ctx.record().level(m_.bytes_level, static_cast<double>(policy_->bytes()));
  ctx.record().level(m_.objects_level, static_cast<double>(policy_->objects()));
}

void Cache::drop(Context& ctx, uint64_t key, Gone why) {
  if (!entries_.erase(key)) return;
  policy_->remove(key);
  gone_[key] = why;
  if (sharded()) note_change(ctx, key, nullptr, why);
  ctx.record().level(m_.bytes_level, static_cast<double>(policy_->bytes()));
  ctx.record().level(m_.objects_level, static_cast<double>(policy_->objects()));
}

uint64_t Cache::object_bytes(uint64_t key, const kv::KvValue& value) const {
  if (config_.object_size) {
    Rng rng(config_.catalog_seed, stream_id("cache_object", key));
    return std::min<uint64_t>(config_.object_size->sample_count(rng), UINT32_MAX);
  }
  return value.empty() ? kv::kKvHeaderBytes : value.bytes();
}

SimTime Cache::expiry(Context& ctx, uint64_t key, bool absent) {
  std::optional<Duration> ttl = absent ? std::optional(config_.negative_ttl) : config_.ttl;
  for (const TtlClass& c : config_.ttl_classes) {
    if (!absent && key >= c.first && key <= c.last) {
      ttl = c.ttl;
      break;
    }
  }
  if (!ttl) return SimTime::max();
  double factor = 1;
  if (config_.ttl_jitter > 0) factor += config_.ttl_jitter * (2 * ctx.rng().uniform01() - 1);
  return ctx.monotonic() + Duration::from_ns(std::llround(static_cast<double>(ttl->ns()) * factor));
}

void Cache::purge(Context& ctx, size_t i) {
  const Purge& p = config_.purges.at(i);
  std::vector<uint64_t> keys;  // sorted: the policy sees the removals in one order
  for (const auto& [key, e] : entries_) {
    if (key >= p.first && key <= p.last) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (const uint64_t key : keys)
    drop(ctx, key, Gone::kInvalidated);
  ctx.record().count(m_.purged, static_cast<int64_t>(keys.size()));
  ctx.record().mark(m_.mark_purge, static_cast<int64_t>(i), static_cast<int64_t>(keys.size()));
}

void Cache::count_request(bool hit, uint64_t bytes) {
  if (hit) {
    ++window_hits_;
    window_hit_bytes_ += static_cast<int64_t>(bytes);
  } else {
    ++window_misses_;
  }
}

void Cache::report_window(Context& ctx) {
  ctx.record().mark(m_.mark_window, window_hits_, window_misses_);
  ctx.record().mark(m_.mark_window_bytes, window_hit_bytes_, window_miss_bytes_);
  window_hits_ = window_misses_ = window_hit_bytes_ = window_miss_bytes_ = 0;
}

}  // namespace dsim::cache
