// txn_participant: decisions, pre-commits (3PC), queries in doubt and recovery.
#include "models/txn/participant.h"

#include <algorithm>
#include <sstream>

#include "models/txn/paxos_messages.h"
#include "sim/core/assert.h"

namespace dsim::txn {

bool TxnParticipant::forced(const Execute& p, bool commit) {
  return decision_acknowledged(p.protocol, p.presumption, commit);
}

void TxnParticipant::on_decision(Context& ctx, NodeId from, const Decision& d) {
  Txn* t = find(d.txn);
  if (!t) {
    // Decided here already, or never prepared: remember an abort so that a late prepare
    // votes no, and acknowledge (a coordinator that wants no ack ignores it).
    if (!d.commit) outcomes_.remember(d.txn, false);
    ctx.record().count(m_.messages);
    ctx.send(from, DecisionAck{d.txn});
    return;
  }
  if (t->phase == Phase::kDeciding) return;  // being recorded
  if (d.delays > 0 && (t->phase == Phase::kPrepared || t->phase == Phase::kPreCommitted))
    ctx.record().mark(m_.mark_delays, static_cast<int64_t>(d.txn), d.delays);
  if (t->phase == Phase::kLocking || t->phase == Phase::kExecuted ||
      t->phase == Phase::kPreparing) {
    DSIM_ASSERT(!d.commit, "a commit reached a participant that had not voted: txn ", d.txn);
    const bool ack = forced(t->work, false);
    abort_before_vote(ctx, *t, AbortCause::kNone, /*vote=*/false);
    if (ack) {
      ctx.record().count(m_.messages);
      ctx.send(from, DecisionAck{d.txn});
    }
    return;
  }
  decide(ctx, *t, d.commit);
}

void TxnParticipant::decide(Context& ctx, Txn& t, bool commit) {
  ctx.record().mark(m_.mark_apply, static_cast<int64_t>(t.id), commit ? 1 : 0);
  ctx.record().count(commit ? m_.commits : m_.aborts);
  if (t.doubt_timer.valid()) ctx.cancel_timer(t.doubt_timer);
  t.doubt_timer = TimerId{};
  ctx.record().observe(m_.in_doubt_time, ctx.monotonic() - t.in_doubt_since);
  ctx.record().level(m_.in_doubt, static_cast<double>(--in_doubt_));
  if (commit) {
    for (const TxnOp& op : t.work.ops) {
      if (!op.write) continue;
      values_[op.key] = op.value;
      ctx.disk().write("v/" + std::to_string(op.key), std::to_string(op.value));
    }
  }
  ctx.disk().erase(record_key(t.id));
  outcomes_.remember(t.id, commit);
  t.commit = commit;
  t.phase = Phase::kDeciding;
  if (forced(t.work, commit)) {
    ctx.disk().sync(kit::timer_tag(Sync::kDecided, t.local));
    ctx.record().count(m_.forced_writes);
    return;
  }
  finish_decided(ctx, t);
}

void TxnParticipant::finish_decided(Context& ctx, Txn& t) {
  if (forced(t.work, t.commit)) {
    ctx.record().count(m_.messages);
    ctx.send(t.work.coordinator, DecisionAck{t.id});
  }
  release(ctx, t);
  erase(t);
}

void TxnParticipant::on_pre_commit(Context& ctx, NodeId from, const PreCommit& p) {
  Txn* t = find(p.txn);
  if (!t || (t->phase != Phase::kPrepared && t->phase != Phase::kPreCommitted)) return;
  t->phase = Phase::kPreCommitted;
  t->doubt_rounds = 0;
  ctx.record().count(m_.messages);
  ctx.send(from, PreCommitAck{p.txn, p.delays + 1});
  if (t->doubt_timer.valid()) ctx.cancel_timer(t->doubt_timer);
  t->doubt_timer =
      ctx.set_timer(config_.decision_timeout, kit::timer_tag(Timer::kInDoubt, t->local));
}

void TxnParticipant::on_query(Context& ctx, NodeId from, const Query& q) {
  ctx.record().count(m_.messages);
  if (const auto o = outcomes_.find(q.txn)) {
    ctx.send(from, Decision{q.txn, *o, 0});
    return;
  }
  Txn* t = find(q.txn);
  if (!t) {
    // Unknown here: perhaps never executed, but perhaps voted read-only and forgotten, or
    // lost in a crash after such a vote: it cannot tell, so it is as uncertain as the
    // asker.
    ctx.send(from, Uncertain{q.txn, false});
    return;
  }
  if (t->phase == Phase::kLocking || t->phase == Phase::kExecuted) {
    abort_before_vote(ctx, *t, AbortCause::kVoteNo, /*vote=*/true);
    ctx.send(from, Decision{q.txn, false, 0});
    return;
  }
  if (t->phase == Phase::kDeciding) {
    ctx.send(from, Decision{q.txn, t->commit, 0});
    return;
  }
  ctx.send(from, Uncertain{q.txn, t->phase == Phase::kPreCommitted});
}

void TxnParticipant::in_doubt(Context& ctx, Txn& t) {
  if (t.phase == Phase::kPreparing) return;
  const bool three_phase = t.work.protocol == Protocol::kThreePhase;
  if (three_phase && t.doubt_rounds > 0) {
    // Skeen's termination rule: pre-committed (here or at a peer that answered) commits,
    // uncertain aborts.
    const bool commit = t.phase == Phase::kPreCommitted || t.peer_pre_committed;
    ctx.record().count(commit ? m_.terminated_commit : m_.terminated_abort);
    decide(ctx, t, commit);
    return;
  }
  ++t.doubt_rounds;
  ctx.record().count(m_.queries);
  ctx.record().count(m_.messages);
  if (!t.work.coordinators.empty()) {
    // The coordinators in turn, its own first: one that does not know the transaction
    // leads its recovery from the acceptors (Paxos Commit) or settles it in the
    // replicated log.
    const auto& c = t.work.coordinators;
    const auto own = std::find(c.begin(), c.end(), t.work.coordinator) - c.begin();
    const NodeId ask = c[(static_cast<size_t>(own) + t.doubt_rounds - 1) % c.size()];
    ctx.send(ask, Query{t.id, t.work.peers, t.work.acceptors});
  } else {
    ctx.send(t.work.coordinator, Query{t.id, {}, {}});
  }
  if (t.work.cooperative || three_phase) {
    for (NodeId peer : t.work.peers) {
      if (peer == ctx.self()) continue;
      ctx.record().count(m_.messages);
      ctx.send(peer, Query{t.id, {}, {}});
    }
  }
  t.doubt_timer = ctx.set_timer(config_.decision_timeout, kit::timer_tag(Timer::kInDoubt, t.local));
}

void TxnParticipant::propose(Context& ctx, const Txn& t, bool prepared) {
  for (NodeId acceptor : t.work.acceptors) {
    ctx.record().count(m_.messages);
    ctx.send(acceptor, Phase2a{t.id, ctx.self(), t.work.coordinator, 0, prepared, t.delays + 1});
  }
}

void TxnParticipant::recover(Context& ctx) {
  ctx.disk().for_each("v/", [&](std::string_view key, std::string_view value) {
    values_[std::stoull(std::string(key.substr(2)))] = std::stoll(std::string(value));
  });
  std::vector<std::pair<uint64_t, std::string>> records;
  ctx.disk().for_each("p/", [&](std::string_view key, std::string_view value) {
    records.emplace_back(std::stoull(std::string(key.substr(2))), std::string(value));
  });
  for (auto& [id, text] : records) {
    // Back in doubt with its write locks (the reads were answered with the vote).
    std::istringstream in(text);
    Txn& t = txns_[id];
    t.id = id;
    t.local = next_local_++;
    local_[t.local] = id;
    int protocol = 0, presumption = 0, cooperative = 0;
    size_t ops = 0, peers = 0;
    in >> t.work.coordinator >> protocol >> presumption >> cooperative >> t.work.priority >> ops;
    t.work.txn = id;
    t.work.protocol = static_cast<Protocol>(protocol);
    t.work.presumption = static_cast<Presumption>(presumption);
    t.work.cooperative = cooperative != 0;
    for (size_t i = 0; i < ops; ++i) {
      TxnOp op;
      int write = 0;
      int64_t read = 0;
      in >> op.key >> write >> op.value >> read;
      op.write = write != 0;
      t.work.ops.push_back(op);
      t.reads.push_back(read);
    }
    for (auto* nodes : {&t.work.peers, &t.work.acceptors, &t.work.coordinators}) {
      in >> peers;
      nodes->resize(peers);
      for (NodeId& node : *nodes)
        in >> node;
    }
    DSIM_ASSERT(!in.fail(), "a prepare record does not parse: txn ", id);
    for (const TxnOp& op : t.work.ops) {
      if (!op.write) continue;
      const auto req =
          locks_.acquire(id, Priority{t.work.priority, id}, op.key, LockMode::kExclusive);
      DSIM_ASSERT(req.grant == LockTable::Grant::kGranted,
                  "recovery found a key locked twice: ", op.key);
    }
    t.next_lock = t.work.ops.size();
    locks_.set_woundable(id, false);
    t.phase = Phase::kPrepared;
    t.began = t.in_doubt_since = ctx.monotonic();
    ctx.record().level(m_.in_doubt, static_cast<double>(++in_doubt_));
    in_doubt(ctx, t);  // ask at once
  }
}

}  // namespace dsim::txn
