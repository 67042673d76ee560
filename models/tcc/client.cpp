#include "models/tcc/client.h"

#include <algorithm>
#include <cmath>

#include "sim/core/assert.h"

namespace dsim::tcc {

WalletClient::Config WalletClient::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the tcc_coordinator group transfers go to");
  const kit::ArrivalKeys keys{/*bursty=*/false, /*closed=*/true, "transfer"};
  kit::read_load(r, keys, c.arrivals);
  kit::read_key_spec(r, c.keys);
  c.first_key = static_cast<uint64_t>(r.integer(
      "first_key", 0, "accounts are first_key .. first_key + n - 1 (to keep groups apart)", 0));
  c.amount = r.distribution("amount", c.amount,
                            "the amount of each transfer, rounded to a whole unit (at least 1)",
                            Distribution::Dim::kNumber);
  c.calls.timeout =
      r.duration("timeout", c.calls.timeout, "an attempt not answered within this times out");
  if (c.calls.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  kit::read_retry_policy(r, c.calls.retry);
  kit::read_start_stop(r, keys, /*with_stop=*/true, c.arrivals);
  if (c.keys.n < 2) r.error("keys", "a transfer needs two distinct accounts: at least 2 keys");
  if (!r.doc_mode() && c.amount.quantile(1.0) < 0.5) {
    r.error("amount", "must be > 0 (an amount rounds to a whole unit of at least 1)");
  }
  return c;
}

void WalletClient::declare(const Config&, MetricDecls& d) {
  d.operation("transfer");
  for (const char* name : {"confirmed", "cancelled", "unknown", "amount_moved"})
    d.counter(name);
  for (int i = 1; i < kCancelCauses; ++i)
    d.counter("cancelled_" + std::string(cancel_cause_name(static_cast<CancelCause>(i))));
  kit::RpcClient::declare(d);
}

void WalletClient::on_start(Context& ctx) {
  m_transfer_ = ctx.intern("transfer");
  m_confirmed_ = ctx.intern("confirmed");
  m_cancelled_ = ctx.intern("cancelled");
  m_unknown_ = ctx.intern("unknown");
  m_moved_ = ctx.intern("amount_moved");
  for (int i = 1; i < kCancelCauses; ++i)
    m_cause_[i] =
        ctx.intern("cancelled_" + std::string(cancel_cause_name(static_cast<CancelCause>(i))));
  const auto targets = ctx.group_nodes(config_.target);
  rpc_.start(ctx, targets, 0);
  if (!targets.empty()) arrivals_.start(ctx);
}

void WalletClient::on_timer(Context& ctx, TimerId, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kCalls) {
    rpc_.on_timer(ctx, value);
    return;
  }
  arrivals_.on_timer(ctx, value, [&](uint64_t user) { start_transfer(ctx, user); });
}

void WalletClient::start_transfer(Context& ctx, uint64_t user) {
  const uint64_t from = keys_.next(ctx.rng(), ctx.now());
  uint64_t to = from;
  // Two distinct accounts (at least two keys, checked at load; a skewed distribution may
  // need several draws, bounded here).
  for (int attempt = 0; to == from && attempt < 10'000; ++attempt)
    to = keys_.next(ctx.rng(), ctx.now());
  const double drawn = config_.amount.sample(ctx.rng());
  const uint64_t handle = next_handle_++;
  Transfer& t = transfers_[handle];
  t.user = user;
  t.req.transfer = kit::make_idempotency_key(ctx.self(), next_transfer_++);
  t.req.from = from;
  t.req.to = to;
  t.req.amount = std::max<int64_t>(1, std::llround(drawn));
  t.token = ctx.record().begin_op(m_transfer_);
  // A transfer belongs to one coordinator (its phase status table): every attempt goes to
  // the one drawn for it.
  kit::RpcClient::Options call;
  call.pinned = ctx.rng().below(static_cast<uint32_t>(rpc_.targets().size()));
  call.origin = t.token.id;
  call.idempotency_key = t.req.transfer;
  rpc_.begin(ctx, handle, call);
}

void WalletClient::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<TransferResponse>();
  if (!resp) return;
  const auto handle = rpc_.handle_of(resp->call);
  rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kDone);
  if (!handle) return;  // late: counted by the call layer
  const bool confirmed = resp->status == TransferResponse::Status::kConfirmed;
  finish(ctx, *handle, confirmed ? Outcome::kOk : Outcome::kRejected, resp);
}

void WalletClient::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header,
                                NodeId to, uint32_t) {
  Transfer& t = transfers_.at(handle);
  t.req.call = header;
  ctx.send(to, t.req);
}

void WalletClient::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  finish(ctx, handle, end.maybe_applied ? Outcome::kTimeout : Outcome::kRejected, nullptr);
}

void WalletClient::finish(Context& ctx, uint64_t handle, Outcome outcome,
                          const TransferResponse* resp) {
  const auto it = transfers_.find(handle);
  if (it == transfers_.end()) return;
  const Transfer t = it->second;
  transfers_.erase(it);
  ctx.record().end_op(t.token, outcome);
  if (outcome == Outcome::kOk) {
    ctx.record().count(m_confirmed_);
    ctx.record().count(m_moved_, t.req.amount);
  } else if (outcome == Outcome::kTimeout) {
    ctx.record().count(m_unknown_);
  } else {
    ctx.record().count(m_cancelled_);
    if (resp && resp->cause != CancelCause::kNone)
      ctx.record().count(m_cause_[static_cast<int>(resp->cause)]);
  }
  arrivals_.done(ctx, t.user);
}

}  // namespace dsim::tcc
