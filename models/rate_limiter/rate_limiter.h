// `rate_limiter`: a central rate-limit store (Redis running a token bucket script, as the
// system-design books place it). Each node runs the algorithm of its `rate_limit:` for the
// keys it is asked about: a plain request (models/queueing/messages.h) is a check "may a
// request of this key pass?", answered at once, accepted or refused, by the node's limiter
// (scope global: one limiter for every key; per_key: one per key checked, which is what a
// caller's per_client or per_key scope sends). The callers (a service's or a balancer's
// `rate_limit: {store: <group>}`, gate.h) shard the keys over the nodes, key mod n; the
// nodes share nothing, and a node that restarts has lost its counts.
//
// For locally synchronised limiters (`sync`), node 0 of the group keeps the count of each
// fixed window pushed by the nodes (SyncPush) and answers each push with the window's
// total (SyncTotal); it keeps the last two windows only.
//
// Figures: rate_limit_allowed and rate_limit_rejected (the checks' verdicts), sync_pushes;
// from its first check on, the marks of gate.h's WindowReport (the limit is the store's,
// shared by its callers).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>

#include "models/kit/rate_limit.h"
#include "models/queueing/messages.h"
#include "models/rate_limiter/gate.h"
#include "models/rate_limiter/messages.h"
#include "sim/core/metric_decls.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::ratelimit {

class RateLimiterNode final : public Model {
 public:
  static constexpr std::string_view kName = "rate_limiter";
  static constexpr std::string_view kDescription =
      "a central rate-limit store: answers checks 'may this key pass?' by running a rate "
      "limit algorithm per key, and sums the window counts of synchronised local limiters";

  struct Config {
    kit::RateLimitPolicy policy;
    uint64_t response_bytes = 64;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// The admitted count per window of every limiting group against its limit, and the
  /// fairness between clients (analysis.cpp).
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: admitted and rejected per window (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit RateLimiterNode(const Config& config) : config_(config), limiter_(config.policy) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override {}

 private:
  enum class Timer : uint8_t { kReport };
  void on_push(Context& ctx, NodeId from, const SyncPush& p);

  const Config& config_;
  kit::RateLimiter limiter_;
  std::map<int64_t, uint64_t> totals_;  // window -> admitted over the group (sync)
  WindowReport report_;                 // from the first check on
  bool reporting_ = false;
  Symbol m_allowed_, m_rejected_, m_pushes_;
};

}  // namespace dsim::ratelimit
