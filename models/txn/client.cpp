#include "models/txn/client.h"

#include <algorithm>

#include "models/txn/history.h"
#include "sim/core/assert.h"

namespace dsim::txn {

namespace {
constexpr int64_t kValueStride = 1'000'000'000;  // value = (client node + 1) * stride + n
}  // namespace

TxnClient::Config TxnClient::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the txn_coordinator group transactions go to");
  const kit::ArrivalKeys keys{/*bursty=*/false, /*closed=*/true, "transaction"};
  kit::read_load(r, keys, c.arrivals);
  kit::read_key_spec(r, c.keys);
  c.first_key = static_cast<uint64_t>(r.integer(
      "first_key", 0, "keys are first_key .. first_key + n - 1 (to keep groups apart)", 0));
  c.ops = r.integer("ops", c.ops, "distinct keys each transaction reads (and writes a share of)", 1,
                    64);
  c.write_share = r.probability("write_share", c.write_share,
                                "share of a writing transaction's keys it also writes (at least "
                                "one is written)");
  c.read_only = r.probability("read_only", c.read_only, "share of transactions that only read");
  c.abort_retries = r.integer("abort_retries", c.abort_retries,
                              "an aborted transaction runs again this many times at most, as a "
                              "new transaction keeping its first priority",
                              0, 1000);
  c.calls.timeout =
      r.duration("timeout", c.calls.timeout, "an attempt not answered within this times out");
  if (c.calls.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  kit::read_retry_policy(r, c.calls.retry);
  kit::read_start_stop(r, keys, /*with_stop=*/true, c.arrivals);
  if (c.keys.n < static_cast<uint64_t>(c.ops)) {
    r.error("ops", "a transaction's keys are distinct: ops must be at most the number of keys (" +
                       std::to_string(c.keys.n) + ")");
  }
  return c;
}

void TxnClient::declare(const Config&, MetricDecls& d) {
  d.operation("txn");
  d.history(kTxnFamily.name);
  for (const char* name : {"committed", "aborted", "unknown", "reruns"})
    d.counter(name);
  for (int i = 1; i < kAbortCauses; ++i)
    d.counter("aborts_" + std::string(abort_cause_name(static_cast<AbortCause>(i))));
  kit::RpcClient::declare(d);
}

void TxnClient::on_start(Context& ctx) {
  m_txn_ = ctx.intern("txn");
  m_committed_ = ctx.intern("committed");
  m_aborted_ = ctx.intern("aborted");
  m_unknown_ = ctx.intern("unknown");
  m_reruns_ = ctx.intern("reruns");
  m_mark_committed_ = ctx.intern("txn_client_committed");
  for (int i = 1; i < kAbortCauses; ++i)
    m_abort_cause_[i] =
        ctx.intern("aborts_" + std::string(abort_cause_name(static_cast<AbortCause>(i))));
  const auto targets = ctx.group_nodes(config_.target);
  rpc_.start(ctx, targets, 0);
  if (!targets.empty()) arrivals_.start(ctx);
}

void TxnClient::on_timer(Context& ctx, TimerId, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kCalls) {
    rpc_.on_timer(ctx, value);
    return;
  }
  arrivals_.on_timer(ctx, value, [&](uint64_t user) { start_txn(ctx, user); });
}

void TxnClient::start_txn(Context& ctx, uint64_t user) {
  // Distinct keys: draws that repeat a key are drawn again (ops <= keys, checked at load;
  // a skewed distribution may need several draws, bounded by the cap below).
  std::vector<TxnOp> ops;
  for (int attempt = 0; ops.size() < static_cast<size_t>(config_.ops) && attempt < 10'000;
       ++attempt) {
    const uint64_t key = keys_.next(ctx.rng(), ctx.now());
    if (std::any_of(ops.begin(), ops.end(), [&](const TxnOp& o) { return o.key == key; })) continue;
    ops.push_back(TxnOp{key, 0, false});
  }
  const bool read_only = config_.read_only > 0 && ctx.rng().uniform01() < config_.read_only;
  if (!read_only) {
    bool any = false;
    for (TxnOp& op : ops) {
      op.write = ctx.rng().uniform01() < config_.write_share;
      any = any || op.write;
    }
    if (!any) ops[ctx.rng().below(static_cast<uint32_t>(ops.size()))].write = true;
  }
  run(ctx, user, ctx.now().ns(), 1, std::move(ops));
}

void TxnClient::run(Context& ctx, uint64_t user, int64_t priority, int64_t runs,
                    std::vector<TxnOp> ops) {
  for (TxnOp& op : ops) {
    if (!op.write) continue;
    op.value = (static_cast<int64_t>(ctx.self()) + 1) * kValueStride + next_value_++;
    DSIM_ASSERT(next_value_ < kValueStride, "a client ran out of unique values");
  }
  const uint64_t handle = next_handle_++;
  Op& op = ops_[handle];
  op.user = user;
  op.runs = runs;
  op.req.txn = kit::make_idempotency_key(ctx.self(), next_txn_++);
  op.req.priority = priority;
  op.req.ops = std::move(ops);
  op.token = ctx.record().begin_op(m_txn_);
  record_invoke(ctx.record(), op.token, TxnInvocation{op.req.txn, op.req.ops});
  // A transaction belongs to one coordinator: every attempt goes to the one drawn for it,
  // since another would run it afresh beside the first.
  kit::RpcClient::Options call;
  call.pinned = ctx.rng().below(static_cast<uint32_t>(rpc_.targets().size()));
  call.origin = op.token.id;
  call.idempotency_key = op.req.txn;
  rpc_.begin(ctx, handle, call);
}

void TxnClient::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<TxnResponse>();
  if (!resp) return;
  const auto handle = rpc_.handle_of(resp->call);
  if (!handle) {
    rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kDone);  // late: counted
    return;
  }
  if (resp->status == TxnResponse::Status::kUnavailable) {
    rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kIndeterminate);
    return;
  }
  const auto done = rpc_.on_answer(ctx, resp->call, env.from, kit::Answer::kDone);
  const bool committed = resp->status == TxnResponse::Status::kCommitted;
  finish(ctx, *handle, resp, committed ? HistoryOutcome::kOk : HistoryOutcome::kFail,
         committed ? Outcome::kOk : Outcome::kRejected, done.requests);
}

void TxnClient::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header,
                             NodeId to, uint32_t) {
  Op& op = ops_.at(handle);
  op.req.call = header;
  ctx.send(to, op.req);
}

void TxnClient::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  finish(ctx, handle, nullptr, end.maybe_applied ? HistoryOutcome::kUnknown : HistoryOutcome::kFail,
         end.maybe_applied ? Outcome::kTimeout : Outcome::kRejected, end.requests);
}

void TxnClient::finish(Context& ctx, uint64_t handle, const TxnResponse* resp,
                       HistoryOutcome outcome, Outcome metric, uint32_t requests) {
  auto it = ops_.find(handle);
  if (it == ops_.end()) return;
  Op op = std::move(it->second);
  ops_.erase(it);
  std::span<const int64_t> reads;
  if (outcome == HistoryOutcome::kOk && resp) reads = resp->reads;
  record_result(ctx.record(), op.token, outcome, reads, requests);
  ctx.record().end_op(op.token, metric);
  if (outcome == HistoryOutcome::kOk) {
    ctx.record().count(m_committed_);
    ctx.record().mark(m_mark_committed_, static_cast<int64_t>(op.req.txn), 1);
  } else if (outcome == HistoryOutcome::kUnknown) {
    ctx.record().count(m_unknown_);
  } else {
    ctx.record().count(m_aborted_);
    const AbortCause cause = resp ? resp->cause : AbortCause::kNone;
    if (cause != AbortCause::kNone) ctx.record().count(m_abort_cause_[static_cast<int>(cause)]);
    if (resp && op.runs <= config_.abort_retries && !arrivals_.stopped()) {
      ctx.record().count(m_reruns_);
      for (TxnOp& o : op.req.ops)
        o.value = 0;
      run(ctx, op.user, op.req.priority, op.runs + 1, std::move(op.req.ops));
      return;
    }
  }
  arrivals_.done(ctx, op.user);
}

}  // namespace dsim::txn
