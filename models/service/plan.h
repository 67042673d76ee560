// What a `service` does with a request after its own work: the calls it makes to other
// groups before it answers, as the scenario writes them under `calls:`. Steps run in
// sequence; a step is one call or several in parallel (`parallel:`); a call goes to one
// node of its group, or fans out to `fanout` distinct nodes and waits for `wait` answers
// (scatter-gather); it runs with probability `p` (a cache miss goes on to the database
// with p = the miss ratio) and for the operations `ops` names. Each call is an edge of the
// call graph with its own call policy (timeout, retries, retry budget, deadline, balancer)
// and its own answer to a failure (`on_error`).
//
// A call to a key-value store (kv_store, quorum, raft, primary_backup) speaks the stores'
// contract (models/kv/contract.h) instead of plain requests: it reads or writes the end
// user's key (offset by the edge's `first_key`), as a store's client would.
//
// Cache-aside, done by the tier as applications do it, with a look-aside cache (a `cache`
// group without an origin): a get to the cache; a step `when: miss` that runs only when
// that get did not hit (missed, refused or failed) and reads the database; a call with
// `kv_op: fill` that puts what the request last read from (or wrote to) a store into the
// cache; and on the write path a put to the database followed by `kv_op: delete` to the
// cache (or a fill: update instead of invalidate).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/kit/bulkhead.h"
#include "models/kit/circuit_breaker.h"
#include "models/kit/rpc_client.h"
#include "models/kv/contract.h"
#include "sim/core/distribution.h"
#include "sim/core/params.h"

namespace dsim::service {

/// What a failed call makes of the request.
enum class OnError : uint8_t {
  kFail,      ///< the request fails: this tier answers it as refused
  kIgnore,    ///< the step goes on as if it had succeeded (an optional enrichment)
  kFallback,  ///< the request ends at once with a fallback answer (degraded, but an answer)
};

/// A call's handle: the visit it is made for, then its sub-call (of a fan-out) in these
/// low bits.
inline constexpr int kSubCallBits = 16;
/// Calls (and fan-out) per service at most: a call's sub-calls are numbered in 16 bits.
inline constexpr uint32_t kMaxFanout = (1u << kSubCallBits) - 1;
/// Edges (calls written under `calls:`) per service at most: each has a timer kind.
inline constexpr size_t kMaxEdges = 64;

/// A call to a look-aside cache that is not an operation of the key-value history.
enum class Aside : uint8_t {
  kNone,
  kFill,    ///< put what the request last read from (or wrote to) a store into the cache
  kDelete,  ///< delete the cache's copy of the key
};

/// What the group called answers.
enum class Contract : uint8_t {
  kPlain,  ///< plain requests (models/queueing/messages.h): server, service, load_balancer
  kKv,     ///< the key-value contract (models/kv/contract.h): the stores
};

/// One call: an edge of the call graph.
struct Call {
  std::string to;       ///< the group called
  size_t edge = 0;      ///< its index among the service's calls (its RpcClient)
  double p = 1;         ///< probability the call is made
  uint32_t fanout = 1;  ///< distinct nodes (or shards) called; 0: every one of the group
  uint32_t wait = 0;    ///< answers (of nodes, or shards) needed; 0: every one called
  /// The group's nodes are shards of this many replicas each (shard s: nodes s x replicas
  /// .. s x replicas + replicas - 1): a call goes to one replica of each shard it fans out
  /// to, and a hedge to another replica of the same shard. 1: every node is its own shard.
  uint32_t replicas = 1;
  OnError on_error = OnError::kFail;
  std::string op;  ///< the operation sent; "": the request's own
  uint64_t request_bytes = 512;
  kit::CallPolicy policy;
  kit::CircuitBreakerSpec breaker;  ///< each node's breaker on this call (none by default)
  kit::BulkheadSpec bulkhead;       ///< each node's cap on its calls out on this edge
  /// Hedged requests ("The Tail at Scale"): a call to one node not answered after this
  /// long is sent again to another (up to `hedges` times); the first answer wins.
  std::optional<Duration> hedge_after;
  /// ... or after this percentile of the edge's recent latencies (0: not by percentile).
  double hedge_percentile = 0;
  uint32_t hedges = 1;
  /// Calls no longer needed (a hedge's losers, a fan-out's extras) are cancelled at the
  /// node holding them (a Cancel message), which drops them if they still wait.
  bool cancel = true;
  bool hedged() const { return hedge_after || hedge_percentile > 0; }
  /// Tied requests ("The Tail at Scale"): the call goes to two nodes, the second copy
  /// `tie_delay` after the first, each naming the other; the node that begins one first
  /// has the other dropped if it still waits. The first answer wins.
  bool tied = false;
  Duration tie_delay = ms(1);

  Contract contract = Contract::kPlain;
  /// kKv: the operation on the store, the key offset and the size of a written value.
  kv::KvOpKind kv_op = kv::KvOpKind::kGet;
  Aside aside = Aside::kNone;  ///< fill or delete (kv_op is then unused)
  bool to_cache = false;       ///< the group called runs `cache`
  uint64_t first_key = 0;
  Distribution value_size = Distribution::constant(100).with_dim(Distribution::Dim::kBytes);
};

struct Step {
  std::vector<std::string> ops;  ///< the operations it applies to; empty: every one
  std::vector<Call> calls;       ///< one, or several in parallel
  /// Runs only when the request's last get from a cache did not hit (cache-aside's miss).
  bool when_miss = false;
};

struct CallPlan {
  std::vector<Step> steps;
  /// Every call, by edge index (pointers into steps).
  std::vector<const Call*> edges() const;
  /// The groups called, once each, in the order first called.
  std::vector<std::string> callees() const;
  /// The key-value stores called, once each, in the order first called: a store's index
  /// here is the service's session with it.
  std::vector<std::string> stores() const;
};

/// The models whose nodes answer the plain request contract (models/queueing/messages.h).
bool speaks_plain_requests(std::string_view model);
/// The models whose nodes answer the key-value contract (models/kv/contract.h).
bool speaks_kv(std::string_view model);

/// Reads `calls:` (a list of steps) into a plan; errors go to the reader.
CallPlan read_call_plan(ParamReader& r);

}  // namespace dsim::service
