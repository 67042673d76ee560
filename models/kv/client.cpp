#include "models/kv/client.h"

#include <algorithm>
#include <cmath>

#include "sim/core/units.h"

namespace dsim::kv {

namespace {

constexpr uint64_t kTagValueMask = (uint64_t{1} << 60) - 1;
constexpr int64_t kValueStride = 1'000'000'000;  // value = client node * stride + write number
constexpr std::string_view kKindNames[] = {"get", "put", "cas", "append"};

std::string trim(std::string s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

}  // namespace

std::string KeySpec::describe() const {
  const std::string count = std::to_string(n);
  switch (kind) {
    case Kind::kUniform:
      return "uniform(" + count + ")";
    case Kind::kZipf:
      return "zipf(" + count + ", s=" + format_number(s) + ")";
    case Kind::kHotspot:
      return "hotspot(" + count + ", keys=" + format_number(hot_keys * 100) +
             "%, traffic=" + format_number(hot_traffic * 100) + "%)";
    case Kind::kSequential:
      return "sequential(" + count + ")";
  }
  return "?";
}

std::optional<KeySpec> parse_key_spec(const std::string& text, std::string* error) {
  const std::string t = trim(text);
  const size_t open = t.find('(');
  const std::string usage =
      "expected uniform(n), zipf(n, s=0.99), hotspot(n, keys=10%, traffic=90%) or "
      "sequential(n), got '" +
      t + "'";
  if (open == std::string::npos || t.back() != ')') {
    *error = usage;
    return std::nullopt;
  }
  KeySpec k;
  const std::string name = trim(t.substr(0, open));
  if (name == "uniform") {
    k.kind = KeySpec::Kind::kUniform;
  } else if (name == "zipf") {
    k.kind = KeySpec::Kind::kZipf;
  } else if (name == "hotspot") {
    k.kind = KeySpec::Kind::kHotspot;
  } else if (name == "sequential") {
    k.kind = KeySpec::Kind::kSequential;
  } else {
    *error = usage;
    return std::nullopt;
  }
  std::vector<std::string> args;
  const std::string inner = t.substr(open + 1, t.size() - open - 2);
  size_t start = 0;
  for (;;) {
    const size_t comma = inner.find(',', start);
    args.push_back(trim(inner.substr(start, comma == std::string::npos ? comma : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::string err;
  auto n = parse_integer(args[0], &err);
  if (!n || *n < 1 || *n > (int64_t{1} << 40)) {
    *error = name + ": the number of keys must be an integer from 1 to 2^40, got '" + args[0] + "'";
    return std::nullopt;
  }
  k.n = static_cast<uint64_t>(*n);
  for (size_t i = 1; i < args.size(); ++i) {
    const size_t eq = args[i].find_first_of("=:");
    const std::string key = eq == std::string::npos ? "" : trim(args[i].substr(0, eq));
    const std::string val = eq == std::string::npos ? args[i] : trim(args[i].substr(eq + 1));
    if (k.kind == KeySpec::Kind::kZipf && key == "s") {
      auto v = parse_number(val, &err);
      if (!v || !(*v > 0) || !std::isfinite(*v)) {
        *error = "zipf: s must be a number > 0, got '" + val + "'";
        return std::nullopt;
      }
      k.s = *v;
    } else if (k.kind == KeySpec::Kind::kHotspot && (key == "keys" || key == "traffic")) {
      auto v = parse_probability(val, &err);
      if (!v || *v <= 0 || *v > 1) {
        *error = "hotspot: " + key + " must be a share in (0, 100%], got '" + val + "'";
        return std::nullopt;
      }
      (key == "keys" ? k.hot_keys : k.hot_traffic) = *v;
    } else {
      *error = name + ": unexpected argument '" + args[i] + "' (" + usage + ")";
      return std::nullopt;
    }
  }
  return k;
}

KvClient::Config KvClient::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the store group requests go to");
  const std::string load = r.choice("load", "open", {"open", "closed"},
                                    "open: operations arrive at a rate; closed: users wait for "
                                    "each answer, then think");
  c.load = load == "closed" ? Load::kClosed : Load::kOpen;
  const std::string arrival = r.choice("arrival", "poisson", {"poisson", "fixed"},
                                       "open loop: Poisson arrivals or evenly spaced ones");
  c.arrival = arrival == "fixed" ? Arrival::kFixed : Arrival::kPoisson;
  c.rate = r.rate("rate", c.rate, "open loop: operations per second started by each client node");
  c.users =
      r.integer("users", c.users, "closed loop: concurrent users per client node", 1, 10'000'000);
  c.think_time = r.distribution("think_time", c.think_time,
                                "closed loop: pause between an answer and the next operation");
  c.mix = r.weights("mix", c.mix,
                    "operation weights over get, put, cas and append, e.g. {get: 0.8, put: 0.2}");
  for (const auto& [name, w] : c.mix) {
    if (std::find(std::begin(kKindNames), std::end(kKindNames), name) == std::end(kKindNames)) {
      r.error("mix", "unknown operation '" + name + "' (valid: get, put, cas, append)");
    }
  }
  const std::string keys = r.text("keys", c.keys.describe(),
                                  "key distribution: uniform(n), zipf(n, s=0.99), "
                                  "hotspot(n, keys=10%, traffic=90%) or sequential(n)");
  std::string err;
  if (auto k = parse_key_spec(keys, &err)) {
    c.keys = *k;
  } else {
    r.error("keys", err);
  }
  c.first_key = static_cast<uint64_t>(r.integer(
      "first_key", 0, "keys are first_key .. first_key + n - 1 (to keep groups apart)", 0));
  c.value_size = r.distribution("value_size", c.value_size, "size of a written value",
                                Distribution::Dim::kBytes);
  c.sessions = r.integer("sessions", c.sessions,
                         "open loop: sessions per client node, operations assigned in turn "
                         "(closed loop: one session per user)",
                         1, 1'000'000);
  c.timeout = r.duration("timeout", c.timeout, "an attempt not answered within this times out");
  const std::string retry =
      r.choice("retry", "none", {"none", "fixed", "exponential"},
               "retry policy for failed attempts: none, a fixed delay, or exponential backoff");
  c.retry = retry == "fixed"         ? Retry::kFixed
            : retry == "exponential" ? Retry::kExponential
                                     : Retry::kNone;
  c.max_attempts =
      r.integer("max_attempts", c.max_attempts,
                "attempts per operation including the first (with retries)", 1, 1'000'000);
  c.retry_base = r.duration("retry_base", c.retry_base,
                            "fixed: the delay; exponential: the first retry's delay, doubling "
                            "for each further retry");
  c.retry_cap = r.duration("retry_cap", c.retry_cap, "exponential: the largest delay");
  const std::string jitter = r.choice(
      "jitter", "proportional", {"none", "proportional", "additive"},
      "proportional: delay * uniform(1 - f, 1 + f); additive: delay + uniform(0, jitter_max)");
  c.jitter = jitter == "none"       ? Jitter::kNone
             : jitter == "additive" ? Jitter::kAdditive
                                    : Jitter::kProportional;
  c.jitter_fraction = r.probability("jitter_fraction", c.jitter_fraction, "proportional jitter: f");
  c.jitter_max = r.duration("jitter_max", c.jitter_max, "additive jitter: the largest addition");
  c.idempotency_keys = r.boolean("idempotency_keys", c.idempotency_keys,
                                 "retries carry the operation's idempotency key (false: a new "
                                 "key per attempt, so stores cannot recognise retries)");
  const std::string policy = r.choice(
      "target_policy", "random", {"random", "round_robin", "fixed", "sticky", "key_owner"},
      "which store node an attempt goes to: random, in turn, always target_node, sticky "
      "(the node that last answered, moving on after a failure), or key_owner (per key, the "
      "node that last answered or was named by a redirect; random for a key it has not "
      "learnt, or after a failure); redirects are always followed");
  c.target_policy = policy == "round_robin" ? Target::kRoundRobin
                    : policy == "fixed"     ? Target::kFixed
                    : policy == "sticky"    ? Target::kSticky
                    : policy == "key_owner" ? Target::kKeyOwner
                                            : Target::kRandom;
  c.target_node = r.integer("target_node", c.target_node,
                            "fixed: the index of the node in the target group", 0);
  c.max_redirects = r.integer("max_redirects", c.max_redirects,
                              "'not leader' redirects followed per attempt", 0, 1000);
  const std::string merge = r.choice(
      "merge", "last", {"last", "first", "random", "union"},
      "what a get reads when the store returns siblings (concurrent versions): the last or "
      "first sibling in the store's order (the quorum model lists them oldest first by "
      "write time, so `last` is client-side last-writer-wins), one at random, or the union "
      "of their elements (lists: the shopping-cart merge)");
  c.merge = merge == "first"    ? Merge::kFirst
            : merge == "random" ? Merge::kRandom
            : merge == "union"  ? Merge::kUnion
                                : Merge::kLast;
  c.causal_context =
      r.boolean("causal_context", c.causal_context,
                "send the causal context of a key's last answer back with the session's next write "
                "of it, so the write supersedes exactly the versions the session saw (Dynamo's "
                "put(key, context, value); stores that hand contexts out, e.g. quorum with vector "
                "clocks); false: writes are blind");
  c.start = r.duration("start", c.start, "when this client starts its first operation");
  c.stop = r.optional_duration("stop",
                               "when this client stops starting operations (default: "
                               "never)");
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
  if (c.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  if (c.load == Load::kOpen && c.rate <= 0) r.error("rate", "an open-loop client needs a rate > 0");
  if (c.retry == Retry::kExponential && c.retry_cap < c.retry_base) {
    r.error("retry_cap", "must be >= retry_base");
  }
  if (c.stop && *c.stop <= c.start) r.error("stop", "must be later than start");
  if (c.read_back && !c.stop) r.error("read_back", "needs stop: when the read-back begins");
  return c;
}

Duration KvClient::retry_delay(const Config& c, uint32_t retry, Rng& rng) {
  // The seeds' retry pattern: exponential backoff doubling from a base delay, capped
  // ([002]:9204-9260: base_delay=1 s, max_delay=60 s, "Delays: 1s, 2s, 4s, 8s, 16s...
  // (capped at max_delay)", max_retries=5), with jitter. The seeds disagree on the
  // jitter, so both are offered: "random ±25%", delay *= 0.75 + 0.5 * random()
  // ([002]:9230) is `proportional`; delay = base_delay * 2^attempt + random(0, jitter)
  // ([002]:2618-2633) is `additive`.
  double d = static_cast<double>(c.retry_base.ns());
  if (c.retry == Retry::kExponential) {
    const double doublings = std::min<double>(retry > 0 ? retry - 1 : 0, 62);
    d = std::min(d * std::pow(2.0, doublings), static_cast<double>(c.retry_cap.ns()));
  }
  switch (c.jitter) {
    case Jitter::kNone:
      break;
    case Jitter::kProportional:
      d *= 1.0 - c.jitter_fraction + 2.0 * c.jitter_fraction * rng.uniform01();
      break;
    case Jitter::kAdditive:
      d += static_cast<double>(c.jitter_max.ns()) * rng.uniform01();
      break;
  }
  return Duration::from_ns(std::llround(std::max(0.0, d)));
}

void KvClient::on_start(Context& ctx) {
  auto nodes = ctx.group_nodes(config_.target);
  targets_.assign(nodes.begin(), nodes.end());
  for (size_t k = 0; k < 4; ++k)
    op_symbols_[k] = ctx.intern(kKindNames[k]);
  m_read_back_ = ctx.intern("read_back");
  m_retries_ = ctx.intern("retries");
  m_redirects_ = ctx.intern("redirects");
  m_timeouts_ = ctx.intern("attempt_timeouts");
  m_late_ = ctx.intern("late_responses");
  m_cas_failed_ = ctx.intern("cas_mismatches");
  m_values_exhausted_ = ctx.intern("write_values_exhausted");
  m_sibling_reads_ = ctx.intern("sibling_reads");
  m_siblings_read_ = ctx.intern("siblings_read");
  double total = 0;
  for (const auto& [name, w] : config_.mix)
    total += w;
  double cum = 0;
  for (const auto& [name, w] : config_.mix) {
    const auto k = std::find(std::begin(kKindNames), std::end(kKindNames), name);
    mix_kinds_.push_back(static_cast<KvOpKind>(k - std::begin(kKindNames)));
    cum += w / total;
    mix_cumulative_.push_back(cum);
  }
  mix_cumulative_.back() = 1.0;
  if (config_.keys.kind == KeySpec::Kind::kZipf) {
    zipf_ = Distribution::zipf(config_.keys.n, config_.keys.s);
  }
  if (targets_.empty()) return;
  sticky_ = targets_[ctx.rng().below(static_cast<uint32_t>(targets_.size()))];
  if (config_.stop) {
    ctx.set_timer(*config_.stop, tag(kStop, 0));
    if (config_.read_back)
      ctx.set_timer(*config_.stop + config_.read_back_delay, tag(kReadBack, 0));
  }
  if (config_.load == Load::kClosed) {
    for (int64_t u = 0; u < config_.users; ++u)
      ctx.set_timer(config_.start, tag(kThink, static_cast<uint64_t>(u)));
    return;
  }
  arrival_timer_ = ctx.set_timer(config_.start, tag(kArrival, 0));
}

void KvClient::schedule_arrival(Context& ctx) {
  Duration gap;
  if (config_.arrival == Arrival::kFixed) {
    gap = Duration::from_ns(std::llround(1e9 / config_.rate));
  } else {
    gap =
        Duration::from_ns(std::llround(-std::log(ctx.rng().uniform_open01()) * 1e9 / config_.rate));
  }
  arrival_timer_ = ctx.set_timer(gap, tag(kArrival, 0));
}

uint64_t KvClient::pick_key(Context& ctx) {
  const KeySpec& k = config_.keys;
  uint64_t i = 0;
  switch (k.kind) {
    case KeySpec::Kind::kUniform:
      i = ctx.rng().below64(k.n);
      break;
    case KeySpec::Kind::kZipf:
      i = zipf_.sample_count(ctx.rng()) - 1;  // rank 1 is key 0, the hottest
      break;
    case KeySpec::Kind::kHotspot: {
      const auto hot = std::clamp<uint64_t>(
          static_cast<uint64_t>(std::llround(k.hot_keys * static_cast<double>(k.n))), 1, k.n);
      if (hot == k.n || ctx.rng().bernoulli(k.hot_traffic)) {
        i = ctx.rng().below64(hot);
      } else {
        i = hot + ctx.rng().below64(k.n - hot);
      }
      break;
    }
    case KeySpec::Kind::kSequential:
      i = next_sequential_++ % k.n;
      break;
  }
  return config_.first_key + i;
}

NodeId KvClient::pick_target(Context& ctx, const Op& op, bool retry) {
  const auto n = static_cast<uint32_t>(targets_.size());
  switch (config_.target_policy) {
    case Target::kRandom:
      return targets_[ctx.rng().below(n)];
    case Target::kRoundRobin:
      return targets_[next_target_++ % n];
    case Target::kFixed:
      return targets_[static_cast<uint64_t>(config_.target_node) % n];
    case Target::kSticky:
      if (retry) {
        // The node that failed us is not the one to try again: move on to the next.
        const auto it = std::find(targets_.begin(), targets_.end(), op.target);
        const size_t at = it == targets_.end() ? 0 : static_cast<size_t>(it - targets_.begin());
        sticky_ = targets_[(at + 1) % n];
      }
      return sticky_;
    case Target::kKeyOwner: {
      auto it = owners_.find(op.req.key);
      if (retry && it != owners_.end()) {
        owners_.erase(it);  // it failed us: forget it
        it = owners_.end();
      }
      return it != owners_.end() ? it->second : targets_[ctx.rng().below(n)];
    }
  }
  return targets_[0];
}

void KvClient::start_op(Context& ctx, uint64_t user, bool final_read, uint64_t final_key) {
  if (targets_.empty()) return;
  const uint64_t id = next_op_++;
  Op& op = ops_[id];
  op.user = user;
  op.final_read = final_read;
  KvOpKind kind = KvOpKind::kGet;
  if (!final_read && mix_kinds_.size() > 1) {
    const double u = ctx.rng().uniform01();
    size_t i = 0;
    while (i + 1 < mix_cumulative_.size() && u >= mix_cumulative_[i])
      ++i;
    kind = mix_kinds_[i];
  } else if (!final_read) {
    kind = mix_kinds_[0];
  }
  const uint32_t session =
      config_.load == Load::kClosed
          ? static_cast<uint32_t>(user)
          : static_cast<uint32_t>(next_session_++ % static_cast<uint64_t>(config_.sessions));
  KvRequest& req = op.req;
  req.op = kind;
  req.key = final_read ? final_key : pick_key(ctx);
  req.session = (static_cast<uint64_t>(ctx.self()) << 32) | session;
  req.idempotency_key = (static_cast<uint64_t>(ctx.self()) << 40) | next_idempotency_++;
  if (kind != KvOpKind::kGet && next_write_ >= kValueStride) {
    // Values are client node * 10^9 + write number: past 10^9 writes from one node they
    // would collide, so the rest of the run only reads.
    ctx.record().count(m_values_exhausted_);
    kind = req.op = KvOpKind::kGet;
  }
  if (kind != KvOpKind::kGet) {
    req.value =
        static_cast<int64_t>(ctx.self()) * kValueStride + static_cast<int64_t>(next_write_++);
    req.value_bytes = static_cast<uint32_t>(config_.value_size.sample_count(ctx.rng()));
    written_keys_.insert(req.key);
  }
  if (kind == KvOpKind::kCas) {
    auto it = known_.find({session, req.key});
    req.expected_absent = it == known_.end() || it->second.absent;
    req.expected = it == known_.end() ? 0 : it->second.value;
  }
  op.max_tries = static_cast<uint32_t>(final_read                      ? config_.read_back_attempts
                                       : config_.retry == Retry::kNone ? 1
                                                                       : config_.max_attempts);
  op.token =
      ctx.record().begin_op(final_read ? m_read_back_ : op_symbols_[static_cast<size_t>(kind)]);
  KvInvocation what;
  what.kind = kind;
  what.key = req.key;
  what.value = req.value;
  what.expected = req.expected;
  what.expected_absent = req.expected_absent;
  what.final_read = final_read;
  what.session = session;
  what.idempotency_key = req.idempotency_key;
  record_invoke(ctx.record(), op.token, what);
  op.target = pick_target(ctx, op, false);
  ++op.tries;
  send_attempt(ctx, id);
}

void KvClient::send_attempt(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  op.req.call.id = kit::make_call_id(ctx.self(), next_request_++);
  op.req.call.reply_to = ctx.self();
  if (!config_.idempotency_keys && op.requests > 0) {
    op.req.idempotency_key = (static_cast<uint64_t>(ctx.self()) << 40) | next_idempotency_++;
  }
  ++op.requests;
  // The session's newest token (a retry carries what the session learned meanwhile).
  const auto tok = session_tokens_.find(static_cast<uint32_t>(op.req.session & 0xffffffffULL));
  op.req.session_token = tok == session_tokens_.end() ? 0 : tok->second;
  request_op_[op.req.call.id] = op_id;
  op.timer = ctx.set_timer(config_.timeout, tag(kTimeout, next_request_ - 1));
  if (op.req.op != KvOpKind::kGet) {
    const auto session = static_cast<uint32_t>(op.req.session & 0xffffffffULL);
    if (auto it = contexts_.find({session, op.req.key}); it != contexts_.end()) {
      ctx.send(op.target, KvContextRequest{op.req, it->second});
      return;
    }
  }
  ctx.send(op.target, op.req);
}

void KvClient::attempt_failed(Context& ctx, uint64_t op_id, bool maybe_applied) {
  Op& op = ops_.at(op_id);
  op.unknown = op.unknown || maybe_applied;
  if (op.tries >= op.max_tries) {
    finish(ctx, op_id, op.unknown ? HistoryOutcome::kUnknown : HistoryOutcome::kFail,
           op.unknown ? Outcome::kTimeout : Outcome::kRejected);
    return;
  }
  Config fixed = config_;
  if (config_.retry == Retry::kNone) fixed.retry = Retry::kFixed;  // final reads retry anyway
  const Duration delay = retry_delay(fixed, op.tries, ctx.rng());
  ctx.record().count(m_retries_);
  op.timer = ctx.set_timer(delay, tag(kBackoff, op_id));
}

void KvClient::learn(const Op& op, const KvValue* read, bool cas_mismatch) {
  const auto key =
      std::make_pair(static_cast<uint32_t>(op.req.session & 0xffffffffULL), op.req.key);
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

void KvClient::finish(Context& ctx, uint64_t op_id, HistoryOutcome outcome, Outcome metric,
                      const KvValue* read) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  const Op op = it->second;
  ops_.erase(it);
  const std::span<const int64_t> value = read ? read->elements() : std::span<const int64_t>();
  record_result(ctx.record(), op.token, outcome, value, op.requests);
  ctx.record().end_op(op.token, metric);
  if (op.final_read) {
    next_read_back(ctx);
    return;
  }
  if (config_.load == Load::kClosed && !stopped_) {
    ctx.set_timer(config_.think_time.sample_duration(ctx.rng()), tag(kThink, op.user));
  }
}

void KvClient::on_message(Context& ctx, const Envelope& env) {
  const auto* resp = env.msg.get<KvResponse>();
  if (!resp) return;
  auto rit = request_op_.find(resp->call);
  if (rit == request_op_.end()) {
    ctx.record().count(m_late_);  // answered after its attempt timed out
    return;
  }
  const uint64_t op_id = rit->second;
  request_op_.erase(rit);
  Op& op = ops_.at(op_id);
  ctx.cancel_timer(op.timer);
  if (resp->session_token != 0) {
    uint64_t& t = session_tokens_[static_cast<uint32_t>(op.req.session & 0xffffffffULL)];
    t = std::max(t, resp->session_token);
  }
  switch (resp->status) {
    case KvStatus::kOk: {
      if (config_.target_policy == Target::kSticky) sticky_ = env.from;
      if (config_.target_policy == Target::kKeyOwner) owners_[op.req.key] = env.from;
      if (resp->causal && config_.causal_context) {
        contexts_[{static_cast<uint32_t>(op.req.session & 0xffffffffULL), op.req.key}] =
            resp->causal->context;
      }
      if (op.req.op != KvOpKind::kGet) {
        learn(op, &resp->value, false);
        finish(ctx, op_id, HistoryOutcome::kOk, Outcome::kOk);
        return;
      }
      const KvValue read = merged_read(ctx, *resp);
      learn(op, &read, false);
      finish(ctx, op_id, HistoryOutcome::kOk, Outcome::kOk, &read);
      return;
    }
    case KvStatus::kCasMismatch:
      if (config_.target_policy == Target::kSticky) sticky_ = env.from;
      ctx.record().count(m_cas_failed_);
      learn(op, nullptr, true);
      // A definite answer, but if an earlier attempt may have been applied, this
      // mismatch may be its doing: the operation's fate is then unknown.
      finish(ctx, op_id, op.unknown ? HistoryOutcome::kUnknown : HistoryOutcome::kFail,
             Outcome::kOk);
      return;
    case KvStatus::kNotLeader:
      if (resp->hint != kNoNode && op.redirects < static_cast<uint32_t>(config_.max_redirects)) {
        ++op.redirects;
        ctx.record().count(m_redirects_);
        op.target = resp->hint;
        if (config_.target_policy == Target::kSticky) sticky_ = resp->hint;
        if (config_.target_policy == Target::kKeyOwner) owners_[op.req.key] = resp->hint;
        send_attempt(ctx, op_id);
        return;
      }
      attempt_failed(ctx, op_id, false);
      return;
    case KvStatus::kUnavailable:
      attempt_failed(ctx, op_id, false);
      return;
    case KvStatus::kIndeterminate:
      attempt_failed(ctx, op_id, true);
      return;
  }
}

void KvClient::next_read_back(Context& ctx) {
  if (read_back_next_ < read_back_keys_.size()) {
    start_op(ctx, 0, true, read_back_keys_[read_back_next_++]);
  }
}

void KvClient::on_timer(Context& ctx, TimerId /*id*/, TimerTag t) {
  const auto kind = static_cast<TagKind>(t >> kTagShift);
  const uint64_t value = t & kTagValueMask;
  switch (kind) {
    case kArrival:
      if (stopped_) return;
      start_op(ctx, 0, false);
      schedule_arrival(ctx);
      return;
    case kTimeout: {
      auto rit = request_op_.find(kit::make_call_id(ctx.self(), value));
      if (rit == request_op_.end()) return;
      const uint64_t op_id = rit->second;
      request_op_.erase(rit);
      ctx.record().count(m_timeouts_);
      attempt_failed(ctx, op_id, true);
      return;
    }
    case kThink:
      if (!stopped_) start_op(ctx, value, false);
      return;
    case kBackoff: {
      auto it = ops_.find(value);
      if (it == ops_.end()) return;
      Op& op = it->second;
      op.redirects = 0;
      ++op.tries;
      op.target = pick_target(ctx, op, true);
      send_attempt(ctx, value);
      return;
    }
    case kStop:
      stopped_ = true;
      ctx.cancel_timer(arrival_timer_);
      return;
    case kReadBack:
      read_back_keys_.assign(written_keys_.begin(), written_keys_.end());
      for (int64_t i = 0; i < config_.read_back_concurrency; ++i)
        next_read_back(ctx);
      return;
  }
}

}  // namespace dsim::kv
