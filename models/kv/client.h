// `kv_client`: the key-value workload. It speaks the contract of contract.h to any store
// group, so every storage model gets the same workload, history and verdicts.
//
// Load: open loop (operations arrive at a rate, Poisson or evenly spaced, whether or not
// earlier ones were answered) or closed loop (N users, each waiting for its answer, then
// thinking). Each operation is a get, put, compare-and-set or append (a weighted mix), on
// a key drawn uniformly, by Zipf's law, from a hotspot, or sequentially; writes carry a
// value unique to the logical write (retries resend the same one). Operations belong to
// sessions (per user in closed loop; `sessions` per node in open loop) for the session
// guarantees the checkers measure.
//
// Every operation is a call through the kit's call layer (models/kit/rpc_client.h): every
// attempt has a timeout; a failed attempt is retried by the retry policy (none, fixed, or
// exponential backoff with jitter and a cap: models/kit/retry.h),
// within an optional retry budget and deadline, under the same idempotency key, so a store
// can recognise a retried write. A "not leader, try X" answer is followed at once (a
// redirect is not a retry). The store node each attempt goes to is picked by any of the
// kit's balancer policies (target_policy).
// The logical operation is recorded once, in the metrics and in the history, with the
// outcome the checkers need: ok; fail only when every attempt definitely failed; unknown
// when any attempt may have been applied (timed out, or the store said indeterminate).
//
// A store's session tokens (contract.h) are kept per session, the largest received, and
// sent with the session's every later request.
//
// With `stop` and `read_back`, the client stops starting operations at `stop`, waits
// `read_back_delay`, then reads back every key it wrote: the final reads the lost-write
// check compares with the acknowledged writes.
//
// With `visibility_probes: [t1, t2, ...]`, every acknowledged write is followed by a get of
// its key exactly t after the acknowledgement arrived, for each t (PBS's t-visibility
// probes): operations of their own type, `probe`, marked in the history, that the
// staleness and session figures leave out and t_visibility_at.csv reports.
//
// With `trace`, the operations come from a request trace instead (trace_workload.cpp): each
// row a get or put of its key, at its time, from node (row mod count) of the group.
//
// With stores that version causally (contract.h, KvCausal), a read may find siblings:
// the client's merge policy decides what the application reads (one sibling, or the
// union of their elements for lists), and the causal context of the key's last answer is
// sent back with the session's next write of that key, so that write supersedes every
// version the session saw.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/client_throttle.h"
#include "models/kit/rpc_client.h"
#include "models/kit/trace_feed.h"
#include "models/kit/workload.h"
#include "models/kv/contract.h"
#include "models/kv/history.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/report_figure.h"

namespace dsim::kv {

class KvClient final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "kv_client";
  static constexpr std::string_view kDescription =
      "key-value workload over the kv contract: get/put/cas/append mix, key distributions, "
      "sessions, timeouts, retries with backoff and idempotency keys, redirects, final "
      "read-back; records the operation history for the consistency checkers";

  /// What the application reads when a get finds siblings.
  enum class Merge : uint8_t { kLast, kFirst, kRandom, kUnion };

  struct Config {
    std::string target;
    /// Open loop (Poisson or fixed) or closed loop; the first operation at `start`.
    kit::ArrivalSpec arrivals = kit::ArrivalSpec::starting_at_once();
    /// Weights of get, put, cas, append (in that order).
    std::vector<std::pair<std::string, double>> mix = {{"get", 0.5}, {"put", 0.5}};
    kit::KeySpec keys;
    uint64_t first_key = 0;
    Distribution value_size = Distribution::constant(100).with_dim(Distribution::Dim::kBytes);
    int64_t sessions = 1;  ///< per client node (open loop)
    /// Timeout, retries, budget, deadline, redirects and the target policy.
    kit::CallPolicy calls;
    Merge merge = Merge::kLast;
    bool causal_context = false;
    bool read_back = false;
    Duration read_back_delay = seconds(2);
    int64_t read_back_attempts = 10;
    int64_t read_back_concurrency = 4;
    /// The trace whose rows are the operations (null: arrivals, keys and mix).
    kit::SharedTrace trace;
    kit::RateLimitPolicy rate_limit;  ///< the client's own limit (none by default)
    /// Visibility probes: a get of each acknowledged write's key this long after its
    /// acknowledgement, for each time (sorted, distinct).
    std::vector<Duration> visibility_probes;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Its sections of the HTML report: the consistency verdicts, staleness curves and unavailability
  /// (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);
  static std::vector<std::string> callees(const Config& c) { return {c.target}; }

  explicit KvClient(const Config& config)
      : config_(config),
        arrivals_(config.arrivals, kit::TimerSpace(Timer::kArrivals)),
        keys_(config.keys, config.first_key),
        sessions_(config.arrivals.load == kit::ArrivalSpec::Load::kClosed,
                  static_cast<uint64_t>(config.sessions)),
        rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this),
        trace_feed_(kit::timer_tag(Timer::kTrace)) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kArrivals, kCalls, kReadBack, kTrace, kThrottle, kProbe };

  struct Op {
    OpToken token;
    KvRequest req;  // as sent; req.call is the current attempt's
    uint64_t user = 0;
    bool final_read = false;
    bool probe = false;  ///< a visibility probe
  };
  // A probe due: of the write of `value` on `key`, acknowledged `after` before it is due.
  struct Probe {
    uint64_t key = 0;
    int64_t value = 0;
    uint32_t session = 0;
    Duration after;
  };
  // What a session last knew of a key (for the expected value of a compare-and-set).
  struct Known {
    bool absent = true;
    int64_t value = 0;
  };

  /// The load, mix and key distribution (not read with a trace).
  static void read_ops(ParamReader& r, const kit::ArrivalKeys& keys, Config& c);
  static void read_calls(ParamReader& r, Config& c);
  static void read_read_back(ParamReader& r, Config& c);
  static void read_probes(ParamReader& r, Config& c);
  static void read_trace(ParamReader& r, Config& c);  // trace_workload.cpp

  /// The operation of a trace's row (trace_workload.cpp).
  void start_trace_op(Context& ctx, const kit::TraceRow& row);

  void start_op(Context& ctx, uint64_t user, bool final_read, uint64_t final_key = 0);
  /// Starts the operation of request `req` (made by make_request()); `probe`: the write a
  /// visibility probe reads after.
  void begin(Context& ctx, uint64_t user, bool final_read, KvRequest req,
             const Probe* probe = nullptr);
  /// Schedules the visibility probes of the acknowledged write `op`.
  void schedule_probes(Context& ctx, const Op& op);
  void start_probe(Context& ctx, uint64_t probe_id);
  /// Starts the call of operation `id` (past the client's own rate limit).
  void begin_call(Context& ctx, uint64_t id);
  /// A write's value has `value_bytes` (none: drawn from value_size).
  KvRequest make_request(Context& ctx, KvOpKind kind, uint64_t key, uint32_t session,
                         std::optional<uint32_t> value_bytes);
  void on_response(Context& ctx, const Envelope& env, const KvResponse& resp);
  void finish(Context& ctx, uint64_t op_id, HistoryOutcome outcome, Outcome metric,
              uint32_t requests, const KvValue* read = nullptr);
  void learn(const Op& op, const KvValue* read, bool cas_mismatch);
  void next_read_back(Context& ctx);
  /// What a get read: the response's value, or the merge of its siblings.
  KvValue merged_read(Context& ctx, const KvResponse& resp);
  uint32_t session_of(const Op& op) const {
    return static_cast<uint32_t>(op.req.session & 0xffffffffULL);
  }

  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const Config& config_;
  kit::Arrivals arrivals_;
  kit::KeyChooser keys_;
  kit::Sessions sessions_;
  kit::RpcClient rpc_;
  kit::TraceFeed trace_feed_;
  kit::WeightedChoice mix_;
  std::vector<KvOpKind> mix_kinds_;
  std::map<uint64_t, Op> ops_;                            // live operations by op id
  std::map<std::pair<uint32_t, uint64_t>, Known> known_;  // (session, key)
  std::map<uint32_t, uint64_t> session_tokens_;           // session -> largest token received
  std::set<uint64_t> written_keys_;
  // Causal contexts by (session, key), from stores that hand them out.
  std::map<std::pair<uint32_t, uint64_t>, std::vector<uint64_t>> contexts_;
  std::vector<uint64_t> read_back_keys_;
  size_t read_back_next_ = 0;
  std::map<uint64_t, Probe> probes_;  // scheduled probes by id
  uint64_t next_probe_ = 1;
  uint64_t next_op_ = 1;
  uint64_t next_write_ = 1;
  Symbol op_symbols_[4];
  Symbol m_read_back_, m_probe_, m_cas_failed_, m_values_exhausted_, m_sibling_reads_,
      m_siblings_read_;
  kit::ClientThrottle throttle_;
};

}  // namespace dsim::kv
