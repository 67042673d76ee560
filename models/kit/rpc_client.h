// The caller's side of calls (call.h), one engine for every client and service: it picks
// the node each attempt goes to (a balancer policy, balancer.h), correlates answers with
// attempts, times attempts out, retries failed ones by the retry policy within a retry
// budget (retry.h), follows redirects, keeps a call within its deadline and tells every
// request how long its answer is awaited (the attempt's timeout, or the deadline's
// remaining budget when sooner: CallHeader::budget).
//
// A logical call is one or more attempts; each attempt is one request with a call id of
// its own (so an answer to an attempt that timed out is recognised as late), and all of
// them carry the same idempotency key when the call has one (new_idempotency_key()). The model (the
// call's host) builds the requests, reads the answers and says what each means (Answer); the
// RpcClient does the rest:
//
//   begin(ctx, handle, opts)     picks a target, sends the first request (host.send_request)
//   on_answer(ctx, id, from, a)  an answer arrived: kDone ends the call (the model finishes
//                                it with the answer it holds); kRefused and kIndeterminate
//                                fail the attempt (retried, or host.call_failed); kRedirect
//                                sends at once to the node named (not a retry)
//   on_timer(ctx, value)         attempt timeouts and backoffs (give it one timer kind)
//
// It counts, in the caller's group: retries, redirects, attempt_timeouts, late_responses,
// and, when they happen, retries_denied (by the budget), deadline_exceeded and, with
// eject_after, caller_ejections.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/kit/balancer.h"
#include "models/kit/call.h"
#include "models/kit/retry.h"
#include "models/kit/timer.h"
#include "sim/core/model.h"

namespace dsim::kit {

struct CallPolicy {
  Duration timeout = seconds(1);  ///< per attempt
  RetryPolicy retry;
  RetryBudgetSpec budget;
  uint32_t max_redirects = 3;  ///< redirects followed per attempt
  /// Every request of a call carries the call's idempotency key (false: a new key per
  /// request after the first, so the service cannot recognise retries).
  bool idempotency_keys = true;
  /// The whole call's time, every attempt and backoff included; none: no deadline of its
  /// own (an inherited one still applies).
  std::optional<Duration> deadline;
  BalancerSpec balancer;
  /// Passive ejection at the caller, as twemproxy's auto_eject_hosts and memcached clients'
  /// server failure limits do it: after this many failed attempts in a row to one target
  /// (timed out or refused), the target is passed over for `eject_for` (0: never).
  uint32_t eject_after = 0;
  Duration eject_for = seconds(30);
};

/// Reads one edge's call policy, the keys every caller of plain requests writes: `timeout`
/// (per attempt), the retry policy (`retry`, `max_attempts`, `retry_base`, ...), the
/// optional `retry_budget` and `deadline`, and `balance` (a balancer policy, with its own
/// parameters), then `eject_after` and `eject_for`. `policy`'s values are the defaults.
void read_call_policy(ParamReader& r, CallPolicy& policy);
/// Reads `eject_after` and `eject_for` (read_call_policy() does; a caller with its own
/// keys for the rest of the policy calls it itself). Only what is given is read.
void read_ejection(ParamReader& r, CallPolicy& policy);

/// What an answer means for its call, as the caller's model reads it.
enum class Answer : uint8_t {
  kDone,           ///< the call is over: a success, or a definite answer not worth retrying
  kRefused,        ///< not applied, definitely (unavailable, overloaded): retry by the policy
  kIndeterminate,  ///< may have been applied: retry by the policy; the outcome is unknown
  kRedirect,       ///< not applied; the node named is the one to ask, at once
};

/// How a call ended that no kDone answer ended.
struct CallEnd {
  enum class Why : uint8_t {
    kAttempts,  ///< every attempt it was allowed failed
    kBudget,    ///< a retry was due but the retry budget denied it
    kDeadline,  ///< its deadline passed
  };
  Why why = Why::kAttempts;
  bool maybe_applied = false;  ///< an attempt timed out or was answered indeterminate
  uint32_t requests = 0;       ///< requests sent for it, redirects included
};

/// The model that makes calls.
class CallHost {
 public:
  virtual ~CallHost() = default;
  /// Sends call `handle`'s request number `request` (0, 1, ...: redirects included) to
  /// `to`, carrying `header`.
  virtual void send_request(Context& ctx, uint64_t handle, const CallHeader& header, NodeId to,
                            uint32_t request) = 0;
  /// Call `handle` ended without a kDone answer.
  virtual void call_failed(Context& ctx, uint64_t handle, const CallEnd& end) = 0;
  /// An attempt of call `handle`, sent to `to`, timed out (heard before it is retried or
  /// the call fails). Optional: for a caller that judges its targets by their failures, as
  /// a load balancer's outlier detection does.
  virtual void attempt_timed_out(Context& /*ctx*/, uint64_t /*handle*/, NodeId /*to*/) {}
};

/// The nodes a caller sends a group's requests to: the group's virtual address alone when
/// it has one (a balancer pair's VIP: Context::group_address), else its nodes.
std::vector<NodeId> entry_points(const Context& ctx, std::string_view group);

class RpcClient {
 public:
  struct Options {
    PickRequest pick;              ///< key and client for the balancer
    uint32_t max_attempts = 0;     ///< 0: the retry policy's
    uint64_t origin = 0;           ///< the end user's operation (CallHeader::origin)
    uint64_t idempotency_key = 0;  ///< from new_idempotency_key(); 0: the call has none
    /// The deadline inherited from the call this one serves (its remaining budget).
    Duration inherited_budget = kNoDeadline;
    /// Every attempt goes to this candidate (an index into the targets), as a fan-out's
    /// call to one shard; kNoCandidate: the balancer picks each attempt's.
    size_t pinned = kNoCandidate;
  };
  /// What an answer meant for its call.
  struct Outcome {
    enum class Status : uint8_t {
      kLate,     ///< no attempt of a live call has this id (it timed out, or was answered)
      kDone,     ///< the call ended with this answer
      kPending,  ///< the call goes on (retry or redirect), or it failed (host.call_failed)
    };
    Status status = Status::kLate;
    uint64_t handle = 0;
    uint32_t requests = 0;       ///< kDone: requests sent for the call
    bool maybe_applied = false;  ///< kDone: an earlier attempt may have been applied
  };

  RpcClient(const CallPolicy& policy, TimerSpace timers, CallHost& host)
      : policy_(&policy), timers_(timers), host_(&host), budget_(policy.budget) {}

  /// The nodes calls go to, and the caller's home candidate (where `sticky` starts; the
  /// caller draws it, one draw whatever the policy). Interns its metrics.
  void start(Context& ctx, std::span<const NodeId> targets, size_t home);
  /// The counters it reports in its model's group (retries, redirects, attempt timeouts,
  /// late responses, retries denied by the budget, deadlines exceeded).
  static void declare(MetricDecls& d);
  bool has_targets() const { return !targets_.empty(); }
  /// The nodes calls go to (candidate i is targets()[i]).
  std::span<const NodeId> targets() const { return targets_; }

  /// Begins call `handle` (the model's id for it, unique among its live calls, < 2^52):
  /// picks a target and sends the first request.
  void begin(Context& ctx, uint64_t handle, const Options& options);
  /// A key for a call's requests, unique in the run (make_idempotency_key).
  uint64_t new_idempotency_key() { return make_idempotency_key(self_, next_key_++); }
  /// Ends call `handle` without an answer and without telling the host (a fan-out that has
  /// the answers it needs drops the rest): its timers stop, and an answer to it that still
  /// comes is counted as late.
  /// What cancel() found: whether the call was live, and its request in flight, if any
  /// (the node it went to and its call id: the caller may tell that node, e.g. with the
  /// plain contract's Cancel).
  struct Cancelled {
    bool live = false;
    NodeId to = kNoNode;
    uint64_t attempt = 0;  ///< 0: no request in flight (between attempts)
  };
  Cancelled cancel(Context& ctx, uint64_t handle);
  /// Several RpcClients of one node must draw their call ids from one sequence, so that
  /// an answer names one call of the node: give each the same counter (it outlives them).
  void share_call_ids(uint64_t& next_seq) { next_seq_ = &next_seq; }
  /// The call an attempt id belongs to, if that attempt is still awaited.
  std::optional<uint64_t> handle_of(uint64_t id) const;
  /// An answer to attempt `id` came from `from`; `hint` names the node a redirect points
  /// to (kNoNode: none known).
  Outcome on_answer(Context& ctx, uint64_t id, NodeId from, Answer answer, NodeId hint = kNoNode);
  /// A timer of its kind fired (the value of its tag).
  void on_timer(Context& ctx, uint64_t value);

  size_t live_calls() const { return calls_.size(); }
  /// What it observed of each target, by index.
  std::span<const Observed> observed() const { return observed_; }
  /// Marks target `index` healthy or not (Observed::healthy): the balancer policy passes
  /// an unhealthy target over while a healthy one remains. For a caller that learns its
  /// targets' health itself (a load balancer's health checks and outlier ejection); the
  /// RpcClient never changes it on its own.
  void set_healthy(size_t index, bool healthy) {
    wanted_healthy_.at(index) = healthy;
    observed_[index].healthy = healthy && !ejected_[index];
  }
  /// Sets target `index`'s weight (Observed::weight), read by weighted_round_robin at each
  /// pick (a load balancer's slow start); 1 unless set.
  void set_weight(size_t index, double weight) { observed_.at(index).weight = weight; }

 private:
  enum class Sub : uint8_t { kAttempt, kBackoff, kEjectEnd };
  struct Call {
    PickRequest pick;
    uint64_t origin = 0;
    uint64_t idempotency_key = 0;
    uint32_t max_tries = 1;
    uint32_t tries = 0;      // attempts counted against max_tries
    uint32_t requests = 0;   // requests sent, redirects included
    uint32_t redirects = 0;  // in the current attempt
    NodeId target = kNoNode;
    SimTime sent;  // the current request's, on the monotonic clock
    SimTime deadline = SimTime::max();
    uint64_t attempt = 0;  // the current request's call id (0: none in flight)
    TimerId timer;
    bool unknown = false;  // an attempt may have been applied
    size_t pinned = kNoCandidate;
  };

  void send(Context& ctx, uint64_t handle, Call& c);
  void attempt_failed(Context& ctx, uint64_t handle, bool maybe_applied);
  void end(Context& ctx, uint64_t handle, CallEnd::Why why);
  /// The request in flight for `c` is over (answered or given up).
  void settle(Context& ctx, Call& c, bool answered);
  size_t index_of(NodeId n) const;
  /// An attempt to candidate i failed (or, `ok`, was answered): counts toward ejection.
  void note_result(Context& ctx, size_t i, bool ok);

  const CallPolicy* policy_;
  TimerSpace timers_;
  CallHost* host_;
  RetryBudget budget_;
  std::unique_ptr<BalancerPolicy> balancer_;
  std::vector<NodeId> targets_;
  std::vector<Observed> observed_;
  std::vector<uint32_t> failures_in_row_;  // per candidate, with eject_after
  std::vector<char> ejected_, wanted_healthy_;
  std::map<uint64_t, Call> calls_;                   // live calls by handle
  std::unordered_map<uint64_t, uint64_t> attempts_;  // call id -> handle; lookups only
  NodeId self_ = kNoNode;
  uint64_t own_seq_ = 1;
  uint64_t* next_seq_ = &own_seq_;  // the node's shared sequence, when share_call_ids()
  uint64_t next_key_ = 1;
  Symbol m_retries_, m_redirects_, m_timeouts_, m_late_;
};

}  // namespace dsim::kit
