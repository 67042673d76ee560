// The rate limit a `service` or a `load_balancer` applies to the requests it receives
// (its `rate_limit:` parameter), checked when a request arrives, before it queues or is
// relayed. Three placements:
//
//   local      (no `store`) The node's own limiter (kit/rate_limit.h). A refused request
//              is answered at once as refused (accepted = false: HTTP 429's place); a
//              leaky_queue admission with a delay waits that long (a timer) before it
//              enters, as a leaky bucket queue shapes the traffic.
//   central    (`store: <group>`) Each arriving request first makes one check call (a
//              plain request, kit::RpcClient, no retry, `timeout`) to the `rate_limiter`
//              group, which runs the algorithm centrally (Redis running a token bucket
//              script): the check goes to node key mod n of the group (the keys are
//              sharded, as a Redis cluster shards them), and its answer is the verdict.
//              A check that fails or times out admits the request (`on_failure: open`)
//              or refuses it (`closed`), counted rate_limit_check_failures.
//   sync       (`store` and `sync: <interval>`, fixed_window only) Each node admits
//              locally against its estimate of the window's count over the whole group:
//              the total the store last told it, plus what it admitted since its last
//              push. Every `sync` it pushes its new admissions to node 0 of the store and
//              learns the total. Between two syncs each node is blind to the others'
//              admissions, so n nodes can together admit up to about n x (limit - the
//              known total) in a window: the overshoot grows with the interval and with n.
//              With the store unreachable each node limits by its own count (fail open
//              to at most n x limit).
//
// The limiter's key: scope global, none; per_client, the node the answer goes to (the
// request's call.reply_to: the end user's node at the first tier, the balancer's for a
// service behind a proxying balancer, the end user's again behind a direct_return one);
// per_key, the request's key.
//
// Per-request state: a request waits at the gate only for its check (at most `timeout`) or
// for its leaky_queue delay (at most `queue` requests of the limiter at once).
//
// Figures: rate_limit_allowed, rate_limit_rejected (kit::kRateLimitCounters),
// rate_limit_delayed (leaky_queue admissions that waited) and rate_limit_check_failures.
// Marks (WindowReport), from which the analysis (analysis.cpp) writes the admitted count
// per window against the limit and the fairness between clients.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "models/kit/rate_limit.h"
#include "models/kit/rpc_client.h"
#include "models/kit/timer.h"
#include "models/queueing/messages.h"
#include "models/rate_limiter/messages.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::ratelimit {

struct GateSpec {
  kit::RateLimitPolicy policy;
  std::string store;  ///< the rate_limiter group (empty: a local limit)
  Duration timeout = ms(5);
  bool fail_open = true;
  std::optional<Duration> sync;  ///< with `store`: locally synchronised limiters
  uint64_t bytes = 64;           ///< a check or a sync message on the wire
  bool enabled() const { return policy.enabled(); }
  bool central() const { return !store.empty() && !sync; }
};

/// Reads `rate_limit:` with its distributed keys (store, timeout, on_failure, sync,
/// check_size).
void read_gate(ParamReader& r, GateSpec& spec);

/// What a limiting node marks for the analysis: `rate_limit_spec` at its start (a = the
/// limit per report window, b = 2 x the window in ns, + 1 when the limit is the group's
/// together, + 0 when each node's own; a = 0 for a node checking a central store, whose
/// nodes mark the limit, and for a limit per client or per key; the window is the algorithm's, or
/// one second for the rate-based ones), `rate_limit_window` at the end of each tenth of a report
/// window (a = admitted, b = rejected in it; aligned to the node's clock 0) and `rate_limit_client`
/// at its end (a = a client's node, b = the requests of it admitted; every client seen, refused
/// ones included).
class WindowReport {
 public:
  static constexpr int64_t kTenths = 10;                           ///< marks per report window
  enum class Spec : uint8_t { kUnknownLimit, kPerNode, kShared };  ///< what rate_limit_spec says
  void start(Context& ctx, const kit::RateLimitPolicy& p, Spec spec, kit::TimerSpace timers,
             uint8_t sub);
  void count(bool admitted, NodeId client);
  /// Its timer fired: marks the window and arms the next.
  void on_timer(Context& ctx);
  void stop(Context& ctx);
  static Duration window_of(const kit::RateLimitPolicy& p);
  static uint64_t limit_of(const kit::RateLimitPolicy& p);

 private:
  void arm(Context& ctx);
  Duration window_;
  kit::TimerSpace timers_;
  uint8_t sub_ = 0;
  uint64_t admitted_ = 0, rejected_ = 0;
  std::map<NodeId, uint64_t> per_client_;  // admitted, per client node
  Symbol m_window_, m_client_;
};

/// The figures of the analysis (analysis.cpp).
void declare_figures(MetricDecls& d);

/// A request held at the gate, as the host received it.
struct Held {
  NodeId from = kNoNode;
  queueing::Request req;
  uint64_t tie = 0;
  NodeId peer = kNoNode;
};

class GateHost {
 public:
  virtual ~GateHost() = default;
  /// The request passed the gate: the host takes it in as if it had just arrived.
  virtual void gate_pass(Context& ctx, const Held& h) = 0;
};

class Gate final : private kit::CallHost {
 public:
  Gate(const GateSpec& spec, kit::TimerSpace timers, GateHost& host, uint64_t response_bytes);
  static void declare(const GateSpec& spec, MetricDecls& d);
  /// Before any request: `next_call_seq` is the node's shared call-id sequence.
  void start(Context& ctx, uint64_t& next_call_seq);
  void stop(Context& ctx);
  bool enabled() const { return spec_->enabled(); }
  /// A request arrives: passed on now (host.gate_pass), later, or refused here.
  void arrive(Context& ctx, const Held& h);
  /// True when `resp` answered one of the gate's checks.
  bool on_response(Context& ctx, const queueing::Response& resp, NodeId from);
  void on_sync_total(Context& ctx, const SyncTotal& t);
  /// A timer of the gate's kind fired (its value).
  void on_timer(Context& ctx, uint64_t value);
  size_t held() const { return held_.size(); }

 private:
  enum Sub : uint8_t { kDelay = 2, kSync = 3, kReport = 4 };
  uint64_t key_of(const Held& h) const;
  void pass(Context& ctx, const Held& h, uint64_t client);
  void refuse(Context& ctx, const Held& h);
  bool sync_admit(Context& ctx);
  void sync_roll(Context& ctx);
  void push(Context& ctx);
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const GateSpec* spec_;
  kit::TimerSpace timers_;
  GateHost* host_;
  uint32_t response_bytes_;
  kit::RateLimiter local_;
  kit::CallPolicy calls_;
  kit::RpcClient rpc_;
  std::map<uint64_t, Held> held_;  // waiting for a check or a delay, by handle
  uint64_t next_ = 1;
  Symbol check_op_;
  // sync
  int64_t window_ = 0;   // the window counted
  uint64_t mine_ = 0;    // admitted here in it
  uint64_t pushed_ = 0;  // of those, pushed to the store
  uint64_t others_ = 0;  // admitted elsewhere in it, as last learned
  NodeId sync_node_ = kNoNode;
  WindowReport report_;
  Symbol m_allowed_, m_rejected_, m_delayed_, m_failures_;
};

}  // namespace dsim::ratelimit
