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
// Every attempt has a timeout; a failed attempt is retried by the retry policy (none,
// fixed, or exponential backoff with jitter and a cap: the seeds' pattern, see
// retry_delay()) under the same idempotency key, so a store can recognise a retried
// write. A "not leader, try X" answer is followed at once (a redirect is not a retry).
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
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/kv/contract.h"
#include "models/kv/history.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kv {

/// Which keys operations touch: `uniform(n)`, `zipf(n, s=0.99)`,
/// `hotspot(n, keys=10%, traffic=90%)` (that share of the traffic on that share of the
/// keys), or `sequential(n)` (0, 1, 2, ... n-1, 0, ... per client node).
struct KeySpec {
  enum class Kind { kUniform, kZipf, kHotspot, kSequential };
  Kind kind = Kind::kUniform;
  uint64_t n = 1000;
  double s = 0.99;
  double hot_keys = 0.1;
  double hot_traffic = 0.9;

  std::string describe() const;
};
/// Parses a KeySpec; nullopt and *error on bad input.
std::optional<KeySpec> parse_key_spec(const std::string& text, std::string* error);

class KvClient final : public Model {
 public:
  static constexpr std::string_view kName = "kv_client";
  static constexpr std::string_view kDescription =
      "key-value workload over the kv contract: get/put/cas/append mix, key distributions, "
      "sessions, timeouts, retries with backoff and idempotency keys, redirects, final "
      "read-back; records the operation history for the consistency checkers";

  enum class Load { kOpen, kClosed };
  enum class Arrival { kPoisson, kFixed };
  enum class Retry { kNone, kFixed, kExponential };
  enum class Jitter { kNone, kProportional, kAdditive };
  enum class Target { kRandom, kRoundRobin, kFixed, kSticky, kKeyOwner };
  /// What the application reads when a get finds siblings.
  enum class Merge { kLast, kFirst, kRandom, kUnion };

  struct Config {
    std::string target;
    Load load = Load::kOpen;
    Arrival arrival = Arrival::kPoisson;
    double rate = 100;   ///< operations per second per client node (open loop)
    int64_t users = 10;  ///< per client node (closed loop)
    Distribution think_time = Distribution::exponential(1e9).with_dim(Distribution::Dim::kTime);
    /// Weights of get, put, cas, append (in that order).
    std::vector<std::pair<std::string, double>> mix = {{"get", 0.5}, {"put", 0.5}};
    KeySpec keys;
    uint64_t first_key = 0;
    Distribution value_size = Distribution::constant(100).with_dim(Distribution::Dim::kBytes);
    int64_t sessions = 1;  ///< per client node (open loop)
    Duration timeout = seconds(1);
    Retry retry = Retry::kNone;
    int64_t max_attempts = 5;
    Duration retry_base = seconds(1);
    Duration retry_cap = seconds(60);
    Jitter jitter = Jitter::kProportional;
    double jitter_fraction = 0.25;
    Duration jitter_max = seconds(1);
    bool idempotency_keys = true;
    Target target_policy = Target::kRandom;
    int64_t target_node = 0;
    int64_t max_redirects = 3;
    Merge merge = Merge::kLast;
    bool causal_context = false;
    Duration start = Duration::zero();
    std::optional<Duration> stop;
    bool read_back = false;
    Duration read_back_delay = seconds(2);
    int64_t read_back_attempts = 10;
    int64_t read_back_concurrency = 4;
  };
  static Config parse(ParamReader& r);

  explicit KvClient(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

  /// The delay before retry number `retry` (1 = the first retry) under `c`'s policy,
  /// drawing the jitter from `rng`.
  static Duration retry_delay(const Config& c, uint32_t retry, Rng& rng);

 private:
  enum TagKind : uint64_t {
    kArrival = 0,
    kTimeout = 1,
    kThink = 2,
    kBackoff = 3,
    kStop = 4,
    kReadBack = 5,
  };
  static constexpr int kTagShift = 60;
  static TimerTag tag(TagKind k, uint64_t v) { return (static_cast<uint64_t>(k) << kTagShift) | v; }

  struct Op {
    OpToken token;
    KvRequest req;  // as sent; req.id is the current attempt's
    uint64_t user = 0;
    uint32_t requests = 0;   // requests sent, redirects included
    uint32_t tries = 0;      // attempts counted against max_attempts
    uint32_t redirects = 0;  // in the current attempt
    uint32_t max_tries = 1;
    NodeId target = kNoNode;
    TimerId timer;
    bool unknown = false;  // an attempt may have been applied
    bool final_read = false;
  };
  // What a session last knew of a key (for the expected value of a compare-and-set).
  struct Known {
    bool absent = true;
    int64_t value = 0;
  };

  void schedule_arrival(Context& ctx);
  void start_op(Context& ctx, uint64_t user, bool final_read, uint64_t final_key = 0);
  uint64_t pick_key(Context& ctx);
  NodeId pick_target(Context& ctx, const Op& op, bool retry);
  void send_attempt(Context& ctx, uint64_t op_id);
  void attempt_failed(Context& ctx, uint64_t op_id, bool maybe_applied);
  void finish(Context& ctx, uint64_t op_id, HistoryOutcome outcome, Outcome metric,
              const KvValue* read = nullptr);
  void learn(const Op& op, const KvValue* read, bool cas_mismatch);
  void next_read_back(Context& ctx);
  /// What a get read: the response's value, or the merge of its siblings.
  KvValue merged_read(Context& ctx, const KvResponse& resp);

  const Config& config_;
  std::vector<NodeId> targets_;
  std::vector<double> mix_cumulative_;  // over get, put, cas, append
  std::vector<KvOpKind> mix_kinds_;
  Distribution zipf_;
  std::map<uint64_t, Op> ops_;                            // live operations by op id
  std::unordered_map<uint64_t, uint64_t> request_op_;     // request id -> op id; lookups only
  std::map<std::pair<uint32_t, uint64_t>, Known> known_;  // (session, key)
  std::map<uint32_t, uint64_t> session_tokens_;           // session -> largest token received
  std::set<uint64_t> written_keys_;
  // Causal contexts by (session, key), from stores that hand them out.
  std::map<std::pair<uint32_t, uint64_t>, std::vector<uint64_t>> contexts_;
  std::map<uint64_t, NodeId> owners_;  // key_owner: the node that last served each key
  std::vector<uint64_t> read_back_keys_;
  size_t read_back_next_ = 0;
  uint64_t next_op_ = 1;
  uint64_t next_request_ = 1;
  uint64_t next_write_ = 1;
  uint64_t next_idempotency_ = 1;
  uint64_t next_session_ = 0;
  uint64_t next_sequential_ = 0;
  uint64_t next_target_ = 0;
  NodeId sticky_ = kNoNode;
  bool stopped_ = false;
  TimerId arrival_timer_;
  Symbol op_symbols_[4];
  Symbol m_read_back_, m_retries_, m_redirects_, m_timeouts_, m_late_, m_cas_failed_,
      m_values_exhausted_, m_sibling_reads_, m_siblings_read_;
};

}  // namespace dsim::kv
