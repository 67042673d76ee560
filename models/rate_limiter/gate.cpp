// The rate limit a service or a balancer keeps at its door: local, checked at a central
// store, or synchronised through one; and the windows it reports (gate.h).
#include "models/rate_limiter/gate.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::ratelimit {

namespace {
using A = kit::RateLimitPolicy::Algorithm;

kit::CallPolicy check_policy(const GateSpec& spec) {
  kit::CallPolicy p;
  p.timeout = spec.timeout;
  p.retry.max_attempts = 1;  // a check is not retried: the request waits for one verdict
  return p;
}

void read_distributed(ParamReader& m, GateSpec& s) {
  const bool doc = m.doc_mode();
  if (m.has("store") || doc) {
    s.store = m.group("store",
                      "a rate_limiter group: each request is checked there (central), or the "
                      "nodes synchronise their counts through it (with sync)");
    const std::string_view model = m.env().model_of(s.store);
    if (!doc && !model.empty() && model != "rate_limiter") {
      m.error("store", "group '" + s.store + "' runs " + std::string(model) +
                           ", not rate_limiter: only a rate_limiter group holds the counts");
    }
  }
  if (!s.store.empty() || doc) {
    s.timeout =
        m.duration("timeout", s.timeout, "with store: a check not answered within this has failed");
    s.fail_open = m.choice("on_failure", s.fail_open ? "open" : "closed", {"open", "closed"},
                           "with store: a failed check admits the request (open) or refuses it "
                           "(closed)") == "open";
    s.bytes = m.size("check_size", s.bytes, "with store: a check or a sync message on the wire");
  }
  if (m.has("sync") || doc) {
    s.sync = m.duration("sync", seconds(1),
                        "with store, fixed_window: each node admits locally and pushes its "
                        "count to the store, learning the group's, this often");
  }
}
}  // namespace

void read_gate(ParamReader& r, GateSpec& s) {
  kit::read_rate_limit(r, s.policy, [&s](ParamReader& m) {
    read_distributed(m, s);
    if (s.sync && s.store.empty()) m.error("sync", "needs a store to synchronise through");
    if (s.sync && *s.sync <= Duration::zero()) m.error("sync", "must be > 0");
    if (!s.store.empty() && s.timeout <= Duration::zero()) m.error("timeout", "must be > 0");
    return !s.central() || m.doc_mode();  // a central store runs the algorithm
  });
  if (r.doc_mode() || !s.sync) return;
  if (s.policy.algorithm != A::kFixedWindow)
    r.error("rate_limit",
            "sync needs algorithm: fixed_window (the nodes share a count per window)");
  if (s.policy.scope != kit::RateLimitPolicy::Scope::kGlobal)
    r.error("rate_limit", "sync needs scope: global (one count for the group)");
}

// WindowReport

Duration WindowReport::window_of(const kit::RateLimitPolicy& p) {
  const bool windowed = p.algorithm == A::kFixedWindow || p.algorithm == A::kSlidingLog ||
                        p.algorithm == A::kSlidingWindow;
  return windowed ? p.window : seconds(1);
}

uint64_t WindowReport::limit_of(const kit::RateLimitPolicy& p) {
  const bool windowed = p.algorithm == A::kFixedWindow || p.algorithm == A::kSlidingLog ||
                        p.algorithm == A::kSlidingWindow;
  if (windowed) return p.limit;
  // The rate over one second, rounded down.
  const kit::RateWide n = static_cast<kit::RateWide>(p.rate.count) *
                          static_cast<uint64_t>(seconds(1).ns()) /
                          static_cast<uint64_t>(p.rate.per.ns());
  return static_cast<uint64_t>(n);
}

void WindowReport::start(Context& ctx, const kit::RateLimitPolicy& p, Spec spec,
                         kit::TimerSpace timers, uint8_t sub) {
  window_ = window_of(p);
  timers_ = timers;
  sub_ = sub;
  m_window_ = ctx.intern("rate_limit_window");
  m_client_ = ctx.intern("rate_limit_client");
  // A node checking a central store does not know the store's limit, and a limit per
  // client or per key is no limit of the group: it marks 0.
  const bool known = spec != Spec::kUnknownLimit && p.scope == kit::RateLimitPolicy::Scope::kGlobal;
  ctx.record().mark(ctx.intern("rate_limit_spec"), known ? static_cast<int64_t>(limit_of(p)) : 0,
                    window_.ns() * 2 + (spec == Spec::kPerNode ? 0 : 1));
  arm(ctx);
}

void WindowReport::arm(Context& ctx) {
  const int64_t w = std::max<int64_t>(window_.ns() / kTenths, 1);
  const int64_t now = std::max<int64_t>(ctx.now().ns(), 0);
  ctx.set_timer(Duration::from_ns(w - now % w), timers_.tag(sub_, 0));
}

void WindowReport::count(bool admitted, NodeId client) {
  if (!admitted) {
    ++rejected_;
    per_client_[client] += 0;  // a client refused every time still counts for fairness
    return;
  }
  ++admitted_;
  ++per_client_[client];
}

void WindowReport::on_timer(Context& ctx) {
  ctx.record().mark(m_window_, static_cast<int64_t>(admitted_), static_cast<int64_t>(rejected_));
  admitted_ = rejected_ = 0;
  arm(ctx);
}

void WindowReport::stop(Context& ctx) {
  for (const auto& [client, n] : per_client_)
    ctx.record().mark(m_client_, client, static_cast<int64_t>(n));
  per_client_.clear();
}

// Gate

Gate::Gate(const GateSpec& spec, kit::TimerSpace timers, GateHost& host, uint64_t response_bytes)
    : spec_(&spec),
      timers_(timers),
      host_(&host),
      response_bytes_(static_cast<uint32_t>(response_bytes)),
      local_(spec.policy),
      calls_(check_policy(spec)),
      rpc_(calls_, timers, *this) {}

void Gate::declare(const GateSpec& spec, MetricDecls& d) {
  if (!spec.enabled()) return;
  for (std::string_view n : kit::kRateLimitCounters)
    d.counter(std::string(n));
  d.counter("rate_limit_delayed");
  d.counter("rate_limit_check_failures");
  declare_figures(d);
  if (!spec.store.empty()) kit::RpcClient::declare(d);  // the checks' calls
}

void declare_figures(MetricDecls& d) {
  for (const char* f : {"rate_limit_limit", "rate_limit_max_admitted", "rate_limit_overshoot",
                        "rate_limit_max_overshoot", "rate_limit_max_sliding", "rate_limit_clients",
                        "rate_limit_fairness"})
    d.figure(f);
}

void Gate::start(Context& ctx, uint64_t& next_call_seq) {
  if (!enabled()) return;
  m_allowed_ = ctx.intern(kit::kRateLimitCounters[0]);
  m_rejected_ = ctx.intern(kit::kRateLimitCounters[1]);
  m_delayed_ = ctx.intern("rate_limit_delayed");
  m_failures_ = ctx.intern("rate_limit_check_failures");
  using S = WindowReport::Spec;
  report_.start(ctx, spec_->policy,
                spec_->central() ? S::kUnknownLimit : (spec_->sync ? S::kShared : S::kPerNode),
                timers_, kReport);
  if (spec_->store.empty()) return;
  check_op_ = ctx.intern("rate_check");
  const std::vector<NodeId> nodes = kit::entry_points(ctx, spec_->store);
  DSIM_ASSERT(!nodes.empty(), "rate limit store ", spec_->store, " has no node");
  rpc_.share_call_ids(next_call_seq);
  rpc_.start(ctx, nodes, 0);
  sync_node_ = nodes.front();
  if (spec_->sync) ctx.set_timer(*spec_->sync, timers_.tag(kSync, 0));
}

void Gate::stop(Context& ctx) {
  if (enabled()) report_.stop(ctx);
}

uint64_t Gate::key_of(const Held& h) const {
  switch (spec_->policy.scope) {
    case kit::RateLimitPolicy::Scope::kGlobal:
      return 0;
    case kit::RateLimitPolicy::Scope::kPerClient:
      return h.req.call.reply_to;
    case kit::RateLimitPolicy::Scope::kPerKey:
      return h.req.key;
  }
  return 0;
}

void Gate::arrive(Context& ctx, const Held& h) {
  if (spec_->central()) {
    const uint64_t id = next_++;
    held_.emplace(id, h);
    kit::RpcClient::Options o;
    o.pinned = static_cast<size_t>(key_of(h) % rpc_.targets().size());
    o.origin = h.req.call.origin;
    rpc_.begin(ctx, id, o);
    return;
  }
  if (spec_->sync) {
    if (sync_admit(ctx)) {
      pass(ctx, h, h.req.call.reply_to);
    } else {
      refuse(ctx, h);
    }
    return;
  }
  const kit::RateDecision d = local_.admit(ctx.monotonic(), key_of(h));
  if (!d.admitted) {
    refuse(ctx, h);
    return;
  }
  if (d.delay <= Duration::zero()) {
    pass(ctx, h, h.req.call.reply_to);
    return;
  }
  ctx.record().count(m_allowed_);
  ctx.record().count(m_delayed_);
  report_.count(true, h.req.call.reply_to);
  const uint64_t id = next_++;
  held_.emplace(id, h);
  ctx.set_timer(d.delay, timers_.tag(kDelay, id));
}

void Gate::pass(Context& ctx, const Held& h, uint64_t client) {
  ctx.record().count(m_allowed_);
  report_.count(true, static_cast<NodeId>(client));
  host_->gate_pass(ctx, h);
}

void Gate::refuse(Context& ctx, const Held& h) {
  ctx.record().count(m_rejected_);
  report_.count(false, h.req.call.reply_to);
  ctx.send(h.req.call.reply_to, queueing::Response{h.req.call.id, false, response_bytes_});
}

bool Gate::on_response(Context& ctx, const queueing::Response& resp, NodeId from) {
  if (!enabled() || !rpc_.handle_of(resp.call)) return false;
  const auto out = rpc_.on_answer(ctx, resp.call, from, kit::Answer::kDone);
  if (out.status != kit::RpcClient::Outcome::Status::kDone) return true;
  const auto it = held_.find(out.handle);
  DSIM_ASSERT(it != held_.end(), "a check's answer for no held request: ", out.handle);
  const Held h = it->second;
  held_.erase(it);
  if (resp.accepted) {
    pass(ctx, h, h.req.call.reply_to);
  } else {
    refuse(ctx, h);
  }
  return true;
}

void Gate::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                        uint32_t /*request*/) {
  const Held& h = held_.at(handle);
  ctx.send(to,
           queueing::Request{header, check_op_, static_cast<uint32_t>(spec_->bytes), key_of(h)});
}

void Gate::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& /*end*/) {
  const auto it = held_.find(handle);
  DSIM_ASSERT(it != held_.end(), "a failed check for no held request: ", handle);
  const Held h = it->second;
  held_.erase(it);
  ctx.record().count(m_failures_);
  if (spec_->fail_open) {
    pass(ctx, h, h.req.call.reply_to);
  } else {
    refuse(ctx, h);
  }
}

void Gate::on_timer(Context& ctx, uint64_t value) {
  const uint8_t sub = kit::TimerSpace::sub_of(value);
  if (sub == kDelay) {
    const auto it = held_.find(kit::TimerSpace::value_of(value));
    DSIM_ASSERT(it != held_.end(), "a leaky queue's delay for no held request");
    const Held h = it->second;
    held_.erase(it);
    host_->gate_pass(ctx, h);
    return;
  }
  if (sub == kSync) {
    push(ctx);
    ctx.set_timer(*spec_->sync, timers_.tag(kSync, 0));
    return;
  }
  if (sub == kReport) {
    report_.on_timer(ctx);
    return;
  }
  rpc_.on_timer(ctx, value);
}

// Sync: the fixed window of the node's clock, counted here and pushed to the store.
void Gate::sync_roll(Context& ctx) {
  const int64_t w = std::max<int64_t>(ctx.now().ns(), 0) / spec_->policy.window.ns();
  if (w <= window_) return;  // a clock set back keeps the window it counts
  window_ = w;
  mine_ = pushed_ = others_ = 0;
}

bool Gate::sync_admit(Context& ctx) {
  sync_roll(ctx);
  if (others_ + mine_ + 1 > spec_->policy.limit) return false;
  ++mine_;
  return true;
}

void Gate::push(Context& ctx) {
  sync_roll(ctx);
  ctx.send(sync_node_, SyncPush{window_, mine_ - pushed_, static_cast<uint32_t>(spec_->bytes)});
  pushed_ = mine_;
}

// The total includes what this node pushed (pushed_ when the answer's push was the last
// one; an answer overtaken by a later push makes others_ an underestimate until the next).
void Gate::on_sync_total(Context& ctx, const SyncTotal& t) {
  if (!spec_->sync) return;
  sync_roll(ctx);
  if (t.window != window_) return;  // of a window gone by
  others_ = std::max(others_, t.total - std::min(t.total, pushed_));
}

}  // namespace dsim::ratelimit
