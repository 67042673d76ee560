// `txn_coordinator`: the transaction manager. A client's transaction (contract.h) arrives
// as a call; the coordinator splits its operations over the participants by hash slot (the
// key's Redis Cluster slot, in even ranges over the participant group: kit/hash_slots.h),
// has each execute its part (lock and read), then runs atomic commitment with them
// (messages.h) and answers the client once the outcome is decided and, for a commit,
// durable.
//
// Two-phase commit (Gray 1978; Bernstein, Hadzilacos and Goodman 1987, 7.3) in R*'s three
// logging variants (Mohan, Lindsay and Obermarck, TODS 1986):
//   presumed nothing  decisions forced, commits and aborts acknowledged, then an end
//                     record (not forced);
//   presumed abort    only commits forced and acknowledged: an abort is not logged, and a
//                     coordinator that knows nothing of a transaction answers abort;
//   presumed commit   a forced collecting record (the participants) before the prepares;
//                     the commit forced but not acknowledged, aborts forced and
//                     acknowledged; knowing nothing means commit.
// Read-only participants vote read-only and drop out of the second phase; a transaction
// every participant only read ends at the votes. A transaction not executed and voted on
// within `vote_timeout` aborts; decisions not acknowledged are sent again every `resend`.
//
// Three-phase commit (Skeen 1981): after the yes votes a pre-commit round, whose acks the
// coordinator awaits for `resend` before committing anyway (Skeen's timeout rule for a
// coordinator in the pre-committed state); the participants' termination rule is theirs
// (participant.h).
//
// Paxos Commit (Gray and Lamport, "Consensus on Transaction Commit", TODS 2006): the
// coordinator is the leader of one Paxos instance per participant, over a group of 2F + 1
// `txn_acceptor`s. After the execution it sends the prepares; each participant forces its
// prepare record and proposes "prepared" at ballot 0 to the acceptors, which force what they
// accepted and tell the leader; an instance has chosen when F + 1 acceptors accepted at one
// ballot. Every instance prepared: commit; one aborted (or a participant's no): abort. The
// leader logs nothing: the acceptors hold the outcome. A participant in doubt asks the
// coordinators in turn; one that does not know the transaction leads its recovery: phase 1
// at a ballot of its own for every instance, then phase 2 with the value accepted at the
// highest ballot reported, or "aborted" where none was. Read-only participants propose
// "prepared" too (without a prepare record) and leave, and the decision goes to the
// participants that wrote. Paxos Commit with F = 0 is 2PC with the acceptor as the
// coordinator's log.
//
// With `log` (2PC, presumed abort) the coordinators keep their log in a replicated
// key-value group (a `raft` group) instead of their own disks, so that none of them is a
// single point of failure (coordinator_log.cpp): the commit point is a compare-and-set of
// the transaction's record from absent to "committed". A participant in doubt asks the
// coordinators in turn; one that does not know the transaction sets the record from
// absent to "aborted", or reads what is there, and answers with that. The original
// coordinator's compare-and-set then fails and it reads the outcome another decided: one
// linearizable register decides every transaction, whichever coordinator survives.
//
// A restart reads the coordinator's log: commits (and, where forced, aborts) not yet
// acknowledged are sent again until they are; under presumed commit a collecting record
// with no decision becomes an abort. The clients of transactions the crash interrupted
// hear nothing and time out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/rpc_client.h"
#include "models/kit/timer.h"
#include "models/kv/contract.h"
#include "models/txn/messages.h"
#include "models/txn/outcomes.h"
#include "models/txn/paxos_messages.h"
#include "sim/core/model.h"
#include "sim/core/params.h"

namespace dsim::txn {

class TxnCoordinator final : public Model, private kit::CallHost {
 public:
  static constexpr std::string_view kName = "txn_coordinator";
  static constexpr std::string_view kDescription =
      "the transaction manager of 2PC (presumed nothing, abort or commit; read-only "
      "participants) or 3PC over a group of txn_participant shards, with forced log writes "
      "and recovery";

  struct Config {
    std::string participants;
    std::string acceptors;  ///< Paxos Commit: the txn_acceptor group (2F + 1 of them)
    int64_t faults = 1;     ///< Paxos Commit: F, the acceptors that may fail
    Protocol protocol = Protocol::kTwoPhase;
    Presumption presumption = Presumption::kAbort;
    bool read_only_vote = true;
    bool cooperative = false;
    Duration vote_timeout = seconds(1);
    Duration resend = ms(500);
    int64_t remembered = 100'000;
    std::string log;  ///< 2PC: the replicated key-value group holding the outcomes
    kit::CallPolicy log_calls;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  static std::vector<std::string> callees(const Config& c) {
    std::vector<std::string> out{c.participants};
    if (!c.acceptors.empty()) out.push_back(c.acceptors);
    if (!c.log.empty()) out.push_back(c.log);
    return out;
  }

  explicit TxnCoordinator(const Config& config)
      : config_(config),
        outcomes_(static_cast<size_t>(config.remembered)),
        rpc_(config.log_calls, kit::TimerSpace(Timer::kCalls), *this) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;

 private:
  enum class Timer : uint8_t { kVotes, kResend, kCalls, kSettle };
  enum class Sync : uint8_t { kCollecting, kDecided };
  enum class Phase : uint8_t {
    kExecuting,
    kCollecting,
    kVoting,
    kPreCommitting,
    kDeciding,
    kAcking,
    kRecovering  ///< Paxos Commit: leading the recovery of another coordinator's transaction
  };
  enum class Heard : uint8_t { kNothing, kYes, kNo, kReadOnly, kAcked };

  struct Part {
    NodeId node = kNoNode;
    std::vector<uint32_t> ops;  ///< indexes into the transaction's operations
    Heard heard = Heard::kNothing;
    bool executed = false;
    bool pre_commit_acked = false;
    bool writes = false;  ///< some of its operations write
    // Paxos Commit: its instance's phase 2b (accepted ballot and value per acceptor index),
    // phase 1b, and the value chosen.
    std::vector<uint64_t> accepted_ballot;
    std::vector<int8_t> accepted;  ///< -1: nothing heard, 0: aborted, 1: prepared
    int8_t chosen = -1;
    bool any_1b = false;
    uint64_t best_ballot = 0;
    bool best_prepared = false;
  };
  struct Txn {
    uint64_t id = 0;
    uint64_t local = 0;
    kit::CallHeader call;  ///< the client's latest attempt (none after a restart)
    int64_t priority = 0;
    std::vector<TxnOp> ops;
    std::vector<int64_t> reads;
    std::vector<Part> parts;  ///< by participant node id
    Phase phase = Phase::kExecuting;
    bool commit = false;
    AbortCause cause = AbortCause::kNone;
    SimTime began;  ///< monotonic
    TimerId timer;
    uint64_t ballot = 0;         ///< Paxos Commit recovery: the ballot it leads
    std::vector<bool> promised;  ///< ... by acceptor index: promised it
    bool phase2 = false;         ///< ... phase 2 has started
    uint32_t delays = 0;         ///< the most message delays heard (Prepare::delays)
  };

  void on_request(Context& ctx, const TxnRequest& req);
  void on_executed(Context& ctx, NodeId from, const Executed& e);
  void start_commit(Context& ctx, Txn& t);
  void send_prepares(Context& ctx, Txn& t);
  void on_vote(Context& ctx, NodeId from, const Vote& v);
  void all_voted(Context& ctx, Txn& t);
  void decide(Context& ctx, Txn& t, bool commit, AbortCause cause);
  void send_decision(Context& ctx, Txn& t);
  void on_ack(Context& ctx, NodeId from, uint64_t txn);
  void on_pre_commit_ack(Context& ctx, NodeId from, const PreCommitAck& a);
  void on_query(Context& ctx, NodeId from, const Query& q);
  // Paxos Commit (coordinator_paxos.cpp)
  void on_phase2b(Context& ctx, NodeId from, const Phase2b& m);
  void on_phase1b(Context& ctx, NodeId from, const Phase1b& m);
  void learn(Context& ctx, Txn& t);
  void lead_recovery(Context& ctx, const Query& q);
  void start_phase1(Context& ctx, Txn& t);
  size_t acceptor_index(NodeId node) const;
  bool paxos() const { return config_.protocol == Protocol::kPaxosCommit; }
  // The replicated log (coordinator_log.cpp)
  /// Has the log hold an outcome for `txn`: `commit` if it holds none yet; then the
  /// outcome takes effect (for `txn` if this node runs it) and goes to `asker`, if any.
  void settle(Context& ctx, uint64_t txn, bool commit, NodeId asker);
  static void read_log(ParamReader& r, Config& c);
  void on_log_answer(Context& ctx, NodeId from, const kv::KvResponse& r);
  void settled(Context& ctx, uint64_t handle, bool commit);
  void begin_settle(Context& ctx, uint64_t handle);
  void send_request(Context& ctx, uint64_t handle, const kit::CallHeader& header, NodeId to,
                    uint32_t request) override;
  void call_failed(Context& ctx, uint64_t handle, const kit::CallEnd& end) override;
  void take_effect(Context& ctx, Txn& t);
  bool logged() const { return !config_.log.empty(); }
  void finish(Context& ctx, Txn& t);
  void answer(Context& ctx, const Txn& t);
  void recover(Context& ctx);
  bool acks_wanted(bool commit) const;
  bool decision_forced(bool commit) const;
  void arm(Context& ctx, Txn& t, Timer kind, Duration after);
  void send(Context& ctx, NodeId to, Message msg);
  Part* part_of(Txn& t, NodeId node);
  Txn* find(uint64_t txn);
  Txn& add(uint64_t txn);
  void erase(Txn& t);

  const Config& config_;
  std::vector<NodeId> participants_;
  std::vector<NodeId> acceptors_;
  std::vector<NodeId> coordinators_;
  std::map<uint64_t, Txn> txns_;
  std::map<uint64_t, uint64_t> local_;
  uint64_t next_local_ = 1;
  uint64_t round_ = 0;  // Paxos Commit: the recoveries this node has led
  Outcomes outcomes_;   // the latest `remembered`
  // The replicated log's calls: one per transaction being settled, by handle.
  struct Settle {
    uint64_t txn = 0;
    bool commit = false;  ///< what it asks the log to hold
    bool read = false;    ///< the next call reads the record instead
    std::vector<NodeId> askers;
  };
  kit::RpcClient rpc_;
  std::map<uint64_t, Settle> settles_;
  std::map<uint64_t, uint64_t> settling_;  // transaction -> handle
  uint64_t next_handle_ = 1;
  struct Symbols {
    Symbol committed, aborted, read_only, forced_writes, messages, execution_messages, commit_time,
        abort_time, in_progress, resends, log_writes, log_reads;
    Symbol abort_cause[kAbortCauses];
    Symbol mark_decide;
  } m_;
};

}  // namespace dsim::txn
