// `load_balancer`: an L4/L7 proxy group in front of a target group (`backends`), speaking
// the plain request contract (models/queueing/messages.h) on both sides, so that
// `client` -> `load_balancer` -> `server` works, and so does anything else that speaks it.
//
// Each node of the group, on a request:
//   - proxy (the default): picks a backend with a balancer policy of the kit and relays the
//     request as a child call through the kit's RpcClient (per-attempt timeout, retries,
//     retry budget, deadline; the end user's deadline budget, operation and key carry
//     over), then relays the backend's answer to the original caller with the original
//     call id; a relayed call that fails (every attempt) is answered as refused;
//   - direct_return (DSR): hands the request on unchanged (kit::forwarded), so the backend
//     answers the caller directly; the balancer sees no answers, so it cannot retry, limit
//     outstanding requests or observe latency.
// A backend is passed over while others remain when active health checks marked it
// unhealthy (health.cpp), when outlier detection ejected it (as Envoy's consecutive-error
// outlier detection), or when it already has `max_requests_per_backend` calls in flight;
// with every backend down, all are eligible again (Envoy's panic mode); with every
// eligible backend full, the request is refused.
//
// A backend can be deregistered on a schedule (`deregister`: a rolling deploy, a scale-in)
// and registered again: while deregistered it is no candidate for new requests, whatever
// the other backends' state (drain.cpp). In proxy mode the calls already relayed to it
// drain, as a target of AWS's load balancers in its deregistration delay or an Envoy host
// being drained: they may complete for up to `draining`, and those still in flight then
// are cut, answered to their callers as refused (a reset connection).
//
// At the end each node reports how many requests it sent to each backend (a timeline
// mark per backend); the analysis (analysis.cpp) sums them over the group and reports the
// imbalance: max/mean and the coefficient of variation of requests per backend. Each node
// also marks when it takes a backend out (marked unhealthy, or ejected), from which the
// analysis measures the time from a backend's crash to its detection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/kit/balancer.h"
#include "models/kit/rpc_client.h"
#include "models/queueing/messages.h"
#include "models/rate_limiter/gate.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::lb {

/// Active health checks (HAProxy's `check inter/rise/fall`, Envoy's health checker).
struct HealthCheckSpec {
  Duration interval = seconds(2);   ///< a probe to every backend this often (the first at start)
  Duration timeout = seconds(1);    ///< a probe not answered within this failed
  int64_t healthy_threshold = 2;    ///< consecutive successes that make a backend healthy
  int64_t unhealthy_threshold = 3;  ///< consecutive failures that make it unhealthy
  uint64_t bytes = 64;              ///< size of a probe on the wire
};

/// Slow start (Envoy's slow_start_config, HAProxy's `slowstart`): a backend back in
/// service (marked healthy, or its ejection over) has its weight ramped up linearly from
/// `min_weight` to 1 over `window`. Only weighted_round_robin reads weights at each pick.
struct SlowStartSpec {
  Duration window = seconds(30);
  double min_weight = 0.1;
};

/// Passive health checks: Envoy's outlier detection on consecutive errors.
struct OutlierSpec {
  int64_t consecutive_errors = 5;             ///< failed attempts in a row that eject a backend
  Duration base_ejection_time = seconds(30);  ///< x the times it was ejected
  double max_ejection_percent = 50;           ///< of the backends, ejected at once at most
  /// An answer slower than this counts as a failed attempt (none: only refusals and
  /// timeouts do), so that a slow backend is ejected before its calls time out.
  std::optional<Duration> slow_response;
};

/// An active/standby pair (or more) of balancers sharing a virtual IP, as VRRP (RFC 5798)
/// and keepalived run them (vrrp.cpp). Node i of the group has priority 255 - i; the
/// highest-priority node up is the master: it holds the group's virtual address, which its
/// callers send to, and advertises every `advert_interval`. A backup that hears no
/// advertisement from a node of higher priority for master_down = `down_after` x
/// advert_interval + skew (skew = (256 - priority) / 256 x advert_interval) takes the
/// address (a gratuitous ARP) and becomes master. With `preempt`, a node of higher priority
/// that comes back takes the address back.
struct VipSpec {
  Duration advert_interval = seconds(1);
  int64_t down_after = 3;
  bool preempt = true;
  uint64_t bytes = 40;  ///< an advertisement on the wire (IP header and VRRP packet)
};

/// A VRRP advertisement: the master's heartbeat to the other nodes of its group.
struct VrrpAdvert {
  static constexpr std::string_view kName = "vrrp_advert";
  uint32_t priority;
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const { return "vrrp advert, priority " + std::to_string(priority); }
};

/// One deregistration of a backend, on the balancer node's clock from its start (as the
/// workload's schedules): from `at` it gets no new requests; from `until` it is registered
/// again (none: it stays out).
struct Deregistration {
  size_t backend = 0;  ///< its index in the backends group
  Duration at;
  std::optional<Duration> until;
};

class LoadBalancer final : public Model, private kit::CallHost, private ratelimit::GateHost {
 public:
  static constexpr std::string_view kName = "load_balancer";
  static constexpr std::string_view kDescription =
      "a proxy in front of a backend group: balancer policy, retries and deadlines per "
      "relayed call, per-backend request limit, active health checks, outlier ejection; "
      "proxy or direct server return";

  enum class Mode : uint8_t { kProxy, kDirectReturn };

  struct Config {
    std::string backends;
    Mode mode = Mode::kProxy;
    kit::CallPolicy calls;  ///< the balancer-to-backend edge: timeout, retries, balance ...
    int64_t max_requests_per_backend = 0;  ///< calls in flight to one backend; 0: no limit
    std::optional<HealthCheckSpec> health_check;
    std::optional<OutlierSpec> outlier;
    std::optional<SlowStartSpec> slow_start;
    std::optional<VipSpec> vip;              ///< an active/standby group sharing a virtual address
    std::vector<Deregistration> deregister;  ///< in the order written
    /// How long the calls in flight to a deregistered backend may go on (AWS's
    /// deregistration delay, 300 s by default); 0: they are cut at once.
    Duration draining = seconds(300);
    uint64_t response_bytes = 512;  ///< the refusals it makes itself
    /// Checked as a request arrives, before it is relayed (models/rate_limiter/gate.h).
    ratelimit::GateSpec rate_limit;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) {
    if (c.rate_limit.store.empty()) return {c.backends};
    return {c.backends, c.rate_limit.store};
  }
  /// With `vip`, the group has a virtual address its master holds.
  static bool virtual_address(const Config& c) { return c.vip.has_value(); }
  /// The imbalance figures of each balancer group, from its nodes' end-of-run marks.
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: requests per backend, balance, detection (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit LoadBalancer(const Config& config)
      : config_(config),
        rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this),
        gate_(config.rate_limit, kit::TimerSpace(Timer::kRateLimit), *this, config.response_bytes) {
  }

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;

  /// What the node knows of one backend (exposed for tests).
  struct Backend {
    NodeId node = kNoNode;
    uint64_t sent = 0;  ///< requests sent to it, retries included (not probes)
    // active health checks
    bool checked_healthy = true;
    int64_t probe_successes = 0;  ///< in a row
    int64_t probe_failures = 0;   ///< in a row
    uint64_t probe = 0;           ///< the call id of the probe awaited (0: none)
    // outlier detection
    int64_t errors = 0;  ///< failed attempts in a row
    bool ejected = false;
    uint32_t times_ejected = 0;
    SimTime ejected_until;  ///< monotonic clock
    // slow start
    std::optional<SimTime> back_at;  ///< monotonic clock: when it came back into service
    // registration
    bool registered = true;
    bool draining = false;  ///< deregistered, with relayed calls to it still awaited
    SimTime drain_from;     ///< monotonic clock: when the draining began
    TimerId drain_timer;    ///< when the calls still in flight are cut
  };
  const std::vector<Backend>& backends() const { return backends_; }

 private:
  enum class Timer : uint8_t {
    kCalls,
    kProbeRound,
    kProbeTimeout,
    kEjectionEnd,
    kAdvert,
    kMasterDown,
    kDeregister,
    kRegister,
    kDrainEnd,
    kRateLimit
  };
  struct Job {
    queueing::Request request;           // as received
    size_t backend = kit::kNoCandidate;  // where its attempt in flight went (none: no attempt)
    SimTime sent{};                      // when that attempt went (monotonic clock)
  };
  struct Metrics {
    Symbol proxied, forwarded, relay_failed, refused_no_backend;
    Symbol probes_sent, probe_failures, marked_unhealthy, marked_healthy;
    Symbol ejections, ejections_denied, ejections_ended;
    Symbol mark_backend_requests, mark_backend_down, mark_backend_up;
    Symbol adverts_sent, vip_takeovers, vip_released, mark_vip;
    Symbol deregistrations, registrations, drained, cut, drain_time;
  };

  // load_balancer.cpp: relaying
  void on_request(Context& ctx, const queueing::Request& req);
  void on_response(Context& ctx, const queueing::Response& resp, NodeId from);
  void forward(Context& ctx, const queueing::Request& req);
  void refuse(Context& ctx, const queueing::Request& req);
  /// Sets each backend's eligibility for the next pick (health, ejection, limit) and its
  /// slow-start weight; false when no backend may take a request.
  bool refresh_eligible(Context& ctx);
  double slow_start_weight(Backend& b, SimTime now) const;
  size_t index_of(NodeId n) const;
  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;
  void attempt_timed_out(Context& ctx, uint64_t handle, NodeId to) override;
  // ratelimit::GateHost
  void gate_pass(Context& ctx, const ratelimit::Held& h) override { on_request(ctx, h.req); }

  // health.cpp: active health checks and outlier detection
  void probe_round(Context& ctx);
  bool on_probe_answer(Context& ctx, const queueing::Response& resp, NodeId from);
  void probe_timed_out(Context& ctx, uint64_t seq);
  void probe_result(Context& ctx, size_t i, bool ok);
  void attempt_result(Context& ctx, size_t i, bool ok);
  void try_eject(Context& ctx, size_t i);
  void end_ejection(Context& ctx, size_t i);
  void back_in_service(Context& ctx, size_t i);
  size_t ejected_count() const;

  // vrrp.cpp: the active/standby pair's virtual address
  uint32_t priority(Context& ctx) const;
  void vip_start(Context& ctx);
  void on_advert(Context& ctx, const VrrpAdvert& advert);
  void advertise(Context& ctx);
  void become_master(Context& ctx);
  void become_backup(Context& ctx);
  Duration master_down_interval(Context& ctx) const;

  // drain.cpp: deregistration, draining, registration
  void schedule_registrations(Context& ctx);
  void deregister(Context& ctx, size_t entry);
  void reregister(Context& ctx, size_t entry);
  /// An attempt relayed to backend i is over (answered, timed out): while i drains, an
  /// answer counts as drained, and the last one ends the draining.
  void attempt_over(Context& ctx, size_t i, bool answered);
  void end_draining(Context& ctx, size_t i);
  void cut_calls(Context& ctx, size_t i);

  const Config& config_;
  kit::RpcClient rpc_;
  uint64_t next_call_seq_ = 1;  // shared by rpc_ and the rate limit's checks
  ratelimit::Gate gate_;
  std::vector<Backend> backends_;
  std::unique_ptr<kit::BalancerPolicy> direct_balancer_;  // direct_return picks with it
  std::vector<kit::Observed> direct_observed_;
  std::map<uint64_t, Job> jobs_;  // relayed calls by handle
  uint64_t next_job_ = 1;
  uint64_t next_probe_ = 0;
  Symbol probe_op_;
  Metrics m_;
  bool master_ = false;       // holds the group's virtual address (with vip)
  kit::Timeout advert_;       // master: the next advertisement
  kit::Timeout master_down_;  // backup: no advertisement heard for this long
};

}  // namespace dsim::lb
