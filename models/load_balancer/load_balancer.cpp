// The load balancer's relaying: requests in, calls to the backends out, answers back.
#include "models/load_balancer/load_balancer.h"

#include <algorithm>

#include "models/kit/call.h"
#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::lb {

void LoadBalancer::on_start(Context& ctx) {
  const auto nodes = ctx.group_nodes(config_.backends);
  backends_.assign(nodes.size(), Backend{});
  for (size_t i = 0; i < nodes.size(); ++i)
    backends_[i].node = nodes[i];
  if (gate_.enabled()) rpc_.share_call_ids(next_call_seq_);
  rpc_.start(ctx, nodes, 0);
  gate_.start(ctx, next_call_seq_);
  if (config_.mode == Mode::kDirectReturn) {
    direct_balancer_ = kit::make_balancer(config_.calls.balancer);
    direct_balancer_->start(nodes.size(), 0);
    direct_observed_.assign(nodes.size(), kit::Observed{});
  }
  m_.proxied = ctx.intern("proxied");
  m_.forwarded = ctx.intern("forwarded");
  m_.relay_failed = ctx.intern("relay_failed");
  m_.refused_no_backend = ctx.intern("refused_no_backend");
  m_.probes_sent = ctx.intern("health_checks_sent");
  m_.probe_failures = ctx.intern("health_check_failures");
  m_.marked_unhealthy = ctx.intern("marked_unhealthy");
  m_.marked_healthy = ctx.intern("marked_healthy");
  m_.ejections = ctx.intern("ejections");
  m_.ejections_denied = ctx.intern("ejections_denied");
  m_.ejections_ended = ctx.intern("ejections_ended");
  m_.mark_backend_requests = ctx.intern("lb_backend_requests");
  m_.mark_backend_down = ctx.intern("lb_backend_down");
  m_.mark_backend_up = ctx.intern("lb_backend_up");
  m_.deregistrations = ctx.intern("deregistrations");
  m_.registrations = ctx.intern("registrations");
  m_.drained = ctx.intern("drained");
  m_.cut = ctx.intern("cut");
  m_.drain_time = ctx.intern("drain_time");
  probe_op_ = ctx.intern("health_check");
  if (config_.health_check && !backends_.empty()) probe_round(ctx);
  if (config_.vip) vip_start(ctx);
  schedule_registrations(ctx);
}

void LoadBalancer::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<queueing::Request>()) {
    if (gate_.enabled()) {
      gate_.arrive(ctx, ratelimit::Held{env.from, *req});
    } else {
      on_request(ctx, *req);
    }
  } else if (const auto* resp = env.msg.get<queueing::Response>()) {
    if (gate_.on_response(ctx, *resp, env.from)) return;
    if (!on_probe_answer(ctx, *resp, env.from)) on_response(ctx, *resp, env.from);
  } else if (const auto* total = env.msg.get<ratelimit::SyncTotal>()) {
    gate_.on_sync_total(ctx, *total);
  } else if (const auto* advert = env.msg.get<VrrpAdvert>()) {
    on_advert(ctx, *advert);
  }
}

void LoadBalancer::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kAdvert:
      if (advert_.fired(id)) advertise(ctx);
      return;
    case Timer::kMasterDown:
      if (master_down_.fired(id)) become_master(ctx);
      return;
    case Timer::kCalls:
      refresh_eligible(ctx);  // a retry picks its backend now
      rpc_.on_timer(ctx, value);
      return;
    case Timer::kProbeRound:
      probe_round(ctx);
      return;
    case Timer::kProbeTimeout:
      probe_timed_out(ctx, value);
      return;
    case Timer::kEjectionEnd:
      end_ejection(ctx, static_cast<size_t>(value));
      return;
    case Timer::kDeregister:
      deregister(ctx, static_cast<size_t>(value));
      return;
    case Timer::kRegister:
      reregister(ctx, static_cast<size_t>(value));
      return;
    case Timer::kDrainEnd:
      backends_.at(value).drain_timer = TimerId{};
      cut_calls(ctx, static_cast<size_t>(value));
      return;
    case Timer::kRateLimit:
      gate_.on_timer(ctx, value);
      return;
  }
}

void LoadBalancer::on_request(Context& ctx, const queueing::Request& req) {
  if (!refresh_eligible(ctx)) {
    refuse(ctx, req);
    return;
  }
  if (config_.mode == Mode::kDirectReturn) {
    forward(ctx, req);
    return;
  }
  const uint64_t handle = next_job_++;
  jobs_.emplace(handle, Job{req});
  kit::RpcClient::Options o;
  o.pick.key = req.key;
  o.pick.client = req.call.reply_to;
  o.origin = req.call.origin;
  o.inherited_budget = req.call.budget;  // relayed at once: nothing held here
  o.idempotency_key = req.call.idempotency_key;
  ctx.record().count(m_.proxied);
  rpc_.begin(ctx, handle, o);
}

void LoadBalancer::forward(Context& ctx, const queueing::Request& req) {
  kit::PickRequest pick;
  pick.key = req.key;
  pick.client = req.call.reply_to;
  pick.now = ctx.monotonic();
  const size_t i = direct_balancer_->pick(direct_observed_, pick, ctx.rng());
  queueing::Request out = req;
  out.call = kit::forwarded(req.call, Duration::zero());
  ++backends_[i].sent;
  ctx.record().count(m_.forwarded);
  ctx.send(backends_[i].node, out);
}

void LoadBalancer::refuse(Context& ctx, const queueing::Request& req) {
  ctx.record().count(m_.refused_no_backend);
  ctx.send(req.call.reply_to,
           queueing::Response{req.call.id, false, static_cast<uint32_t>(config_.response_bytes)});
}

void LoadBalancer::on_response(Context& ctx, const queueing::Response& resp, NodeId from) {
  const auto live = rpc_.handle_of(resp.call);
  const size_t i = live ? index_of(from) : kit::kNoCandidate;
  if (i != kit::kNoCandidate) {
    Job& job = jobs_.at(*live);
    const bool slow = config_.outlier && config_.outlier->slow_response &&
                      ctx.monotonic() - job.sent > *config_.outlier->slow_response;
    attempt_result(ctx, i, resp.accepted && !slow);
    job.backend = kit::kNoCandidate;
  }
  const auto done = rpc_.on_answer(ctx, resp.call, from,
                                   resp.accepted ? kit::Answer::kDone : kit::Answer::kRefused);
  if (i != kit::kNoCandidate) attempt_over(ctx, i, true);  // its count in flight is settled
  if (done.status != kit::RpcClient::Outcome::Status::kDone) return;
  const auto it = jobs_.find(done.handle);
  DSIM_ASSERT(it != jobs_.end(), "a relayed call ended with no request behind it");
  const kit::CallHeader& call = it->second.request.call;
  ctx.send(call.reply_to, queueing::Response{call.id, true, resp.bytes});
  jobs_.erase(it);
}

bool LoadBalancer::refresh_eligible(Context& ctx) {
  const bool any_up = std::any_of(backends_.begin(), backends_.end(), [](const Backend& b) {
    return b.registered && b.checked_healthy && !b.ejected;
  });
  const auto observed = rpc_.observed();
  const auto limit = static_cast<uint64_t>(config_.max_requests_per_backend);
  const SimTime now = ctx.monotonic();
  bool any = false;
  for (size_t i = 0; i < backends_.size(); ++i) {
    Backend& b = backends_[i];
    // None up: every registered one (panic); a deregistered backend never.
    const bool up = b.registered && ((b.checked_healthy && !b.ejected) || !any_up);
    const bool room = limit == 0 || observed[i].outstanding < limit;
    const bool ok = up && room;
    const double weight = slow_start_weight(b, now);
    if (config_.mode == Mode::kDirectReturn) {
      direct_observed_[i].healthy = ok;
      direct_observed_[i].weight = weight;
    } else {
      rpc_.set_healthy(i, ok);
      rpc_.set_weight(i, weight);
    }
    any = any || ok;
  }
  return any;
}

double LoadBalancer::slow_start_weight(Backend& b, SimTime now) const {
  if (!config_.slow_start || !b.back_at) return 1.0;
  const SlowStartSpec& s = *config_.slow_start;
  const Duration in_service = now - *b.back_at;
  if (in_service >= s.window) {
    b.back_at.reset();  // the ramp is over
    return 1.0;
  }
  const double ramp = static_cast<double>(in_service.ns()) / static_cast<double>(s.window.ns());
  return std::max(s.min_weight, ramp);
}

size_t LoadBalancer::index_of(NodeId n) const {
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (backends_[i].node == n) return i;
  }
  return kit::kNoCandidate;
}

void LoadBalancer::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header,
                                NodeId to, uint32_t /*request*/) {
  Job& job = jobs_.at(handle);
  queueing::Request out = job.request;
  out.call = header;
  job.backend = index_of(to);
  job.sent = ctx.monotonic();
  if (job.backend != kit::kNoCandidate) ++backends_[job.backend].sent;
  ctx.send(to, out);
}

void LoadBalancer::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& /*end*/) {
  const auto it = jobs_.find(handle);
  DSIM_ASSERT(it != jobs_.end(), "a relayed call failed with no request behind it");
  const kit::CallHeader& call = it->second.request.call;
  ctx.record().count(m_.relay_failed);
  ctx.send(call.reply_to,
           queueing::Response{call.id, false, static_cast<uint32_t>(config_.response_bytes)});
  jobs_.erase(it);
}

void LoadBalancer::attempt_timed_out(Context& ctx, uint64_t handle, NodeId to) {
  jobs_.at(handle).backend = kit::kNoCandidate;
  if (const size_t i = index_of(to); i != kit::kNoCandidate) {
    attempt_result(ctx, i, false);
    attempt_over(ctx, i, false);
  }
}

void LoadBalancer::on_stop(Context& ctx) {
  for (const Backend& b : backends_)
    ctx.record().mark(m_.mark_backend_requests, b.node, static_cast<int64_t>(b.sent));
  gate_.stop(ctx);
}

void LoadBalancer::check_invariants() const {
  for (const Backend& b : backends_) {
    DSIM_ASSERT(!(b.registered && b.draining), "backend ", b.node, " drains while registered");
  }
  if (!config_.outlier) {
    DSIM_ASSERT(ejected_count() == 0, "a backend ejected without outlier detection");
    return;
  }
  const double cap = config_.outlier->max_ejection_percent * static_cast<double>(backends_.size());
  DSIM_ASSERT(static_cast<double>(ejected_count()) * 100.0 <= cap + 1e-9, "ejected ",
              ejected_count(), " of ", backends_.size(), " backends, past max_ejection_percent");
}

}  // namespace dsim::lb
