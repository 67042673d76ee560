// The worker pool: jobs start on idle workers, wait in order, are refused when the queue
// is full; a free worker takes the oldest, the newest, or (adaptive LIFO) the oldest until
// the queue is longer than lifo_above.
#include <catch2/catch.hpp>

#include "models/kit/worker_pool.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::kit;
using dsim::testing::RecordingContext;
using Pool = WorkerPool<int>;

namespace {

// Admits jobs 1..n to a one-worker pool, then frees the worker until the queue is empty:
// the order in which waiting jobs were taken.
std::vector<int> taken(const WorkerPoolSpec& spec, int n) {
  RecordingContext ctx(0);
  Pool pool(spec);
  pool.start(ctx);
  for (int j = 1; j <= n; ++j)
    pool.admit(ctx, j);
  std::vector<int> out;
  while (auto next = pool.release(ctx, 0))
    out.push_back(next->job);
  pool.check_invariants();
  return out;
}

}  // namespace

TEST_CASE("worker pool: an idle worker starts a job, others wait, a full queue refuses") {
  WorkerPoolSpec spec;
  spec.workers = 2;
  spec.queue_capacity = 1;
  RecordingContext ctx(0);
  Pool pool(spec);
  pool.start(ctx);
  CHECK(pool.admit(ctx, 1) == Pool::Admit::kStarted);
  const size_t first = pool.worker();
  CHECK(pool.admit(ctx, 2) == Pool::Admit::kStarted);
  CHECK(pool.worker() != first);
  CHECK(pool.admit(ctx, 3) == Pool::Admit::kQueued);
  CHECK(pool.admit(ctx, 4) == Pool::Admit::kFull);
  CHECK(pool.busy() == 2);
  CHECK(pool.waiting() == 1);
  ctx.advance(ms(5));
  const auto next = pool.release(ctx, first);
  REQUIRE(next);
  CHECK(next->job == 3);
  CHECK(next->worker == first);
  CHECK(ctx.recorder().observations[ctx.intern("queue_wait").id].back() == ms(5));
  CHECK_FALSE(pool.release(ctx, first));
  CHECK(pool.busy() == 1);
  pool.check_invariants();
}

TEST_CASE("worker pool: FIFO, LIFO and adaptive LIFO take waiting jobs in their order") {
  WorkerPoolSpec spec;  // job 1 starts at once; 2..6 wait
  CHECK(taken(spec, 6) == std::vector<int>{2, 3, 4, 5, 6});
  spec.order = WorkerPoolSpec::Order::kLifo;
  CHECK(taken(spec, 6) == std::vector<int>{6, 5, 4, 3, 2});
  spec.order = WorkerPoolSpec::Order::kAdaptiveLifo;
  spec.lifo_above = 2;  // newest while more than 2 wait, then oldest
  CHECK(taken(spec, 6) == std::vector<int>{6, 5, 4, 2, 3});
}
