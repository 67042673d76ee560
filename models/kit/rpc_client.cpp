#include "models/kit/rpc_client.h"

#include <algorithm>

namespace dsim::kit {

void read_call_policy(ParamReader& r, CallPolicy& c) {
  c.timeout = r.duration("timeout", c.timeout, "an attempt not answered within this times out");
  if (c.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  read_retry_policy(r, c.retry);
  read_retry_budget(r, c.budget);
  c.deadline = r.optional_duration(
      "deadline", "the whole call's time, every attempt and backoff included (default: none)");
  if (c.deadline && *c.deadline <= Duration::zero()) r.error("deadline", "must be > 0");
  c.balancer.kind =
      r.choice("balance", c.balancer.kind, balancer_choices(),
               "how an attempt picks its node in the target group: a balancer policy of the "
               "kit (random, round_robin, least_outstanding, power_of_d, least_latency, ...)");
  read_balancer_params(r, c.balancer, /*target_node=*/true);
  read_ejection(r, c);
}

void read_ejection(ParamReader& r, CallPolicy& c) {
  if (!r.has("eject_after") && !r.has("eject_for") && !r.doc_mode()) return;
  c.eject_after = static_cast<uint32_t>(
      r.integer("eject_after", c.eject_after,
                "failed attempts in a row to one node after which the caller passes it over "
                "for eject_for (0: never)",
                0, 1'000'000));
  c.eject_for = r.duration("eject_for", c.eject_for, "how long an ejected node is passed over");
  if (c.eject_for <= Duration::zero()) r.error("eject_for", "must be > 0");
  if (c.eject_after == 0 && r.has("eject_for")) r.error("eject_for", "needs eject_after");
}

std::vector<NodeId> entry_points(const Context& ctx, std::string_view group) {
  if (const NodeId vip = ctx.group_address(group); vip != kNoNode) return {vip};
  const std::span<const NodeId> nodes = ctx.group_nodes(group);
  return {nodes.begin(), nodes.end()};
}

void RpcClient::start(Context& ctx, std::span<const NodeId> targets, size_t home) {
  self_ = ctx.self();
  targets_.assign(targets.begin(), targets.end());
  observed_.assign(targets_.size(), Observed{});
  for (size_t i = 0; i < targets_.size(); ++i)
    observed_[i].distance = ctx.typical_latency(targets_[i]);
  failures_in_row_.assign(targets_.size(), 0);
  ejected_.assign(targets_.size(), 0);
  wanted_healthy_.assign(targets_.size(), 1);
  balancer_ = make_balancer(policy_->balancer);
  balancer_->start(targets_.size(), home);
  m_retries_ = ctx.intern("retries");
  m_redirects_ = ctx.intern("redirects");
  m_timeouts_ = ctx.intern("attempt_timeouts");
  m_late_ = ctx.intern("late_responses");
}

void RpcClient::declare(MetricDecls& d) {
  for (const char* c : {"retries", "redirects", "attempt_timeouts", "late_responses",
                        "retries_denied", "deadline_exceeded", "caller_ejections"})
    d.counter(c);
}

size_t RpcClient::index_of(NodeId n) const {
  const auto it = std::find(targets_.begin(), targets_.end(), n);
  return it == targets_.end() ? kNoCandidate : static_cast<size_t>(it - targets_.begin());
}

void RpcClient::begin(Context& ctx, uint64_t handle, const Options& o) {
  DSIM_ASSERT(!targets_.empty(), "a call begun with no targets");
  DSIM_ASSERT(calls_.count(handle) == 0, "call handle ", handle, " is already live");
  Call& c = calls_[handle];
  c.pick = o.pick;
  c.origin = o.origin;
  c.idempotency_key = o.idempotency_key;
  c.max_tries = o.max_attempts > 0 ? o.max_attempts : policy_->retry.attempts();
  const SimTime now = ctx.monotonic();
  Duration budget = o.inherited_budget;
  if (policy_->deadline) budget = std::min(budget, *policy_->deadline);
  if (budget != kNoDeadline) c.deadline = now + budget;
  budget_.request(now);
  c.pick.now = now;
  c.pick.retry = false;
  c.pinned = o.pinned;
  DSIM_ASSERT(c.pinned == kNoCandidate || c.pinned < targets_.size(), "pinned candidate ", c.pinned,
              " of ", targets_.size());
  c.target =
      targets_[c.pinned != kNoCandidate ? c.pinned : balancer_->pick(observed_, c.pick, ctx.rng())];
  ++c.tries;
  send(ctx, handle, c);
}

RpcClient::Cancelled RpcClient::cancel(Context& ctx, uint64_t handle) {
  auto it = calls_.find(handle);
  if (it == calls_.end()) return {};
  Call& c = it->second;
  Cancelled out{true, c.attempt != 0 ? c.target : kNoNode, c.attempt};
  if (c.timer.valid()) ctx.cancel_timer(c.timer);
  if (c.attempt != 0) settle(ctx, c, false);
  calls_.erase(it);
  return out;
}

void RpcClient::send(Context& ctx, uint64_t handle, Call& c) {
  const SimTime now = ctx.monotonic();
  Duration timeout = policy_->timeout;
  if (c.deadline != SimTime::max()) {
    const Duration left = c.deadline - now;
    if (left <= Duration::zero()) {
      end(ctx, handle, CallEnd::Why::kDeadline);
      return;
    }
    timeout = std::min(timeout, left);
  }
  CallHeader header;
  header.budget = timeout;  // how long this request's answer is awaited
  const uint64_t seq = (*next_seq_)++;
  header.id = make_call_id(self_, seq);
  header.origin = c.origin;
  header.reply_to = self_;
  if (!policy_->idempotency_keys && c.requests > 0 && c.idempotency_key != 0) {
    c.idempotency_key = new_idempotency_key();
  }
  header.idempotency_key = c.idempotency_key;
  c.attempt = header.id;
  c.sent = now;
  attempts_[header.id] = handle;
  const uint32_t request = c.requests++;
  if (const size_t i = index_of(c.target); i != kNoCandidate) ++observed_[i].outstanding;
  c.timer = ctx.set_timer(timeout, timers_.tag(static_cast<uint8_t>(Sub::kAttempt), seq));
  host_->send_request(ctx, handle, header, c.target, request);
}

std::optional<uint64_t> RpcClient::handle_of(uint64_t id) const {
  const auto it = attempts_.find(id);
  if (it == attempts_.end()) return std::nullopt;
  return it->second;
}

void RpcClient::settle(Context& ctx, Call& c, bool answered) {
  attempts_.erase(c.attempt);
  c.attempt = 0;
  const size_t i = index_of(c.target);
  if (i == kNoCandidate) return;
  Observed& o = observed_[i];
  if (o.outstanding > 0) --o.outstanding;
  if (answered)
    observe_latency(o, ctx.monotonic() - c.sent, ctx.monotonic(), policy_->balancer.decay);
}

RpcClient::Outcome RpcClient::on_answer(Context& ctx, uint64_t id, NodeId from, Answer answer,
                                        NodeId hint) {
  const auto it = attempts_.find(id);
  if (it == attempts_.end()) {
    ctx.record().count(m_late_);  // answered after its attempt timed out
    return {};
  }
  const uint64_t handle = it->second;
  Call& c = calls_.at(handle);
  ctx.cancel_timer(c.timer);
  settle(ctx, c, true);
  switch (answer) {
    case Answer::kDone: {
      if (const size_t i = index_of(from); i != kNoCandidate) {
        balancer_->answered(i, c.pick);
        note_result(ctx, i, true);
      }
      const Outcome out{Outcome::Status::kDone, handle, c.requests, c.unknown};
      calls_.erase(handle);
      return out;
    }
    case Answer::kRedirect:
      if (hint != kNoNode && c.redirects < policy_->max_redirects) {
        ++c.redirects;
        ctx.record().count(m_redirects_);
        c.target = hint;
        if (const size_t i = index_of(hint); i != kNoCandidate) balancer_->redirected(i, c.pick);
        send(ctx, handle, c);
        return {Outcome::Status::kPending, handle};
      }
      attempt_failed(ctx, handle, false);
      return {Outcome::Status::kPending, handle};
    case Answer::kRefused:
    case Answer::kIndeterminate:
      if (const size_t i = index_of(from); i != kNoCandidate) note_result(ctx, i, false);
      attempt_failed(ctx, handle, answer == Answer::kIndeterminate);
      return {Outcome::Status::kPending, handle};
  }
  return {Outcome::Status::kPending, handle};
}

void RpcClient::attempt_failed(Context& ctx, uint64_t handle, bool maybe_applied) {
  Call& c = calls_.at(handle);
  c.unknown = c.unknown || maybe_applied;
  if (c.tries >= c.max_tries) {
    end(ctx, handle, CallEnd::Why::kAttempts);
    return;
  }
  const SimTime now = ctx.monotonic();
  if (!budget_.try_retry(now)) {
    ctx.record().count(ctx.intern("retries_denied"));
    end(ctx, handle, CallEnd::Why::kBudget);
    return;
  }
  const Duration delay = policy_->retry.delay(c.tries, ctx.rng());
  if (c.deadline != SimTime::max() && now + delay >= c.deadline) {
    end(ctx, handle, CallEnd::Why::kDeadline);
    return;
  }
  ctx.record().count(m_retries_);
  c.timer = ctx.set_timer(delay, timers_.tag(static_cast<uint8_t>(Sub::kBackoff), handle));
}

void RpcClient::end(Context& ctx, uint64_t handle, CallEnd::Why why) {
  auto it = calls_.find(handle);
  const Call& c = it->second;
  if (why == CallEnd::Why::kDeadline) ctx.record().count(ctx.intern("deadline_exceeded"));
  const CallEnd e{why, c.unknown, c.requests};
  calls_.erase(it);
  host_->call_failed(ctx, handle, e);
}

void RpcClient::note_result(Context& ctx, size_t i, bool ok) {
  if (policy_->eject_after == 0) return;
  if (ok) {
    failures_in_row_[i] = 0;
    return;
  }
  if (++failures_in_row_[i] < policy_->eject_after || ejected_[i]) return;
  failures_in_row_[i] = 0;
  ejected_[i] = 1;
  observed_[i].healthy = false;
  ctx.record().count(ctx.intern("caller_ejections"));
  ctx.set_timer(policy_->eject_for, timers_.tag(static_cast<uint8_t>(Sub::kEjectEnd), i));
}

void RpcClient::on_timer(Context& ctx, uint64_t value) {
  const uint64_t v = TimerSpace::value_of(value);
  if (static_cast<Sub>(TimerSpace::sub_of(value)) == Sub::kAttempt) {
    const auto handle = handle_of(make_call_id(self_, v));
    if (!handle) return;  // answered already
    Call& c = calls_.at(*handle);
    settle(ctx, c, false);
    ctx.record().count(m_timeouts_);
    if (const size_t i = index_of(c.target); i != kNoCandidate) note_result(ctx, i, false);
    host_->attempt_timed_out(ctx, *handle, c.target);
    attempt_failed(ctx, *handle, true);
    return;
  }
  if (static_cast<Sub>(TimerSpace::sub_of(value)) == Sub::kEjectEnd) {
    ejected_.at(v) = 0;
    observed_[v].healthy = wanted_healthy_[v] != 0;
    return;
  }
  auto it = calls_.find(v);  // a backoff ended: the next attempt
  if (it == calls_.end()) return;
  Call& c = it->second;
  c.redirects = 0;
  ++c.tries;
  c.pick.now = ctx.monotonic();
  c.pick.retry = true;
  c.pick.failed = index_of(c.target);
  if (c.pinned == kNoCandidate) c.target = targets_[balancer_->pick(observed_, c.pick, ctx.rng())];
  send(ctx, v, c);
}

}  // namespace dsim::kit
