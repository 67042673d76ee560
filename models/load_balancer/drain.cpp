// Deregistration and connection draining, as AWS's load balancers and Envoy do them: a
// backend deregistered by the schedule (`deregister`) is no candidate for new requests;
// the calls already relayed to it drain — each may still be answered, for up to `draining`
// (AWS's deregistration delay) — and those still in flight then are cut: the balancer drops
// the call and answers its caller as refused, as a reset connection would. The draining is
// over as soon as no call to the backend is left in flight (AWS completes the
// deregistration then), or when the backend is registered again (its calls go on).
//
// Counted: deregistrations, registrations, drained (attempts answered while their backend
// drained), cut (calls cut at the end of a draining), and drain_time (from deregistration
// to the end of the draining, completed or cut). Each node marks a deregistration as
// lb_backend_down and a registration as lb_backend_up, with 2 as their second number.
// In direct_return the balancer sees no calls in flight: a deregistration only stops new
// requests.
#include <vector>

#include "models/kit/timer.h"
#include "models/load_balancer/load_balancer.h"
#include "sim/core/assert.h"

namespace dsim::lb {

namespace {
constexpr int64_t kDeregistered = 2;  // the mark's second number: 0 health, 1 ejection
}  // namespace

void LoadBalancer::schedule_registrations(Context& ctx) {
  for (size_t e = 0; e < config_.deregister.size(); ++e) {
    const Deregistration& d = config_.deregister[e];
    if (d.backend >= backends_.size()) continue;  // not in the group (validated when known)
    ctx.set_timer(d.at, kit::timer_tag(Timer::kDeregister, e));
    if (d.until) ctx.set_timer(*d.until, kit::timer_tag(Timer::kRegister, e));
  }
}

void LoadBalancer::deregister(Context& ctx, size_t entry) {
  const size_t i = config_.deregister.at(entry).backend;
  Backend& b = backends_.at(i);
  b.registered = false;
  b.back_at.reset();
  ctx.record().count(m_.deregistrations);
  ctx.record().mark(m_.mark_backend_down, b.node, kDeregistered);
  if (config_.mode == Mode::kDirectReturn) return;  // no call of its own to wait for
  b.draining = true;
  b.drain_from = ctx.monotonic();
  if (rpc_.observed()[i].outstanding == 0) {
    end_draining(ctx, i);
  } else if (config_.draining == Duration::zero()) {
    cut_calls(ctx, i);
  } else {
    b.drain_timer = ctx.set_timer(config_.draining, kit::timer_tag(Timer::kDrainEnd, i));
  }
}

void LoadBalancer::reregister(Context& ctx, size_t entry) {
  const size_t i = config_.deregister.at(entry).backend;
  Backend& b = backends_.at(i);
  DSIM_ASSERT(!b.registered, "backend ", i, " registered again while registered");
  if (b.draining) {  // back before its calls were done: they go on
    if (b.drain_timer.valid()) ctx.cancel_timer(b.drain_timer);
    b.drain_timer = TimerId{};
    b.draining = false;
  }
  b.registered = true;
  ctx.record().count(m_.registrations);
  ctx.record().mark(m_.mark_backend_up, b.node, kDeregistered);
  back_in_service(ctx, i);
}

void LoadBalancer::attempt_over(Context& ctx, size_t i, bool answered) {
  const Backend& b = backends_[i];
  if (!b.draining) return;
  if (answered) ctx.record().count(m_.drained);
  if (rpc_.observed()[i].outstanding == 0) end_draining(ctx, i);
}

void LoadBalancer::end_draining(Context& ctx, size_t i) {
  Backend& b = backends_[i];
  if (b.drain_timer.valid()) ctx.cancel_timer(b.drain_timer);
  b.drain_timer = TimerId{};
  b.draining = false;
  ctx.record().observe(m_.drain_time, ctx.monotonic() - b.drain_from);
}

void LoadBalancer::cut_calls(Context& ctx, size_t i) {
  std::vector<uint64_t> handles;
  for (const auto& [handle, job] : jobs_) {
    if (job.backend == i) handles.push_back(handle);
  }
  for (uint64_t handle : handles) {
    rpc_.cancel(ctx, handle);
    const kit::CallHeader& call = jobs_.at(handle).request.call;
    ctx.record().count(m_.cut);
    ctx.send(call.reply_to,
             queueing::Response{call.id, false, static_cast<uint32_t>(config_.response_bytes)});
    jobs_.erase(handle);
  }
  end_draining(ctx, i);
}

}  // namespace dsim::lb
