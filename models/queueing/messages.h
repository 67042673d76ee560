// The plain request/response contract of the queueing models: a request is a call
// (models/kit/call.h) naming an operation type; the answer says whether it was served or
// refused. Sizes on the wire are the configured request and response sizes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "models/kit/call.h"
#include "sim/core/ids.h"

namespace dsim::queueing {

struct Request {
  static constexpr std::string_view kName = "request";
  kit::CallHeader call;
  Symbol op;  ///< operation type, e.g. "read": selects the server's service time
  uint32_t bytes;
  uint64_t key = 0;  ///< the end user's key (hash balancing; the stores a service calls)
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const { return "request #" + std::to_string(call.id); }
};

struct Response {
  static constexpr std::string_view kName = "response";
  uint64_t call;  ///< the id of the call it answers
  bool accepted;  ///< false: rejected because the server's queue was full
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const {
    return "response #" + std::to_string(call) + (accepted ? " ok" : " rejected");
  }
};

/// A Request tied to a copy of itself at another node (tied requests, "The Tail at Scale",
/// Dean and Barroso, CACM 2013): the node whose worker takes it first tells the other, with
/// a Cancel naming the tie, to drop its copy if that still waits. On the wire it is a
/// `request` like any other (the same kind for network.message_delay).
struct TiedRequest {
  static constexpr std::string_view kName = "request";
  Request req;
  uint64_t tie;  ///< the tie's id, unique among its caller's (req.call.reply_to)
  NodeId peer;   ///< the node holding the other copy
  uint32_t size_bytes() const { return req.size_bytes() + 12; }
  std::string describe() const { return req.describe() + " (tied)"; }
};

/// Drop a request still waiting in the queue; work already begun goes on (its answer is
/// then late). Either from its caller, which no longer awaits call `call` (a hedged
/// request's loser, a fan-out's extra answers), or, with `tie` set, from the node that
/// started the other copy of a tied request: drop the copy of tie `tie` from `caller`.
struct Cancel {
  static constexpr std::string_view kName = "cancel";
  uint64_t call = 0;
  uint64_t tie = 0;         ///< non-zero: the tie whose waiting copy is dropped
  NodeId caller = kNoNode;  ///< with `tie`: the caller of the tied request
  uint32_t size_bytes() const { return 32; }
  std::string describe() const {
    return tie ? "cancel tie #" + std::to_string(tie) : "cancel #" + std::to_string(call);
  }
};

}  // namespace dsim::queueing
