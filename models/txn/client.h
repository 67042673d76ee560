// `txn_client`: the transaction workload. Each transaction reads `ops` distinct keys drawn
// from the kit's key distributions (uniform, Zipf, hotspot, sequential) and writes a share
// of them (a read-modify-write: the value written is unique to the write, so the checkers
// can tell which write each read saw); a share of the transactions only read. It sends each
// to a coordinator of the target group (txn_coordinator), drawn at random for each
// transaction, as a call through the kit's call layer (timeout, retries with the same
// transaction id to the same coordinator: a transaction belongs to its coordinator), and
// records it once in the
// metrics (operation `txn`: ok when committed, rejected when aborted, timeout when its fate
// is unknown) and in the transaction history (history.h) for the serializability checker.
//
// An aborted transaction may be run again (`abort_retries`) as a new transaction with the
// same priority, so under wait-die and wound-wait it ages and is not starved (Rosenkrantz
// et al. 1978).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/rpc_client.h"
#include "models/kit/workload.h"
#include "models/txn/contract.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::txn {

class TxnClient final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "txn_client";
  static constexpr std::string_view kDescription =
      "transaction workload: multi-key read/write transactions over key distributions, sent "
      "to a txn_coordinator group; records the history for the serializability checker";

  struct Config {
    std::string target;
    kit::ArrivalSpec arrivals = kit::ArrivalSpec::starting_at_once();
    kit::KeySpec keys;
    uint64_t first_key = 0;
    int64_t ops = 4;            ///< distinct keys per transaction
    double write_share = 0.5;   ///< of a writing transaction's operations
    double read_only = 0;       ///< share of transactions that only read
    int64_t abort_retries = 0;  ///< runs of an aborted transaction again
    kit::CallPolicy calls;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) { return {c.target}; }

  explicit TxnClient(const Config& config)
      : config_(config),
        arrivals_(config.arrivals, kit::TimerSpace(Timer::kArrivals)),
        keys_(config.keys, config.first_key),
        rpc_(config.calls, kit::TimerSpace(Timer::kCalls), *this) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;

 private:
  enum class Timer : uint8_t { kArrivals, kCalls };
  struct Op {
    OpToken token;
    TxnRequest req;
    uint64_t user = 0;
    int64_t runs = 1;  ///< this transaction's runs so far (abort retries)
  };

  void start_txn(Context& ctx, uint64_t user);
  void run(Context& ctx, uint64_t user, int64_t priority, int64_t runs, std::vector<TxnOp> ops);
  void finish(Context& ctx, uint64_t handle, const TxnResponse* resp, HistoryOutcome outcome,
              Outcome metric, uint32_t requests);
  // kit::CallHost
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;

  const Config& config_;
  kit::Arrivals arrivals_;
  kit::KeyChooser keys_;
  kit::RpcClient rpc_;
  std::map<uint64_t, Op> ops_;  // live transactions by handle
  uint64_t next_handle_ = 1;
  uint64_t next_txn_ = 1;
  int64_t next_value_ = 1;
  Symbol m_txn_, m_committed_, m_aborted_, m_unknown_, m_reruns_, m_mark_committed_;
  Symbol m_abort_cause_[kAbortCauses];
};

}  // namespace dsim::txn
