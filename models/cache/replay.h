// Pure cache replay: a request trace (models/kit/trace.h) through one cache under an
// eviction policy, with no network, service time or expiry — what established cache
// simulators compute, so dsim's policies can be held side by side with theirs
// (`dsim cache replay`).
//
// Each row is one request:
//   get     a hit when the object is cached; else a miss, after which the object (of the
//           row's size) is offered to the policy, which admits it or not
//   put     the object is written: cached again with the row's size if it was cached
//           (a changed size), otherwise not touched (write-around); not a hit nor a miss
//   delete  the object leaves the cache; not a hit nor a miss
// The hit ratio is hits / gets, the byte hit ratio the bytes of the objects hit / the bytes
// of every get, each over the gets after the first `warmup` rows.
#pragma once

#include <cstdint>
#include <span>

#include "models/cache/eviction/policy.h"
#include "models/kit/trace.h"

namespace dsim::cache {

struct ReplayResult {
  uint64_t gets = 0;       ///< measured (after the warmup rows)
  uint64_t hits = 0;       ///< measured
  uint64_t bytes = 0;      ///< bytes of the measured gets
  uint64_t bytes_hit = 0;  ///< bytes of the measured hits
  uint64_t evictions = 0;  ///< over the whole trace
  uint64_t not_admitted = 0;
  double hit_ratio() const {
    return gets ? static_cast<double>(hits) / static_cast<double>(gets) : 0;
  }
  double byte_hit_ratio() const {
    return bytes ? static_cast<double>(bytes_hit) / static_cast<double>(bytes) : 0;
  }
};

/// Replays `rows` through a cache with policy `kind` and `options`; the first `warmup`
/// rows fill the cache without being measured.
ReplayResult replay(std::span<const kit::TraceRow> rows, EvictionKind kind,
                    const EvictionOptions& options, uint64_t warmup = 0);

}  // namespace dsim::cache
