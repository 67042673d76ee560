// The load balancer's view of its backends' health:
//   - active health checks (HAProxy's `check inter/rise/fall`, Envoy's health checkers): a
//     probe to every backend at start and every `interval`; a probe answered as accepted
//     within `timeout` succeeds, one refused or unanswered fails; `unhealthy_threshold`
//     failures in a row mark the backend unhealthy, `healthy_threshold` successes in a row
//     healthy again. A backend whose last probe is still awaited gets no new one.
//   - outlier detection (Envoy's consecutive-error outlier detection): every attempt sent to
//     a backend that is refused or times out is an error, an accepted answer resets the
//     count; `consecutive_errors` errors in a row eject the backend for base_ejection_time
//     x the number of times it was ejected, unless that would eject more than
//     max_ejection_percent of the backends (then the next error tries again).
//   - slow start: a backend back in service (healthy, not ejected, registered) has its
//     weight held at max(min_weight, time in service / window) until the window is over.
// The probe is a plain request (operation `health_check`), since backends speak the plain
// contract; its call id is numbered from 2^37 up, a range the balancer's RpcClient (which
// numbers from 1) never reaches in a run.
#include "models/kit/call.h"
#include "models/kit/timer.h"
#include "models/load_balancer/load_balancer.h"
#include "sim/core/assert.h"

namespace dsim::lb {

namespace {
constexpr uint64_t kProbeSeqBase = uint64_t{1} << 37;
}  // namespace

void LoadBalancer::probe_round(Context& ctx) {
  const HealthCheckSpec& hc = *config_.health_check;
  for (Backend& b : backends_) {
    if (b.probe != 0) continue;  // the last one is still awaited
    const uint64_t seq = kProbeSeqBase + next_probe_++;
    kit::CallHeader call;
    call.id = kit::make_call_id(ctx.self(), seq);
    call.reply_to = ctx.self();
    b.probe = call.id;
    ctx.record().count(m_.probes_sent);
    ctx.send(b.node, queueing::Request{call, probe_op_, static_cast<uint32_t>(hc.bytes), 0});
    ctx.set_timer(hc.timeout, kit::timer_tag(Timer::kProbeTimeout, seq));
  }
  ctx.set_timer(hc.interval, kit::timer_tag(Timer::kProbeRound));
}

bool LoadBalancer::on_probe_answer(Context& ctx, const queueing::Response& resp, NodeId from) {
  if ((resp.call & ((uint64_t{1} << kit::kCallSeqBits) - 1)) < kProbeSeqBase) return false;
  const size_t i = index_of(from);
  if (i != kit::kNoCandidate && backends_[i].probe == resp.call) {
    backends_[i].probe = 0;
    probe_result(ctx, i, resp.accepted);
  }
  return true;  // a probe's answer, awaited or late
}

void LoadBalancer::probe_timed_out(Context& ctx, uint64_t seq) {
  const uint64_t id = kit::make_call_id(ctx.self(), seq);
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (backends_[i].probe != id) continue;
    backends_[i].probe = 0;
    probe_result(ctx, i, false);
  }
}

void LoadBalancer::probe_result(Context& ctx, size_t i, bool ok) {
  const HealthCheckSpec& hc = *config_.health_check;
  Backend& b = backends_[i];
  if (!ok) {
    ctx.record().count(m_.probe_failures);
    b.probe_successes = 0;
    ++b.probe_failures;
    if (b.checked_healthy && b.probe_failures >= hc.unhealthy_threshold) {
      b.checked_healthy = false;
      ctx.record().count(m_.marked_unhealthy);
      ctx.record().mark(m_.mark_backend_down, b.node, 0);  // 0: by health checks
    }
    return;
  }
  b.probe_failures = 0;
  ++b.probe_successes;
  if (!b.checked_healthy && b.probe_successes >= hc.healthy_threshold) {
    b.checked_healthy = true;
    ctx.record().count(m_.marked_healthy);
    ctx.record().mark(m_.mark_backend_up, b.node, 0);
    back_in_service(ctx, i);
  }
}

void LoadBalancer::attempt_result(Context& ctx, size_t i, bool ok) {
  if (!config_.outlier) return;
  Backend& b = backends_[i];
  if (ok) {
    b.errors = 0;
    return;
  }
  ++b.errors;
  if (!b.ejected && b.errors >= config_.outlier->consecutive_errors) try_eject(ctx, i);
}

size_t LoadBalancer::ejected_count() const {
  size_t n = 0;
  for (const Backend& b : backends_)
    n += b.ejected ? 1 : 0;
  return n;
}

void LoadBalancer::try_eject(Context& ctx, size_t i) {
  const OutlierSpec& o = *config_.outlier;
  const double after = static_cast<double>(ejected_count() + 1) * 100.0;
  if (after > o.max_ejection_percent * static_cast<double>(backends_.size()) + 1e-9) {
    ctx.record().count(m_.ejections_denied);
    return;
  }
  Backend& b = backends_[i];
  b.ejected = true;
  b.errors = 0;
  ++b.times_ejected;
  const Duration length = o.base_ejection_time * static_cast<int64_t>(b.times_ejected);
  b.ejected_until = ctx.monotonic() + length;
  ctx.record().count(m_.ejections);
  ctx.record().mark(m_.mark_backend_down, b.node, 1);  // 1: ejected
  ctx.set_timer(length, kit::timer_tag(Timer::kEjectionEnd, i));
}

void LoadBalancer::end_ejection(Context& ctx, size_t i) {
  DSIM_ASSERT(i < backends_.size() && backends_[i].ejected, "backend ", i,
              " ends an ejection it is not in");
  backends_[i].ejected = false;
  ctx.record().count(m_.ejections_ended);
  ctx.record().mark(m_.mark_backend_up, backends_[i].node, 1);
  back_in_service(ctx, i);
}

void LoadBalancer::back_in_service(Context& ctx, size_t i) {
  Backend& b = backends_[i];
  if (config_.slow_start && b.registered && b.checked_healthy && !b.ejected)
    b.back_at = ctx.monotonic();
}

}  // namespace dsim::lb
