// The cache's parameters and the metrics it declares.
#include <vector>

#include "models/cache/cache.h"
#include "sim/core/units.h"

namespace dsim::cache {

namespace {

void read_capacity(ParamReader& r, Cache::Config& c) {
  EvictionOptions& o = c.eviction_options;
  o.capacity_bytes = r.size("capacity", o.capacity_bytes,
                            "bytes of objects a node holds at most (0: no limit in bytes; "
                            "capacity_objects may bound it instead)");
  o.capacity_objects = static_cast<uint64_t>(
      r.integer("capacity_objects", 0, "objects a node holds at most (0: no limit in objects)", 0));
  if (o.capacity_bytes == 0 && o.capacity_objects == 0 && !r.doc_mode()) {
    r.error("capacity", "give capacity (bytes), capacity_objects, or both: a cache needs a bound");
  }
  const std::vector<std::pair<std::string_view, EvictionKind>> kinds(eviction_names().begin(),
                                                                     eviction_names().end());
  c.eviction = r.choice("eviction", c.eviction, kinds,
                        "which object leaves when the cache is full (docs/models/cache.md has "
                        "each policy's exact variant)");
  o.lfu_aging_period = static_cast<uint64_t>(
      r.integer("lfu_aging_period", 0,
                "lfu: every count is halved after this many lookups (0: no aging)", 0));
  o.clock_max_count = static_cast<uint32_t>(
      r.integer("clock_max_count", 1,
                "clock: the reference counter's largest value (1: second chance)", 1, 255));
  o.two_q_in_share = r.number("two_q_in_share", o.two_q_in_share,
                              "2q: the share of the capacity held by the A1in queue", 0.01, 0.99);
  o.two_q_out_share = r.number("two_q_out_share", o.two_q_out_share,
                               "2q: the ghost queue A1out's length, as a share of the capacity "
                               "in objects",
                               0.01, 10);
  o.tinylfu_window_share =
      r.number("tinylfu_window_share", o.tinylfu_window_share,
               "w_tinylfu: the share of the capacity that is the admission window", 0.001, 0.99);
  o.s3fifo_small_share =
      r.number("s3fifo_small_share", o.s3fifo_small_share,
               "s3fifo: the share of the capacity that is the small queue", 0.01, 0.99);
}

void read_expiry(ParamReader& r, Cache::Config& c) {
  c.ttl = r.optional_duration("ttl", "how long an object stays fresh (default: forever)");
  if (c.ttl && *c.ttl <= Duration::zero()) r.error("ttl", "must be > 0");
  c.ttl_jitter = r.number("ttl_jitter", c.ttl_jitter,
                          "each object's TTL is ttl x (1 + u), u uniform in [-j, j], so objects "
                          "cached together do not expire together",
                          0, 0.99);
  c.negative_ttl = r.duration("negative_ttl", c.negative_ttl,
                              "how long a key the origin does not hold is cached as absent (0: "
                              "absent keys are not cached); not with object_size");
  if (c.look_aside() && !r.doc_mode()) return;  // read_look_aside() refuses the rest
  c.early_expiration =
      r.number("early_expiration", c.early_expiration,
               "XFetch's beta: a hit refreshes the object early with probability growing as its "
               "expiry nears (now - delta x beta x ln(u) >= expiry, delta its last fetch time); "
               "0: off",
               0, 100);
  c.refresh_ahead = r.number("refresh_ahead", c.refresh_ahead,
                             "a hit in the last share of its object's TTL refreshes it in the "
                             "background (0: off)",
                             0, 1);
  c.stale_if_error = r.boolean("stale_if_error", c.stale_if_error,
                               "a fetch that fails answers with the expired copy, if the cache "
                               "still had one (HTTP's stale-if-error)");
  if ((c.early_expiration > 0 || c.refresh_ahead > 0) && !c.ttl && !r.doc_mode()) {
    r.error(c.early_expiration > 0 ? "early_expiration" : "refresh_ahead",
            "needs a ttl: objects that never expire are never refreshed");
  }
}

// Reads list `key` of maps `shape` ("list of {...}"), each item through `read` with a
// reader of its own (absent: nothing is read).
template <class Read>
void for_each_item(ParamReader& r, std::string_view key, std::string_view shape,
                   std::string_view help, Read read) {
  const ParamNode* list = r.raw(key, shape, help, "none");
  if (!list) return;
  if (list->kind != ParamNode::Kind::kList) {
    r.error(key, "expected a " + std::string(shape));
    return;
  }
  for (size_t i = 0; i < list->items.size(); ++i) {
    const std::string path = r.path() + "." + std::string(key) + "[" + std::to_string(i) + "]";
    ParamReader item(&list->items[i], &r.env(), path, list->items[i].loc);
    read(item);
    item.finish();
  }
}

void read_ttl_classes(ParamReader& r, Cache::Config& c) {
  for_each_item(
      r, "ttl_classes", "list of {first_key, last_key, ttl}",
      "TTLs by key range: the first class holding a key gives its objects' TTL instead "
      "of ttl",
      [&c](ParamReader& item) {
        Cache::TtlClass t;
        t.first = static_cast<uint64_t>(item.integer("first_key", 0, "the class's first key", 0));
        t.last = static_cast<uint64_t>(item.integer(
            "last_key", INT64_MAX, "the class's last key (default: every key from first_key on)",
            static_cast<int64_t>(t.first)));
        if (!item.has("ttl")) item.error("ttl", "missing required key 'ttl'");
        t.ttl = item.duration("ttl", seconds(60), "how long the class's objects stay fresh");
        if (t.ttl <= Duration::zero()) item.error("ttl", "must be > 0");
        c.ttl_classes.push_back(t);
      });
}

void read_objects(ParamReader& r, Cache::Config& c) {
  if (r.has("object_size") || r.doc_mode()) {
    c.object_size = r.distribution("object_size", Distribution::constant(1024),
                                   "a catalog: every key is an object of a size drawn once per "
                                   "key from this (the same on every node), whatever the origin "
                                   "holds (default: the size of the value the origin holds)",
                                   Distribution::Dim::kBytes);
    const uint64_t cap = c.eviction_options.capacity_bytes;
    if (cap > 0 && c.object_size->min_value() > static_cast<double>(cap)) {
      r.error("object_size", "every object is larger than capacity (" + format_bytes(cap) +
                                 "): nothing would ever be cached");
    }
    if (c.negative_ttl > Duration::zero()) {
      r.error("negative_ttl", "with object_size every key is an object: nothing is absent");
    }
  }
  c.catalog_seed = static_cast<uint64_t>(
      r.integer("catalog_seed", 1,
                "the seed of the objects' sizes (object_size), the same on every node", 0));
}

void read_purges(ParamReader& r, Cache::Config& c) {
  for_each_item(
      r, "purges", "list of {at, first_key, last_key, delay}",
      "purges on a schedule: keys first_key..last_key leave every node, each node after its own "
      "delay (a CDN's purge propagating)",
      [&c](ParamReader& item) {
        Cache::Purge p;
        p.at = item.duration("at", p.at, "when the purge is issued, from the node's start");
        p.first = static_cast<uint64_t>(item.integer("first_key", 0, "the first key purged", 0));
        p.last = static_cast<uint64_t>(item.integer("last_key", static_cast<int64_t>(p.first),
                                                    "the last key purged (default: first_key)",
                                                    static_cast<int64_t>(p.first)));
        p.delay = item.distribution(
            "delay", p.delay, "how long after `at` each node carries it out (drawn per node)");
        c.purges.push_back(std::move(p));
      });
}

// Without an origin the cache is look-aside: the keys that need an origin are refused
// (read here, so they are not also unknown keys; the readers of those keys skip them).
void refuse_origin_keys(ParamReader& r) {
  const auto refuse = [&r](std::string_view key, std::string_view what) {
    if (!r.has(key)) return;
    r.raw(key, "", "");
    r.error(key, std::string(what) +
                     ": a look-aside cache (no origin) has none; its callers read the origin, "
                     "fill and delete");
  };
  refuse("early_expiration", "refreshes objects from the origin");
  refuse("refresh_ahead", "refreshes objects from the origin");
  refuse("stale_if_error", "serves a stale copy when a fetch from the origin fails");
  refuse("write_policy", "says how writes reach the origin");
  refuse("flush_interval", "says how often writes are flushed to the origin");
}

void read_writes(ParamReader& r, Cache::Config& c) {
  c.write_policy = r.choice(
      "write_policy", c.write_policy,
      {{"invalidate", Cache::WritePolicy::kInvalidate},
       {"write_through", Cache::WritePolicy::kWriteThrough},
       {"write_around", Cache::WritePolicy::kWriteAround},
       {"write_behind", Cache::WritePolicy::kWriteBehind}},
      "invalidate (to the origin, then the copy is deleted: cache-aside's writes), write_through "
      "(the copy is updated once the origin applied it), write_around (the copy is left as it "
      "is, stale until it expires), write_behind (acknowledged at once, flushed later)");
  c.flush_interval = r.duration("flush_interval", c.flush_interval,
                                "write_behind: dirty keys are written to the origin this often");
  if (c.flush_interval <= Duration::zero()) r.error("flush_interval", "must be > 0");
}

// Look-aside leases last `lease_period`; coalescing needs an origin.
void read_look_aside(ParamReader& r, Cache::Config& c) {
  if (r.has("lease_period") || r.doc_mode()) {
    c.lease_period = r.duration("lease_period", c.lease_period,
                                "look-aside with stampede: lease: a key's lease is handed out "
                                "at most once per this long; misses meanwhile are refused and "
                                "retry (memcache's 10 s)");
    if (c.lease_period <= Duration::zero()) r.error("lease_period", "must be > 0");
    if (!c.look_aside() || c.stampede != Cache::Stampede::kLease) {
      r.error("lease_period", "applies to a look-aside cache (no origin) with stampede: lease");
    }
  }
  if (!c.look_aside() || r.doc_mode()) return;
  if (c.stampede == Cache::Stampede::kCoalesce) {
    r.error("stampede",
            "coalesce shares one fetch from the origin among misses: a look-aside "
            "cache (no origin) fetches nothing; lease is its stampede control");
  }
}

// Read only when given (or for the docs), so a scenario without replicas resolves to the
// same parameters as before they existed.
void read_replicas(ParamReader& r, Cache::Config& c) {
  const auto given = [&r](std::string_view key) { return r.has(key) || r.doc_mode(); };
  if (given("replicas")) {
    c.replicas = static_cast<uint32_t>(
        r.integer("replicas", 0,
                  "replicas per shard, Redis Cluster style: the group's nodes form shards of "
                  "replicas + 1 consecutive nodes, one primary serving each shard's hash slots "
                  "(0: independent nodes)",
                  0, 16));
  }
  const bool failover = c.replicas > 0 || r.doc_mode();
  if (failover || r.has("heartbeat")) {
    c.heartbeat = r.duration("heartbeat", c.heartbeat,
                             "replicas: a shard's primary heartbeats its replicas this often");
  }
  if (failover || r.has("failover_timeout")) {
    c.failover_timeout = r.duration("failover_timeout", c.failover_timeout,
                                    "replicas: a replica that heard nothing from its primary for "
                                    "this long promotes itself (Redis's cluster-node-timeout)");
  }
  if (failover || r.has("failover_rank_delay")) {
    c.failover_rank_delay =
        r.duration("failover_rank_delay", c.failover_rank_delay,
                   "replicas: a replica of rank j (its position among the shard's replicas) "
                   "waits j x this longer, so the first replica is promoted first");
  }
  if (r.doc_mode()) return;
  if (c.replicas == 0) {
    for (const char* key : {"heartbeat", "failover_timeout", "failover_rank_delay"}) {
      if (r.has(key)) r.error(key, "needs replicas > 0: a node without replicas has no failover");
    }
    return;
  }
  if (c.heartbeat <= Duration::zero()) r.error("heartbeat", "must be > 0");
  if (c.failover_timeout <= c.heartbeat) {
    r.error("failover_timeout", "must be longer than heartbeat (" + format_duration(c.heartbeat) +
                                    "), or every replica promotes itself between heartbeats");
  }
  const uint32_t nodes = r.env().group_count;
  const uint32_t per = c.replicas + 1;
  if (nodes > 0 && nodes % per != 0) {
    r.error("replicas", "the group's " + std::to_string(nodes) +
                            " nodes do not split into shards of replicas + 1 = " +
                            std::to_string(per) + " nodes");
  }
}

}  // namespace

Cache::Config Cache::parse(ParamReader& r) {
  Config c;
  c.origin_given = r.has("origin");
  if (c.origin_given || r.doc_mode()) {
    c.origin = r.group("origin",
                       "the key-value group behind the cache (a store, or a cache tier); none: a "
                       "look-aside cache, filled and invalidated by its callers (fill, delete)");
  }
  if (c.look_aside() && !r.doc_mode()) refuse_origin_keys(r);
  read_capacity(r, c);
  read_expiry(r, c);
  read_ttl_classes(r, c);
  read_objects(r, c);
  c.service = r.distribution("service", c.service, "time to answer a hit (no queueing)");
  c.stampede = r.choice(
      "stampede", c.stampede,
      {{"none", Stampede::kNone}, {"coalesce", Stampede::kCoalesce}, {"lease", Stampede::kLease}},
      "concurrent misses of one key: none (each fetches), coalesce (one fetch "
      "answers them all), lease (one fetches; the others are refused and retry)");
  if (!c.look_aside() || r.doc_mode()) read_writes(r, c);
  c.report_interval = r.duration("report_interval", c.report_interval,
                                 "hits and misses are reported per window of this length "
                                 "(cache_windows.csv)");
  if (c.report_interval <= Duration::zero()) r.error("report_interval", "must be > 0");
  read_purges(r, c);
  read_look_aside(r, c);
  read_replicas(r, c);
  c.trace_requests =
      r.boolean("trace_requests", c.trace_requests,
                "write the requests the group receives as a trace, cache_requests_<group>.csv "
                "(time,key,size,op), for dsim cache replay or another cache simulator");
  if (!c.look_aside() || r.doc_mode()) kit::read_call_policy(r, c.calls);
  return c;
}

void Cache::declare(const Config&, MetricDecls& d) {
  for (const char* n : {"hits",
                        "misses",
                        "misses_cold",
                        "misses_capacity",
                        "misses_expired",
                        "misses_invalidated",
                        "negative_hits",
                        "coalesced",
                        "lease_refusals",
                        "origin_fetches",
                        "origin_fetch_failures",
                        "stale_served",
                        "refreshes",
                        "evictions",
                        "not_admitted",
                        "invalidations",
                        "writes_forwarded",
                        "writes_absorbed",
                        "writes_flushed",
                        "flush_failures",
                        "purged",
                        "fills",
                        "fills_refused",
                        "writes_refused"})
    d.counter(n);
  for (const char* n : {"moved", "cache_failovers", "demotions", "replication_messages",
                        "replicated_changes", "replication_gaps"})
    d.counter(n);
  for (const char* n : {"cached_bytes", "cached_objects", "dirty_keys"})
    d.level(n);
  for (const char* n : {"hit_ratio", "byte_hit_ratio", "purge_complete_ms_max", "failover_ms_max"})
    d.figure(n);
  kit::RpcClient::declare(d);
}

}  // namespace dsim::cache
