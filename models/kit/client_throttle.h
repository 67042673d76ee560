// A client's own rate limit, as client libraries carry one (`client` and `kv_client`'s
// `rate_limit`): each request the client is about to send passes the kit's limiter
// (rate_limit.h) first. A refused one is never sent; under leaky_queue an admitted one
// waits its turn to leave. Counted as rate_limit_allowed and rate_limit_rejected.
#pragma once

#include <cstdint>
#include <memory>

#include "models/kit/rate_limit.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kit {

/// Reads the client's `rate_limit` map (rate_limit.h's keys; scope global or per_key: a
/// per_client limit at a client is the client's own already, and is refused).
void read_client_rate_limit(ParamReader& r, RateLimitPolicy& policy);

class ClientThrottle {
 public:
  static void declare(const RateLimitPolicy& policy, MetricDecls& d);
  /// Without an algorithm in `policy`, every request goes at once.
  void start(Context& ctx, const RateLimitPolicy& policy);

  struct Verdict {
    bool refused = false;
    Duration delay = Duration::zero();  ///< admitted: how long it waits before it is sent
  };
  /// The verdict on a request with `key`, counted.
  Verdict check(Context& ctx, uint64_t key);

 private:
  std::unique_ptr<RateLimiter> limiter_;  // null: no limit
  Symbol allowed_, rejected_;
};

}  // namespace dsim::kit
