// The messages of locally synchronised rate limits (gate.h, `sync`): a node pushes the
// requests it admitted in a window since its last push, and the store answers with the
// window's total over every node. Checks against a central store (no `sync`) are plain
// requests (models/queueing/messages.h): the request's key is the limiter's key, and the
// answer's `accepted` is the verdict.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dsim::ratelimit {

struct SyncPush {
  static constexpr std::string_view kName = "rate_sync";
  int64_t window;     ///< the fixed window's index (its start / its length)
  uint64_t admitted;  ///< admitted by the sender in that window since its last push
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const {
    return "rate sync window " + std::to_string(window) + " +" + std::to_string(admitted);
  }
};

struct SyncTotal {
  static constexpr std::string_view kName = "rate_sync_total";
  int64_t window;
  uint64_t total;  ///< admitted in the window over every node, as pushed so far
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const {
    return "rate total window " + std::to_string(window) + " = " + std::to_string(total);
  }
};

}  // namespace dsim::ratelimit
