// The messages between the nodes of a cache group with replicas (shards.cpp):
//
//   primary -> its shard's nodes   cache_heartbeat   "I am the shard's primary at this epoch"
//   primary -> its shard's nodes   cache_replicate   changes of its cached objects, in order
//   replica -> its primary         cache_sync        "send me everything you hold" (an empty
//                                                    replica: started, restarted or demoted)
//   promoted replica -> group      cache_failover    the shard's new primary and epoch; also
//                                                    the answer to a node that spoke with an
//                                                    older epoch (Redis Cluster's UPDATE)
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/kv/contract.h"
#include "sim/core/time.h"

namespace dsim::cache {

struct CacheHeartbeat {
  static constexpr std::string_view kName = "cache_heartbeat";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  uint32_t primary = 0;  ///< the sender's index in the group
  uint32_t size_bytes() const { return 24; }
  std::string describe() const {
    return "heartbeat shard " + std::to_string(shard) + " epoch " + std::to_string(epoch);
  }
};

struct CacheFailover {
  static constexpr std::string_view kName = "cache_failover";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  uint32_t primary = 0;  ///< index in the group
  uint32_t size_bytes() const { return 24; }
  std::string describe() const {
    return "failover shard " + std::to_string(shard) + " epoch " + std::to_string(epoch) +
           " primary " + std::to_string(primary);
  }
};

struct CacheSync {
  static constexpr std::string_view kName = "cache_sync";
  uint32_t shard = 0;
  uint32_t size_bytes() const { return 16; }
  std::string describe() const { return "sync shard " + std::to_string(shard); }
};

/// One change of a primary's cached objects: the key stored (with its object), or dropped.
struct CacheChange {
  uint64_t key = 0;
  bool dropped = false;
  uint8_t why = 0;  ///< dropped: why it left the primary (evicted, expired, invalidated)
  bool absent = false;
  kv::KvValue value;
  uint64_t bytes = 0;
  Duration ttl_left = Duration::max();  ///< max: the object does not expire
  uint32_t wire_bytes() const {
    return 12 + (dropped ? 0 : 8 + static_cast<uint32_t>(std::min<uint64_t>(bytes, UINT32_MAX)));
  }
};

/// A batch of changes: those one handler of the primary made, numbered within its epoch
/// and its life (a restarted primary numbers anew) so a replica applies batches in the
/// order they were made.
struct CacheReplicate {
  static constexpr std::string_view kName = "cache_replicate";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  uint32_t primary = 0;  ///< the sender's index in the group
  uint64_t stream = 0;   ///< the sender's start (ns, its clock): a restarted primary's is new
  uint64_t seq = 0;      ///< 1, 2, ... within the epoch and stream
  /// A full copy (the answer to cache_sync): every object the primary holds, as of batch
  /// `seq`; it replaces what the replica held.
  bool full = false;
  std::vector<CacheChange> changes;
  uint32_t size_bytes() const {
    uint64_t n = 32;
    for (const CacheChange& c : changes)
      n += c.wire_bytes();
    return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
  }
  std::string describe() const {
    return std::string(full ? "full copy" : "replicate") + " shard " + std::to_string(shard) +
           " epoch " + std::to_string(epoch) + " seq " + std::to_string(seq) + " changes " +
           std::to_string(changes.size());
  }
};

}  // namespace dsim::cache
