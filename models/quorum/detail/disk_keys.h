// The quorum store's keys on its durable store: "d/<key>" holds a key's versions,
// "h/<owner>/<key>" marks a write kept for another node (a hint), "meta/incarnation"
// counts restarts. Numbers are written in fixed-width lowercase hex.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "sim/core/ids.h"

namespace dsim::quorum::detail {

inline constexpr std::string_view kDataPrefix = "d/";
inline constexpr std::string_view kHintPrefix = "h/";
inline constexpr std::string_view kIncarnationKey = "meta/incarnation";

inline std::string hex16(uint64_t x) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

inline uint64_t parse_hex(std::string_view s) {
  uint64_t x = 0;
  for (char c : s) {
    x <<= 4;
    if (c >= '0' && c <= '9') x |= static_cast<uint64_t>(c - '0');
    if (c >= 'a' && c <= 'f') x |= static_cast<uint64_t>(c - 'a' + 10);
  }
  return x;
}

inline std::string data_key(uint64_t key) {
  return std::string(kDataPrefix) + hex16(key);
}

inline std::string hint_key(NodeId owner, uint64_t key) {
  return std::string(kHintPrefix) + hex16(owner).substr(8) + "/" + hex16(key);
}

}  // namespace dsim::quorum::detail
