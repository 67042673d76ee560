#include "docs/examples/relay/relay.h"

namespace dsim::examples {

Relay::Config Relay::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the group requests are handed on to");
  c.mode = r.choice("mode", c.mode, {{"forward", Mode::kForward}, {"proxy", Mode::kProxy}},
                    "forward: the server answers the caller; proxy: the relay calls the server "
                    "and answers the caller itself");
  c.delay = r.distribution("delay", c.delay, "time the relay spends on each request");
  c.calls.balancer.kind = r.choice("policy", kit::BalancerKind::kRoundRobin,
                                   kit::balancer_choices(), "how the next node is picked");
  kit::read_balancer_params(r, c.calls.balancer, /*target_node=*/true);
  c.calls.timeout =
      r.duration("timeout", c.calls.timeout, "proxy: a call not answered in time fails");
  c.response_bytes = r.size("response_size", c.response_bytes, "proxy: size of an answer");
  if (c.calls.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  return c;
}

void Relay::declare(const Config&, MetricDecls& d) {
  d.counter("forwarded");
  d.counter("proxied");
  kit::RpcClient::declare(d);  // proxy mode calls through the kit
}

void Relay::on_start(Context& ctx) {
  const auto targets = ctx.group_nodes(config_.target);
  targets_.assign(targets.begin(), targets.end());
  observed_.assign(targets_.size(), kit::Observed{});
  balancer_ = kit::make_balancer(config_.calls.balancer);
  balancer_->start(targets_.size(), 0);
  rpc_.start(ctx, targets, 0);
  m_forwarded_ = ctx.intern("forwarded");
  m_proxied_ = ctx.intern("proxied");
}

void Relay::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<queueing::Request>()) {
    const uint64_t job = next_job_++;
    jobs_[job] = Job{*req, ctx.monotonic()};
    ctx.set_timer(config_.delay.sample_duration(ctx.rng()), kit::timer_tag(Timer::kDelay, job));
    return;
  }
  if (const auto* resp = env.msg.get<queueing::Response>()) {
    const auto done = rpc_.on_answer(ctx, resp->call, env.from,
                                     resp->accepted ? kit::Answer::kDone : kit::Answer::kRefused);
    if (done.status != kit::RpcClient::Outcome::Status::kDone) return;
    answer(ctx, jobs_.at(done.handle).request, true);
    jobs_.erase(done.handle);
  }
}

void Relay::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kCalls) {
    rpc_.on_timer(ctx, value);
    return;
  }
  if (targets_.empty()) return;
  if (config_.mode == Mode::kForward) {
    pass_on(ctx, jobs_.at(value));
    jobs_.erase(value);
    return;
  }
  const Job& job = jobs_.at(value);
  kit::RpcClient::Options o;
  o.origin = job.request.call.origin;
  o.inherited_budget = kit::forwarded(job.request.call, ctx.monotonic() - job.arrived).budget;
  ctx.record().count(m_proxied_);
  rpc_.begin(ctx, value, o);
}

void Relay::pass_on(Context& ctx, const Job& job) {
  const size_t i = balancer_->pick(observed_, kit::PickRequest{}, ctx.rng());
  queueing::Request out = job.request;
  out.call = kit::forwarded(job.request.call, ctx.monotonic() - job.arrived);
  ctx.record().count(m_forwarded_);
  ctx.send(targets_[i], out);
}

void Relay::answer(Context& ctx, const queueing::Request& request, bool accepted) {
  ctx.send(
      request.call.reply_to,
      queueing::Response{request.call.id, accepted, static_cast<uint32_t>(config_.response_bytes)});
}

void Relay::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                         uint32_t /*request*/) {
  queueing::Request out = jobs_.at(handle).request;
  out.call = header;
  ctx.send(to, out);
}

void Relay::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& /*end*/) {
  answer(ctx, jobs_.at(handle).request, false);
  jobs_.erase(handle);
}

}  // namespace dsim::examples
