#include "models/txn/participant.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::txn {

// --- configuration ------------------------------------------------------------------------

TxnParticipant::Config TxnParticipant::parse(ParamReader& r) {
  Config c;
  c.deadlock = r.choice("deadlock", c.deadlock,
                        {{"wait_die", DeadlockPolicy::kWaitDie},
                         {"wound_wait", DeadlockPolicy::kWoundWait},
                         {"timeout", DeadlockPolicy::kTimeout}},
                        "what a transaction does when a key it needs is locked: wait_die (an "
                        "older one waits, a younger one aborts), wound_wait (an older one aborts "
                        "the younger holder unless it is prepared, a younger one waits), timeout "
                        "(wait; lock_timeout breaks deadlocks)");
  c.lock_timeout = r.duration("lock_timeout", c.lock_timeout,
                              "a transaction waiting this long for one lock aborts (votes no)");
  c.decision_timeout =
      r.duration("decision_timeout", c.decision_timeout,
                 "in doubt this long (voted yes, no decision), a participant asks the coordinator "
                 "(and with cooperative termination its peers), then again each time it passes");
  c.remembered = r.integer("remembered", c.remembered,
                           "outcomes kept in memory to answer peers' queries and late messages", 1,
                           100'000'000);
  if (c.lock_timeout <= Duration::zero()) r.error("lock_timeout", "must be > 0");
  if (c.decision_timeout <= Duration::zero()) r.error("decision_timeout", "must be > 0");
  return c;
}

void TxnParticipant::declare(const Config&, MetricDecls& d) {
  for (const char* name : {"executions", "prepares", "execution_messages", "votes_yes", "votes_no",
                           "votes_read_only", "commits", "aborts", "forced_writes", "messages",
                           "queries", "terminated_commit", "terminated_abort"})
    d.counter(name);
  for (int i = 1; i < kAbortCauses; ++i)
    d.counter("aborts_" + std::string(abort_cause_name(static_cast<AbortCause>(i))));
  d.timing("lock_wait");
  d.timing("lock_hold");
  d.timing("in_doubt_time");
  d.level("in_doubt");
  d.level("locks_held");
  for (const char* name :
       {"atomicity_violations", "txns_decided", "in_doubt_ms_p50", "in_doubt_ms_p99",
        "in_doubt_ms_max", "blocked_at_end", "message_delays_mean", "message_delays_max"})
    d.figure(name);
}

void TxnParticipant::on_start(Context& ctx) {
  m_.executions = ctx.intern("executions");
  m_.prepares = ctx.intern("prepares");
  m_.execution_messages = ctx.intern("execution_messages");
  m_.votes_yes = ctx.intern("votes_yes");
  m_.votes_no = ctx.intern("votes_no");
  m_.votes_read_only = ctx.intern("votes_read_only");
  m_.commits = ctx.intern("commits");
  m_.aborts = ctx.intern("aborts");
  m_.forced_writes = ctx.intern("forced_writes");
  m_.messages = ctx.intern("messages");
  m_.queries = ctx.intern("queries");
  m_.terminated_commit = ctx.intern("terminated_commit");
  m_.terminated_abort = ctx.intern("terminated_abort");
  m_.lock_wait = ctx.intern("lock_wait");
  m_.lock_hold = ctx.intern("lock_hold");
  m_.in_doubt_time = ctx.intern("in_doubt_time");
  m_.in_doubt = ctx.intern("in_doubt");
  m_.locks_held = ctx.intern("locks_held");
  for (int i = 1; i < kAbortCauses; ++i)
    m_.abort_cause[i] =
        ctx.intern("aborts_" + std::string(abort_cause_name(static_cast<AbortCause>(i))));
  m_.mark_prepared = ctx.intern("txn_prepared");
  m_.mark_apply = ctx.intern("txn_apply");
  m_.mark_delays = ctx.intern("txn_delays");
  recover(ctx);
}

void TxnParticipant::on_message(Context& ctx, const Envelope& env) {
  if (const auto* e = env.msg.get<Execute>()) {
    on_execute(ctx, env.from, *e);
  } else if (const auto* p = env.msg.get<Prepare>()) {
    on_prepare(ctx, env.from, *p);
  } else if (const auto* d = env.msg.get<Decision>()) {
    on_decision(ctx, env.from, *d);
  } else if (const auto* pc = env.msg.get<PreCommit>()) {
    on_pre_commit(ctx, env.from, *pc);
  } else if (const auto* q = env.msg.get<Query>()) {
    on_query(ctx, env.from, *q);
  } else if (const auto* u = env.msg.get<Uncertain>()) {
    if (Txn* t = find(u->txn); t && u->pre_committed) t->peer_pre_committed = true;
  }
  run_ready(ctx);
}

void TxnParticipant::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, local] = kit::timer_of<Timer>(tag);
  Txn* t = find_local(local);
  if (!t) return;
  if (kind == Timer::kLockWait) {
    if (t->lock_timer != id) return;
    t->lock_timer = TimerId{};
    abort_before_vote(ctx, *t, AbortCause::kLockTimeout, /*vote=*/true);
  } else {
    if (t->doubt_timer != id) return;
    t->doubt_timer = TimerId{};
    in_doubt(ctx, *t);
  }
  run_ready(ctx);
}

void TxnParticipant::on_disk(Context& ctx, DiskOpId, uint64_t tag) {
  const auto [kind, local] = kit::timer_of<Sync>(tag);
  Txn* t = find_local(local);
  if (!t) return;
  if (kind == Sync::kPrepared && t->phase == Phase::kPreparing) {
    // The prepare record is durable: vote yes (Gray 1978: "the participant must be able to
    // commit or abort whatever happens to it" from here on).
    t->phase = Phase::kPrepared;
    t->in_doubt_since = ctx.monotonic();
    ctx.record().level(m_.in_doubt, static_cast<double>(++in_doubt_));
    ctx.record().mark(m_.mark_prepared, static_cast<int64_t>(t->id));
    ctx.record().count(m_.votes_yes);
    if (t->work.protocol == Protocol::kPaxosCommit) {
      propose(ctx, *t, true);
    } else {
      ctx.record().count(m_.messages);
      ctx.send(t->work.coordinator, Vote{t->id, VoteKind::kYes, AbortCause::kNone, t->delays + 1});
    }
    t->doubt_timer =
        ctx.set_timer(config_.decision_timeout, kit::timer_tag(Timer::kInDoubt, local));
  } else if (kind == Sync::kDecided && t->phase == Phase::kDeciding) {
    finish_decided(ctx, *t);
  }
  run_ready(ctx);
}

// --- execution and locking ---------------------------------------------------------------

void TxnParticipant::on_execute(Context& ctx, NodeId from, const Execute& e) {
  if (const Txn* t = find(e.txn)) {
    if (t->phase == Phase::kExecuted) {
      ctx.record().count(m_.execution_messages);  // sent again: answer again
      ctx.send(from, Executed{t->id, t->reads});
    }
    return;
  }
  if (const auto o = outcomes_.find(e.txn)) {
    // Decided already (aborted by a query before it came, say): a no.
    if (!*o) {
      ctx.record().count(m_.messages);
      ctx.send(from, Vote{e.txn, VoteKind::kNo, AbortCause::kVoteNo, 0});
    }
    return;
  }
  ctx.record().count(m_.executions);
  const uint64_t local = next_local_++;
  Txn& t = txns_[e.txn];
  t.id = e.txn;
  t.local = local;
  t.work = e;
  t.began = ctx.monotonic();
  local_[local] = e.txn;
  lock_next(ctx, t);
}

void TxnParticipant::lock_next(Context& ctx, Txn& t) {
  const Priority prio{t.work.priority, t.id};
  while (t.next_lock < t.work.ops.size()) {
    const TxnOp& op = t.work.ops[t.next_lock];
    const auto req =
        locks_.acquire(t.id, prio, op.key, op.write ? LockMode::kExclusive : LockMode::kShared);
    // Wound-wait: the younger holders abort; their releases queue this one's grant.
    for (uint64_t w : req.wounded) {
      if (Txn* victim = find(w);
          victim && (victim->phase == Phase::kLocking || victim->phase == Phase::kExecuted)) {
        abort_before_vote(ctx, *victim, AbortCause::kWounded, /*vote=*/true);
      }
    }
    if (req.grant == LockTable::Grant::kDie) {
      abort_before_vote(ctx, t, AbortCause::kWaitDie, /*vote=*/true);
      return;
    }
    if (req.grant == LockTable::Grant::kWaiting) {
      if (!t.lock_timer.valid()) {
        t.lock_timer =
            ctx.set_timer(config_.lock_timeout, kit::timer_tag(Timer::kLockWait, t.local));
      }
      t.locked_at = ctx.monotonic();  // the wait starts
      return;
    }
    if (t.lock_timer.valid()) {
      ctx.cancel_timer(t.lock_timer);
      t.lock_timer = TimerId{};
      ctx.record().observe(m_.lock_wait, ctx.monotonic() - t.locked_at);
    }
    ++t.next_lock;
  }
  executed(ctx, t);
}

void TxnParticipant::run_ready(Context& ctx) {
  while (!ready_.empty()) {
    const uint64_t id = ready_.front();
    ready_.pop_front();
    Txn* t = find(id);
    if (t && t->phase == Phase::kLocking && !locks_.waiting(id)) lock_next(ctx, *t);
  }
  ctx.record().level(m_.locks_held, static_cast<double>(locks_.keys_locked()));
}

void TxnParticipant::executed(Context& ctx, Txn& t) {
  t.reads.clear();
  for (const TxnOp& op : t.work.ops) {
    const auto v = values_.find(op.key);
    t.reads.push_back(v == values_.end() ? 0 : v->second);
  }
  t.phase = Phase::kExecuted;
  ctx.record().count(m_.execution_messages);
  ctx.send(t.work.coordinator, Executed{t.id, t.reads});
}

// --- the vote ------------------------------------------------------------------------------

void TxnParticipant::on_prepare(Context& ctx, NodeId from, const Prepare& p) {
  Txn* found = find(p.txn);
  if (!found) {
    // Not here: lost in a crash before its prepare record, or aborted since. A no.
    const bool lost = !outcomes_.find(p.txn);
    ctx.record().count(m_.votes_no);
    ctx.record().count(m_.messages);
    ctx.send(from, Vote{p.txn, VoteKind::kNo,
                        lost ? AbortCause::kParticipantDown : AbortCause::kVoteNo, p.delays + 1});
    return;
  }
  Txn& t = *found;
  t.delays = p.delays;
  if (t.phase == Phase::kPrepared || t.phase == Phase::kPreCommitted) {
    // A resent prepare: vote again.
    if (t.work.protocol == Protocol::kPaxosCommit) {
      propose(ctx, t, true);
    } else {
      ctx.record().count(m_.messages);
      ctx.send(from, Vote{t.id, VoteKind::kYes, AbortCause::kNone, t.delays + 1});
    }
    return;
  }
  if (t.phase != Phase::kExecuted) return;
  ctx.record().count(m_.prepares);
  const bool writes =
      std::any_of(t.work.ops.begin(), t.work.ops.end(), [](const TxnOp& op) { return op.write; });
  const bool paxos = t.work.protocol == Protocol::kPaxosCommit;
  if (!writes && (t.work.read_only_vote || paxos)) {
    // Read-only: nothing to log, nothing to decide here, and the locks go now (R*'s
    // read-only optimisation; every lock of the transaction was taken in its execution).
    // Under Paxos Commit its instance still needs a value: prepared.
    ctx.record().count(m_.votes_read_only);
    if (paxos) {
      propose(ctx, t, true);
    } else {
      ctx.record().count(m_.messages);
      ctx.send(t.work.coordinator,
               Vote{t.id, VoteKind::kReadOnly, AbortCause::kNone, t.delays + 1});
    }
    release(ctx, t);
    erase(t);
    return;
  }
  // The prepare record: the writes, the coordinator and the peers, forced before the vote.
  t.phase = Phase::kPreparing;
  locks_.set_woundable(t.id, false);
  std::string rec = std::to_string(t.work.coordinator) + ' ' +
                    std::to_string(static_cast<int>(t.work.protocol)) + ' ' +
                    std::to_string(static_cast<int>(t.work.presumption)) + ' ' +
                    std::to_string(t.work.cooperative ? 1 : 0) + ' ' +
                    std::to_string(t.work.priority) + ' ' + std::to_string(t.work.ops.size());
  for (size_t i = 0; i < t.work.ops.size(); ++i) {
    const TxnOp& op = t.work.ops[i];
    rec += ' ' + std::to_string(op.key) + ' ' + std::to_string(op.write ? 1 : 0) + ' ' +
           std::to_string(op.value) + ' ' + std::to_string(t.reads[i]);
  }
  for (const auto* nodes : {&t.work.peers, &t.work.acceptors, &t.work.coordinators}) {
    rec += ' ' + std::to_string(nodes->size());
    for (NodeId node : *nodes)
      rec += ' ' + std::to_string(node);
  }
  ctx.disk().write(record_key(t.id), std::move(rec), 0, DiskWrite::kLog);
  ctx.disk().sync(kit::timer_tag(Sync::kPrepared, t.local));
  ctx.record().count(m_.forced_writes);
}

void TxnParticipant::abort_before_vote(Context& ctx, Txn& t, AbortCause cause, bool vote) {
  DSIM_ASSERT(
      t.phase == Phase::kLocking || t.phase == Phase::kExecuted || t.phase == Phase::kPreparing,
      "a transaction in doubt cannot abort on its own: ", t.id);
  ctx.record().count(m_.aborts);
  if (cause != AbortCause::kNone) ctx.record().count(m_.abort_cause[static_cast<int>(cause)]);
  ctx.record().mark(m_.mark_apply, static_cast<int64_t>(t.id), 0);
  if (vote) {
    ctx.record().count(m_.votes_no);
    ctx.record().count(m_.messages);
    ctx.send(t.work.coordinator, Vote{t.id, VoteKind::kNo, cause, t.delays + 1});
  }
  if (t.phase == Phase::kPreparing) ctx.disk().erase(record_key(t.id));
  outcomes_.remember(t.id, false);
  release(ctx, t);
  erase(t);
}

void TxnParticipant::release(Context& ctx, Txn& t) {
  if (t.lock_timer.valid()) ctx.cancel_timer(t.lock_timer);
  if (t.doubt_timer.valid()) ctx.cancel_timer(t.doubt_timer);
  t.lock_timer = t.doubt_timer = TimerId{};
  if (t.next_lock > 0 || locks_.waiting(t.id)) {
    ctx.record().observe(m_.lock_hold, ctx.monotonic() - t.began);
  }
  for (const auto& [txn, key] : locks_.release_all(t.id))
    ready_.push_back(txn);
}

TxnParticipant::Txn* TxnParticipant::find(uint64_t txn) {
  const auto it = txns_.find(txn);
  return it == txns_.end() ? nullptr : &it->second;
}

TxnParticipant::Txn* TxnParticipant::find_local(uint64_t local) {
  const auto it = local_.find(local);
  return it == local_.end() ? nullptr : find(it->second);
}

void TxnParticipant::erase(Txn& t) {
  local_.erase(t.local);
  txns_.erase(t.id);
}

void TxnParticipant::check_invariants() const {
  locks_.check_invariants();
  DSIM_ASSERT(local_.size() == txns_.size(),
              "transactions and their local numbers differ: ", local_.size(), " ", txns_.size());
  for (const auto& [id, t] : txns_) {
    if (t.phase != Phase::kLocking && t.phase != Phase::kExecuted) {
      for (const TxnOp& op : t.work.ops) {
        DSIM_ASSERT(!op.write || locks_.holds(id, op.key, LockMode::kExclusive),
                    "a prepared transaction lost its write lock: txn ", id, " key ", op.key);
      }
    }
  }
}

}  // namespace dsim::txn
