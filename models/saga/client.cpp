#include "models/saga/client.h"

namespace dsim::saga {

SagaClient::Config SagaClient::parse(ParamReader& r) {
  Config c;
  c.target =
      r.group("target", "the saga_orchestrator group, or the first saga_service of a choreography");
  if (!c.target.empty() && !r.doc_mode()) {
    const std::string_view model = r.env().model_of(c.target);
    if (model == "saga_service") {
      c.choreography = true;
    } else if (model != "saga_orchestrator") {
      r.error("target", "group '" + c.target + "' runs " + std::string(model) +
                            ", not saga_orchestrator or saga_service");
    }
  }
  const kit::ArrivalKeys keys{/*bursty=*/false, /*closed=*/true, "saga"};
  kit::read_load(r, keys, c.arrivals);
  c.calls.timeout = seconds(10);
  c.calls.timeout = r.duration("timeout", c.calls.timeout,
                               "an attempt not answered within this times out (a saga's "
                               "steps and compensations all happen within it)");
  if (c.calls.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  kit::read_retry_policy(r, c.calls.retry);
  kit::read_start_stop(r, keys, /*with_stop=*/true, c.arrivals);
  return c;
}

void SagaClient::declare(const Config&, MetricDecls& d) {
  d.operation("saga");
  for (const char* name : {"completed", "compensated", "abandoned", "unknown", "unavailable"})
    d.counter(name);
  kit::RpcClient::declare(d);
  for (const char* name :
       {"sagas_checked", "sagas_completed", "sagas_compensated", "sagas_abandoned", "incomplete",
        "uncompensated", "late_steps", "conflicting_ends", "pending_at_end", "residue_at_end",
        "refused_late", "not_started", "saga_ms_p50", "saga_ms_p99"})
    d.figure(name);
}

void SagaClient::on_start(Context& ctx) {
  m_saga_ = ctx.intern("saga");
  m_completed_ = ctx.intern("completed");
  m_compensated_ = ctx.intern("compensated");
  m_abandoned_ = ctx.intern("abandoned");
  m_unknown_ = ctx.intern("unknown");
  m_unavailable_ = ctx.intern("unavailable");
  m_mark_begin_ = ctx.intern("saga_begin");
  const auto targets = ctx.group_nodes(config_.target);
  rpc_.start(ctx, targets, 0);
  if (!targets.empty()) arrivals_.start(ctx);
}

void SagaClient::on_timer(Context& ctx, TimerId, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kCalls) {
    rpc_.on_timer(ctx, value);
    return;
  }
  arrivals_.on_timer(ctx, value, [&](uint64_t user) { start_saga(ctx, user); });
}

void SagaClient::start_saga(Context& ctx, uint64_t user) {
  const uint64_t handle = next_handle_++;
  Op& op = ops_[handle];
  op.user = user;
  op.saga = kit::make_idempotency_key(ctx.self(), next_saga_++);
  op.token = ctx.record().begin_op(m_saga_);
  by_saga_[op.saga] = handle;
  ctx.record().mark(m_mark_begin_, static_cast<int64_t>(op.saga), 0);
  // A saga lives on one node of the target: its orchestrator (drawn for it) or, in a
  // choreography, the first service's shard that holds its record.
  const auto n = static_cast<uint32_t>(rpc_.targets().size());
  kit::RpcClient::Options call;
  call.pinned = config_.choreography ? shard_of(op.saga, n) : ctx.rng().below(n);
  call.origin = op.token.id;
  call.idempotency_key = op.saga;
  rpc_.begin(ctx, handle, call);
}

void SagaClient::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<SagaResponse>();
  if (!resp) return;
  if (resp->status == SagaResponse::Status::kUnavailable) {
    rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kRefused);
    return;
  }
  if (const auto handle = rpc_.handle_of(resp->call)) {
    rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kDone);
    finish(ctx, *handle, resp, false);
    return;
  }
  // An answer to an earlier attempt of a saga still awaited ends it all the same.
  const auto it = by_saga_.find(resp->saga);
  if (it == by_saga_.end()) {
    rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kDone);  // late: counted
    return;
  }
  const uint64_t handle = it->second;
  rpc_.cancel(ctx, handle);
  finish(ctx, handle, resp, false);
}

void SagaClient::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header,
                              NodeId to, uint32_t) {
  ctx.send(to, SagaRequest{header, ops_.at(handle).saga});
}

void SagaClient::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  finish(ctx, handle, nullptr, end.maybe_applied);
}

void SagaClient::finish(Context& ctx, uint64_t handle, const SagaResponse* resp,
                        bool maybe_applied) {
  const auto it = ops_.find(handle);
  if (it == ops_.end()) return;
  const Op op = it->second;
  ops_.erase(it);
  by_saga_.erase(op.saga);
  Outcome metric = Outcome::kTimeout;
  if (!resp) {
    ctx.record().count(maybe_applied ? m_unknown_ : m_unavailable_);
    if (!maybe_applied) metric = Outcome::kRejected;
  } else if (resp->end == SagaEnd::kCompleted) {
    ctx.record().count(m_completed_);
    metric = Outcome::kOk;
  } else if (resp->end == SagaEnd::kCompensated) {
    ctx.record().count(m_compensated_);
    metric = Outcome::kRejected;
  } else {
    ctx.record().count(m_abandoned_);
    metric = Outcome::kError;
  }
  ctx.record().end_op(op.token, metric);
  arrivals_.done(ctx, op.user);
}

}  // namespace dsim::saga
