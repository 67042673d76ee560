// `kv_store`: the simplest store that speaks the key-value contract — one node holding
// every key, applying each request after a service time. It is linearizable by
// construction (each request takes effect at one instant between its arrival and its
// answer), so the checkers must find no anomaly in its histories; the tests rely on it.
//
// In a group of several nodes, `serve: first` makes node 0 the store and every other
// node answer "not leader, try node 0" (the redirect path of the contract, as a leader-
// based store would); `serve: every` makes each node an independent store, which is NOT
// one consistent service (clients spread over them see different values), useful to see
// what the checkers report for such a system.
#pragma once

#include <map>
#include <string_view>

#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "models/kv/state_machine.h"
#include "sim/core/distribution.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::kv {

class KvStore final : public Model {
 public:
  static constexpr std::string_view kName = "kv_store";
  static constexpr std::string_view kDescription =
      "single-node key-value store speaking the kv contract (get/put/cas/append), with "
      "idempotency keys; linearizable by construction";

  enum class Serve { kFirst, kEvery };

  struct Config {
    Distribution service = Distribution::constant(0).with_dim(Distribution::Dim::kTime);
    Serve serve = Serve::kFirst;
    KvStateMachine::Config state;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);

  explicit KvStore(const Config& config) : config_(config), sm_(config.state) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

  const KvStateMachine& state() const { return sm_; }

 private:
  enum class Timer : uint8_t { kService };  // value: the job
  struct Job {
    NodeId client;
    KvRequest req;
  };
  void apply(Context& ctx, NodeId client, const KvRequest& req);

  const Config& config_;
  KvStateMachine sm_;
  NodeId serving_ = kNoNode;            // the node that serves (itself, or node 0 of the group)
  std::map<uint64_t, Job> in_service_;  // by job number
  uint64_t next_job_ = 0;
  Symbol m_served_, m_dups_, m_dedup_, m_redirected_;
};

}  // namespace dsim::kv
