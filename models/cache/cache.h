// `cache`: a cache node (or a group of independent ones) in front of an origin group that
// speaks the key-value contract (kv_store, quorum, raft, primary_backup, or another cache:
// tiers). It speaks the contract itself, so kv_client and service edges call it as they
// would call the store, and the consistency checkers judge what the end users saw through
// it — stale reads included.
//
// Reads (get): a fresh cached object is a hit, answered after `service`. Otherwise a miss,
// by cause — cold (never cached here), capacity (evicted), expired (its TTL passed: expiry
// is lazy, found on access, as memcached and Redis find it), invalidated (removed by a
// write) — and the node fetches the key from the origin through the kit's call layer
// (timeouts, retries, deadline handed down), caches what it read (admitted by the eviction
// policy, models/cache/eviction/) and answers. Concurrent misses of one key are a
// stampede: `stampede: none` fetches once per miss, `coalesce` fetches once and answers
// every waiter (request collapsing), `lease` fetches once and refuses the others, who back
// off and retry (memcache's leases, Nishtala et al. 2013). `early_expiration` refreshes a
// hot object before it expires with XFetch's probability (Vattani et al. 2015), and
// `refresh_ahead` refreshes any object read in the last share of its TTL.
//
// Writes (put, append, cas) go by `write_policy` (writes.cpp): invalidate (the write goes
// to the origin, then the cached copy is deleted: the write path of cache-aside),
// write_through (the copy is updated once the origin applied the write), write_around (the
// cache is not touched: the copy stays stale until its TTL), write_behind (the copy is
// updated and the write acknowledged at once; dirty keys are flushed to the origin every
// `flush_interval`, and a crash loses what was not flushed).
//
// Objects have sizes: the value's bytes as written, or with `object_size` a size per key
// drawn once (the same on every node: a catalog, as a CDN serves), in which case every key
// is an object even when the origin holds no value for it. Without `object_size`, a key
// the origin does not hold is cached as absent for `negative_ttl` (negative caching).
//
// Without an `origin` the cache is look-aside (aside.cpp), as memcached and Redis are used
// by most applications: a get it cannot serve is answered `miss` (kv::KvStatus::kMiss),
// and the caller — a service's call plan — reads the origin itself and fills the cache with
// what it read; a caller writing the origin deletes the copy. With `stampede: lease` a miss
// hands out a lease (memcache's, Nishtala et al. 2013): at most one per key per
// `lease_period`, refused misses retry, and a delete voids the lease, so a fill of a value
// read before a newer write is refused instead of caching the old value (the stale set of
// cache-aside). Without leases that race caches the old value until its TTL.
//
// `purges` drop ranges of keys on a schedule, each node after a delay of its own (a CDN's
// purge propagating); the analysis reports how long each took to reach every node.
//
// Each node marks its hits and misses (count and bytes) every `report_interval`; the
// analysis (analysis.cpp) reports hit_ratio and byte_hit_ratio over the measured period and
// cache_windows.csv, the hit ratio over time. With `trace_requests`, each request is marked
// too, and the analysis writes the group's requests as a trace (models/kit/trace.h) that
// `dsim cache replay` or another cache simulator can replay.
//
// With `replicas` r > 0 the group is a Redis Cluster: shards of r + 1 nodes, keys to shards
// by hash slots, one primary per shard serving, the others replicas fed asynchronously, and
// a replica promoting itself when its primary falls silent (shards.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/cache/eviction/policy.h"
#include "models/cache/replication.h"
#include "models/kit/rpc_client.h"
#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "sim/core/distribution.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::cache {

class Cache final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "cache";
  static constexpr std::string_view kDescription =
      "a cache in front of a key-value origin: eviction policies, TTLs, negative caching, "
      "stampede control (coalescing, leases, early expiration), refresh-ahead, and "
      "invalidate, write-through, write-around or write-behind writes";

  enum class Stampede : uint8_t { kNone, kCoalesce, kLease };
  /// A purge of keys first..last, issued at `at` (from the node's start, on its clock) and
  /// carried out by each node `delay` later (drawn per node): a CDN's purge reaching its
  /// caches one by one.
  /// Objects of keys first..last expire after `ttl` instead of the cache's ttl (a class of
  /// objects: images for a day, an API's answers for a minute).
  struct TtlClass {
    uint64_t first = 0;
    uint64_t last = UINT64_MAX;
    Duration ttl;
  };
  struct Purge {
    Duration at;
    uint64_t first = 0;
    uint64_t last = UINT64_MAX;
    Distribution delay = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
  };
  enum class WritePolicy : uint8_t { kInvalidate, kWriteThrough, kWriteAround, kWriteBehind };

  struct Config {
    std::string origin;
    kit::CallPolicy calls;  ///< the cache-to-origin edge
    EvictionKind eviction = EvictionKind::kLru;
    EvictionOptions eviction_options;
    std::optional<Duration> ttl;        ///< none: objects do not expire
    double ttl_jitter = 0;              ///< each object's TTL is ttl x (1 + U(-j, j))
    std::vector<TtlClass> ttl_classes;  ///< the first class holding a key gives its TTL
    Duration negative_ttl = Duration::zero();
    std::optional<Distribution> object_size;  ///< a catalog: every key has this size
    uint64_t catalog_seed = 1;
    Distribution service = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
    Stampede stampede = Stampede::kNone;
    double early_expiration = 0;  ///< XFetch's beta (0: off)
    double refresh_ahead = 0;     ///< share of the TTL at its end in which a hit refreshes
    bool stale_if_error = false;  ///< a failed fetch answers with the expired copy
    WritePolicy write_policy = WritePolicy::kInvalidate;
    Duration flush_interval = seconds(1);
    Duration report_interval = seconds(1);
    bool trace_requests = false;  ///< write the requests as a trace (cache_requests_<g>.csv)
    std::vector<Purge> purges;
    Duration lease_period = seconds(10);  ///< look-aside leases: one per key per period
    bool origin_given = false;            ///< the scenario names an origin (even one with an error)
    bool look_aside() const { return origin.empty() && !origin_given; }
    uint32_t replicas = 0;                   ///< replicas per shard (0: independent nodes)
    Duration heartbeat = ms(100);            ///< a primary heartbeats its shard this often
    Duration failover_timeout = seconds(1);  ///< silence after which a replica promotes itself
    Duration failover_rank_delay = ms(500);  ///< added per rank of the replica
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) {
    if (c.look_aside()) return {};
    return {c.origin};
  }
  /// hit_ratio and byte_hit_ratio per group, and the hit ratio over time.
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: hit ratio over time and the cache figures (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit Cache(const Config& config)
      : config_(config), rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;

  /// A cached object (exposed for tests).
  struct Entry {
    kv::KvValue value;
    uint64_t bytes = 0;
    SimTime expires = SimTime::max();  ///< monotonic clock
    Duration fetch_time;               ///< how long its last fetch took (XFetch's delta)
    bool absent = false;               ///< a negative entry: the origin holds no value
  };
  const std::unordered_map<uint64_t, Entry>& entries() const { return entries_; }

 private:
  enum class Timer : uint8_t { kCalls, kService, kFlush, kReport, kPurge, kShard };
  /// Why a key left the cache: the cause of its next miss.
  enum class Gone : uint8_t { kEvicted, kExpired, kInvalidated };
  /// A request from a caller, answered later.
  struct Waiter {
    NodeId to = kNoNode;
    uint64_t call = 0;
    SimTime arrived;  ///< monotonic clock
  };
  /// A call to the origin: a fetch of a key (for waiters, or a refresh) or a write.
  struct Job {
    kv::KvRequest req;            ///< as sent (the header is the current attempt's)
    std::vector<Waiter> waiters;  ///< fetch: every request it answers; write: its writer
    SimTime started;              ///< monotonic clock
    std::optional<Entry> stale;   ///< fetch: the expired copy (stale_if_error)
    bool flush = false;           ///< a write-behind flush (no waiter)
  };
  /// A hit waiting for its service time.
  struct Pending {
    Waiter waiter;
    kv::KvResponse resp;
  };
  struct Metrics {
    Symbol hits, misses, cold, capacity, expired, invalidated, negative_hits;
    Symbol coalesced, lease_refusals, fetches, fetch_failures, stale_served, refreshes;
    Symbol evictions, not_admitted, invalidations, writes_forwarded, writes_absorbed;
    Symbol writes_flushed, flush_failures, bytes_level, objects_level, dirty_level;
    Symbol mark_window, mark_window_bytes, mark_request, purged, mark_purge;
    Symbol fills, fills_refused, writes_refused;
  };
  /// A look-aside miss's lease on its key.
  struct Lease {
    uint64_t token = 0;
    SimTime issued;  ///< monotonic clock
  };
  /// Who a node believes is a shard's primary, and since which epoch.
  struct ShardView {
    uint64_t epoch = 0;
    uint32_t primary = 0;  ///< index in the group
  };
  struct ShardMetrics {
    Symbol moved, failovers, demotions, repl_messages, repl_changes, repl_gaps, full_syncs;
    Symbol mark_failover;
  };

  // cache.cpp: reads
  void on_timer_kind(Context& ctx, TimerTag tag);
  void on_request(Context& ctx, const kv::KvRequest& req);
  void trace_request(Context& ctx, const kv::KvRequest& req);
  void on_get(Context& ctx, const kv::KvRequest& req);
  void on_origin_answer(Context& ctx, NodeId from, const kv::KvResponse& resp);
  void miss(Context& ctx, const kv::KvRequest& req, Gone* expired);
  void maybe_refresh(Context& ctx, uint64_t key, const Entry& e);
  /// Fetches `key` from the origin for `for_req` (null: a refresh, answering nobody).
  void begin_fetch(Context& ctx, uint64_t key, const kv::KvRequest* for_req,
                   std::optional<Entry> stale);
  void fetched(Context& ctx, uint64_t handle, const kv::KvResponse& resp);
  void answer(Context& ctx, const Waiter& w, kv::KvResponse resp);
  void answer_hit(Context& ctx, const Waiter& w, const Entry& e);
  /// Caches `value` for `key` (replacing a copy), as the eviction policy admits it.
  void store(Context& ctx, uint64_t key, Entry e);
  void drop(Context& ctx, uint64_t key, Gone why);
  uint64_t object_bytes(uint64_t key, const kv::KvValue& value) const;
  SimTime expiry(Context& ctx, uint64_t key, bool absent);
  void count_request(bool hit, uint64_t bytes);
  void report_window(Context& ctx);
  /// Carries out purge `i`: every cached key in its range leaves.
  void purge(Context& ctx, size_t i);
  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  // aside.cpp: the look-aside cache
  void aside_miss(Context& ctx, const kv::KvRequest& req);
  void on_cache_op(Context& ctx, const kv::KvCacheOp& op);
  void fill(Context& ctx, const kv::KvCacheOp& op);
  // shards.cpp: replicas and failover
  bool sharded() const { return config_.replicas > 0; }
  void start_shards(Context& ctx);
  uint32_t shard_of(uint64_t key) const;
  bool is_primary() const { return !sharded() || view_[my_shard_].primary == me_; }
  /// Answers the call with a redirect when this node is not the primary of `key`'s shard.
  bool redirected(Context& ctx, uint64_t key, const kit::CallHeader& call);
  bool on_shard_message(Context& ctx, const Envelope& env);
  void shard_tick(Context& ctx);
  /// To the shard's other nodes, or to every other node of the group.
  void send_heartbeats(Context& ctx, bool everyone);
  uint32_t rank() const;
  void promote(Context& ctx);
  /// Takes in what a peer says of `shard`; true when the peer's view is (now) this node's.
  bool learn(Context& ctx, uint32_t shard, uint64_t epoch, uint32_t primary);
  void demote(Context& ctx);
  void tell_view(Context& ctx, NodeId to, uint32_t shard);
  void on_heartbeat(Context& ctx, NodeId from, const CacheHeartbeat& hb);
  void on_replicate(Context& ctx, NodeId from, const CacheReplicate& rep);
  void apply(Context& ctx, const CacheReplicate& rep);
  void maybe_sync(Context& ctx, NodeId primary);
  /// Applies the held batches that come next in order.
  void drain_held(Context& ctx);
  void on_sync(Context& ctx, NodeId from, const CacheSync& req);
  void apply_full(Context& ctx, const CacheReplicate& rep);
  /// Queues a change of this primary's objects for its replicas.
  void note_change(Context& ctx, uint64_t key, const Entry* e, Gone why = Gone::kInvalidated);
  /// Sends the changes queued by the handler that ran to the shard's replicas.
  void replicate(Context& ctx);

  // writes.cpp: the write policies
  void on_write(Context& ctx, const kv::KvRequest& req);
  void written(Context& ctx, uint64_t handle, const kv::KvResponse& resp);
  void write_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end);
  void absorb_write(Context& ctx, const kv::KvRequest& req);
  void flush(Context& ctx);

  const Config& config_;
  kit::RpcClient rpc_;
  std::unique_ptr<EvictionPolicy> policy_;
  std::unordered_map<uint64_t, Entry> entries_;  // lookups only: decisions never iterate it
  std::unordered_map<uint64_t, Gone> gone_;      // every key that left, by why
  std::map<uint64_t, Job> jobs_;                 // calls to the origin by handle
  std::map<uint64_t, uint64_t> fetching_;        // key -> the fetch in flight for it
  std::map<uint64_t, Pending> pending_;          // hits in service by number
  std::map<uint64_t, kv::KvRequest> dirty_;      // write-behind: key -> its latest write
  std::map<uint64_t, uint64_t> flushing_;        // key -> the flush in flight for it
  std::map<uint64_t, Lease> leases_;             // look-aside: key -> its lease
  std::vector<ObjectKey> evicted_;               // scratch for admit()
  uint64_t next_job_ = 1;
  uint64_t next_pending_ = 0;
  // Requests since the last report: hits, misses, and their bytes.
  int64_t window_hits_ = 0, window_misses_ = 0, window_hit_bytes_ = 0, window_miss_bytes_ = 0;
  Metrics m_;
  // Replicas and failover (shards.cpp); unused with replicas = 0.
  std::vector<NodeId> group_;                // the group's nodes, in order
  uint32_t me_ = 0;                          // this node's index in group_
  uint32_t my_shard_ = 0;                    // the shard this node belongs to
  std::vector<ShardView> view_;              // by shard
  SimTime last_heard_;                       // monotonic: the shard's primary was last heard
  std::vector<CacheChange> outbox_;          // primary: changes not yet sent
  uint64_t sent_seq_ = 0;                    // primary: batches sent in this epoch
  uint64_t ticks_ = 0;                       // primary: heartbeats sent
  std::optional<uint64_t> next_seq_;         // replica: the batch it applies next
  uint64_t stream_ = 0;                      // primary: its start, telling its batches apart
  uint64_t applied_epoch_ = 0;               // replica: the epoch of the batches it applies
  uint64_t applied_stream_ = 0;              // replica: ... and their primary's stream
  std::map<uint64_t, CacheReplicate> held_;  // replica: batches that arrived early, by seq
  bool applying_ = false;                    // replica: storing what its primary sent
  bool syncing_ = false;                     // replica: asked its primary for a full copy
  ShardMetrics sm_;
};

}  // namespace dsim::cache
