// Pure cache replay (replay.h).
#include "models/cache/replay.h"

#include <vector>

namespace dsim::cache {

ReplayResult replay(std::span<const kit::TraceRow> rows, EvictionKind kind,
                    const EvictionOptions& options, uint64_t warmup) {
  ReplayResult out;
  const auto policy = make_eviction(kind, options);
  std::vector<ObjectKey> evicted;
  for (size_t i = 0; i < rows.size(); ++i) {
    const kit::TraceRow& row = rows[i];
    const bool measured = i >= warmup;
    evicted.clear();
    bool offered = false;
    if (row.op == kit::TraceOp::kDelete) {
      policy->remove(row.key);
    } else if (row.op == kit::TraceOp::kPut) {
      if (policy->contains(row.key)) {
        policy->remove(row.key);
        offered = true;
      }
    } else {
      const bool hit = policy->lookup(row.key);
      if (measured) {
        ++out.gets;
        out.bytes += row.size;
        out.hits += hit ? 1 : 0;
        out.bytes_hit += hit ? row.size : 0;
      }
      offered = !hit;
    }
    if (offered && !policy->admit(row.key, row.size, kNoExpiry, evicted)) ++out.not_admitted;
    out.evictions += evicted.size();
  }
  return out;
}

}  // namespace dsim::cache
