#include "models/service/plan.h"

#include <algorithm>

#include "sim/core/units.h"

namespace dsim::service {

namespace {

constexpr std::string_view kPlainModels[] = {"server", "service", "load_balancer"};

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
  if (c.fanout != 1 && c.hedged())
    r.error("hedge_after", "hedges a call to one node (fanout: 1), not a fan-out");
}

void read_call(ParamReader& r, Call& c) {
  c.to = r.group("to", "the group called");
  const std::string_view model = r.env().model_of(c.to);
  if (!model.empty() && !speaks_plain_requests(model)) {
    r.error("to", "group '" + c.to + "' runs " + std::string(model) +
                      ", which does not answer plain requests (a service can call server, "
                      "service and load_balancer groups)");
  }
  c.p = r.probability("p", c.p, "probability the call is made (a cache miss ratio, ...)");
  c.fanout = static_cast<uint32_t>(
      r.integer("fanout", c.fanout,
                "distinct nodes of the group called at once (0: every node; more than the "
                "group holds is capped)",
                0, kMaxFanout));
  c.wait = static_cast<uint32_t>(
      r.integer("wait", c.wait, "answers the call needs (0: every node called)", 0, kMaxFanout));
  if (c.fanout > 0 && c.wait > c.fanout)
    r.error("wait", "cannot exceed fanout (" + std::to_string(c.fanout) + ")");
  c.on_error = r.choice(
      "on_error", c.on_error,
      {{"fail", OnError::kFail}, {"ignore", OnError::kIgnore}, {"fallback", OnError::kFallback}},
      "when the call fails: fail the request (answered as refused), ignore "
      "it and go on, or answer at once with a fallback");
  c.op = r.text("op", c.op, "the operation sent (default: the request's own)");
  c.request_bytes = r.size("request_size", c.request_bytes, "size of each request on the wire");
  kit::read_call_policy(r, c.policy);
  kit::read_circuit_breaker(r, c.breaker);
  read_hedge(r, c);
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

Step read_step(ParamReader& r, const ParamNode& node, const std::string& path, size_t& edges) {
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
      c.finish();
      call.edge = edges++;
      step.calls.push_back(std::move(call));
    }
    if (parallel->items.empty()) s.error("parallel", "must name at least one call");
  } else {
    Call call;
    read_call(s, call);
    call.edge = edges++;
    step.calls.push_back(std::move(call));
  }
  step.ops = read_ops(s);
  s.finish();
  return step;
}

}  // namespace

bool speaks_plain_requests(std::string_view model) {
  return std::find(std::begin(kPlainModels), std::end(kPlainModels), model) !=
         std::end(kPlainModels);
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
  for (size_t i = 0; i < list->items.size(); ++i) {
    const std::string path = r.path() + ".calls[" + std::to_string(i) + "]";
    plan.steps.push_back(read_step(r, list->items[i], path, edges));
  }
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

std::vector<std::string> CallPlan::callees() const {
  std::vector<std::string> out;
  for (const Call* c : edges()) {
    if (std::find(out.begin(), out.end(), c->to) == out.end()) out.push_back(c->to);
  }
  return out;
}

}  // namespace dsim::service
