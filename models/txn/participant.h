// `txn_participant`: a shard of a transactional store, taking part in atomic commitment
// (two-phase or three-phase commit) under a coordinator (coordinator.h).
//
// It holds the values of the keys hashed to it, in memory and on its durable store, and
// runs strict two-phase locking (locks.h): told to execute its part of a transaction, it
// locks the keys in order (shared to read, exclusive to write), waiting at most
// `lock_timeout` for each under a deadlock policy (wait-die, wound-wait, or the timeout
// alone), and reads them. Asked to prepare, it votes; a yes vote is sent only once the
// prepare record (the writes, the coordinator, the peers) is forced to disk: from then on
// the participant is in doubt and may not decide alone
// (Gray, "Notes on Data Base Operating Systems", 1978; Bernstein, Hadzilacos and Goodman,
// "Concurrency Control and Recovery in Database Systems", 1987, 7.4). A participant whose
// keys the transaction only reads votes read-only, releases its locks and takes no part in
// the second phase (R*'s read-only optimisation, Mohan et al. 1986).
//
// The decision is logged as the variant requires (messages.h, Presumption): forced and
// acknowledged when the coordinator must hear it was recorded (commit under presumed abort
// and presumed nothing; abort under presumed commit and presumed nothing), otherwise
// written lazily and not acknowledged. Locks are released once the decision is recorded.
//
// In doubt longer than `decision_timeout`, it asks the coordinator, again and again; with
// cooperative termination (Bernstein et al. 7.4) it asks the other participants too: one
// that knows the outcome answers it, one that has not voted aborts and answers abort, one
// in doubt answers that it is uncertain, and so does one that does not know the
// transaction (it may have voted read-only and forgotten it, even before a crash). When every
// participant is in doubt and the coordinator is down, the transaction blocks, holding its locks.
//
// Under 3PC (Skeen, "Nonblocking Commit Protocols", SIGMOD 1981) a participant that voted
// yes waits for a pre-commit, acknowledges it, then waits for the commit. In doubt it asks
// the coordinator and the peers, and when a further `decision_timeout` passes with no
// outcome it decides by the termination rule: commit when it or a peer that answered is
// pre-committed, abort otherwise. Under a partition the two sides can decide differently:
// the reason 3PC is not used where partitions happen.
//
// Under Paxos Commit (coordinator.h) a participant proposes its own instance's value at
// ballot 0 to the acceptors instead of voting to the coordinator: "prepared" once its
// prepare record is forced (or at once when it only read, and it leaves), and it asks the
// coordinators in turn when in doubt; its decision is written lazily and not acknowledged.
//
// A restart rebuilds the values from the disk and takes every prepared transaction back in
// doubt, with its write locks, and asks at once what became of it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/timer.h"
#include "models/txn/locks.h"
#include "models/txn/messages.h"
#include "models/txn/outcomes.h"
#include "sim/core/model.h"
#include "sim/core/params.h"
#include "sim/core/timeline.h"

namespace dsim::txn {

class TxnParticipant final : public Model {
 public:
  static constexpr std::string_view kName = "txn_participant";
  static constexpr std::string_view kDescription =
      "a shard of a transactional store in 2PC or 3PC: strict two-phase locking with wait-die, "
      "wound-wait or timeouts, forced prepare records, cooperative termination, recovery";

  struct Config {
    DeadlockPolicy deadlock = DeadlockPolicy::kWaitDie;
    Duration lock_timeout = ms(100);
    Duration decision_timeout = ms(500);
    /// Outcomes remembered for queries and late messages (the oldest are forgotten first).
    int64_t remembered = 100'000;
  };
  static Config parse(ParamReader& r);
  static void declare(const Config& c, MetricDecls& d);
  /// Atomicity and in-doubt times across the run, from every node's marks (analysis.cpp).
  static AnalysisOutput analyze(const AnalysisInput& in);

  explicit TxnParticipant(const Config& config)
      : config_(config),
        locks_(config.deadlock),
        outcomes_(static_cast<size_t>(config.remembered)) {}

  void on_start(Context& ctx) override;
  void on_message(Context& ctx, const Envelope& env) override;
  void on_timer(Context& ctx, TimerId id, TimerTag tag) override;
  void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override;
  void check_invariants() const override;

 private:
  enum class Timer : uint8_t { kLockWait, kInDoubt };
  enum class Sync : uint8_t { kPrepared, kDecided };
  enum class Phase : uint8_t {
    kLocking,
    kExecuted,
    kPreparing,
    kPrepared,
    kPreCommitted,
    kDeciding
  };

  struct Txn {
    uint64_t id = 0;
    uint64_t local = 0;  ///< what its timers and disk syncs carry
    Execute work;        ///< as received (or rebuilt from the prepare record)
    Phase phase = Phase::kLocking;
    size_t next_lock = 0;  ///< the operation whose lock it asks for next
    std::vector<int64_t> reads;
    SimTime began, locked_at, in_doubt_since;  ///< monotonic
    TimerId lock_timer, doubt_timer;
    uint32_t doubt_rounds = 0;
    bool peer_pre_committed = false;
    bool commit = false;  ///< kDeciding: the decision being recorded
    uint32_t delays = 0;  ///< the prepare's message delays (Prepare::delays)
  };

  // execution, locking and the vote (participant.cpp)
  void on_execute(Context& ctx, NodeId from, const Execute& e);
  void lock_next(Context& ctx, Txn& t);
  void run_ready(Context& ctx);
  void executed(Context& ctx, Txn& t);
  void on_prepare(Context& ctx, NodeId from, const Prepare& p);
  void abort_before_vote(Context& ctx, Txn& t, AbortCause cause, bool vote);
  void release(Context& ctx, Txn& t);
  // decisions, termination and recovery (participant_decide.cpp)
  void on_decision(Context& ctx, NodeId from, const Decision& d);
  void decide(Context& ctx, Txn& t, bool commit);
  void finish_decided(Context& ctx, Txn& t);
  void on_pre_commit(Context& ctx, NodeId from, const PreCommit& p);
  void on_query(Context& ctx, NodeId from, const Query& q);
  void in_doubt(Context& ctx, Txn& t);
  void propose(Context& ctx, const Txn& t, bool prepared);  // Paxos Commit: phase 2a
  void recover(Context& ctx);
  static bool forced(const Execute& p, bool commit);

  Txn* find(uint64_t txn);
  Txn* find_local(uint64_t local);
  void erase(Txn& t);
  std::string record_key(uint64_t txn) const { return "p/" + std::to_string(txn); }

  const Config& config_;
  LockTable locks_;
  std::map<uint64_t, Txn> txns_;        // by transaction id
  std::map<uint64_t, uint64_t> local_;  // local number -> transaction id
  uint64_t next_local_ = 1;
  std::map<uint64_t, int64_t> values_;  // the committed values (also on the disk: "v/<key>")
  Outcomes outcomes_;                   // the latest `remembered`
  std::deque<uint64_t> ready_;          // transactions granted a lock they waited for
  int64_t in_doubt_ = 0;
  struct Symbols {
    Symbol executions, prepares, votes_yes, votes_no, votes_read_only, commits, aborts,
        forced_writes, messages, execution_messages, queries, lock_wait, lock_hold, in_doubt_time,
        in_doubt, locks_held, terminated_commit, terminated_abort;
    Symbol abort_cause[kAbortCauses];
    Symbol mark_prepared, mark_apply, mark_delays;
  } m_;
};

}  // namespace dsim::txn
