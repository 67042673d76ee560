// txn_coordinator: the replicated log (`log`). A transaction's outcome is one register of
// the log group's key-value store, its key the transaction's id: absent while undecided,
// then kCommitted or kAborted, set once by a compare-and-set from absent. Whoever sets it
// decides; whoever finds it set reads the outcome. The original coordinator sets it to
// committed at its commit point; a coordinator asked about a transaction it does not know
// sets it to aborted (the participant asking has waited out decision_timeout), so that a
// coordinator that crashed before its commit point can never commit later, and one that
// crashed after it is found out.
#include "models/txn/coordinator.h"

#include "sim/core/assert.h"
#include "sim/core/rng.h"

namespace dsim::txn {

namespace {
constexpr int64_t kCommitted = 1;
constexpr int64_t kAborted = 2;
}  // namespace

void TxnCoordinator::read_log(ParamReader& r, Config& c) {
  if (r.has("log") || r.doc_mode()) {
    c.log = r.group("log",
                    "2PC: a raft (or kv_store) group holding every transaction's outcome, "
                    "so that any coordinator can finish what another began");
  }
  c.log_calls.timeout = ms(200);
  c.log_calls.timeout = r.duration("log_timeout", c.log_calls.timeout,
                                   "log: a call to the log group not answered within this "
                                   "is sent again (to another of its nodes)");
  c.log_calls.retry.backoff = kit::RetryPolicy::Backoff::kFixed;
  c.log_calls.retry.base = ms(10);
  c.log_calls.retry.max_attempts = 5;
  // The log group's leader answers; the others redirect to it: stay with whoever answered.
  c.log_calls.balancer.kind = kit::BalancerKind::kSticky;
  if (c.log_calls.timeout <= Duration::zero()) r.error("log_timeout", "must be > 0");
  if (c.log.empty() || r.doc_mode()) return;
  const std::string_view model = r.env().model_of(c.log);
  if (model != "raft" && model != "kv_store") {
    r.error("log", "group '" + c.log + "' runs " + std::string(model) +
                       "; the log must be a linearizable key-value group (raft or kv_store)");
  }
  if (c.protocol != Protocol::kTwoPhase || c.presumption != Presumption::kAbort) {
    r.error("log", "a replicated log is for 2PC with presumption abort");
  }
}

void TxnCoordinator::settle(Context& ctx, uint64_t txn, bool commit, NodeId asker) {
  if (const auto it = settling_.find(txn); it != settling_.end()) {
    Settle& s = settles_.at(it->second);
    if (asker != kNoNode) s.askers.push_back(asker);
    return;
  }
  const uint64_t handle = next_handle_++;
  Settle& s = settles_[handle];
  s.txn = txn;
  s.commit = commit;
  if (asker != kNoNode) s.askers.push_back(asker);
  settling_[txn] = handle;
  begin_settle(ctx, handle);
}

void TxnCoordinator::begin_settle(Context& ctx, uint64_t handle) {
  if (!settles_.count(handle)) return;
  // The key names the logical write (this node's outcome for this transaction), not the
  // call: a restarted node's calls start counting again, and a key reused for another write
  // would be answered with that write's result.
  const Settle& s = settles_.at(handle);
  kit::RpcClient::Options call;
  call.idempotency_key = mix64(s.txn ^ mix64((uint64_t{ctx.self()} << 1) | (s.commit ? 1 : 0))) | 1;
  rpc_.begin(ctx, handle, call);
}

void TxnCoordinator::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header,
                                  NodeId to, uint32_t) {
  const Settle& s = settles_.at(handle);
  kv::KvRequest req;
  req.call = header;
  req.key = s.txn;
  if (s.read) {
    req.op = kv::KvOpKind::kGet;
    ctx.record().count(m_.log_reads);
  } else {
    req.op = kv::KvOpKind::kCas;
    req.expected_absent = true;
    req.value = s.commit ? kCommitted : kAborted;
    req.value_bytes = 8;
    ctx.record().count(m_.log_writes);
  }
  ctx.send(to, req);
}

void TxnCoordinator::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd&) {
  // The log was out of reach: whether the write landed is unknown, so read first, later.
  Settle& s = settles_.at(handle);
  s.read = true;
  ctx.set_timer(config_.resend, kit::timer_tag(Timer::kSettle, handle));
}

void TxnCoordinator::on_log_answer(Context& ctx, NodeId from, const kv::KvResponse& r) {
  const auto handle = rpc_.handle_of(r.call);
  if (!handle) {
    rpc_.on_answer(ctx, r.call, from, kit::Answer::kDone);  // late: counted
    return;
  }
  switch (r.status) {
    case kv::KvStatus::kNotLeader:
      rpc_.on_answer(ctx, r.call, from, kit::Answer::kRedirect, r.hint);
      return;
    case kv::KvStatus::kUnavailable:
    case kv::KvStatus::kMiss:
      rpc_.on_answer(ctx, r.call, from, kit::Answer::kRefused);
      return;
    case kv::KvStatus::kIndeterminate:
      settles_.at(*handle).read = true;
      rpc_.on_answer(ctx, r.call, from, kit::Answer::kIndeterminate);
      return;
    case kv::KvStatus::kCasMismatch:
      rpc_.on_answer(ctx, r.call, from, kit::Answer::kDone);
      settles_.at(*handle).read = true;  // set already: read what it holds
      begin_settle(ctx, *handle);
      return;
    case kv::KvStatus::kOk:
      break;
  }
  rpc_.on_answer(ctx, r.call, from, kit::Answer::kDone);
  Settle& s = settles_.at(*handle);
  if (!s.read) {
    settled(ctx, *handle, s.commit);
    return;
  }
  const auto held = r.value.elements();
  if (held.empty()) {
    s.read = false;  // an earlier write did not land: write it now
    begin_settle(ctx, *handle);
    return;
  }
  DSIM_ASSERT(held[0] == kCommitted || held[0] == kAborted, "a transaction record holds ", held[0]);
  settled(ctx, *handle, held[0] == kCommitted);
}

void TxnCoordinator::settled(Context& ctx, uint64_t handle, bool commit) {
  const Settle s = settles_.at(handle);
  settles_.erase(handle);
  settling_.erase(s.txn);
  for (NodeId asker : s.askers)
    send(ctx, asker, Decision{s.txn, commit, 0});
  Txn* t = find(s.txn);
  if (!t) {
    if (!commit) ctx.record().mark(m_.mark_decide, static_cast<int64_t>(s.txn), 0);
    outcomes_.remember(s.txn, commit);
    return;
  }
  if (t->phase != Phase::kDeciding) return;
  if (t->commit && !commit) t->cause = AbortCause::kRecovery;  // another aborted it first
  t->commit = commit;
  take_effect(ctx, *t);
}

}  // namespace dsim::txn
