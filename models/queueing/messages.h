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

/// The caller no longer awaits call `call` (a hedged request's loser, a fan-out's extra
/// answers): a node still holding it in its queue drops it unworked. Work already begun
/// goes on (its answer is then late).
struct Cancel {
  static constexpr std::string_view kName = "cancel";
  uint64_t call;
  uint32_t size_bytes() const { return 32; }
  std::string describe() const { return "cancel #" + std::to_string(call); }
};

}  // namespace dsim::queueing
