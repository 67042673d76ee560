// The key-value state machine of the contract (contract.h), for any storage model to
// apply requests to: the semantics of get/put/cas/append in one place, and an
// idempotency table so a retried write is applied once.
//
// Idempotency follows the idempotency-key pattern of the Modern System Design - Interview
// Prep Guide: the store remembers the result of each write by its idempotency key for a TTL
// (longer than the retry window; the guide's is 24 hours) and answers a retry with the remembered
// result instead of applying it again; failures are not remembered. The table is also bounded in
// entries (oldest forgotten first) so long runs keep bounded memory.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "models/kv/contract.h"
#include "sim/core/params.h"
#include "sim/core/time.h"

namespace dsim::kv {

class KvStateMachine {
 public:
  struct Config {
    bool dedup = true;  ///< answer retried writes from the idempotency table
    Duration idempotency_ttl = hours(24);
    uint64_t idempotency_capacity = 1'000'000;  ///< entries; oldest forgotten first
  };

  KvStateMachine() = default;
  explicit KvStateMachine(Config config) : config_(config) {}

  /// Applies `req` at `now` (any clock: only differences matter, for the TTL) and returns
  /// the response. A retried write whose key is remembered is not applied again when
  /// dedup is on; when it is off it is applied again and counted as a duplicate.
  KvResponse apply(const KvRequest& req, SimTime now);

  /// The value of `key` (empty when it has none).
  const KvValue& get(uint64_t key) const;
  /// Every key with a value, in key order.
  const std::map<uint64_t, KvValue>& data() const { return data_; }
  /// Writes applied although a write with the same idempotency key had been applied
  /// before (within the TTL and capacity): duplicate applications of retried writes.
  uint64_t duplicate_applications() const { return duplicates_; }
  /// Retried writes answered from the idempotency table instead of being applied again.
  uint64_t deduplicated() const { return deduplicated_; }
  uint64_t applied_writes() const { return applied_writes_; }

  /// The whole state as bytes — values, the idempotency table (with its expiry order, so
  /// a restored machine forgets keys exactly when the original would) and the counters —
  /// for snapshots (Raft 7). decode() restores it; the config is not part of it.
  std::string encode() const;
  /// Replaces the state with one encode() produced; false (state unchanged) when `bytes`
  /// are malformed.
  bool decode(std::string_view bytes);
  /// A 64-bit digest of the values (not the idempotency table): equal states have equal
  /// digests, for comparing replicas.
  uint64_t digest() const;

 private:
  struct Remembered {
    KvStatus status;
    SimTime expires;
  };
  void forget_expired(SimTime now);
  void remember(uint64_t idempotency_key, KvStatus status, SimTime now);

  Config config_;
  std::map<uint64_t, KvValue> data_;
  std::unordered_map<uint64_t, Remembered> applied_;  // looked up by key only, never iterated
  std::deque<std::pair<SimTime, uint64_t>> expiry_;   // (expires, idempotency key), FIFO
  uint64_t duplicates_ = 0;
  uint64_t deduplicated_ = 0;
  uint64_t applied_writes_ = 0;
};

/// Reads `dedup`, `idempotency_ttl` and `idempotency_capacity` into `c`: the same keys for
/// every store model built on KvStateMachine.
void read_state_machine_params(ParamReader& r, KvStateMachine::Config& c);

}  // namespace dsim::kv
