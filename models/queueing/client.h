// `client`: the workload of the queueing slice. Open loop (requests arrive at a rate,
// whether or not earlier ones were answered: Poisson, fixed or bursty, with a rate that may
// change over time) or closed loop (N users, each sending a request, waiting for its
// answer, thinking, and again): the kit's workload base (models/kit/workload.h). Every
// request is a call through the kit's call layer to a node of the target group picked by
// a balancer policy, with a timeout, optional retries, retry budget and deadline, and an
// optional key (for hash balancing, and for the stores a service calls); it is recorded
// with its latency and outcome (ok, rejected, timeout).
//
// With `trace`, the requests come from a request trace instead (models/kit/trace_feed.h):
// row i is sent by node i mod count at the row's time, carrying the row's key, as
// operation "read" (a get row), "write" (put) or "delete" (delete), the names a service's
// call plan can tell apart. The row's size is not used: request_size is the wire size.
//
// With `rate_limit`, the client throttles itself (a client library's limiter, as SDKs
// carry): each request passes the kit's limiter (models/kit/rate_limit.h) before it is
// sent; a refused one ends at once as rejected without being sent, and under leaky_queue
// an admitted one waits its turn to leave.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/client_throttle.h"
#include "models/kit/rpc_client.h"
#include "models/kit/trace_feed.h"
#include "models/kit/workload.h"
#include "models/queueing/messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"

namespace dsim::queueing {

class Client final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "client";
  static constexpr std::string_view kDescription =
      "request workload: open loop (poisson, fixed or bursty rate, or one that changes over "
      "time) or closed loop (users with think time); per-request timeout; records latency "
      "and outcome";

  struct Config {
    std::string target;
    kit::ArrivalSpec arrivals;  ///< the first request one drawn gap after `start`
    std::vector<std::pair<std::string, double>> ops = {{"request", 1.0}};
    kit::CallPolicy calls;  ///< timeout, retries, deadline and the balancer (`balance`)
    uint64_t request_bytes = 512;
    std::optional<kit::KeySpec> keys;  ///< the key each request carries; none: key 0
    kit::SharedTrace trace;            ///< the requests, when given (instead of arrivals)
    kit::RateLimitPolicy rate_limit;   ///< the client's own limit (none by default)
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Its sections of the HTML report: retries, timeouts and throttling (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);
  static std::vector<std::string> callees(const Config& c) { return {c.target}; }

  explicit Client(const Config& config)
      : config_(config),
        arrivals_(config.arrivals, kit::TimerSpace(Timer::kArrivals)),
        rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this),
        trace_feed_(kit::timer_tag(Timer::kTrace)) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kArrivals, kCalls, kTrace, kThrottle };
  struct Pending {
    OpToken token;
    Symbol op;
    uint64_t user;  // closed loop: who waits for it
    uint64_t key;
  };

  static void read_keys(ParamReader& r, Config& c);
  static void read_trace(ParamReader& r, Config& c);
  void issue(Context& ctx, uint64_t user);
  /// Sends request `op` with `key` (for `user`, closed loop).
  void send_op(Context& ctx, Symbol op, uint64_t user, uint64_t key);
  /// Starts the call of request `handle` (past the client's own rate limit).
  void begin_call(Context& ctx, uint64_t handle);
  void finish(Context& ctx, uint64_t handle, Outcome outcome);

  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const Config& config_;
  kit::Arrivals arrivals_;
  kit::RpcClient rpc_;
  kit::TraceFeed trace_feed_;
  kit::WeightedChoice ops_;
  std::optional<kit::KeyChooser> keys_;
  std::vector<Symbol> op_symbols_;
  std::array<Symbol, 3> trace_symbols_{};  // by kit::TraceOp
  std::map<uint64_t, Pending> pending_;    // by handle
  uint64_t next_handle_ = 1;
  kit::ClientThrottle throttle_;
};

}  // namespace dsim::queueing
