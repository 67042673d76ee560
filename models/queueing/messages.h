// Requests and responses between the queueing client and server models.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/core/ids.h"

namespace dsim::queueing {

struct Request {
  static constexpr std::string_view kName = "request";
  uint64_t id;
  Symbol op;  ///< operation type, e.g. "read": selects the server's service time
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const { return "request #" + std::to_string(id); }
};

struct Response {
  static constexpr std::string_view kName = "response";
  uint64_t id;
  bool accepted;  ///< false: rejected because the server's queue was full
  uint32_t bytes;
  uint32_t size_bytes() const { return bytes; }
  std::string describe() const {
    return "response #" + std::to_string(id) + (accepted ? " ok" : " rejected");
  }
};

}  // namespace dsim::queueing
