// A service's calls to key-value stores (kv_store, quorum, raft, primary_backup, cache): the
// tier is the store's client. Each call reads or writes the end user's key (plus the
// edge's first_key) with the edge's operation; a write carries a value unique in the run
// (this node * 10^9 + its write number, as kv_client's). The call goes through the edge's
// RpcClient like any other: "not leader, try X" answers are followed at once, refusals and
// timeouts are retried by the edge's policy under one idempotency key.
//
// Each call is one operation of the key-value history, recorded as kv_client records its
// own: invoked when the call starts, ok with what it read when the store answers, fail
// when every attempt was definitely refused, unknown when an attempt may have been applied
// (timed out, answered indeterminate, or dropped in flight because the request ended).
// The node has one session per store it calls: it keeps the largest session token each
// store gave and sends it with every later request (a driver shared by the node's threads).
#include <algorithm>

#include "models/kv/history.h"
#include "models/service/service.h"
#include "sim/core/assert.h"

namespace dsim::service {

namespace {
constexpr int64_t kValueStride = 1'000'000'000;  // value = node * stride + write number
}  // namespace

void Service::start_store_names(Context& ctx) {
  for (const auto k :
       {kv::KvOpKind::kGet, kv::KvOpKind::kPut, kv::KvOpKind::kCas, kv::KvOpKind::kAppend})
    m_kv_ops_[static_cast<size_t>(k)] = ctx.intern(kv::kv_op_name(k));
  m_values_exhausted_ = ctx.intern("write_values_exhausted");
}

void Service::begin_store_op(Context& ctx, const Call& call, uint64_t handle, Visit& v,
                             kit::RpcClient::Options& o) {
  kit::RpcClient& rpc = rpc_of(call.edge);
  if (call.aside != Aside::kNone) {  // a fill or delete: the cache's copy, not the history
    StoreOp op;
    op.aside = true;
    op.cache_op.key = call.first_key + v.request.key;
    op.cache_op.erase = call.aside == Aside::kDelete;
    if (call.aside == Aside::kFill) {
      op.cache_op.value = v.seen;
      op.cache_op.lease = v.lease;
    }
    o.pick.key = op.cache_op.key;
    store_ops_[{call.edge, handle}] = std::move(op);
    return;
  }
  if (call.to_cache && call.kv_op == kv::KvOpKind::kGet) {  // until it answers: no hit
    v.cache_hit = false;
    v.lease = 0;
  }
  kv::KvRequest req;
  req.op = call.kv_op;
  req.key = call.first_key + v.request.key;
  req.session = static_cast<uint64_t>(ctx.self()) << 32 | edge_store_[call.edge];
  req.call.idempotency_key = rpc.new_idempotency_key();
  if (req.op != kv::KvOpKind::kGet && next_write_ >= static_cast<uint64_t>(kValueStride)) {
    // Past 10^9 writes from one node values would collide with another node's: the rest
    // of the run only reads (as kv_client).
    ctx.record().count(m_values_exhausted_);
    req.op = kv::KvOpKind::kGet;
  }
  if (req.op != kv::KvOpKind::kGet) {
    req.value =
        static_cast<int64_t>(ctx.self()) * kValueStride + static_cast<int64_t>(next_write_++);
    req.value_bytes = static_cast<uint32_t>(call.value_size.sample_count(ctx.rng()));
  }
  kv::KvInvocation what;
  what.kind = req.op;
  what.key = req.key;
  what.value = req.value;
  what.session = edge_store_[call.edge];
  what.idempotency_key = req.call.idempotency_key;
  const OpToken token = ctx.record().begin_op(m_kv_ops_[static_cast<size_t>(req.op)]);
  kv::record_invoke(ctx.record(), token, what);
  o.pick.key = req.key;
  o.idempotency_key = req.call.idempotency_key;
  store_ops_[{call.edge, handle}] = StoreOp{token, req, false, {}};
}

void Service::send_store_request(Context& ctx, size_t edge, uint64_t handle,
                                 const kit::CallHeader& header, NodeId to) {
  StoreOp& op = store_ops_.at({edge, handle});
  if (op.aside) {
    op.cache_op.call = header;
    ctx.send(to, op.cache_op);
    return;
  }
  op.req.call = header;
  // The session's newest token (a retry carries what the session learned meanwhile).
  op.req.session_token = store_tokens_[edge_store_[edge]];
  ctx.send(to, op.req);
}

void Service::on_store_response(Context& ctx, NodeId from, const kv::KvResponse& resp) {
  size_t e = 0;
  std::optional<uint64_t> handle;
  for (; e < edge_hosts_.size() && !handle; ++e)
    handle = rpc_of(e).handle_of(resp.call);
  if (!handle) {
    ctx.record().count(m_late_);  // its call was given up (timed out, or no longer needed)
    return;
  }
  --e;
  kit::RpcClient& rpc = rpc_of(e);
  uint64_t& token = store_tokens_[edge_store_[e]];
  token = std::max(token, resp.session_token);
  const StoreOp& op = store_ops_.at({e, *handle});
  // A fill the cache refused (its lease was void) is done all the same: nothing to retry.
  const bool done_anyway = op.aside && resp.status == kv::KvStatus::kCasMismatch;
  learn_from_store(op, *edges_[e], *handle, resp);
  switch (done_anyway ? kv::KvStatus::kOk : resp.status) {
    case kv::KvStatus::kMiss: {  // a look-aside cache without a copy: the read saw nothing
      const auto done = rpc.on_answer(ctx, resp.call, from, kit::Answer::kDone);
      end_store_op(ctx, e, *handle, HistoryOutcome::kFail, Outcome::kOk, done.requests);
      call_result(ctx, e, *handle, true);
      return;
    }
    case kv::KvStatus::kOk: {
      const auto done = rpc.on_answer(ctx, resp.call, from, kit::Answer::kDone);
      end_store_op(ctx, e, *handle, HistoryOutcome::kOk, Outcome::kOk, done.requests,
                   resp.value.elements());
      call_result(ctx, e, *handle, true);
      return;
    }
    case kv::KvStatus::kNotLeader:
      rpc.on_answer(ctx, resp.call, from, kit::Answer::kRedirect, resp.hint);
      return;
    case kv::KvStatus::kCasMismatch:  // a service sends no compare-and-set
    case kv::KvStatus::kUnavailable:
      rpc.on_answer(ctx, resp.call, from, kit::Answer::kRefused);
      return;
    case kv::KvStatus::kIndeterminate:
      rpc.on_answer(ctx, resp.call, from, kit::Answer::kIndeterminate);
      return;
  }
}

void Service::learn_from_store(const StoreOp& op, const Call& call, uint64_t handle,
                               const kv::KvResponse& resp) {
  const auto it = visits_.find(handle >> kSubCallBits);
  if (op.aside || it == visits_.end()) return;
  Visit& v = it->second;
  if (call.to_cache && op.req.op == kv::KvOpKind::kGet) {
    v.cache_hit = resp.status == kv::KvStatus::kOk;
    v.lease = resp.status == kv::KvStatus::kMiss ? resp.lease : 0;
    return;
  }
  if (resp.status != kv::KvStatus::kOk || call.to_cache) return;
  switch (op.req.op) {
    case kv::KvOpKind::kGet:
      v.seen = resp.value;
      v.has_seen = true;
      return;
    case kv::KvOpKind::kPut:
      v.seen = kv::KvValue::single(op.req.value, op.req.value_bytes);
      v.has_seen = true;
      return;
    case kv::KvOpKind::kCas:
    case kv::KvOpKind::kAppend:  // the list it made is not known here
      v.has_seen = false;
      return;
  }
}

void Service::end_store_op(Context& ctx, size_t edge, uint64_t handle, HistoryOutcome outcome,
                           Outcome metric, uint32_t requests, std::span<const int64_t> read) {
  const auto it = store_ops_.find({edge, handle});
  DSIM_ASSERT(it != store_ops_.end(), "no operation for call ", handle, " on edge ", edge);
  const OpToken token = it->second.token;
  const bool aside = it->second.aside;
  store_ops_.erase(it);
  if (aside) return;
  kv::record_result(ctx.record(), token, outcome, read, requests);
  ctx.record().end_op(token, metric);
}

}  // namespace dsim::service
