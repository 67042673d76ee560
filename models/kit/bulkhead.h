// A bulkhead: a caller's cap on the calls it has out to one dependency at once (Nygard's
// "Release It!"; Resilience4j's semaphore bulkhead: maxConcurrentCalls, maxWaitDuration),
// so a slow dependency can tie up only that many of the caller's workers and the rest keep
// serving requests that do not need it. A call past the cap waits, oldest first, up to
// `max_wait` for a place and then fails at once without being made; with `max_wait` 0 it
// fails at once.
//
//   acquire(call, now)   kGo: the call holds a place; kWait: it waits; kFull: refused
//   release(call)        a call holding a place ended: the place goes to the oldest waiting
//                        call, which the caller then makes
//   forget(call)         a waiting call is no longer needed
//   expired(now)         the waiting calls whose wait ran out: the caller fails them
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sim/core/params.h"
#include "sim/core/time.h"

namespace dsim::kit {

struct BulkheadSpec {
  uint32_t max_calls = 0;                ///< calls out at once; 0: no bulkhead
  Duration max_wait = Duration::zero();  ///< how long a call past the cap waits for a place
  bool enabled() const { return max_calls > 0; }
};

/// Reads the optional `bulkhead: {max_calls, max_wait}` map into `spec` (absent: none).
void read_bulkhead(ParamReader& r, BulkheadSpec& spec);

class Bulkhead {
 public:
  enum class Admit : uint8_t { kGo, kWait, kFull };

  /// `spec` outlives the bulkhead; without one (or disabled), every call goes.
  explicit Bulkhead(const BulkheadSpec& spec) : spec_(&spec) {}
  Bulkhead() = default;

  /// Call `call` (the caller's id for it) asks for a place at `now`. With `may_wait`
  /// false, a call past the cap is refused rather than queued (a hedge, sent only when
  /// there is room).
  Admit acquire(uint64_t call, SimTime now, bool may_wait = true);
  /// `call` ended. If it held a place, the place goes to the oldest waiting call, returned
  /// (it now holds the place); a call that held none (refused, forgotten) changes nothing.
  std::optional<uint64_t> release(uint64_t call);
  /// Waiting call `call` is no longer needed: true if it was waiting.
  bool forget(uint64_t call);
  /// The waiting calls whose wait has run out by `now`, oldest first (no longer waiting).
  std::vector<uint64_t> expired(SimTime now);
  /// When the oldest waiting call's wait runs out; none when no call waits.
  std::optional<SimTime> next_expiry() const;

  size_t in_use() const { return holders_.size(); }
  size_t waiting() const { return waiting_.size(); }

 private:
  bool enabled() const { return spec_ && spec_->enabled(); }

  const BulkheadSpec* spec_ = nullptr;
  std::unordered_set<uint64_t> holders_;              // lookups only: never iterated
  std::deque<std::pair<uint64_t, SimTime>> waiting_;  // call, when its wait runs out
};

}  // namespace dsim::kit
