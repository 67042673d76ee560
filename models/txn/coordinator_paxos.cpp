// txn_coordinator under Paxos Commit: learning each participant's instance from the
// acceptors' phase 2b, and leading the recovery of a transaction (phase 1, then phase 2)
// when its own votes time out or a participant in doubt asks about one it does not know
// (Gray and Lamport, "Consensus on Transaction Commit", sections 4.1 and 4.3).
#include <algorithm>

#include "models/txn/coordinator.h"
#include "sim/core/assert.h"

namespace dsim::txn {

namespace {
constexpr uint64_t kBallotStride = 1 << 16;  // ballot = round x stride + coordinator + 1
}  // namespace

size_t TxnCoordinator::acceptor_index(NodeId node) const {
  const auto it = std::find(acceptors_.begin(), acceptors_.end(), node);
  return it == acceptors_.end() ? acceptors_.size() : static_cast<size_t>(it - acceptors_.begin());
}

void TxnCoordinator::on_phase2b(Context& ctx, NodeId from, const Phase2b& m) {
  Txn* t = find(m.txn);
  if (!t || (t->phase != Phase::kVoting && t->phase != Phase::kRecovering)) return;
  Part* p = part_of(*t, m.instance);
  const size_t a = acceptor_index(from);
  if (!p || a >= acceptors_.size() || p->chosen >= 0) return;
  if (p->accepted.empty()) {
    p->accepted.assign(acceptors_.size(), -1);
    p->accepted_ballot.assign(acceptors_.size(), 0);
  }
  p->accepted[a] = m.prepared ? 1 : 0;
  p->accepted_ballot[a] = m.ballot;
  t->delays = std::max(t->delays, m.delays);
  // Chosen: F + 1 acceptors accepted the same value at the same ballot.
  int64_t same = 0;
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    if (p->accepted[i] == (m.prepared ? 1 : 0) && p->accepted_ballot[i] == m.ballot) ++same;
  }
  if (same >= config_.faults + 1) p->chosen = m.prepared ? 1 : 0;
  learn(ctx, *t);
}

void TxnCoordinator::learn(Context& ctx, Txn& t) {
  const bool aborted =
      std::any_of(t.parts.begin(), t.parts.end(), [](const Part& p) { return p.chosen == 0; });
  if (aborted) {
    decide(ctx, t, false, t.cause == AbortCause::kNone ? AbortCause::kVoteNo : t.cause);
    return;
  }
  const bool all =
      std::all_of(t.parts.begin(), t.parts.end(), [](const Part& p) { return p.chosen == 1; });
  if (all) decide(ctx, t, true, AbortCause::kNone);
}

void TxnCoordinator::lead_recovery(Context& ctx, const Query& q) {
  if (q.peers.empty()) return;
  Txn& t = add(q.txn);
  for (NodeId node : q.peers) {
    Part p;
    p.node = node;
    p.writes = true;  // unknown here: the decision goes to every participant
    t.parts.push_back(p);
  }
  t.began = ctx.monotonic();
  t.phase = Phase::kRecovering;
  start_phase1(ctx, t);
}

void TxnCoordinator::start_phase1(Context& ctx, Txn& t) {
  const auto self = std::find(coordinators_.begin(), coordinators_.end(), ctx.self());
  DSIM_ASSERT(self != coordinators_.end(), "a coordinator is not in its own group");
  t.ballot = ++round_ * kBallotStride + static_cast<uint64_t>(self - coordinators_.begin()) + 1;
  t.promised.assign(acceptors_.size(), false);
  t.phase2 = false;
  Phase1a msg{t.id, t.ballot, {}};
  for (Part& p : t.parts) {
    msg.instances.push_back(p.node);
    p.any_1b = false;
    p.best_ballot = 0;
    p.best_prepared = false;
  }
  for (NodeId a : acceptors_)
    send(ctx, a, msg);
  arm(ctx, t, Timer::kResend, config_.resend);
}

void TxnCoordinator::on_phase1b(Context& ctx, NodeId from, const Phase1b& m) {
  Txn* t = find(m.txn);
  if (!t || t->phase != Phase::kRecovering || m.ballot != t->ballot || !m.promised) return;
  const size_t a = acceptor_index(from);
  if (a >= acceptors_.size() || t->promised[a]) return;
  t->promised[a] = true;
  for (const Phase1b::Accepted& acc : m.accepted) {
    Part* p = part_of(*t, acc.instance);
    if (!p || !acc.any) continue;
    if (!p->any_1b || acc.ballot > p->best_ballot) {
      p->any_1b = true;
      p->best_ballot = acc.ballot;
      p->best_prepared = acc.prepared;
    }
  }
  const auto promises = std::count(t->promised.begin(), t->promised.end(), true);
  if (t->phase2 || promises < config_.faults + 1) return;
  // Phase 2: the value accepted at the highest ballot, or "aborted" where none was.
  t->phase2 = true;
  for (Part& p : t->parts) {
    if (p.chosen >= 0) continue;
    p.accepted.clear();
    p.accepted_ballot.clear();
    const Phase2a msg{t->id, p.node, ctx.self(), t->ballot, p.any_1b && p.best_prepared, 0};
    for (NodeId acceptor : acceptors_)
      send(ctx, acceptor, msg);
  }
}

}  // namespace dsim::txn
