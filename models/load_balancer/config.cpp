// The load balancer's parameters and the figures it declares.
#include <string>

#include "models/kit/rpc_client.h"
#include "models/load_balancer/load_balancer.h"

namespace dsim::lb {

namespace {

void read_health_check(ParamReader& r, LoadBalancer::Config& c) {
  ParamReader m = r.map("health_check",
                        "active health checks: a probe (a request of operation 'health_check') "
                        "to every backend each interval (absent: none)");
  HealthCheckSpec h;
  h.interval = m.duration("interval", h.interval, "a probe to every backend this often");
  h.timeout = m.duration("timeout", h.timeout, "a probe not answered within this failed");
  h.healthy_threshold = m.integer("healthy_threshold", h.healthy_threshold,
                                  "consecutive successful probes that make a backend healthy", 1);
  h.unhealthy_threshold = m.integer("unhealthy_threshold", h.unhealthy_threshold,
                                    "consecutive failed probes that make a backend unhealthy", 1);
  h.bytes = m.size("size", h.bytes, "size of a probe on the wire");
  m.finish();
  if (h.interval <= Duration::zero()) m.error("interval", "must be > 0");
  if (h.timeout <= Duration::zero()) m.error("timeout", "must be > 0");
  if (r.has("health_check")) c.health_check = h;
  r.adopt_if_given("health_check", m);
}

void read_outlier(ParamReader& r, LoadBalancer::Config& c) {
  ParamReader m = r.map("outlier",
                        "passive health checks, as Envoy's outlier detection: a backend whose "
                        "attempts fail (refused or timed out) consecutive_errors times in a row "
                        "is ejected (absent: none)");
  OutlierSpec o;
  o.consecutive_errors = m.integer("consecutive_errors", o.consecutive_errors,
                                   "failed attempts in a row that eject a backend", 1);
  o.base_ejection_time =
      m.duration("base_ejection_time", o.base_ejection_time,
                 "an ejection lasts this times the number of times the backend was ejected");
  o.max_ejection_percent =
      m.number("max_ejection_percent", o.max_ejection_percent,
               "at most this share of the backends (in percent) is ejected at once", 0, 100);
  o.slow_response = m.optional_duration(
      "slow_response",
      "an answer slower than this counts as a failed attempt, so a slow backend is ejected "
      "(default: only refusals and timeouts count)");
  m.finish();
  if (o.base_ejection_time <= Duration::zero()) m.error("base_ejection_time", "must be > 0");
  if (o.slow_response && *o.slow_response <= Duration::zero())
    m.error("slow_response", "must be > 0");
  if (r.has("outlier")) c.outlier = o;
  r.adopt_if_given("outlier", m);
}

void read_slow_start(ParamReader& r, LoadBalancer::Config& c) {
  ParamReader m = r.map("slow_start",
                        "a backend back in service (healthy again, or its ejection over) has "
                        "its weight ramped up over a window; needs balance: "
                        "weighted_round_robin (absent: none)");
  SlowStartSpec s;
  s.window = m.duration("window", s.window, "the weight grows linearly to 1 over this");
  s.min_weight = m.number("min_weight", s.min_weight,
                          "the weight when it comes back (a fraction of 1)", 0.01, 1);
  m.finish();
  if (s.window <= Duration::zero()) m.error("window", "must be > 0");
  if (r.has("slow_start")) {
    c.slow_start = s;
    if (!c.health_check && !c.outlier && c.deregister.empty()) {
      r.error("slow_start",
              "needs health_check, outlier or deregister (only they bring a backend back)");
    }
    if (c.calls.balancer.kind != kit::BalancerKind::kWeightedRoundRobin) {
      r.error("slow_start",
              "needs balance: weighted_round_robin (the one policy that reads weights at "
              "each pick)");
    }
  }
  r.adopt_if_given("slow_start", m);
}

void read_vip(ParamReader& r, LoadBalancer::Config& c) {
  ParamReader m = r.map("vip",
                        "an active/standby group sharing a virtual address, as VRRP: callers "
                        "send to the address, which the master holds (absent: none)");
  VipSpec v;
  v.advert_interval = m.duration("advert_interval", v.advert_interval,
                                 "the master advertises (a heartbeat) this often");
  v.down_after = m.integer("down_after", v.down_after,
                           "advertisements missed before a backup takes over (VRRP: 3)", 1, 1000);
  v.preempt = m.boolean("preempt", v.preempt,
                        "a node of higher priority (lower index) that comes back takes the "
                        "address back");
  v.bytes = m.size("size", v.bytes, "size of an advertisement on the wire");
  m.finish();
  if (v.advert_interval <= Duration::zero()) m.error("advert_interval", "must be > 0");
  if (r.has("vip")) c.vip = v;
  r.adopt_if_given("vip", m);
}

// Entry `d` against the earlier ones: one backend's deregistrations may not overlap.
void check_overlap(ParamReader& item, const std::vector<Deregistration>& earlier,
                   const Deregistration& d) {
  for (size_t j = 0; j < earlier.size(); ++j) {
    const Deregistration& e = earlier[j];
    if (e.backend != d.backend) continue;
    const bool before = e.until && *e.until <= d.at;
    const bool after = d.until && *d.until <= e.at;
    if (before || after) continue;
    const std::string by = "deregister[" + std::to_string(j) + "]";
    item.error("at", "backend " + std::to_string(d.backend) + " is already deregistered then (by " +
                         by + "); one backend's periods may not overlap");
    return;
  }
}

Deregistration read_deregistration(ParamReader& item, const std::string& backends, uint32_t count) {
  Deregistration d;
  if (!item.has("backend") && !item.doc_mode())
    item.error("backend", "missing required key 'backend'");
  const int64_t backend =
      item.integer("backend", 0, "the backend's index in the backends group (0, 1, ...)", 0);
  d.backend = static_cast<size_t>(backend);
  d.at = item.duration("at", d.at, "from then on it gets no new requests, and its calls drain");
  d.until = item.optional_duration("until", "registered again then (default: never)");
  item.finish();
  if (count > 0 && backend >= static_cast<int64_t>(count)) {
    item.error("backend", "is " + std::to_string(backend) + ", but group '" + backends + "' has " +
                              std::to_string(count) + (count == 1 ? " node" : " nodes") +
                              " (indexes 0 to " + std::to_string(count - 1) + ")");
  }
  if (d.until && *d.until <= d.at) {
    item.error("until", "must be later than at (" + format_duration(d.at) + ")");
  }
  return d;
}

void read_deregister(ParamReader& r, LoadBalancer::Config& c) {
  const ParamNode* list = r.raw(
      "deregister", "list of {backend, at, until}",
      "backends taken out of service on a schedule from the node's start (a rolling deploy, a "
      "scale-in): [{backend: 0, at: 20s, until: 35s}] takes backend 0 (its index in the backends "
      "group) out at 20 s, its calls in flight draining, and registers it again at 35 s (no "
      "until: never)",
      "none");
  if (!list) return;
  if (list->kind != ParamNode::Kind::kList) {
    r.error("deregister",
            "expected a list of {backend: <index>, at: <duration>, until: <duration>}");
    return;
  }
  const uint32_t count = r.env().size_of(c.backends);
  for (size_t i = 0; i < list->items.size(); ++i) {
    ParamReader item(&list->items[i], &r.env(), r.path() + ".deregister[" + std::to_string(i) + "]",
                     list->items[i].loc);
    const Deregistration d = read_deregistration(item, c.backends, count);
    check_overlap(item, c.deregister, d);
    c.deregister.push_back(d);
  }
}

}  // namespace

LoadBalancer::Config LoadBalancer::parse(ParamReader& r) {
  Config c;
  c.backends = r.group("backends", "the group requests are relayed to");
  c.mode =
      r.choice("mode", c.mode, {{"proxy", Mode::kProxy}, {"direct_return", Mode::kDirectReturn}},
               "proxy: the balancer calls a backend and answers the caller; direct_return: "
               "the request is handed on and the backend answers the caller (no retries, "
               "limits or outlier detection)");
  kit::read_call_policy(r, c.calls);
  c.max_requests_per_backend =
      r.integer("max_requests_per_backend", c.max_requests_per_backend,
                "calls in flight to one backend past which it is passed over; with every "
                "backend full a request is refused (0: no limit)",
                0);
  read_health_check(r, c);
  read_outlier(r, c);
  read_deregister(r, c);
  // In direct_return the balancer sees no answers, so there is nothing to drain: the key
  // is refused there rather than read, and the resolved scenario leaves it out.
  const bool direct_return = c.mode == Mode::kDirectReturn && !r.doc_mode();
  if (!direct_return) {
    c.draining = r.duration("draining", c.draining,
                            "how long the calls in flight to a deregistered backend may still "
                            "complete (AWS's deregistration delay); those still in flight then "
                            "are cut, answered as refused (0: at once; proxy mode)");
  }
  read_slow_start(r, c);
  read_vip(r, c);
  ratelimit::read_gate(r, c.rate_limit);
  c.response_bytes =
      r.size("response_size", c.response_bytes, "size of the refusals the balancer makes itself");
  if (c.mode == Mode::kDirectReturn) {
    const char* why = "needs mode: proxy (in direct_return the balancer sees no answers)";
    if (c.max_requests_per_backend > 0) r.error("max_requests_per_backend", why);
    if (c.outlier) r.error("outlier", why);
    if (c.calls.retry.attempts() > 1) r.error("max_attempts", why);
    if (r.has("draining")) r.error("draining", why);
  }
  return c;
}

void LoadBalancer::declare(const Config& c, MetricDecls& d) {
  for (const char* n : {"proxied", "forwarded", "relay_failed", "refused_no_backend",
                        "health_checks_sent", "health_check_failures", "marked_unhealthy",
                        "marked_healthy", "ejections", "ejections_denied", "ejections_ended"})
    d.counter(n);
  d.figure("backend_requests_max_over_mean");
  d.figure("backend_requests_cv");
  for (const char* f :
       {"time_to_detect_ms_mean", "time_to_detect_ms_max", "crashes_undetected",
        "time_to_detect_slow_ms_mean", "time_to_detect_slow_ms_max", "slowdowns_undetected"})
    d.figure(f);
  if (c.mode == Mode::kProxy) kit::RpcClient::declare(d);
  ratelimit::Gate::declare(c.rate_limit, d);
  if (c.vip) {
    for (const char* n : {"vrrp_adverts_sent", "vip_takeovers", "vip_released"})
      d.counter(n);
    for (const char* f : {"vip_failover_ms_mean", "vip_failover_ms_max", "vip_failovers"})
      d.figure(f);
  }
  if (c.deregister.empty()) return;
  for (const char* n : {"deregistrations", "registrations", "drained", "cut"})
    d.counter(n);
  d.timing("drain_time");
}

}  // namespace dsim::lb
