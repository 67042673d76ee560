#include "models/queueing/server.h"

#include <cmath>

#include "models/kit/timer.h"
#include "sim/core/assert.h"
#include "sim/core/units.h"

namespace dsim::queueing {

Server::Config Server::parse(ParamReader& r) {
  Config c;
  c.workers =
      r.integer("workers", c.workers, "number of requests served at once (c)", 1, 1'000'000);
  const std::string cap = r.text("queue_capacity", "unbounded",
                                 "waiting places beyond the workers; a full queue rejects "
                                 "(K = workers + queue_capacity); 'unbounded' or an integer >= 0");
  if (cap != "unbounded") {
    std::string err;
    auto n = parse_integer(cap, &err);
    if (!n || *n < 0) {
      r.error("queue_capacity", "expected 'unbounded' or an integer >= 0, got '" + cap + "'");
    } else {
      c.queue_capacity = *n;
    }
  }
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
       {"served", "rejected", "waited", "persisted", "disk_full_rejects", "recovered_records"})
    d.counter(c);
  d.timing("queue_wait");
  for (const char* l : {"busy_workers", "queue_length", "utilization"})
    d.level(l);
}

void Server::on_start(Context& ctx) {
  workers_.assign(static_cast<size_t>(config_.workers), std::nullopt);
  idle_.clear();
  for (size_t w = workers_.size(); w-- > 0;)
    idle_.push_back(w);
  m_busy_ = ctx.intern("busy_workers");
  m_queue_ = ctx.intern("queue_length");
  m_util_ = ctx.intern("utilization");
  m_wait_ = ctx.intern("queue_wait");
  m_served_ = ctx.intern("served");
  m_rejected_ = ctx.intern("rejected");
  m_waited_ = ctx.intern("waited");
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
  report_levels(ctx);
}

const Distribution& Server::service_time(Context& ctx, Symbol op) {
  if (op.id >= service_by_symbol_.size()) service_by_symbol_.resize(op.id + 1, nullptr);
  const Distribution*& cached = service_by_symbol_[op.id];
  if (!cached) {
    cached = &config_.service.front().second;
    const std::string_view name = ctx.symbol_name(op);
    for (const auto& [n, d] : config_.service) {
      if (n == name) cached = &d;
    }
  }
  return *cached;
}

void Server::report_levels(Context& ctx) {
  const double busy = static_cast<double>(workers_.size() - idle_.size());
  ctx.record().level(m_busy_, busy);
  ctx.record().level(m_util_, busy / static_cast<double>(workers_.size()));
  ctx.record().level(m_queue_, static_cast<double>(queue_.size()));
}

void Server::start(Context& ctx, Job job, size_t worker) {
  Duration service = service_time(ctx, job.op).sample_duration(ctx.rng());
  // A slow node (gray failure) takes longer for the same work.
  if (const double f = ctx.slowdown(); f != 1.0) {
    service = Duration::from_ns(std::llround(static_cast<double>(service.ns()) * f));
  }
  workers_[worker] = job;
  ctx.set_timer(service, kit::timer_tag(Timer::kService, worker));
}

void Server::on_message(Context& ctx, const Envelope& env) {
  const auto* req = env.msg.get<Request>();
  if (!req) return;
  Job job{req->call.reply_to, req->call.id, req->op, ctx.now()};
  if (!idle_.empty()) {
    const size_t w = idle_.back();
    idle_.pop_back();
    ctx.record().observe(m_wait_, Duration::zero());
    start(ctx, job, w);
  } else if (!config_.queue_capacity ||
             static_cast<int64_t>(queue_.size()) < *config_.queue_capacity) {
    queue_.push_back(job);
  } else {
    ctx.record().count(m_rejected_);
    ctx.send(job.client, Response{job.call, false, static_cast<uint32_t>(config_.response_bytes)});
    return;
  }
  report_levels(ctx);
}

void Server::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto w = static_cast<size_t>(kit::timer_of<Timer>(tag).value);
  DSIM_ASSERT(w < workers_.size() && workers_[w], "worker ", w, " finished no job");
  const Job done = *workers_[w];
  workers_[w].reset();
  ctx.record().count(m_served_);
  respond(ctx, done);
  if (!queue_.empty()) {
    Job next = queue_.front();
    queue_.pop_front();
    ctx.record().observe(m_wait_, ctx.now() - next.arrived);
    ctx.record().count(m_waited_);
    start(ctx, next, w);
  } else {
    idle_.push_back(w);
  }
  report_levels(ctx);
}

void Server::respond(Context& ctx, const Job& job) {
  const bool persist =
      config_.persist == "all" || (config_.persist != "none" && job.op == persist_op_);
  if (!persist) {
    ctx.send(job.client, Response{job.call, true, static_cast<uint32_t>(config_.response_bytes)});
    return;
  }
  // Persist, wait for the sync, then reply (on_disk).
  const std::string key = "req/" + std::to_string(job.client) + "/" + std::to_string(job.call);
  if (!ctx.disk().write(key, std::string(ctx.symbol_name(job.op)))) {
    ctx.record().count(m_disk_full_);
    ctx.send(job.client, Response{job.call, false, static_cast<uint32_t>(config_.response_bytes)});
    return;
  }
  awaiting_sync_.emplace(ctx.disk().sync().seq, job);
}

void Server::on_disk(Context& ctx, DiskOpId op, uint64_t /*tag*/) {
  auto it = awaiting_sync_.find(op.seq);
  if (it == awaiting_sync_.end()) return;
  ctx.record().count(m_persisted_);
  ctx.send(it->second.client,
           Response{it->second.call, true, static_cast<uint32_t>(config_.response_bytes)});
  awaiting_sync_.erase(it);
}

void Server::on_stop(Context& ctx) {
  report_levels(ctx);
}

void Server::check_invariants() const {
  size_t busy = 0;
  for (const auto& w : workers_)
    busy += w ? 1 : 0;
  DSIM_ASSERT(busy + idle_.size() == workers_.size(), "workers busy ", busy, " idle ", idle_.size(),
              " of ", workers_.size());
  DSIM_ASSERT(queue_.empty() || idle_.empty(), "a job waits while a worker is idle");
  DSIM_ASSERT(
      !config_.queue_capacity || static_cast<int64_t>(queue_.size()) <= *config_.queue_capacity,
      "the queue holds more than its capacity");
}

}  // namespace dsim::queueing
