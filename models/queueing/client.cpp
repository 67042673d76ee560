#include "models/queueing/client.h"

namespace dsim::queueing {

Client::Config Client::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the group of server nodes requests go to");
  const kit::ArrivalKeys keys{/*bursty=*/true, /*closed=*/true, "request"};
  kit::read_load(r, keys, c.arrivals);
  c.ops =
      r.weights("ops", c.ops, "operation types and their weights, e.g. {read: 0.8, write: 0.2}");
  c.calls.timeout =
      r.duration("timeout", c.calls.timeout, "a request not answered within this times out");
  if (c.calls.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  kit::read_start_stop(r, keys, /*with_stop=*/false, c.arrivals);
  c.calls.balancer.kind =
      r.choice("balance", kit::BalancerKind::kRandom, kit::balancer_choices(),
               "how a request picks its server in the target group: a balancer policy of the "
               "kit (random, round_robin, least_outstanding, power_of_d, least_latency, ...)");
  kit::read_balancer_params(r, c.calls.balancer, /*target_node=*/true);
  c.request_bytes = r.size("request_size", c.request_bytes, "size of a request on the wire");
  return c;
}

void Client::declare(const Config& c, MetricDecls& d) {
  for (const auto& [op, weight] : c.ops)
    d.operation(op);
  kit::RpcClient::declare(d);
}

void Client::on_start(Context& ctx) {
  const auto targets = ctx.group_nodes(config_.target);
  ops_ = kit::WeightedChoice(config_.ops);
  for (const auto& [name, w] : config_.ops)
    op_symbols_.push_back(ctx.intern(name));
  rpc_.start(ctx, targets, 0);
  if (targets.empty()) return;
  arrivals_.start(ctx);
}

void Client::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kArrivals) {
    arrivals_.on_timer(ctx, value, [&](uint64_t user) { issue(ctx, user); });
  } else {
    rpc_.on_timer(ctx, value);
  }
}

void Client::issue(Context& ctx, uint64_t user) {
  const Symbol op = op_symbols_[ops_.pick(ctx.rng())];
  const uint64_t handle = next_handle_++;
  const OpToken token = ctx.record().begin_op(op);
  pending_.emplace(handle, Pending{token, op, user});
  kit::RpcClient::Options call;
  call.pick.client = ctx.self();
  call.origin = token.id;
  rpc_.begin(ctx, handle, call);
}

void Client::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                          uint32_t /*request*/) {
  ctx.send(to,
           Request{header, pending_.at(handle).op, static_cast<uint32_t>(config_.request_bytes)});
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
