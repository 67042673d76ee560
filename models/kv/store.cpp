#include "models/kv/store.h"

#include <string>

namespace dsim::kv {

KvStore::Config KvStore::parse(ParamReader& r) {
  Config c;
  c.service = r.distribution("service", c.service,
                             "time to apply a request before answering (each request on its "
                             "own: no queueing)");
  c.serve = r.choice(
      "serve", c.serve, {{"first", Serve::kFirst}, {"every", Serve::kEvery}},
      "first: node 0 of the group is the store, the others redirect to it; every: each node "
      "is an independent store (not one consistent service)");
  read_state_machine_params(r, c.state);
  return c;
}

void KvStore::declare(const Config&, MetricDecls& d) {
  for (const char* c : {"served", "duplicate_applications", "deduplicated_writes", "redirected"})
    d.counter(c);
}

void KvStore::on_start(Context& ctx) {
  m_served_ = ctx.intern("served");
  m_dups_ = ctx.intern("duplicate_applications");
  m_dedup_ = ctx.intern("deduplicated_writes");
  m_redirected_ = ctx.intern("redirected");
  serving_ = ctx.self();
  if (config_.serve == Serve::kFirst) {
    const auto group = ctx.group_nodes(ctx.group_name());
    if (!group.empty()) serving_ = group[0];
  }
}

void KvStore::apply(Context& ctx, NodeId client, const KvRequest& req) {
  const uint64_t dups = sm_.duplicate_applications();
  const uint64_t dedup = sm_.deduplicated();
  ctx.send(client, sm_.apply(req, ctx.now()));
  ctx.record().count(m_served_);
  if (sm_.duplicate_applications() != dups) ctx.record().count(m_dups_);
  if (sm_.deduplicated() != dedup) ctx.record().count(m_dedup_);
}

void KvStore::on_message(Context& ctx, const Envelope& env) {
  const auto* req = env.msg.get<KvRequest>();
  if (!req) return;
  if (serving_ != ctx.self()) {
    ctx.record().count(m_redirected_);
    ctx.send(req->call.reply_to, kv_reply(*req, KvStatus::kNotLeader, serving_));
    return;
  }
  const Duration service = config_.service.sample_duration(ctx.rng());
  if (service <= Duration::zero()) {
    apply(ctx, req->call.reply_to, *req);
    return;
  }
  const uint64_t job = next_job_++;
  in_service_.emplace(job, Job{req->call.reply_to, *req});
  ctx.set_timer(service, kit::timer_tag(Timer::kService, job));
}

void KvStore::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  auto it = in_service_.find(kit::timer_of<Timer>(tag).value);
  if (it == in_service_.end()) return;
  const Job job = it->second;
  in_service_.erase(it);
  apply(ctx, job.client, job.req);
}

}  // namespace dsim::kv
