// The eviction policies by name, and make_eviction(), which builds one.
#include <array>

#include "models/cache/eviction/policy.h"
#include "models/cache/eviction/structures.h"

namespace dsim::cache {

namespace {
constexpr std::array<std::pair<std::string_view, EvictionKind>, 10> kNames{{
    {"lru", EvictionKind::kLru},
    {"lfu", EvictionKind::kLfu},
    {"fifo", EvictionKind::kFifo},
    {"random", EvictionKind::kRandom},
    {"ttl", EvictionKind::kTtl},
    {"clock", EvictionKind::kClock},
    {"arc", EvictionKind::kArc},
    {"2q", EvictionKind::kTwoQ},
    {"w_tinylfu", EvictionKind::kWTinyLfu},
    {"s3fifo", EvictionKind::kS3Fifo},
}};
}  // namespace

std::span<const std::pair<std::string_view, EvictionKind>> eviction_names() {
  return kNames;
}

std::string_view eviction_name(EvictionKind kind) {
  for (const auto& [name, k] : kNames)
    if (k == kind) return name;
  DSIM_ASSERT(false, "unknown eviction kind ", static_cast<int>(kind));
  return {};
}

std::optional<EvictionKind> eviction_from_name(std::string_view name) {
  for (const auto& [n, k] : kNames)
    if (n == name) return k;
  return std::nullopt;
}

std::unique_ptr<EvictionPolicy> make_eviction(EvictionKind kind, const EvictionOptions& options) {
  using namespace detail;
  switch (kind) {
    case EvictionKind::kLru:
      return make_lru(options, true);
    case EvictionKind::kFifo:
      return make_lru(options, false);
    case EvictionKind::kLfu:
      return make_lfu(options);
    case EvictionKind::kRandom:
      return make_random(options);
    case EvictionKind::kTtl:
      return make_ttl(options);
    case EvictionKind::kClock:
      return make_clock(options);
    case EvictionKind::kArc:
      return make_arc(options);
    case EvictionKind::kTwoQ:
      return make_two_q(options);
    case EvictionKind::kWTinyLfu:
      return make_w_tinylfu(options);
    case EvictionKind::kS3Fifo:
      return make_s3fifo(options);
  }
  DSIM_ASSERT(false, "unknown eviction kind ", static_cast<int>(kind));
  return nullptr;
}

}  // namespace dsim::cache
