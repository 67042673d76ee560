#include "models/queueing/server.h"

#include <cmath>
#include <optional>

#include "models/kit/timer.h"
#include "sim/core/assert.h"
#include "sim/core/units.h"

namespace dsim::queueing {

Server::Config Server::parse(ParamReader& r) {
  Config c;
  kit::read_worker_pool(r, c.pool);
  c.service = r.distribution_map("service", c.service.front().second,
                                 "service time: one distribution, or a map op -> distribution "
                                 "(key 'default' for the others)");
  c.response_bytes = r.size("response_size", c.response_bytes, "size of a response on the wire");
  c.persist = r.text("persist", c.persist,
                     "operations written to the node's disk and synced before the response: "
                     "'none', 'all' or one operation name");
  return c;
}

void Server::declare(const Config&, MetricDecls& d) {
  for (const char* c :
       {"served", "rejected", "cancelled", "persisted", "disk_full_rejects", "recovered_records"})
    d.counter(c);
  kit::WorkerPool<Job>::declare(d);
}

void Server::on_start(Context& ctx) {
  pool_.start(ctx);
  m_served_ = ctx.intern("served");
  m_rejected_ = ctx.intern("rejected");
  m_cancelled_ = ctx.intern("cancelled");
  m_persisted_ = ctx.intern("persisted");
  m_disk_full_ = ctx.intern("disk_full_rejects");
  m_recovered_ = ctx.intern("recovered_records");
  if (config_.persist != "none" && config_.persist != "all")
    persist_op_ = ctx.intern(config_.persist);
  if (config_.persist != "none") {
    // A restarted node finds what its previous incarnations made durable.
    int64_t recovered = 0;
    ctx.disk().for_each("req/", [&recovered](std::string_view, std::string_view) { ++recovered; });
    if (recovered > 0) ctx.record().count(m_recovered_, recovered);
  }
  pool_.report(ctx);
}

void Server::start(Context& ctx, size_t worker, const Job& job) {
  // A tied request's other copy is no longer needed once this one is begun.
  if (job.tie != 0) ctx.send(job.peer, Cancel{0, job.tie, job.client});
  Duration service = service_times_.of(ctx, job.op).sample_duration(ctx.rng());
  // A slow node (gray failure) takes longer for the same work.
  if (const double f = ctx.slowdown(); f != 1.0) {
    service = Duration::from_ns(std::llround(static_cast<double>(service.ns()) * f));
  }
  ctx.set_timer(service, kit::timer_tag(Timer::kService, worker));
}

void Server::on_message(Context& ctx, const Envelope& env) {
  if (const auto* cancel = env.msg.get<Cancel>()) {
    on_cancel(ctx, env.from, *cancel);
    return;
  }
  if (const auto* tied = env.msg.get<TiedRequest>()) {
    if (ties_.take(tied->req.call.reply_to, tied->tie, ctx.monotonic())) {
      ctx.record().count(m_cancelled_);  // the other copy was begun already
      return;
    }
    admit(ctx, tied->req, tied->tie, tied->peer);
    return;
  }
  if (const auto* req = env.msg.get<Request>()) admit(ctx, *req, 0, kNoNode);
}

// A request's caller no longer awaits it, or the other copy of a tied one was begun: it is
// dropped if it still waits (a tie's copy not here yet is dropped when it comes).
void Server::on_cancel(Context& ctx, NodeId from, const Cancel& c) {
  std::optional<Job> dropped;
  if (pool_.cancel_waiting(ctx, [&](const Job& j) {
        const bool match = c.tie != 0 ? j.tie == c.tie && j.client == c.caller
                                      : j.call == c.call && j.client == from;
        if (match) dropped = j;
        return match;
      })) {
    ctx.record().count(m_cancelled_);
    pool_.leave(ctx, dropped->ticket, /*dropped=*/true);
  } else if (c.tie != 0) {
    ties_.add(c.caller, c.tie, ctx.monotonic());
  }
}

// A request arrives (`tie`: a tied request's tie, its other copy at `peer`).
void Server::admit(Context& ctx, const Request& req, uint64_t tie, NodeId peer) {
  const auto ticket = pool_.enter(ctx);
  if (!ticket) {  // shed by the concurrency limit
    ctx.send(req.call.reply_to,
             Response{req.call.id, false, static_cast<uint32_t>(config_.response_bytes)});
    return;
  }
  const Job job{req.call.reply_to, req.call.id, req.op, tie, peer, *ticket};
  switch (pool_.admit(ctx, job)) {
    case kit::WorkerPool<Job>::Admit::kStarted:
      start(ctx, pool_.worker(), job);
      break;
    case kit::WorkerPool<Job>::Admit::kQueued:
      break;
    case kit::WorkerPool<Job>::Admit::kFull:
      ctx.record().count(m_rejected_);
      answer(ctx, job, false);
      break;
  }
}

void Server::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto w = static_cast<size_t>(kit::timer_of<Timer>(tag).value);
  const Job done = pool_.job(w);
  ctx.record().count(m_served_);
  respond(ctx, done);
  if (const auto next = pool_.release(ctx, w)) start(ctx, next->worker, next->job);
}

void Server::respond(Context& ctx, const Job& job) {
  const bool persist =
      config_.persist == "all" || (config_.persist != "none" && job.op == persist_op_);
  if (!persist) {
    answer(ctx, job, true);
    return;
  }
  // Persist, wait for the sync, then reply (on_disk).
  const std::string key = "req/" + std::to_string(job.client) + "/" + std::to_string(job.call);
  if (!ctx.disk().write(key, std::string(ctx.symbol_name(job.op)))) {
    ctx.record().count(m_disk_full_);
    answer(ctx, job, false);
    return;
  }
  awaiting_sync_.emplace(ctx.disk().sync().seq, job);
}

void Server::answer(Context& ctx, const Job& job, bool accepted) {
  ctx.send(job.client, Response{job.call, accepted, static_cast<uint32_t>(config_.response_bytes)});
  pool_.leave(ctx, job.ticket, /*dropped=*/!accepted);
}

void Server::on_disk(Context& ctx, DiskOpId op, uint64_t /*tag*/) {
  auto it = awaiting_sync_.find(op.seq);
  if (it == awaiting_sync_.end()) return;
  ctx.record().count(m_persisted_);
  const Job job = it->second;
  awaiting_sync_.erase(it);
  answer(ctx, job, true);
}

void Server::on_stop(Context& ctx) {
  pool_.report(ctx);
}

void Server::check_invariants() const {
  pool_.check_invariants();
  DSIM_ASSERT(pool_.inflight() ==
                  static_cast<int64_t>(pool_.busy() + pool_.waiting() + awaiting_sync_.size()),
              "requests let in ", pool_.inflight(), " but held ",
              pool_.busy() + pool_.waiting() + awaiting_sync_.size());
}

}  // namespace dsim::queueing
