// `service`: a tier of an architecture. Each node is a service station (c workers behind
// a FIFO queue of optional capacity, a service time per operation, `slow` faults apply,
// as `server`) that, after its own work on a request, calls other groups before it
// answers: the steps of its call plan (plan.h), in sequence, in parallel, fanned out to k
// nodes of a group waiting for m, each with a probability. Calls go through the kit's call
// layer, so timeouts, retries, retry budgets and deadlines apply per edge, the end user's
// deadline budget and key travel down the call graph, and a failed call fails the
// request, is ignored, or ends it with a fallback answer, as its edge says.
//
// With `blocking: true` (thread per request, the default) a worker is held until the
// answer is sent, so a slow dependency ties up the workers of every tier above it; with
// `blocking: false` (asynchronous) the worker is free once its own work is done.
//
// With `drop_expired`, a worker that takes a request nobody awaits any more (its caller's
// budget, CallHeader::budget, has run out while it queued) refuses it without working on it.
//
// With a `concurrency_limit` (the worker pool's, concurrency_limit.h), a request finding L
// visits on the node (queued, worked on, or waiting for calls) is refused at once (`shed`);
// each answered visit is a sample that adapts L.
//
// Figures, per group: served, failed (answered as refused after a call failed), fallbacks,
// rejected (queue full), shed and concurrency_limit (the limit's), expired (dropped by
// drop_expired), cancelled (dropped while waiting at the caller's request: a Cancel message),
// the pool's queue_wait and levels,
// `residence` (arrival to answer), `self_time` (residence minus the time spent waiting for calls:
// the tier's own share of the end user's latency), and per edge `call_<group>` (a call's latency,
// retries included), `call_<group>_failed` and, with a circuit breaker on the edge,
// `call_<group>_short_circuited` (calls refused by the open breaker) and `breaker_opened`.
//
// A call to a key-value store (store_calls.cpp) is the store's client's operation: the
// service records it in the key-value history (as kv_client does: ok, fail, or unknown when
// it may have been applied), so the consistency checkers judge what the stores answered to
// the tier, and its operations (get, put, append) are rows of the service's group, apart
// from the end users' rows.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "models/kit/rpc_client.h"
#include "models/kit/ties.h"
#include "models/kit/worker_pool.h"
#include "models/kv/contract.h"
#include "models/queueing/messages.h"
#include "models/rate_limiter/gate.h"
#include "models/service/plan.h"
#include "sim/core/distribution.h"
#include "sim/core/history.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/registry.h"
#include "sim/core/report_figure.h"

namespace dsim::service {

class Service final : public Model, private ratelimit::GateHost {
 public:
  static constexpr std::string_view kName = "service";
  static constexpr std::string_view kDescription =
      "a tier: workers behind a FIFO queue that, after their own work, call other groups "
      "(in sequence, in parallel, fanned out k-of-n, with a probability) through the call "
      "layer's timeouts, retries and deadlines before answering";

  struct Config {
    kit::WorkerPoolSpec pool;
    std::vector<std::pair<std::string, Distribution>> service = {
        {"", Distribution::exponential(1e6).with_dim(Distribution::Dim::kTime)}};
    bool blocking = true;  ///< a worker is held while its request's calls are in flight
    /// A request nobody awaits any more (its caller's budget has run out) is refused when
    /// a worker takes it, instead of being worked on.
    bool drop_expired = false;
    CallPlan plan;
    uint64_t response_bytes = 512;
    /// Checked as a request arrives, before it queues (models/rate_limiter/gate.h).
    ratelimit::GateSpec rate_limit;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// The groups it calls (the scenario checks the call graph has no cycle).
  static std::vector<std::string> callees(const Config& c) {
    std::vector<std::string> out = c.plan.callees();
    if (!c.rate_limit.store.empty()) out.push_back(c.rate_limit.store);
    return out;
  }
  /// The rate-limit figures of its groups (models/rate_limiter/analysis.cpp).
  static AnalysisOutput analyze(const AnalysisInput& in);
  /// Its sections of the HTML report: queues, failures, retries, rate limit (report.cpp).
  static std::vector<ReportSection> report(const ReportInput& in);

  explicit Service(const Config& config);
  ~Service() override;

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_stop(Context& ctx) override;
  void check_invariants() const override;

 private:
  // kWork's value: the worker; kHedge's and kTie's: the visit and the edge; kBulkhead's:
  // the edge; edge e's calls: kind 4 + e; the rate limit's: the last kind.
  enum class Timer : uint8_t { kWork, kHedge, kBulkhead, kTie, kRateLimit = 255 };
  static constexpr uint8_t kFirstEdgeTimer = 4;
  static constexpr int kEdgeBits = 8;  // a hedge or tie timer's value: the visit, then the edge
  static constexpr size_t kNoWorker = ~size_t{0};
  struct Leg {  // one call of the current step
    uint32_t sent = 0, ok = 0, failed = 0, need = 0;
    bool done = true;
    SimTime began;
    uint32_t hedges = 0;     // hedged copies sent
    NodeId first = kNoNode;  // where its first request went
    // A tied call's two nodes (candidate indexes); kNoCandidate: not tied.
    size_t tied[2] = {kit::kNoCandidate, kit::kNoCandidate};
    // A fan-out to shards of replicas (Call::replicas > 1, shards.cpp): each shard called,
    // and per sub-call the index in `shards` of the shard it went to.
    struct Shard {
      uint32_t shard = 0;
      uint32_t first = 0;   // the replica asked first
      uint32_t second = 0;  // tied: the replica of the second copy
      uint32_t out = 0;     // its copies not yet over
      bool done = false;    // answered, or every copy failed
    };
    std::vector<Shard> shards;
    std::vector<uint32_t> sub_shard;

    /// A leg calling k nodes (or shards) of `call`, from `now`: it needs `wait` of them.
    static Leg open(const Call& call, uint32_t k, SimTime now) {
      Leg leg;
      leg.need = call.wait == 0 ? k : std::min(call.wait, k);
      leg.done = false;
      leg.began = now;
      return leg;
    }
  };
  struct Visit {  // one request this node is serving
    queueing::Request request;
    NodeId from = kNoNode;
    SimTime arrived;  // the node's clock
    size_t worker = kNoWorker;
    size_t step = 0;
    std::vector<Leg> legs;  // of the current step, one per call
    Duration waited_calls;  // time spent waiting for steps' calls
    SimTime step_began;
    bool starting = false;          // start_step is making the current step's calls
    uint64_t tie = 0;               // a tied request's tie (0: not tied) ...
    NodeId tie_peer = kNoNode;      // ... and the node holding its other copy
    kit::Admission::Ticket ticket;  // let in by the concurrency limit
    // Cache-aside (plan.h): whether the last get from a cache hit, the lease its miss
    // handed out, and what the request last read from or wrote to a store (a fill's value).
    bool cache_hit = false;
    uint64_t lease = 0;
    bool has_seen = false;
    kv::KvValue seen;
  };
  struct Job {
    uint64_t visit;
  };
  class Edge;

  void arrive(Context& ctx, NodeId from, const queueing::Request& req, uint64_t tie, NodeId peer);
  /// A request comes in: through the rate limit's gate when there is one.
  void receive(Context& ctx, NodeId from, const queueing::Request& req, uint64_t tie, NodeId peer);
  void gate_pass(Context& ctx, const ratelimit::Held& h) override {
    arrive(ctx, h.from, h.req, h.tie, h.peer);
  }
  void on_cancel(Context& ctx, NodeId from, const queueing::Cancel& c);
  bool begin_work(Context& ctx, size_t worker, uint64_t visit);
  void release_worker(Context& ctx, size_t worker);
  void work_done(Context& ctx, size_t worker);
  void run_steps(Context& ctx, uint64_t id);
  bool start_step(Context& ctx, uint64_t id, Visit& v);
  void start_call(Context& ctx, uint64_t id, Visit& v, const Call& call, Leg& leg);
  /// Sub-call `handle` passes the edge's bulkhead: made now, made when a place frees up
  /// (grant()), or failed at once. `pinned`: its node (a fan-out's), or kit::kNoCandidate.
  void admit_call(Context& ctx, const Call& call, uint64_t handle, size_t pinned);
  /// Makes sub-call `handle` (it holds a place in the edge's bulkhead): the breaker lets it
  /// through, or refuses it at once.
  void make_call(Context& ctx, const Call& call, uint64_t handle, size_t pinned);
  void grant(Context& ctx, size_t edge, uint64_t handle);
  void arm_bulkhead(Context& ctx, size_t edge);
  void bulkhead_expired(Context& ctx, size_t edge);
  kit::RpcClient::Options call_options(Context& ctx, const Visit& v) const;
  void start_tied(Context& ctx, uint64_t id, const Call& call, Leg& leg);
  // Fan-outs to shards of replicas (shards.cpp).
  void start_sharded(Context& ctx, uint64_t id, const Call& call, Leg& leg);
  void settle_shard(Context& ctx, uint64_t id, Visit& v, const Call& call, uint32_t sub, bool ok);
  void hedge_shards(Context& ctx, uint64_t id, const Call& call);
  /// Tied: the second copies, to each shard's other replica, of the shards still unanswered.
  void tie_shards(Context& ctx, uint64_t id, const Call& call);
  /// Sends copy `sub` of a tied call to shards as a TiedRequest naming its peer's node.
  void send_shard_tied(Context& ctx, size_t edge, uint64_t handle, const queueing::Request& req,
                       const Leg& leg, NodeId to);
  /// Drops sub-call `sub` of the visit's call on `call`'s edge, if it is still out; returns
  /// the waiting call its bulkhead place goes to, for the caller to grant.
  std::optional<uint64_t> cancel_sub(Context& ctx, uint64_t id, const Call& call, uint32_t sub);
  /// The leg of the visit's current step that calls on `edge`.
  Leg& leg_of(Visit& v, size_t edge);
  void send_tie(Context& ctx, uint64_t id, size_t edge);
  Leg* open_leg(uint64_t id, size_t edge);
  void arm_hedge(Context& ctx, uint64_t id, const Call& call);
  void hedge(Context& ctx, uint64_t id, size_t edge);
  void observe_latency(size_t edge, Duration latency);
  void call_result(Context& ctx, size_t edge, uint64_t handle, bool ok, bool made = true);
  void settle_call(Context& ctx, size_t edge, uint64_t handle, bool ok, bool made);
  void leg_over(Context& ctx, uint64_t id, Visit& v, const Call& call, bool ok);
  void cancel_step(Context& ctx, uint64_t id, const Visit& v);
  /// Drops the leg's sub-calls still out (a breaker's trial calls among them free their
  /// places).
  void cancel_leg(Context& ctx, uint64_t id, const Call& call, const Leg& leg);
  void finish(Context& ctx, uint64_t id, bool accepted, Symbol counter);
  void send_request(Context& ctx, size_t edge, uint64_t handle, const kit::CallHeader& header,
                    NodeId to);
  void edge_failed(Context& ctx, size_t edge, uint64_t handle, const kit::CallEnd& end);
  kit::RpcClient& rpc_of(size_t edge);

  // Calls to key-value stores (store_calls.cpp).
  struct StoreOp {  // one in flight: its operation in the history, and its request
    OpToken token;
    kv::KvRequest req;
    bool aside = false;  // a fill or delete (cache_op): not an operation of the history
    kv::KvCacheOp cache_op;
  };
  using StoreOpKey = std::pair<size_t, uint64_t>;  // the edge and the call's handle
  void start_store_names(Context& ctx);
  /// Records the call's operation and sets its key and idempotency key in `o`.
  void begin_store_op(Context& ctx, const Call& call, uint64_t handle, Visit& v,
                      kit::RpcClient::Options& o);
  void send_store_request(Context& ctx, size_t edge, uint64_t handle, const kit::CallHeader& header,
                          NodeId to);
  void on_store_response(Context& ctx, NodeId from, const kv::KvResponse& resp);
  /// What a store's answer tells the visit for cache-aside (cache_hit, lease, seen).
  void learn_from_store(const StoreOp& op, const Call& call, uint64_t handle,
                        const kv::KvResponse& resp);
  void end_store_op(Context& ctx, size_t edge, uint64_t handle, HistoryOutcome outcome,
                    Outcome metric, uint32_t requests, std::span<const int64_t> read = {});

  const Config& config_;
  kit::WorkerPool<Job> pool_;
  kit::CancelledTies ties_;  // tied requests whose other copy was begun before they came
  kit::ServiceTimes service_times_;
  std::vector<Symbol> edge_op_;  // per edge: the operation it sends (invalid: the request's)
  std::vector<const Call*> edges_;
  std::vector<std::unique_ptr<Edge>> edge_hosts_;  // the call layer of each edge
  std::vector<std::vector<size_t>> order_;         // per edge: the fan-out's permutation
  std::vector<std::vector<size_t>> shard_order_;   // per edge: the same, of shards
  std::vector<kit::CircuitBreaker> breakers_;      // per edge
  std::vector<kit::Bulkhead> bulkheads_;           // per edge
  std::vector<bool> bulkhead_armed_;               // per edge: its expiry timer is set
  std::map<std::pair<size_t, uint64_t>, size_t> waiting_pins_;  // a waiting call's node
  // Per hedged-by-percentile edge: its last answers' latencies (a ring) and the percentile
  // of them, recomputed every kPercentileEvery answers.
  std::vector<std::vector<Duration>> recent_;
  std::vector<size_t> recent_next_;
  std::vector<size_t> since_percentile_;  // answers since the percentile was computed
  std::vector<std::optional<Duration>> percentile_;
  std::map<uint64_t, Visit> visits_;
  uint64_t next_visit_ = 1;
  uint64_t next_call_seq_ = 1;  // shared by every edge's RpcClient and the rate limit's
  ratelimit::Gate gate_;
  std::map<StoreOpKey, StoreOp> store_ops_;
  std::vector<size_t> edge_store_;      // per edge: its store's index in CallPlan::stores()
  std::vector<uint64_t> store_tokens_;  // per store: the largest session token it gave
  uint64_t next_write_ = 0;             // writes to stores made so far (unique values)
  Symbol m_served_, m_failed_, m_fallbacks_, m_rejected_, m_expired_, m_cancelled_, m_late_;
  Symbol m_residence_, m_self_, m_in_flight_;
  std::vector<Symbol> m_call_, m_call_failed_, m_short_circuited_, m_hedged_;  // per edge
  std::vector<Symbol> m_bulkhead_full_;                                        // per edge
  Symbol m_breaker_opened_, m_cancels_;
  Symbol m_kv_ops_[4];  // by kv::KvOpKind
  Symbol m_values_exhausted_;
};

}  // namespace dsim::service
