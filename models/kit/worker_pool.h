// A service station's workers and its queue: c identical workers, a queue of optional
// capacity in front of them (FIFO, LIFO or adaptive LIFO), and the levels every station reports
// (busy workers, queue length, utilization) and the wait of each job. `server` and `service` stand
// on it; the model decides what a job is and what a worker does with it.
//
//   admit(job)     a worker is idle: it takes the job (Admit::kStarted, worker()); else the
//                  job waits (kQueued) or, the queue being full, is refused (kFull)
//   release(w)     worker w is done: it takes the next waiting job, if any
//   enter(), leave()  the node's concurrency limit (concurrency_limit.h), when it has one: a
//                  request is let in, or shed, before admit(); it leaves when answered, which
//                  for a service may be long after its worker let it go
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/concurrency_limit.h"
#include "sim/core/assert.h"
#include "sim/core/distribution.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kit {

struct WorkerPoolSpec {
  /// Which waiting job a free worker takes: the oldest (FIFO), the newest (LIFO), or the
  /// oldest until more than `lifo_above` wait, then the newest (adaptive LIFO, as Facebook's
  /// servers do under overload: the newest requests are the ones still awaited).
  enum class Order : uint8_t { kFifo, kLifo, kAdaptiveLifo };
  int64_t workers = 1;
  std::optional<int64_t> queue_capacity;  ///< waiting places; none = unbounded
  Order order = Order::kFifo;
  int64_t lifo_above = 0;      ///< adaptive LIFO: the queue length past which it is LIFO
  ConcurrencyLimitSpec limit;  ///< load shedding at the door; none by default
};

template <class Job>
class WorkerPool {
 public:
  enum class Admit : uint8_t { kStarted, kQueued, kFull };
  struct Started {
    size_t worker;
    Job job;
  };

  explicit WorkerPool(const WorkerPoolSpec& spec) : spec_(&spec), admission_(spec.limit) {}

  /// Sizes the pool (every worker idle, no job waiting) and interns the figures it
  /// reports: busy_workers, queue_length, utilization (levels) and queue_wait (a timing).
  void start(Context& ctx) {
    workers_.assign(static_cast<size_t>(spec_->workers), std::nullopt);
    idle_.clear();
    for (size_t w = workers_.size(); w-- > 0;)
      idle_.push_back(w);
    queue_.clear();
    m_busy_ = ctx.intern("busy_workers");
    m_queue_ = ctx.intern("queue_length");
    m_util_ = ctx.intern("utilization");
    m_wait_ = ctx.intern("queue_wait");
    m_waited_ = ctx.intern("waited");
    admission_.start(ctx);
  }
  static void declare(MetricDecls& d) {
    d.counter("waited");
    d.timing("queue_wait");
    for (const char* l : {"busy_workers", "queue_length", "utilization"})
      d.level(l);
    Admission::declare(d);
  }

  /// A request comes to the node: let in (its ticket, to give back to leave()) while the
  /// concurrency limit allows, else shed (counted) and nullopt. Without a limit, always let in.
  std::optional<Admission::Ticket> enter(Context& ctx) { return admission_.enter(ctx); }
  /// A request let in is answered; `dropped`: refused, cancelled, expired or failed.
  void leave(Context& ctx, const Admission::Ticket& t, bool dropped) {
    admission_.leave(ctx, t, dropped);
  }
  /// Requests let in and not yet answered.
  int64_t inflight() const { return admission_.inflight(); }

  /// A job arrives (at ctx.now(), the node's clock). kStarted: worker() holds it.
  Admit admit(Context& ctx, const Job& job) {
    Admit out = Admit::kFull;
    if (!idle_.empty()) {
      last_ = idle_.back();
      idle_.pop_back();
      workers_[last_] = job;
      ctx.record().observe(m_wait_, Duration::zero());
      out = Admit::kStarted;
    } else if (!spec_->queue_capacity ||
               static_cast<int64_t>(queue_.size()) < *spec_->queue_capacity) {
      queue_.push_back({job, ctx.now()});
      out = Admit::kQueued;
    }
    report(ctx);
    return out;
  }
  /// The worker that took the last job admit() started.
  size_t worker() const { return last_; }

  /// The job worker `w` holds.
  const Job& job(size_t w) const {
    DSIM_ASSERT(w < workers_.size() && workers_[w], "worker ", w, " holds no job");
    return *workers_[w];
  }
  Job& job(size_t w) {
    DSIM_ASSERT(w < workers_.size() && workers_[w], "worker ", w, " holds no job");
    return *workers_[w];
  }

  /// Worker `w` is done with its job: it takes the next waiting one (returned), or idles.
  std::optional<Started> release(Context& ctx, size_t w) {
    DSIM_ASSERT(w < workers_.size() && workers_[w], "worker ", w, " finished no job");
    workers_[w].reset();
    std::optional<Started> next;
    if (!queue_.empty()) {
      using Order = WorkerPoolSpec::Order;
      const bool lifo =
          spec_->order == Order::kLifo || (spec_->order == Order::kAdaptiveLifo &&
                                           static_cast<int64_t>(queue_.size()) > spec_->lifo_above);
      Waiting waiting = lifo ? queue_.back() : queue_.front();
      if (lifo) {
        queue_.pop_back();
      } else {
        queue_.pop_front();
      }
      ctx.record().observe(m_wait_, ctx.now() - waiting.arrived);
      ctx.record().count(m_waited_);
      workers_[w] = waiting.job;
      next = Started{w, waiting.job};
    } else {
      idle_.push_back(w);
    }
    report(ctx);
    return next;
  }

  /// Removes the first waiting job for which `match(job)` holds; true when one did.
  template <class Match>
  bool cancel_waiting(Context& ctx, Match match) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (!match(it->job)) continue;
      queue_.erase(it);
      report(ctx);
      return true;
    }
    return false;
  }

  size_t busy() const { return workers_.size() - idle_.size(); }
  size_t waiting() const { return queue_.size(); }

  void report(Context& ctx) const {
    const double busy_now = static_cast<double>(busy());
    ctx.record().level(m_busy_, busy_now);
    ctx.record().level(m_util_, busy_now / static_cast<double>(workers_.size()));
    ctx.record().level(m_queue_, static_cast<double>(queue_.size()));
    admission_.report(ctx);
  }

  void check_invariants() const {
    size_t held = 0;
    for (const auto& w : workers_)
      held += w ? 1 : 0;
    DSIM_ASSERT(held + idle_.size() == workers_.size(), "workers busy ", held, " idle ",
                idle_.size(), " of ", workers_.size());
    DSIM_ASSERT(queue_.empty() || idle_.empty(), "a job waits while a worker is idle");
    DSIM_ASSERT(
        !spec_->queue_capacity || static_cast<int64_t>(queue_.size()) <= *spec_->queue_capacity,
        "the queue holds more than its capacity");
  }

 private:
  struct Waiting {
    Job job;
    SimTime arrived;  // the node's clock
  };
  const WorkerPoolSpec* spec_;
  std::vector<std::optional<Job>> workers_;  // one slot per worker: the job it holds
  std::vector<size_t> idle_;                 // idle worker slots (a stack)
  std::deque<Waiting> queue_;
  Admission admission_;
  size_t last_ = 0;
  Symbol m_busy_, m_queue_, m_util_, m_wait_, m_waited_;
};

/// A station's service time per operation: the distribution named for the operation, or
/// the default (the entry named ""), looked up once per operation symbol and cached.
class ServiceTimes {
 public:
  using Table = std::vector<std::pair<std::string, Distribution>>;  ///< front(): the default
  explicit ServiceTimes(const Table& table) : table_(&table) {}
  const Distribution& of(Context& ctx, Symbol op) {
    if (op.id >= by_symbol_.size()) by_symbol_.resize(op.id + 1, nullptr);
    const Distribution*& cached = by_symbol_[op.id];
    if (!cached) {
      cached = &table_->front().second;
      const std::string_view name = ctx.symbol_name(op);
      for (const auto& [n, d] : *table_) {
        if (n == name) cached = &d;
      }
    }
    return *cached;
  }

 private:
  const Table* table_;
  std::vector<const Distribution*> by_symbol_;  // indexed by Symbol id
};

/// Reads `workers`, `queue_capacity` ('unbounded' or an integer >= 0), `queue_order`,
/// (adaptive LIFO) `lifo_above` and the optional `concurrency_limit` map into `spec`.
void read_worker_pool(ParamReader& r, WorkerPoolSpec& spec);

}  // namespace dsim::kit
