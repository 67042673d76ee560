#include "models/txn/contract.h"

#include "models/txn/messages.h"
#include "models/txn/paxos_messages.h"

namespace dsim::txn {

std::string_view abort_cause_name(AbortCause c) {
  switch (c) {
    case AbortCause::kNone:
      return "none";
    case AbortCause::kVoteNo:
      return "vote_no";
    case AbortCause::kLockTimeout:
      return "lock_timeout";
    case AbortCause::kWaitDie:
      return "wait_die";
    case AbortCause::kWounded:
      return "wounded";
    case AbortCause::kVoteTimeout:
      return "vote_timeout";
    case AbortCause::kParticipantDown:
      return "participant_down";
    case AbortCause::kRecovery:
      return "recovery";
  }
  return "?";
}

bool decision_acknowledged(Protocol protocol, Presumption presumption, bool commit) {
  if (protocol == Protocol::kPaxosCommit) return false;
  if (protocol == Protocol::kThreePhase) return commit;
  switch (presumption) {
    case Presumption::kNothing:
      return true;
    case Presumption::kAbort:
      return commit;
    case Presumption::kCommit:
      return !commit;
  }
  return true;
}

std::string TxnRequest::describe() const {
  return "txn " + std::to_string(txn) + " (" + std::to_string(ops.size()) + " ops)";
}

std::string TxnResponse::describe() const {
  const char* s = status == Status::kCommitted ? "committed"
                  : status == Status::kAborted ? "aborted"
                                               : "unavailable";
  return std::string("txn ") + s +
         (cause == AbortCause::kNone ? "" : " (" + std::string(abort_cause_name(cause)) + ")");
}

std::string Execute::describe() const {
  return "execute txn " + std::to_string(txn) + " (" + std::to_string(ops.size()) + " ops)";
}

std::string Executed::describe() const {
  return "executed txn " + std::to_string(txn);
}
std::string Prepare::describe() const {
  return "prepare txn " + std::to_string(txn);
}

std::string Vote::describe() const {
  const char* v = vote == VoteKind::kYes ? "yes" : vote == VoteKind::kNo ? "no" : "read-only";
  return std::string("vote ") + v + " txn " + std::to_string(txn);
}

std::string Decision::describe() const {
  return std::string(commit ? "commit" : "abort") + " txn " + std::to_string(txn);
}

std::string DecisionAck::describe() const {
  return "ack txn " + std::to_string(txn);
}
std::string PreCommit::describe() const {
  return "pre-commit txn " + std::to_string(txn);
}
std::string PreCommitAck::describe() const {
  return "pre-commit ack txn " + std::to_string(txn);
}
std::string Query::describe() const {
  return "query txn " + std::to_string(txn);
}
std::string Uncertain::describe() const {
  return std::string(pre_committed ? "pre-committed" : "uncertain") + " txn " + std::to_string(txn);
}

}  // namespace dsim::txn

namespace dsim::txn {

std::string Phase2a::describe() const {
  return "2a txn " + std::to_string(txn) + " instance " + std::to_string(instance) + " ballot " +
         std::to_string(ballot) + (prepared ? " prepared" : " aborted");
}
std::string Phase2b::describe() const {
  return "2b txn " + std::to_string(txn) + " instance " + std::to_string(instance) + " ballot " +
         std::to_string(ballot) + (prepared ? " prepared" : " aborted");
}
std::string Phase1a::describe() const {
  return "1a txn " + std::to_string(txn) + " ballot " + std::to_string(ballot);
}
std::string Phase1b::describe() const {
  return "1b txn " + std::to_string(txn) + " ballot " + std::to_string(ballot) +
         (promised ? "" : " refused");
}

}  // namespace dsim::txn
