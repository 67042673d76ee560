#include "models/kit/worker_pool.h"

#include <limits>
#include <string>

#include "sim/core/params.h"
#include "sim/core/units.h"

namespace dsim::kit {

void read_worker_pool(ParamReader& r, WorkerPoolSpec& spec) {
  spec.workers =
      r.integer("workers", spec.workers, "number of requests served at once (c)", 1, 1'000'000);
  const std::string cap = r.text("queue_capacity", "unbounded",
                                 "waiting places beyond the workers; a full queue rejects "
                                 "(K = workers + queue_capacity); 'unbounded' or an integer >= 0");
  if (cap != "unbounded") {
    std::string err;
    auto n = parse_integer(cap, &err);
    if (!n || *n < 0) {
      r.error("queue_capacity", "expected 'unbounded' or an integer >= 0, got '" + cap + "'");
    } else {
      spec.queue_capacity = *n;
    }
  }
  using Order = WorkerPoolSpec::Order;
  spec.order = r.choice(
      "queue_order", spec.order,
      {{"fifo", Order::kFifo}, {"lifo", Order::kLifo}, {"adaptive_lifo", Order::kAdaptiveLifo}},
      "which waiting request a free worker takes: the oldest, the newest, or "
      "the oldest until more than lifo_above wait, then the newest");
  if (spec.order == Order::kAdaptiveLifo || r.doc_mode()) {
    spec.lifo_above = r.integer("lifo_above", spec.lifo_above,
                                "adaptive_lifo: the queue length past which the newest is taken", 0,
                                std::numeric_limits<int32_t>::max());
  }
  read_concurrency_limit(r, spec.limit);
}

}  // namespace dsim::kit
