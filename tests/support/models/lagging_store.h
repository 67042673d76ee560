// `kv_lagging`: a deliberately lagging replicated store, for the checkers' tests. It is
// test-only: built into the tests alone (tests/support/models), registered by the tests
// that use it, so no scenario of dsim can name it.
//
// Node 0 of its group is the primary; a write sent to another node is answered "not
// leader, try node 0". The primary applies a write (KvStateMachine: idempotency keys
// honoured), answers, and sends the key's new value to every other node, which applies
// it `lag` after it arrives (newer versions only). Every node serves reads from its own
// copy, so a read at a replica misses the writes still in flight or waiting out their lag:
// stale reads with a known shape (see tests/validation/test_kv_consistency.cpp).
#pragma once

#include <map>
#include <string_view>
#include <utility>

#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "models/kv/state_machine.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kv {

/// The primary's update of one key, to a replica.
struct KvReplicate {
  static constexpr std::string_view kName = "kv_replicate";
  uint64_t key = 0;
  uint64_t version = 0;  ///< per key, increasing with every write the primary applies
  KvValue value;
  uint32_t size_bytes() const { return kKvHeaderBytes + value.bytes(); }
};

class KvLaggingStore final : public Model {
 public:
  static constexpr std::string_view kName = "kv_lagging";
  static constexpr std::string_view kDescription =
      "TEST-ONLY (registered by the tests, not runnable from scenarios): primary + lagging "
      "replicas; writes go to node 0, replicas apply updates `lag` after they arrive and "
      "serve stale reads";

  struct Config {
    Distribution lag = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
    KvStateMachine::Config state;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config&, MetricDecls& d) { d.counter("duplicate_applications"); }

  explicit KvLaggingStore(const Config& config) : config_(config), sm_(config.state) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kApply };  // value: the update waiting out its lag
  struct Copy {
    uint64_t version = 0;
    KvValue value;
  };

  const Config& config_;
  KvStateMachine sm_;                        // the primary's
  std::map<uint64_t, uint64_t> versions_;    // the primary's version per key
  std::map<uint64_t, Copy> copies_;          // a replica's
  std::map<uint64_t, KvReplicate> waiting_;  // updates waiting out their lag, by number
  uint64_t next_wait_ = 0;
  std::vector<NodeId> group_;
  bool primary_ = false;
  Symbol m_dups_;
};

}  // namespace dsim::kv
