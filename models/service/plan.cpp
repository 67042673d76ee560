#include "models/service/plan.h"

#include <algorithm>
#include <map>

#include "sim/core/units.h"

namespace dsim::service {

namespace {

constexpr std::string_view kPlainModels[] = {"server", "service", "load_balancer"};
constexpr std::string_view kKvModels[] = {"kv_store", "quorum", "raft", "primary_backup", "cache"};

// `hedge_after`: a duration, or a percentile of the edge's recent latencies ("p95").
void read_hedge(ParamReader& r, Call& c) {
  const std::string text =
      r.text("hedge_after", "none",
             "send the call again to another node when not answered after this long: a "
             "duration, or a percentile of the edge's recent latencies such as p95 (default: "
             "no hedging)");
  c.hedges = static_cast<uint32_t>(
      r.integer("hedges", c.hedges, "hedged copies a call may send at most", 1, 16));
  if (text == "none" || r.doc_mode()) return;
  std::string err;
  if (text.size() > 1 && text[0] == 'p') {
    const auto pct = parse_number(text.substr(1), &err);
    if (pct && *pct > 0 && *pct < 100) {
      c.hedge_percentile = *pct / 100;
    } else {
      r.error("hedge_after", "expected a duration or a percentile p1 .. p99.9, got '" + text + "'");
    }
  } else if (auto d = parse_duration(text, &err); d && *d > Duration::zero()) {
    c.hedge_after = *d;
  } else {
    r.error("hedge_after",
            "expected a duration > 0 or a percentile such as p95, got '" + text + "'");
  }
  if (c.fanout != 1 && c.replicas == 1 && c.hedged()) {
    r.error("hedge_after",
            "hedges a call to one node (fanout: 1), or a fan-out to shards of "
            "replicas (replicas: r), not a fan-out to single nodes");
  }
}

// `tied`, `tie_delay`: tied requests, to a group whose nodes queue requests.
void read_tie(ParamReader& r, Call& c) {
  c.tied = r.boolean("tied", c.tied,
                     "tied requests: send the call to two nodes, each naming the other; the "
                     "one begun first has the other dropped if it still waits");
  c.tie_delay = r.duration("tie_delay", c.tie_delay,
                           "tied: the second copy goes this long after the first (the paper's "
                           "advice: twice the mean network delay, so two idle nodes do not "
                           "both begin)");
  if (!c.tied || r.doc_mode()) return;
  if (c.fanout != 1 && c.replicas == 1) {
    r.error("tied",
            "ties a call to one node (fanout: 1), or each shard's call of a fan-out to "
            "shards of replicas (replicas: r), not a fan-out to single nodes");
  }
  if (c.hedged()) r.error("tied", "a call is hedged or tied, not both");
  if (r.env().model_of(c.to) == "load_balancer") {
    r.error("tied",
            "needs the nodes called to hold requests in a queue: server or service "
            "groups, not a load_balancer");
  }
}

// The keys only a call of plain requests has.
void read_plain_call(ParamReader& r, Call& c) {
  c.fanout = static_cast<uint32_t>(
      r.integer("fanout", c.fanout,
                "distinct nodes of the group called at once (0: every node; more than the "
                "group holds is capped)",
                0, kMaxFanout));
  c.wait = static_cast<uint32_t>(
      r.integer("wait", c.wait, "answers the call needs (0: every node called)", 0, kMaxFanout));
  if (c.fanout > 0 && c.wait > c.fanout)
    r.error("wait", "cannot exceed fanout (" + std::to_string(c.fanout) + ")");
  c.replicas = static_cast<uint32_t>(
      r.integer("replicas", c.replicas,
                "the group's nodes are shards of this many replicas each: fanout and wait count "
                "shards, each shard is called at one replica, a hedge goes to another",
                1, 255));
  const uint32_t size = r.env().size_of(c.to);
  if (c.replicas > 1 && !r.doc_mode()) {
    if (r.env().model_of(c.to) == "load_balancer") {
      r.error("replicas", "shards are nodes of a server or service group, not a load_balancer");
    } else if (size != 0 && size % c.replicas != 0) {
      r.error("replicas", "group '" + c.to + "' has " + std::to_string(size) +
                              " nodes, not a whole number of shards of " +
                              std::to_string(c.replicas));
    }
  }
  c.op = r.text("op", c.op, "the operation sent (default: the request's own)");
  c.request_bytes = r.size("request_size", c.request_bytes, "size of each request on the wire");
}

// The keys only a call to a key-value store has; those of plain calls are refused with
// the reason.
void read_kv_call(ParamReader& r, Call& c) {
  for (const char* key : {"fanout", "wait", "replicas", "op", "request_size", "hedge_after",
                          "hedges", "tied", "tie_delay", "cancel"}) {
    if (!r.doc_mode() && r.has(key)) {
      r.raw(key, "", "");  // read: the error below says why it does not apply
      r.error(key, "does not apply to a call to the key-value store '" + c.to +
                       "' (one store node per call; the store replicates on its own)");
    }
  }
  enum class Op : uint8_t { kGet, kPut, kAppend, kFill, kDelete };
  const Op op = r.choice(
      "kv_op", Op::kGet,
      {{"get", Op::kGet},
       {"put", Op::kPut},
       {"append", Op::kAppend},
       {"fill", Op::kFill},
       {"delete", Op::kDelete}},
      "a call to a key-value store: get, put or append the end user's key (a put or append "
      "writes a value unique to the call; compare-and-set needs a value read before, which "
      "kv_client has and a tier does not); to a look-aside cache also fill (with what the "
      "request last read from or wrote to a store) or delete");
  constexpr kv::KvOpKind kinds[] = {kv::KvOpKind::kGet, kv::KvOpKind::kPut, kv::KvOpKind::kAppend};
  if (op == Op::kFill || op == Op::kDelete) {
    c.aside = op == Op::kFill ? Aside::kFill : Aside::kDelete;
    if (!c.to_cache && !r.doc_mode()) {
      r.error("kv_op",
              "fill and delete go to a look-aside cache (a cache group without an "
              "origin), and '" +
                  c.to + "' is not a cache group");
    }
  } else {
    c.kv_op = kinds[static_cast<size_t>(op)];
  }
  c.first_key = static_cast<uint64_t>(
      r.integer("first_key", 0,
                "a call to a key-value store: the store's key is first_key + the end user's "
                "key (keeps stores apart in the history)",
                0));
  c.value_size = r.distribution("value_size", c.value_size,
                                "a call to a key-value store: size of a written value",
                                Distribution::Dim::kBytes);
}

void read_call(ParamReader& r, Call& c) {
  c.to = r.group("to", "the group called");
  const std::string_view model = r.env().model_of(c.to);
  if (speaks_kv(model)) {
    c.contract = Contract::kKv;
    c.to_cache = model == "cache";
  } else if (!model.empty() && !speaks_plain_requests(model)) {
    r.error("to", "group '" + c.to + "' runs " + std::string(model) +
                      ", which answers neither plain requests nor the key-value contract (a "
                      "service can call server, service, load_balancer, kv_store, quorum, raft, "
                      "primary_backup and cache groups)");
  }
  c.p = r.probability("p", c.p, "probability the call is made (a cache miss ratio, ...)");
  if (c.contract == Contract::kPlain || r.doc_mode()) read_plain_call(r, c);
  if (c.contract == Contract::kKv || r.doc_mode()) read_kv_call(r, c);
  c.on_error = r.choice(
      "on_error", c.on_error,
      {{"fail", OnError::kFail}, {"ignore", OnError::kIgnore}, {"fallback", OnError::kFallback}},
      "when the call fails: fail the request (answered as refused), ignore "
      "it and go on, or answer at once with a fallback");
  kit::read_call_policy(r, c.policy);
  kit::read_circuit_breaker(r, c.breaker);
  kit::read_bulkhead(r, c.bulkhead);
  if (c.contract == Contract::kPlain) {
    read_hedge(r, c);
    read_tie(r, c);
  }
  if (c.contract == Contract::kKv) return;  // a store is not told of calls dropped
  c.cancel = r.boolean("cancel", c.cancel,
                       "calls no longer needed (hedges' losers, a fan-out's extras) are "
                       "cancelled at the node holding them, which drops them if they still "
                       "wait");
}

std::vector<std::string> read_ops(ParamReader& r) {
  std::vector<std::string> ops;
  const ParamNode* list = r.raw("ops", "list of operation names",
                                "the operations the step applies to (default: every one)", "all");
  if (!list) return ops;
  if (list->kind != ParamNode::Kind::kList) {
    r.error("ops", "expected a list of operation names, e.g. [write]");
    return ops;
  }
  for (const auto& item : list->items) {
    if (item.kind != ParamNode::Kind::kScalar || item.scalar.empty()) {
      r.error("ops", "expected a list of operation names, e.g. [write]");
      return {};
    }
    ops.push_back(item.scalar);
  }
  return ops;
}

// What the steps read so far do for cache-aside: `when: miss` needs a get from a cache
// before it (else it would always run), a fill a store read or written before it (else it
// would never have a value).
struct AsideSeen {
  bool cache_get = false;
  bool store_value = false;
  void check_fill(ParamReader& r, const Call& c) const {
    if (c.aside != Aside::kFill || store_value || r.doc_mode()) return;
    r.error("kv_op",
            "a fill puts what the request read from or wrote to a store, and no step "
            "before this one gets from or puts to a store");
  }
  void add(const Step& step) {
    for (const Call& c : step.calls) {
      if (c.contract != Contract::kKv || c.aside != Aside::kNone) continue;
      cache_get = cache_get || (c.to_cache && c.kv_op == kv::KvOpKind::kGet);
      store_value = store_value || (!c.to_cache && c.kv_op != kv::KvOpKind::kAppend);
    }
  }
};

Step read_step(ParamReader& r, const ParamNode& node, const std::string& path, size_t& edges,
               AsideSeen& seen) {
  Step step;
  ParamReader s(&node, &r.env(), path, node.loc);
  const ParamNode* parallel =
      s.has("parallel") ? s.raw("parallel", "list of calls", "calls made at once") : nullptr;
  if (parallel && parallel->kind != ParamNode::Kind::kList) {
    s.error("parallel", "expected a list of calls, e.g. [{to: a}, {to: b}]");
  } else if (parallel) {
    for (size_t i = 0; i < parallel->items.size(); ++i) {
      ParamReader c(&parallel->items[i], &r.env(), path + ".parallel[" + std::to_string(i) + "]",
                    parallel->items[i].loc);
      Call call;
      read_call(c, call);
      seen.check_fill(c, call);
      c.finish();
      call.edge = edges++;
      step.calls.push_back(std::move(call));
    }
    if (parallel->items.empty()) s.error("parallel", "must name at least one call");
  } else {
    Call call;
    read_call(s, call);
    seen.check_fill(s, call);
    call.edge = edges++;
    step.calls.push_back(std::move(call));
  }
  step.ops = read_ops(s);
  enum class When : uint8_t { kAlways, kMiss };
  step.when_miss =
      s.choice("when", When::kAlways, {{"always", When::kAlways}, {"miss", When::kMiss}},
               "always, or miss: only when the request's last get from a cache "
               "did not hit (cache-aside: the step that reads the database)") == When::kMiss;
  if (step.when_miss && !seen.cache_get) {
    s.error("when",
            "miss: runs the step when the request's get from a cache did not hit, and "
            "no step before this one gets from a cache");
  }
  seen.add(step);
  s.finish();
  return step;
}

// Calls to two stores with the same first_key would put both stores' keys in one register
// of the key-value history, and the checkers would judge them as one.
void check_store_keys(ParamReader& r, const CallPlan& plan) {
  std::map<uint64_t, std::string> store_of;  // first_key -> the store called with it
  for (const Call* c : plan.edges()) {
    // A cache holds copies of its origin's keys: it shares them by design.
    if (c->contract != Contract::kKv || c->to_cache) continue;
    const auto [it, added] = store_of.emplace(c->first_key, c->to);
    if (added || it->second == c->to) continue;
    r.error("calls", "the calls to stores '" + it->second + "' and '" + c->to +
                         "' use the same keys (first_key " + std::to_string(c->first_key) +
                         "): give one a first_key beyond the other's keys, so the history "
                         "keeps the two stores' keys apart");
    return;
  }
}

}  // namespace

bool speaks_plain_requests(std::string_view model) {
  return std::find(std::begin(kPlainModels), std::end(kPlainModels), model) !=
         std::end(kPlainModels);
}

bool speaks_kv(std::string_view model) {
  return std::find(std::begin(kKvModels), std::end(kKvModels), model) != std::end(kKvModels);
}

CallPlan read_call_plan(ParamReader& r) {
  CallPlan plan;
  const ParamNode* list =
      r.raw("calls", "list of steps",
            "what the service calls after its own work, step by step: {to: db, ...} is one "
            "call, {parallel: [{to: a}, {to: b}]} several at once (docs/models/service.md)",
            "none");
  if (!list || r.doc_mode()) return plan;
  if (list->kind != ParamNode::Kind::kList) {
    r.error("calls", "expected a list of steps, e.g. [{to: cache}, {to: db, p: 0.1}]");
    return plan;
  }
  size_t edges = 0;
  AsideSeen seen;
  for (size_t i = 0; i < list->items.size(); ++i) {
    const std::string path = r.path() + ".calls[" + std::to_string(i) + "]";
    plan.steps.push_back(read_step(r, list->items[i], path, edges, seen));
  }
  check_store_keys(r, plan);
  if (edges > kMaxEdges) {
    r.error("calls", "holds " + std::to_string(edges) + " calls, more than the " +
                         std::to_string(kMaxEdges) + " a service may make");
  }
  return plan;
}

std::vector<const Call*> CallPlan::edges() const {
  std::vector<const Call*> out;
  for (const auto& s : steps) {
    for (const auto& c : s.calls)
      out.push_back(&c);
  }
  return out;
}

std::vector<std::string> CallPlan::stores() const {
  std::vector<std::string> out;
  for (const Call* c : edges()) {
    if (c->contract == Contract::kKv && std::find(out.begin(), out.end(), c->to) == out.end())
      out.push_back(c->to);
  }
  return out;
}

std::vector<std::string> CallPlan::callees() const {
  std::vector<std::string> out;
  for (const Call* c : edges()) {
    if (std::find(out.begin(), out.end(), c->to) == out.end()) out.push_back(c->to);
  }
  return out;
}

}  // namespace dsim::service
