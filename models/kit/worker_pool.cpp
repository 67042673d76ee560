#include "models/kit/worker_pool.h"

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
  if (cap == "unbounded") return;
  std::string err;
  auto n = parse_integer(cap, &err);
  if (!n || *n < 0) {
    r.error("queue_capacity", "expected 'unbounded' or an integer >= 0, got '" + cap + "'");
  } else {
    spec.queue_capacity = *n;
  }
}

}  // namespace dsim::kit
