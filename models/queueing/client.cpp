#include "models/queueing/client.h"

namespace dsim::queueing {

Client::Config Client::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the group of server nodes requests go to");
  const kit::ArrivalKeys keys{/*bursty=*/true, /*closed=*/true, "request"};
  if (!kit::has_trace(r)) {  // what the trace replaces is not read beside it
    kit::read_load(r, keys, c.arrivals);
    c.ops =
        r.weights("ops", c.ops, "operation types and their weights, e.g. {read: 0.8, write: 0.2}");
  }
  kit::read_start_stop(r, keys, /*with_stop=*/false, c.arrivals);
  kit::read_call_policy(r, c.calls);
  read_keys(r, c);
  c.request_bytes = r.size("request_size", c.request_bytes, "size of a request on the wire");
  read_trace(r, c);
  kit::read_client_rate_limit(r, c.rate_limit);
  return c;
}

void Client::read_keys(ParamReader& r, Config& c) {
  if (r.has("keys") || r.doc_mode()) {
    const std::string text = r.text("keys", "none",
                                    "the key each request carries, for hash balancing and the "
                                    "stores a service calls: uniform(n), zipf(n, s=0.99), "
                                    "hotspot(n, keys=10%, traffic=90%) or sequential(n) "
                                    "(default: none)");
    std::string err;
    if (auto k = kit::parse_key_spec(text, &err)) {
      c.keys = *k;
    } else if (!r.doc_mode()) {
      r.error("keys", err);
    }
  }
}

void Client::read_trace(ParamReader& r, Config& c) {
  c.trace = kit::read_trace_param(
      r,
      "a request trace (CSV time,key,size[,op], models/kit/trace.h; relative to the scenario's "
      "folder) whose rows are the requests: row i is sent by node i mod count at its time with "
      "the row's key, as operation read (get), write (put) or delete (delete); the row's size "
      "is not used; `start` later; replaces load, arrival, rate, keys and ops (default: none)");
  kit::refuse_with_trace(r, {"load", "arrival", "rate", "rate_schedule", "rate_sine", "burst_rate",
                             "burst_length", "calm_length", "users", "think_time", "keys", "ops"});
  if (c.trace) c.ops = kit::trace_mix(*c.trace, {"read", "write", "delete"});
}

void Client::declare(const Config& c, MetricDecls& d) {
  for (const auto& [op, weight] : c.ops)
    d.operation(op);
  kit::RpcClient::declare(d);
  kit::ClientThrottle::declare(c.rate_limit, d);
}

void Client::on_start(Context& ctx) {
  const std::vector<NodeId> targets = kit::entry_points(ctx, config_.target);
  ops_ = kit::WeightedChoice(config_.ops);
  for (const auto& [name, w] : config_.ops)
    op_symbols_.push_back(ctx.intern(name));
  if (config_.keys) keys_.emplace(*config_.keys, 0);
  throttle_.start(ctx, config_.rate_limit);
  rpc_.start(ctx, targets, 0);
  if (targets.empty()) return;
  if (config_.trace) {
    constexpr std::string_view kTraceOps[] = {"read", "write", "delete"};
    for (size_t k = 0; k < trace_symbols_.size(); ++k)
      trace_symbols_[k] = ctx.intern(kTraceOps[k]);
    trace_feed_.start(ctx, config_.trace, config_.arrivals.start, std::nullopt);
    return;
  }
  arrivals_.start(ctx);
}

void Client::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kArrivals) {
    arrivals_.on_timer(ctx, value, [&](uint64_t user) { issue(ctx, user); });
  } else if (kind == Timer::kThrottle) {
    begin_call(ctx, value);
  } else if (kind == Timer::kTrace) {
    trace_feed_.on_timer(ctx, [&](const kit::TraceRow& row) {
      send_op(ctx, trace_symbols_[static_cast<size_t>(row.op)], 0, row.key);
    });
  } else {
    rpc_.on_timer(ctx, value);
  }
}

void Client::issue(Context& ctx, uint64_t user) {
  const Symbol op = op_symbols_[ops_.pick(ctx.rng())];
  send_op(ctx, op, user, keys_ ? keys_->next(ctx.rng(), ctx.now()) : 0);
}

void Client::send_op(Context& ctx, Symbol op, uint64_t user, uint64_t key) {
  const uint64_t handle = next_handle_++;
  const OpToken token = ctx.record().begin_op(op);
  pending_.emplace(handle, Pending{token, op, user, key});
  const kit::ClientThrottle::Verdict v = throttle_.check(ctx, key);
  if (v.refused) {  // by the client's own limit: never sent
    finish(ctx, handle, Outcome::kRejected);
  } else if (v.delay > Duration::zero()) {  // leaky_queue: it leaves in its turn
    ctx.set_timer(v.delay, kit::timer_tag(Timer::kThrottle, handle));
  } else {
    begin_call(ctx, handle);
  }
}

void Client::begin_call(Context& ctx, uint64_t handle) {
  const Pending& p = pending_.at(handle);
  kit::RpcClient::Options call;
  call.pick.client = ctx.self();
  call.pick.key = p.key;
  call.origin = p.token.id;
  rpc_.begin(ctx, handle, call);
}

void Client::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                          uint32_t /*request*/) {
  const Pending& p = pending_.at(handle);
  ctx.send(to, Request{header, p.op, static_cast<uint32_t>(config_.request_bytes), p.key});
}

void Client::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  finish(ctx, handle, end.maybe_applied ? Outcome::kTimeout : Outcome::kRejected);
}

void Client::finish(Context& ctx, uint64_t handle, Outcome outcome) {
  auto it = pending_.find(handle);
  if (it == pending_.end()) return;
  const Pending p = it->second;
  pending_.erase(it);
  ctx.record().end_op(p.token, outcome);
  arrivals_.done(ctx, p.user);
}

void Client::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<Response>();
  if (!resp) return;
  const auto done = rpc_.on_answer(ctx, resp->call, env.from,
                                   resp->accepted ? kit::Answer::kDone : kit::Answer::kRefused);
  if (done.status == kit::RpcClient::Outcome::Status::kDone) finish(ctx, done.handle, Outcome::kOk);
}

}  // namespace dsim::queueing
