#include "models/queueing/client.h"

#include <cmath>

namespace dsim::queueing {

namespace {
constexpr uint64_t kValueMask = (uint64_t{1} << 62) - 1;
}

Client::Config Client::parse(ParamReader& r) {
  Config c;
  c.target = r.group("target", "the group of server nodes requests go to");
  const std::string load = r.choice("load", "open", {"open", "closed"},
                                    "open: requests arrive at a rate; closed: users wait for "
                                    "each answer, then think");
  c.load = load == "closed" ? Load::kClosed : Load::kOpen;
  const std::string arrival = r.choice("arrival", "poisson", {"poisson", "fixed", "bursty"},
                                       "open loop: Poisson arrivals, evenly spaced ones, or "
                                       "Poisson switching between rate and burst_rate");
  c.arrival = arrival == "fixed"    ? Arrival::kFixed
              : arrival == "bursty" ? Arrival::kBursty
                                    : Arrival::kPoisson;
  c.rate = r.rate("rate", c.rate, "open loop: requests per second sent by each client node");
  c.burst_rate = r.rate("burst_rate", c.burst_rate, "bursty: the rate during a burst");
  c.burst_length = r.distribution("burst_length", c.burst_length, "bursty: how long a burst lasts");
  c.calm_length = r.distribution("calm_length", c.calm_length, "bursty: time between bursts");
  c.users =
      r.integer("users", c.users, "closed loop: concurrent users per client node", 1, 10'000'000);
  c.think_time = r.distribution("think_time", c.think_time,
                                "closed loop: pause between an answer and the next request");
  c.ops =
      r.weights("ops", c.ops, "operation types and their weights, e.g. {read: 0.8, write: 0.2}");
  c.timeout = r.duration("timeout", c.timeout, "a request not answered within this times out");
  c.start = r.duration("start", c.start, "when this client sends its first request");
  const std::string balance = r.choice("balance", "random", {"random", "round_robin"},
                                       "how a request picks its server in the target group");
  c.balance = balance == "round_robin" ? Balance::kRoundRobin : Balance::kRandom;
  c.request_bytes = r.size("request_size", c.request_bytes, "size of a request on the wire");
  if (c.timeout <= Duration::zero()) r.error("timeout", "must be > 0");
  if (c.load == Load::kOpen && c.rate <= 0 &&
      !(c.arrival == Arrival::kBursty && c.burst_rate > 0)) {
    r.error("rate", "an open-loop client needs a rate > 0");
  }
  return c;
}

void Client::on_start(Context& ctx) {
  auto nodes = ctx.group_nodes(config_.target);
  targets_.assign(nodes.begin(), nodes.end());
  double total = 0;
  for (const auto& [name, w] : config_.ops)
    total += w;
  double cum = 0;
  for (const auto& [name, w] : config_.ops) {
    op_symbols_.push_back(ctx.intern(name));
    cum += w / total;
    op_cumulative_.push_back(cum);
  }
  op_cumulative_.back() = 1.0;
  m_late_ = ctx.intern("late_responses");
  if (targets_.empty()) return;
  if (config_.load == Load::kClosed) {
    for (int64_t u = 0; u < config_.users; ++u) {
      ctx.set_timer(config_.start, tag(kThink, static_cast<uint64_t>(u)));
    }
    return;
  }
  if (config_.arrival == Arrival::kBursty) {
    ctx.set_timer(config_.start + config_.calm_length.sample_duration(ctx.rng()), tag(kPhase, 0));
  }
  schedule_arrival(ctx, config_.start);
}

// The next arrival comes one inter-arrival gap after `not_before` from now.
void Client::schedule_arrival(Context& ctx, Duration not_before) {
  const double rate = current_rate();
  if (rate <= 0) return;  // calm phase with no traffic: the next phase change restarts
  Duration gap;
  if (config_.arrival == Arrival::kFixed) {
    gap = Duration::from_ns(std::llround(1e9 / rate));
  } else {
    gap = Duration::from_ns(std::llround(-std::log(ctx.rng().uniform_open01()) * 1e9 / rate));
  }
  arrival_timer_ = ctx.set_timer(not_before + gap, tag(kArrival, 0));
}

void Client::issue(Context& ctx, uint64_t user) {
  size_t op = 0;
  if (op_symbols_.size() > 1) {
    const double u = ctx.rng().uniform01();
    while (op + 1 < op_cumulative_.size() && u >= op_cumulative_[op])
      ++op;
  }
  NodeId target;
  if (config_.balance == Balance::kRoundRobin) {
    target = targets_[next_target_++ % targets_.size()];
  } else {
    target = targets_[ctx.rng().below(static_cast<uint32_t>(targets_.size()))];
  }
  const uint64_t id = next_id_++;
  Pending p;
  p.token = ctx.record().begin_op(op_symbols_[op]);
  p.timeout = ctx.set_timer(config_.timeout, tag(kTimeout, id));
  p.user = user;
  pending_.emplace(id, p);
  ctx.send(target, Request{id, op_symbols_[op], static_cast<uint32_t>(config_.request_bytes)});
}

void Client::finish(Context& ctx, uint64_t id, Outcome outcome) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    ctx.record().count(m_late_);  // answered after its timeout
    return;
  }
  const Pending p = it->second;
  pending_.erase(it);
  if (outcome != Outcome::kTimeout) ctx.cancel_timer(p.timeout);
  ctx.record().end_op(p.token, outcome);
  if (config_.load == Load::kClosed) {
    ctx.set_timer(config_.think_time.sample_duration(ctx.rng()), tag(kThink, p.user));
  }
}

void Client::on_message(Context& ctx, const Envelope& env) {
  if (const auto* resp = env.msg.get<Response>()) {
    finish(ctx, resp->id, resp->accepted ? Outcome::kOk : Outcome::kRejected);
  }
}

void Client::on_timer(Context& ctx, TimerId /*id*/, TimerTag t) {
  const auto kind = static_cast<TagKind>(t >> 62);
  const uint64_t value = t & kValueMask;
  switch (kind) {
    case kArrival:
      issue(ctx, 0);
      schedule_arrival(ctx, Duration::zero());
      break;
    case kTimeout:
      finish(ctx, value, Outcome::kTimeout);
      break;
    case kThink:
      issue(ctx, value);
      break;
    case kPhase: {
      in_burst_ = !in_burst_;
      const Distribution& len = in_burst_ ? config_.burst_length : config_.calm_length;
      ctx.set_timer(len.sample_duration(ctx.rng()), tag(kPhase, 0));
      // Memorylessness: redraw the next arrival at the new rate from now.
      ctx.cancel_timer(arrival_timer_);
      schedule_arrival(ctx, Duration::zero());
      break;
    }
  }
}

}  // namespace dsim::queueing
