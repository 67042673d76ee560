// The messages between a transaction coordinator (coordinator.h) and the participants that
// hold the data (participant.h): the execution of a transaction, then atomic commitment by
// two-phase commit in its three logging variants or by three-phase commit:
//
//   execution  coordinator --execute--> participants --executed (or a no vote)-->
//   2PC        coordinator --prepare--> participants --vote--> coordinator --decision-->
//              participants [--ack--> coordinator, when the variant needs it]
//   3PC        ... votes, then --pre-commit--> participants --pre-commit ack-->
//              coordinator, then --decision-->
//   Paxos      coordinator (the leader) --prepare--> participants --phase 2a-->
//   Commit     acceptors --phase 2b--> leader --decision--> participants; a new leader
//              runs phase 1 (1a, 1b) for the instances it does not know the outcome of
//              (paxos_messages.h)
//
// The commit protocol starts once every participant has executed its part (taken its locks
// and read), as in the textbooks and in Gray and Lamport's comparison: a participant that
// only read may then release its locks at its read-only vote, the transaction's lock point
// being behind it.
//
// A participant in doubt asks with a query; whoever knows the outcome answers (the
// coordinator, or with cooperative termination any other participant of the transaction).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/txn/contract.h"
#include "sim/core/ids.h"

namespace dsim::txn {

enum class Protocol : uint8_t { kTwoPhase, kThreePhase, kPaxosCommit };
/// 2PC's logging variants (Mohan, Lindsay and Obermarck, "Transaction Management in the R*
/// Distributed Database Management System", TODS 1986): what a coordinator that knows
/// nothing of a transaction answers, and so which records are forced and which decisions
/// are acknowledged.
enum class Presumption : uint8_t { kNothing, kAbort, kCommit };

/// Whether a participant forces its record of a decision and acknowledges it, the
/// coordinator keeping the outcome until it hears back: under 2PC the decision the variant
/// does not presume (R*: presumed abort, commits; presumed commit, aborts; presumed
/// nothing, both); 3PC logs as presumed abort; under Paxos Commit never (the acceptors hold
/// the outcome, and a participant in doubt asks).
bool decision_acknowledged(Protocol protocol, Presumption presumption, bool commit);

/// Coordinator -> participant: lock these keys and read them. `peers`: every participant
/// of the transaction (for cooperative termination).
struct Execute {
  static constexpr std::string_view kName = "txn_execute";
  uint64_t txn = 0;
  int64_t priority = 0;
  NodeId coordinator = kNoNode;
  Protocol protocol = Protocol::kTwoPhase;
  Presumption presumption = Presumption::kAbort;
  bool read_only_vote = true;  ///< a participant that writes nothing votes read-only
  bool cooperative = false;    ///< in doubt, ask the peers too (cooperative termination)
  std::vector<TxnOp> ops;
  std::vector<NodeId> peers;
  /// Paxos Commit: the acceptors, and every coordinator (any may lead the recovery).
  std::vector<NodeId> acceptors;
  std::vector<NodeId> coordinators;
  uint32_t size_bytes() const {
    return static_cast<uint32_t>(40 + ops.size() * 17 +
                                 (peers.size() + acceptors.size() + coordinators.size()) * 4);
  }
  std::string describe() const;
};

/// Participant -> coordinator: its part is executed (every lock held); what it read.
struct Executed {
  static constexpr std::string_view kName = "txn_executed";
  uint64_t txn = 0;
  std::vector<int64_t> reads;
  uint32_t size_bytes() const { return static_cast<uint32_t>(16 + reads.size() * 8); }
  std::string describe() const;
};

/// Coordinator -> participant: vote.
struct Prepare {
  static constexpr std::string_view kName = "txn_prepare";
  uint64_t txn = 0;
  /// Message delays since the commit began, this message included (the prepare is 1;
  /// each message the protocol sends on receiving one is one more); 0: off the commit's
  /// path (an answer to a query).
  uint32_t delays = 0;
  std::string describe() const;
};

enum class VoteKind : uint8_t { kYes, kNo, kReadOnly };

/// Participant -> coordinator (a no also ends the execution of its part).
struct Vote {
  static constexpr std::string_view kName = "txn_vote";
  uint64_t txn = 0;
  VoteKind vote = VoteKind::kYes;
  AbortCause cause = AbortCause::kNone;  ///< a no: why
  uint32_t delays = 0;                   ///< as Prepare's
  std::string describe() const;
};

/// Coordinator -> participant (also a peer's or the coordinator's answer to a query).
struct Decision {
  static constexpr std::string_view kName = "txn_decision";
  uint64_t txn = 0;
  bool commit = false;
  uint32_t delays = 0;  ///< as Prepare's
  std::string describe() const;
};

/// Participant -> coordinator: the decision is recorded as the variant requires.
struct DecisionAck {
  static constexpr std::string_view kName = "txn_ack";
  uint64_t txn = 0;
  std::string describe() const;
};

/// 3PC, coordinator -> participant: every participant voted yes.
struct PreCommit {
  static constexpr std::string_view kName = "txn_pre_commit";
  uint64_t txn = 0;
  uint32_t delays = 0;  ///< as Prepare's
  std::string describe() const;
};

/// 3PC, participant -> coordinator.
struct PreCommitAck {
  static constexpr std::string_view kName = "txn_pre_commit_ack";
  uint64_t txn = 0;
  uint32_t delays = 0;  ///< as Prepare's
  std::string describe() const;
};

/// A participant in doubt asks the coordinator or a peer what became of a transaction.
struct Query {
  static constexpr std::string_view kName = "txn_query";
  uint64_t txn = 0;
  /// Paxos Commit: the participants (the instances), for a coordinator that must lead the
  /// recovery of a transaction it never saw; empty otherwise.
  std::vector<NodeId> peers;
  std::vector<NodeId> acceptors;
  uint32_t size_bytes() const {
    return static_cast<uint32_t>(16 + (peers.size() + acceptors.size()) * 4);
  }
  std::string describe() const;
};

/// A peer's answer that it does not know the outcome either: it is prepared (uncertain)
/// or pre-committed (3PC).
struct Uncertain {
  static constexpr std::string_view kName = "txn_uncertain";
  uint64_t txn = 0;
  bool pre_committed = false;
  std::string describe() const;
};

}  // namespace dsim::txn
