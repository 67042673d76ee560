// Calls between nodes. A request carries its own way back, as FoundationDB's requests carry
// their ReplyPromise: a call header names the call, the node to answer, how long the
// answer is awaited (the end user's deadline handed down), the end user's operation the call
// serves, and the idempotency key all of the call's attempts share. Any node may answer a call it
// received — at once, later, or after calling others — and a node may hand a call on unchanged
// (forward), so that the next node answers the original caller directly. Contracts (kv, plain
// request/response, ...) are payloads next to the header, so a balancer or a cache can pass on
// calls it does not understand in detail.
//
// The answer to a call carries the call's id only: the caller (RpcClient, rpc_client.h)
// matches it to the attempt it made.
#pragma once

#include <cstdint>
#include <limits>

#include "sim/core/assert.h"
#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim::kit {

/// Bits of a call id that number the calls of one node (2^38: 2.7e11 calls per node); the
/// bits above hold the caller's node id (2^26: 6.7e7 nodes).
inline constexpr int kCallSeqBits = 38;

/// A call id unique in the run: the calling node and a number it never repeats (from 1).
constexpr uint64_t make_call_id(NodeId caller, uint64_t seq) {
  DSIM_ASSERT(seq > 0 && seq < (uint64_t{1} << kCallSeqBits) &&
                  caller < (uint32_t{1} << (64 - kCallSeqBits)),
              "call id out of range: node ", caller, " call ", seq);
  return (static_cast<uint64_t>(caller) << kCallSeqBits) | seq;
}
/// The node that made call `id`.
constexpr NodeId call_caller(uint64_t id) {
  return static_cast<NodeId>(id >> kCallSeqBits);
}

/// No deadline: a budget this large never runs out within a run (292 years).
inline constexpr Duration kNoDeadline = Duration::from_ns(std::numeric_limits<int64_t>::max());

struct CallHeader {
  uint64_t id = 0;      ///< unique in the run (make_call_id); the answer carries it back
  uint64_t origin = 0;  ///< the end user's operation it serves (its OpToken id; 0: none)
  /// How long the caller awaits the answer, from when it sent the request: the attempt's
  /// timeout, or what is left of the call's deadline (its own, or the end user's handed
  /// down) when that is sooner. A duration, not a time, because the nodes' clocks differ
  /// (gRPC's grpc-timeout and Envoy's expected-request-timeout header likewise). The
  /// receiver's deadline is its own now() + budget: past it, nobody waits for the answer.
  /// kNoDeadline: none.
  Duration budget = kNoDeadline;
  /// The same for every attempt of one logical call (so a service can apply a retried
  /// write once), unless the caller asks for a new one per attempt; 0: none.
  uint64_t idempotency_key = 0;
  NodeId reply_to = kNoNode;  ///< the node the answer goes to

  bool has_deadline() const { return budget != kNoDeadline; }
};

/// The header of the same call handed on to another node, unchanged but for the budget,
/// which loses the time it spent here (`held`, on this node's clock).
inline CallHeader forwarded(const CallHeader& call, Duration held) {
  CallHeader out = call;
  if (out.has_deadline()) out.budget = out.budget - held;
  return out;
}

/// An idempotency key unique in the run: the node and a number it never repeats (from 1).
constexpr uint64_t make_idempotency_key(NodeId node, uint64_t seq) {
  return (static_cast<uint64_t>(node) << 40) | seq;
}

/// The header of a new call this node makes (to serve `parent`, a call it received
/// `held` ago): the end user's operation and the deadline's remaining budget carry over.
inline CallHeader child_call(const CallHeader& parent, uint64_t id, NodeId self, Duration held) {
  CallHeader out;
  out.id = id;
  out.origin = parent.origin;
  out.budget = parent.has_deadline() ? parent.budget - held : kNoDeadline;
  out.reply_to = self;
  return out;
}

}  // namespace dsim::kit
