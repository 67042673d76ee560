// `txn_acceptor`: an acceptor of Paxos Commit (Gray and Lamport, "Consensus on Transaction
// Commit", TODS 2006): 2F + 1 of them keep, for every participant of every transaction,
// the ballot they promised and the value they accepted ("prepared" or "aborted"), forced to
// their disk before they answer, so that the transaction's outcome survives the crash of
// its coordinator and of any F acceptors. They answer phase 2a with phase 2b to the leader
// named in the request, and phase 1a with phase 1b (paxos_messages.h). Its disk commits in
// groups: while a sync is in flight, the records written meanwhile wait for the next one,
// which covers them all (an acceptor takes a forced write per instance of every
// transaction, more than one sync at a time can keep up with).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/txn/paxos_messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::txn {

class TxnAcceptor final : public Model {
 public:
  static constexpr std::string_view kName = "txn_acceptor";
  static constexpr std::string_view kDescription =
      "an acceptor of Paxos Commit: per participant of each transaction, the promised ballot "
      "and the accepted value, forced to disk before each answer";

  struct Config {
    /// Transactions whose instances are kept (the oldest are forgotten first).
    int64_t remembered = 100'000;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);

  explicit TxnAcceptor(const Config& config) : config_(config) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context&, TimerId, TimerTag) override {}
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;

 private:
  struct Instance {
    uint64_t promised = 0;  ///< the highest ballot promised (phase 1) or accepted
    bool any = false;       ///< a value was accepted
    uint64_t ballot = 0;    ///< of the accepted value
    bool prepared = false;
  };
  using Key = std::pair<uint64_t, NodeId>;  // transaction, participant
  // An answer waiting for the sync that makes what it says durable.
  struct Pending {
    NodeId to = kNoNode;
    Message msg;
  };
  void flush(Context& ctx);  // starts a sync covering every answer waiting

  Instance& instance(Context& ctx, uint64_t txn, NodeId participant);
  void store(Context& ctx, uint64_t txn, NodeId participant, const Instance& i);
  void answer_after_sync(Context& ctx, NodeId to, Message msg);

  const Config& config_;
  std::map<Key, Instance> instances_;
  std::deque<uint64_t> txn_order_;  // transactions in the order first seen
  std::map<uint64_t, uint32_t> txn_instances_;
  std::vector<Pending> waiting_;  // written, for the next sync
  std::vector<Pending> syncing_;  // written, covered by the sync in flight
  bool sync_in_flight_ = false;
  Symbol m_accepted_, m_refused_, m_promised_, m_forced_writes_, m_syncs_, m_messages_;
};

}  // namespace dsim::txn
