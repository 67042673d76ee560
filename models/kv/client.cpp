#include "models/kv/client.h"

#include <algorithm>
#include <string>

#include "sim/core/units.h"

namespace dsim::kv {

namespace {

constexpr int64_t kValueStride = 1'000'000'000;  // value = client node * stride + write number
constexpr std::string_view kKindNames[] = {"get", "put", "cas", "append"};

}  // namespace

// --- configuration ------------------------------------------------------------------------

KvClient::Config KvClient::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the store group requests go to");
  const kit::ArrivalKeys keys{/*bursty=*/false, /*closed=*/true, "operation"};
  const bool traced = kit::has_trace(r);  // then what the trace replaces is not read
  if (!traced) read_ops(r, keys, c);
  c.first_key = static_cast<uint64_t>(r.integer(
      "first_key", 0, "keys are first_key .. first_key + n - 1 (to keep groups apart)", 0));
  if (!traced) {
    c.value_size = r.distribution("value_size", c.value_size, "size of a written value",
                                  Distribution::Dim::kBytes);
  }
  c.sessions = r.integer("sessions", c.sessions,
                         "open loop: sessions per client node, operations assigned in turn "
                         "(closed loop: one session per user)",
                         1, 1'000'000);
  read_calls(r, c);
  c.merge = r.choice("merge", c.merge,
                     {{"last", Merge::kLast},
                      {"first", Merge::kFirst},
                      {"random", Merge::kRandom},
                      {"union", Merge::kUnion}},
                     "what a get reads when the store returns siblings (concurrent versions): the "
                     "last or first sibling in the store's order (the quorum model lists them "
                     "oldest first by write time, so `last` is client-side last-writer-wins), one "
                     "at random, or the union of their elements (lists: the shopping-cart merge)");
  c.causal_context =
      r.boolean("causal_context", c.causal_context,
                "send the causal context of a key's last answer back with the session's next write "
                "of it, so the write supersedes exactly the versions the session saw (Dynamo's "
                "put(key, context, value); stores that hand contexts out, e.g. quorum with vector "
                "clocks); false: writes are blind");
  kit::read_start_stop(r, keys, /*with_stop=*/true, c.arrivals);
  read_read_back(r, c);
  read_probes(r, c);
  read_trace(r, c);
  kit::read_client_rate_limit(r, c.rate_limit);
  return c;
}

void KvClient::read_ops(ParamReader& r, const kit::ArrivalKeys& keys, Config& c) {
  kit::read_load(r, keys, c.arrivals);
  c.mix = r.weights("mix", c.mix,
                    "operation weights over get, put, cas and append, e.g. {get: 0.8, put: 0.2}");
  for (const auto& [name, w] : c.mix) {
    if (std::find(std::begin(kKindNames), std::end(kKindNames), name) == std::end(kKindNames)) {
      r.error("mix", "unknown operation '" + name + "' (valid: get, put, cas, append)");
    }
  }
  kit::read_key_spec(r, c.keys);
}

void KvClient::declare(const Config& c, MetricDecls& d) {
  for (const auto& [op, weight] : c.mix)
    d.operation(op);
  if (c.read_back) d.operation("read_back");
  if (!c.visibility_probes.empty()) {
    d.operation("probe");
    for (Duration t : c.visibility_probes) {
      const std::string at = "_at_" + probe_label(t);
      for (const char* name :
           {"visibility_pairs", "p_visible", "p_visible_ci_lo", "p_visible_ci_hi"})
        d.figure(name + at);
    }
  }
  d.history(kKvFamily.name);
  for (const char* name :
       {"cas_mismatches", "write_values_exhausted", "sibling_reads", "siblings_read"})
    d.counter(name);
  kit::RpcClient::declare(d);
  kit::ClientThrottle::declare(c.rate_limit, d);
}

void KvClient::read_calls(ParamReader& r, Config& c) {
  kit::CallPolicy& calls = c.calls;
  calls.timeout =
      r.duration("timeout", calls.timeout, "an attempt not answered within this times out");
  if (calls.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  kit::read_retry_policy(r, calls.retry);
  calls.idempotency_keys = r.boolean("idempotency_keys", calls.idempotency_keys,
                                     "retries carry the operation's idempotency key (false: a new "
                                     "key per attempt, so stores cannot recognise retries)");
  calls.balancer.kind = r.choice(
      "target_policy", calls.balancer.kind, kit::balancer_choices(),
      "which store node an attempt goes to, by a balancer policy of the kit: random, "
      "round_robin, fixed (target_node), sticky (the node that last answered, moving on after a "
      "failure), key_owner (per key, the node that last answered or was named by a redirect), "
      "least_outstanding, power_of_d, least_latency, weighted_round_robin, dns_round_robin, "
      "geo_dns, hash_key, hash_client, consistent_hash, maglev; redirects are always "
      "followed");
  kit::read_balancer_params(r, calls.balancer, /*target_node=*/true);
  calls.max_redirects =
      static_cast<uint32_t>(r.integer("max_redirects", calls.max_redirects,
                                      "'not leader' redirects followed per attempt", 0, 1000));
  kit::read_retry_budget(r, calls.budget);
  calls.deadline = r.optional_duration(
      "deadline", "the whole operation's time, every attempt and backoff included (default: none)");
  if (calls.deadline && *calls.deadline <= Duration::zero()) r.error("deadline", "must be > 0");
  kit::read_ejection(r, calls);
}

void KvClient::read_read_back(ParamReader& r, Config& c) {
  c.read_back = r.boolean("read_back", c.read_back,
                          "after stop, read back every key this client wrote (needs stop): "
                          "the final reads of the lost-write check");
  c.read_back_delay = r.duration("read_back_delay", c.read_back_delay,
                                 "pause between stop and the read-back; longer than an "
                                 "operation can last, retries included");
  c.read_back_attempts = r.integer(
      "read_back_attempts", c.read_back_attempts,
      "attempts per final read (retried by the retry policy; retry_base apart with retry: none)", 1,
      1'000'000);
  c.read_back_concurrency = r.integer("read_back_concurrency", c.read_back_concurrency,
                                      "final reads in flight at once", 1, 1'000'000);
  if (c.read_back && !c.arrivals.stop)
    r.error("read_back", "needs stop: when the read-back begins");
  if (c.read_back && c.read_back_delay <= Duration::zero()) {
    r.error("read_back_delay", "must be > 0: the read-back begins after the last operations");
  }
}

void KvClient::read_probes(ParamReader& r, Config& c) {
  constexpr std::string_view kKey = "visibility_probes";
  const ParamNode* p = r.raw(
      kKey, "list of durations",
      "after each acknowledged write, a get of its key exactly t after the acknowledgement "
      "arrived, for each t listed (PBS's t-visibility probes; t_visibility_at.csv): operations "
      "of type `probe`, left out of the staleness and session figures",
      "[] (none)");
  if (!p) return;
  if (p->kind != ParamNode::Kind::kList) {
    r.error(kKey, "expected a list of durations, e.g. [0ms, 1ms, 10ms]");
    return;
  }
  for (const ParamNode& item : p->items) {
    std::string err;
    const auto t =
        item.kind == ParamNode::Kind::kScalar ? parse_duration(item.scalar, &err) : std::nullopt;
    if (!t || *t < Duration::zero()) {
      r.error(kKey, "each probe time must be a duration >= 0, e.g. 5ms; got '" + item.scalar + "'" +
                        (err.empty() ? "" : ": " + err));
      continue;
    }
    if (std::find(c.visibility_probes.begin(), c.visibility_probes.end(), *t) !=
        c.visibility_probes.end()) {
      r.error(kKey, "probe time " + probe_label(*t) + " is listed twice");
      continue;
    }
    c.visibility_probes.push_back(*t);
  }
  if (c.visibility_probes.size() > 64) r.error(kKey, "at most 64 probe times");
  std::sort(c.visibility_probes.begin(), c.visibility_probes.end());
}

// --- the workload -------------------------------------------------------------------------

void KvClient::on_start(Context& ctx) {
  const auto targets = ctx.group_nodes(config_.target);
  for (size_t k = 0; k < 4; ++k)
    op_symbols_[k] = ctx.intern(kKindNames[k]);
  m_read_back_ = ctx.intern("read_back");
  if (!config_.visibility_probes.empty()) m_probe_ = ctx.intern("probe");
  // The client's home node (where `sticky` starts): one draw, whatever the policy.
  const size_t home = targets.empty() ? 0 : ctx.rng().below(static_cast<uint32_t>(targets.size()));
  rpc_.start(ctx, targets, home);
  m_cas_failed_ = ctx.intern("cas_mismatches");
  m_values_exhausted_ = ctx.intern("write_values_exhausted");
  m_sibling_reads_ = ctx.intern("sibling_reads");
  m_siblings_read_ = ctx.intern("siblings_read");
  throttle_.start(ctx, config_.rate_limit);
  mix_ = kit::WeightedChoice(config_.mix);
  for (const auto& [name, w] : config_.mix) {
    const auto k = std::find(std::begin(kKindNames), std::end(kKindNames), name);
    mix_kinds_.push_back(static_cast<KvOpKind>(k - std::begin(kKindNames)));
  }
  if (targets.empty()) return;
  if (config_.read_back) {
    ctx.set_timer(*config_.arrivals.stop + config_.read_back_delay,
                  kit::timer_tag(Timer::kReadBack));
  }
  if (config_.trace) {
    trace_feed_.start(ctx, config_.trace, config_.arrivals.start, config_.arrivals.stop);
  } else {
    arrivals_.start(ctx);
  }
}

void KvClient::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kArrivals:
      arrivals_.on_timer(ctx, value, [&](uint64_t user) { start_op(ctx, user, false); });
      return;
    case Timer::kCalls:
      rpc_.on_timer(ctx, value);
      return;
    case Timer::kTrace:
      trace_feed_.on_timer(ctx, [&](const kit::TraceRow& row) { start_trace_op(ctx, row); });
      return;
    case Timer::kThrottle:
      begin_call(ctx, value);
      return;
    case Timer::kProbe:
      start_probe(ctx, value);
      return;
    case Timer::kReadBack:
      read_back_keys_.assign(written_keys_.begin(), written_keys_.end());
      for (int64_t i = 0; i < config_.read_back_concurrency; ++i)
        next_read_back(ctx);
      return;
  }
}

void KvClient::next_read_back(Context& ctx) {
  if (read_back_next_ < read_back_keys_.size()) {
    start_op(ctx, 0, true, read_back_keys_[read_back_next_++]);
  }
}

// --- operations ---------------------------------------------------------------------------

KvRequest KvClient::make_request(Context& ctx, KvOpKind kind, uint64_t key, uint32_t session,
                                 std::optional<uint32_t> value_bytes) {
  KvRequest req;
  req.op = kind;
  req.key = key;
  req.session = (static_cast<uint64_t>(ctx.self()) << 32) | session;
  req.call.idempotency_key = rpc_.new_idempotency_key();
  if (kind != KvOpKind::kGet && next_write_ >= kValueStride) {
    // Values are client node * 10^9 + write number: past 10^9 writes from one node they
    // would collide, so the rest of the run only reads.
    ctx.record().count(m_values_exhausted_);
    req.op = KvOpKind::kGet;
  }
  if (req.op != KvOpKind::kGet) {
    req.value =
        static_cast<int64_t>(ctx.self()) * kValueStride + static_cast<int64_t>(next_write_++);
    req.value_bytes = value_bytes
                          ? *value_bytes
                          : static_cast<uint32_t>(config_.value_size.sample_count(ctx.rng()));
    written_keys_.insert(req.key);
  }
  if (req.op == KvOpKind::kCas) {
    auto it = known_.find({session, req.key});
    req.expected_absent = it == known_.end() || it->second.absent;
    req.expected = it == known_.end() ? 0 : it->second.value;
  }
  return req;
}

void KvClient::start_op(Context& ctx, uint64_t user, bool final_read, uint64_t final_key) {
  if (!rpc_.has_targets()) return;
  const KvOpKind kind = final_read ? KvOpKind::kGet : mix_kinds_[mix_.pick(ctx.rng())];
  const uint32_t session = sessions_.next(user);
  const uint64_t key = final_read ? final_key : keys_.next(ctx.rng(), ctx.now());
  begin(ctx, user, final_read, make_request(ctx, kind, key, session, std::nullopt));
}

void KvClient::begin(Context& ctx, uint64_t user, bool final_read, KvRequest req,
                     const Probe* probe) {
  const uint64_t id = next_op_++;
  Op& op = ops_[id];
  op.user = user;
  op.final_read = final_read;
  op.probe = probe != nullptr;
  op.req = std::move(req);
  op.token = ctx.record().begin_op(final_read ? m_read_back_
                                   : probe    ? m_probe_
                                              : op_symbols_[static_cast<size_t>(op.req.op)]);
  KvInvocation what;
  what.kind = op.req.op;
  what.key = op.req.key;
  what.value = op.req.value;
  what.expected = op.req.expected;
  what.expected_absent = op.req.expected_absent;
  what.final_read = final_read;
  what.session = session_of(op);
  what.idempotency_key = op.req.call.idempotency_key;
  if (probe) {
    what.probe = true;
    what.probe_of = probe->value;
    what.probe_after = probe->after;
  }
  record_invoke(ctx.record(), op.token, what);
  // The client's own limit (neither the final read-back nor probes are limited).
  const kit::ClientThrottle::Verdict v =
      final_read || probe ? kit::ClientThrottle::Verdict{} : throttle_.check(ctx, op.req.key);
  if (v.refused) {  // never sent: definitely not applied
    finish(ctx, id, HistoryOutcome::kFail, Outcome::kRejected, 0);
  } else if (v.delay > Duration::zero()) {  // leaky_queue: it leaves in its turn
    ctx.set_timer(v.delay, kit::timer_tag(Timer::kThrottle, id));
  } else {
    begin_call(ctx, id);
  }
}

void KvClient::begin_call(Context& ctx, uint64_t id) {
  const Op& op = ops_.at(id);
  const bool final_read = op.final_read;
  kit::RpcClient::Options call;
  call.pick.key = op.req.key;
  call.pick.client = ctx.self();
  call.max_attempts = final_read ? static_cast<uint32_t>(config_.read_back_attempts) : 0;
  call.origin = op.token.id;
  call.idempotency_key = op.req.call.idempotency_key;
  rpc_.begin(ctx, id, call);
}

void KvClient::send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                            uint32_t /*request*/) {
  Op& op = ops_.at(handle);
  op.req.call = header;
  // The session's newest token (a retry carries what the session learned meanwhile); a
  // probe reads as a reader that knows nothing of the write would.
  const auto tok = session_tokens_.find(session_of(op));
  op.req.session_token = tok == session_tokens_.end() || op.probe ? 0 : tok->second;
  if (op.req.op != KvOpKind::kGet) {
    if (auto it = contexts_.find({session_of(op), op.req.key}); it != contexts_.end()) {
      ctx.send(to, KvContextRequest{op.req, it->second});
      return;
    }
  }
  ctx.send(to, op.req);
}

void KvClient::call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) {
  finish(ctx, handle, end.maybe_applied ? HistoryOutcome::kUnknown : HistoryOutcome::kFail,
         end.maybe_applied ? Outcome::kTimeout : Outcome::kRejected, end.requests);
}

void KvClient::finish(Context& ctx, uint64_t op_id, HistoryOutcome outcome, Outcome metric,
                      uint32_t requests, const KvValue* read) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  const Op op = it->second;
  ops_.erase(it);
  const std::span<const int64_t> value = read ? read->elements() : std::span<const int64_t>();
  record_result(ctx.record(), op.token, outcome, value, requests);
  ctx.record().end_op(op.token, metric);
  if (op.final_read) {
    next_read_back(ctx);
    return;
  }
  if (op.probe) return;
  if (outcome == HistoryOutcome::kOk && op.req.op != KvOpKind::kGet) schedule_probes(ctx, op);
  arrivals_.done(ctx, op.user);
}

// --- visibility probes --------------------------------------------------------------------

void KvClient::schedule_probes(Context& ctx, const Op& op) {
  for (Duration t : config_.visibility_probes) {
    const uint64_t id = next_probe_++;
    probes_[id] = Probe{op.req.key, op.req.value, session_of(op), t};
    ctx.set_timer(t, kit::timer_tag(Timer::kProbe, id));
  }
}

void KvClient::start_probe(Context& ctx, uint64_t probe_id) {
  auto it = probes_.find(probe_id);
  if (it == probes_.end()) return;
  const Probe p = it->second;
  probes_.erase(it);
  if (!rpc_.has_targets()) return;
  KvRequest req = make_request(ctx, KvOpKind::kGet, p.key, p.session, std::nullopt);
  begin(ctx, 0, false, std::move(req), &p);
}

// --- answers ------------------------------------------------------------------------------

void KvClient::on_message(Context& ctx, const Envelope& env) {
  if (const auto* resp = env.msg.get<KvResponse>()) on_response(ctx, env, *resp);
}

void KvClient::on_response(Context& ctx, const Envelope& env, const KvResponse& resp) {
  const auto handle = rpc_.handle_of(resp.call);
  if (!handle) {
    rpc_.on_answer(ctx, resp.call, env.from, kit::Answer::kDone);  // late: counted
    return;
  }
  Op& op = ops_.at(*handle);
  // A probe's answer teaches its session nothing: probes are not the session's reads.
  if (resp.session_token != 0 && !op.probe) {
    uint64_t& t = session_tokens_[session_of(op)];
    t = std::max(t, resp.session_token);
  }
  using kit::Answer;
  switch (resp.status) {
    case KvStatus::kOk: {
      if (resp.causal && config_.causal_context && !op.probe) {
        contexts_[{session_of(op), op.req.key}] = resp.causal->context;
      }
      const auto done = rpc_.on_answer(ctx, resp.call, env.from, Answer::kDone);
      if (op.req.op != KvOpKind::kGet) {
        learn(op, &resp.value, false);
        finish(ctx, *handle, HistoryOutcome::kOk, Outcome::kOk, done.requests);
        return;
      }
      const KvValue read = merged_read(ctx, resp);
      if (!op.probe) learn(op, &read, false);
      finish(ctx, *handle, HistoryOutcome::kOk, Outcome::kOk, done.requests, &read);
      return;
    }
    case KvStatus::kCasMismatch: {
      const auto done = rpc_.on_answer(ctx, resp.call, env.from, Answer::kDone);
      ctx.record().count(m_cas_failed_);
      learn(op, nullptr, true);
      // A definite answer, but if an earlier attempt may have been applied, this
      // mismatch may be its doing: the operation's fate is then unknown.
      finish(ctx, *handle, done.maybe_applied ? HistoryOutcome::kUnknown : HistoryOutcome::kFail,
             Outcome::kOk, done.requests);
      return;
    }
    case KvStatus::kNotLeader:
      rpc_.on_answer(ctx, resp.call, env.from, Answer::kRedirect, resp.hint);
      return;
    case KvStatus::kUnavailable:
      rpc_.on_answer(ctx, resp.call, env.from, Answer::kRefused);
      return;
    case KvStatus::kIndeterminate:
      rpc_.on_answer(ctx, resp.call, env.from, Answer::kIndeterminate);
      return;
    case KvStatus::kMiss: {  // a look-aside cache without a copy: the read saw nothing
      const auto done = rpc_.on_answer(ctx, resp.call, env.from, Answer::kDone);
      finish(ctx, *handle, HistoryOutcome::kFail, Outcome::kError, done.requests);
      return;
    }
  }
}

void KvClient::learn(const Op& op, const KvValue* read, bool cas_mismatch) {
  const auto key = std::make_pair(session_of(op), op.req.key);
  switch (op.req.op) {
    case KvOpKind::kGet:
      if (read && read->size() <= 1) {
        known_[key] = read->empty() ? Known{} : Known{false, read->elements()[0]};
      } else {
        known_.erase(key);
      }
      break;
    case KvOpKind::kPut:
      known_[key] = Known{false, op.req.value};
      break;
    case KvOpKind::kCas:
      if (cas_mismatch) {
        known_.erase(key);
      } else {
        known_[key] = Known{false, op.req.value};
      }
      break;
    case KvOpKind::kAppend:
      known_.erase(key);
      break;
  }
}

KvValue KvClient::merged_read(Context& ctx, const KvResponse& resp) {
  if (!resp.causal || resp.causal->siblings.size() < 2) return resp.value;
  const auto& sib = resp.causal->siblings;
  ctx.record().count(m_sibling_reads_);
  ctx.record().count(m_siblings_read_, static_cast<int64_t>(sib.size()));
  switch (config_.merge) {
    case Merge::kLast:
      return sib.back();
    case Merge::kFirst:
      return sib.front();
    case Merge::kRandom:
      return sib[ctx.rng().below(static_cast<uint32_t>(sib.size()))];
    case Merge::kUnion: {
      // Every element of every sibling once, in the order the siblings list them.
      KvValue out;
      std::set<int64_t> seen;
      for (const auto& v : sib) {
        const uint32_t per = v.size() > 0 ? v.bytes() / v.size() : 0;
        for (int64_t e : v.elements()) {
          if (seen.insert(e).second) out.append(e, per);
        }
      }
      return out;
    }
  }
  return resp.value;
}

}  // namespace dsim::kv
