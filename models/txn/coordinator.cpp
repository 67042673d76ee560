#include "models/txn/coordinator.h"

#include <algorithm>
#include <sstream>

#include "models/kit/hash_slots.h"
#include "sim/core/assert.h"

namespace dsim::txn {

// --- configuration ------------------------------------------------------------------------

TxnCoordinator::Config TxnCoordinator::parse(ParamReader& r) {
  Config c;
  c.participants = r.group("participants", "the txn_participant group holding the keys");
  c.protocol = r.choice("protocol", c.protocol,
                        {{"2pc", Protocol::kTwoPhase},
                         {"3pc", Protocol::kThreePhase},
                         {"paxos_commit", Protocol::kPaxosCommit}},
                        "two-phase commit, three-phase commit with its pre-commit round, or "
                        "Gray and Lamport's Paxos Commit over a group of txn_acceptors");
  if (c.protocol == Protocol::kPaxosCommit || r.has("acceptors") || r.doc_mode()) {
    c.acceptors = r.group("acceptors", "paxos_commit: the txn_acceptor group (2F + 1 of them)");
  }
  c.faults = r.integer("faults", c.faults,
                       "paxos_commit: F, the acceptors that may fail (an instance is chosen by "
                       "F + 1 of them; the group needs at least 2F + 1)",
                       0, 1000);
  if (!c.acceptors.empty()) {
    const uint32_t n = r.env().size_of(c.acceptors);
    if (n > 0 && static_cast<int64_t>(n) < 2 * c.faults + 1) {
      r.error("faults", "F = " + std::to_string(c.faults) +
                            " needs 2F + 1 = " + std::to_string(2 * c.faults + 1) +
                            " acceptors; group '" + c.acceptors + "' has " + std::to_string(n));
    }
  }
  if (!c.acceptors.empty() && c.protocol != Protocol::kPaxosCommit && !r.doc_mode()) {
    r.error("acceptors", "only paxos_commit has acceptors");
  }
  c.presumption = r.choice("presumption", c.presumption,
                           {{"nothing", Presumption::kNothing},
                            {"abort", Presumption::kAbort},
                            {"commit", Presumption::kCommit}},
                           "2PC's logging variant (R*): which outcome a coordinator that knows "
                           "nothing of a transaction presumes, so which records are forced and "
                           "which decisions acknowledged");
  c.read_only_vote = r.boolean("read_only_vote", c.read_only_vote,
                               "a participant that writes nothing votes read-only and leaves "
                               "the second phase (R*'s read-only optimisation)");
  c.cooperative = r.boolean("cooperative_termination", c.cooperative,
                            "a participant in doubt asks the other participants as well as the "
                            "coordinator (2PC; 3PC always does)");
  c.vote_timeout = r.duration("vote_timeout", c.vote_timeout,
                              "a transaction whose votes are not all in by then aborts");
  c.resend = r.duration("resend", c.resend,
                        "unacknowledged decisions are sent again this often; 3PC: how long the "
                        "coordinator awaits pre-commit acks before it commits anyway");
  c.remembered =
      r.integer("remembered", 10'000,
                "outcomes kept in memory to answer retried requests and queries", 1, 100'000'000);
  if (c.vote_timeout <= Duration::zero()) r.error("vote_timeout", "must be > 0");
  if (c.resend <= Duration::zero()) r.error("resend", "must be > 0");
  if (c.protocol != Protocol::kTwoPhase && c.presumption != Presumption::kAbort) {
    r.error("presumption", "only 2PC has logging variants; leave presumption at abort");
  }
  read_log(r, c);
  return c;
}

void TxnCoordinator::declare(const Config&, MetricDecls& d) {
  for (const char* name : {"committed", "aborted", "read_only", "forced_writes", "messages",
                           "execution_messages", "resends", "log_writes", "log_reads"})
    d.counter(name);
  kit::RpcClient::declare(d);
  for (int i = 1; i < kAbortCauses; ++i)
    d.counter("aborts_" + std::string(abort_cause_name(static_cast<AbortCause>(i))));
  d.timing("commit_time");
  d.timing("abort_time");
  d.level("in_progress");
}

bool TxnCoordinator::decision_forced(bool commit) const {
  if (paxos()) return false;  // the acceptors hold the outcome
  if (config_.protocol == Protocol::kThreePhase) return commit;
  return commit || config_.presumption != Presumption::kAbort;
}

bool TxnCoordinator::acks_wanted(bool commit) const {
  return decision_acknowledged(config_.protocol, config_.presumption, commit);
}

void TxnCoordinator::on_start(Context& ctx) {
  const auto nodes = ctx.group_nodes(config_.participants);
  participants_.assign(nodes.begin(), nodes.end());
  if (paxos()) {
    const auto acceptors = ctx.group_nodes(config_.acceptors);
    acceptors_.assign(acceptors.begin(), acceptors.end());
  }
  if (paxos() || logged()) {
    // Any coordinator can finish a transaction: a participant in doubt asks them in turn.
    const auto coordinators = ctx.group_nodes(ctx.group_name());
    coordinators_.assign(coordinators.begin(), coordinators.end());
  }
  if (logged()) rpc_.start(ctx, ctx.group_nodes(config_.log), ctx.index_in_group());
  m_.committed = ctx.intern("committed");
  m_.aborted = ctx.intern("aborted");
  m_.read_only = ctx.intern("read_only");
  m_.forced_writes = ctx.intern("forced_writes");
  m_.messages = ctx.intern("messages");
  m_.execution_messages = ctx.intern("execution_messages");
  m_.resends = ctx.intern("resends");
  m_.log_writes = ctx.intern("log_writes");
  m_.log_reads = ctx.intern("log_reads");
  m_.commit_time = ctx.intern("commit_time");
  m_.abort_time = ctx.intern("abort_time");
  m_.in_progress = ctx.intern("in_progress");
  for (int i = 1; i < kAbortCauses; ++i)
    m_.abort_cause[i] =
        ctx.intern("aborts_" + std::string(abort_cause_name(static_cast<AbortCause>(i))));
  m_.mark_decide = ctx.intern("txn_decide");
  recover(ctx);
}

void TxnCoordinator::on_message(Context& ctx, const Envelope& env) {
  if (const auto* req = env.msg.get<TxnRequest>()) {
    on_request(ctx, *req);
  } else if (const auto* e = env.msg.get<Executed>()) {
    on_executed(ctx, env.from, *e);
  } else if (const auto* v = env.msg.get<Vote>()) {
    on_vote(ctx, env.from, *v);
  } else if (const auto* a = env.msg.get<DecisionAck>()) {
    on_ack(ctx, env.from, a->txn);
  } else if (const auto* pa = env.msg.get<PreCommitAck>()) {
    on_pre_commit_ack(ctx, env.from, *pa);
  } else if (const auto* q = env.msg.get<Query>()) {
    on_query(ctx, env.from, *q);
  } else if (const auto* b2 = env.msg.get<Phase2b>()) {
    on_phase2b(ctx, env.from, *b2);
  } else if (const auto* b1 = env.msg.get<Phase1b>()) {
    on_phase1b(ctx, env.from, *b1);
  } else if (const auto* kr = env.msg.get<kv::KvResponse>()) {
    on_log_answer(ctx, env.from, *kr);
  }
  ctx.record().level(m_.in_progress, static_cast<double>(txns_.size()));
}

void TxnCoordinator::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  const auto [kind, local] = kit::timer_of<Timer>(tag);
  if (kind == Timer::kCalls) {
    rpc_.on_timer(ctx, local);
    return;
  }
  if (kind == Timer::kSettle) {
    begin_settle(ctx, local);  // the log was out of reach: again
    return;
  }
  const auto it = local_.find(local);
  if (it == local_.end()) return;
  Txn& t = txns_.at(it->second);
  if (t.timer != id) return;
  t.timer = TimerId{};
  if (paxos() && t.phase == Phase::kVoting) {
    // The participants may have proposed already: only a chosen "aborted" may abort, so
    // lead phase 1 for every instance (proposing "aborted" where nothing was accepted).
    t.phase = Phase::kRecovering;
    t.cause = AbortCause::kVoteTimeout;
    start_phase1(ctx, t);
  } else if (t.phase == Phase::kExecuting || t.phase == Phase::kCollecting ||
             t.phase == Phase::kVoting) {
    decide(ctx, t, false, AbortCause::kVoteTimeout);
  } else if (t.phase == Phase::kPreCommitting) {
    decide(ctx, t, true, AbortCause::kNone);  // Skeen: a pre-committed coordinator commits
  } else if (t.phase == Phase::kAcking) {
    ctx.record().count(m_.resends);
    send_decision(ctx, t);
  } else if (t.phase == Phase::kRecovering) {
    start_phase1(ctx, t);  // no quorum answered in time: again, at a higher ballot
  }
  ctx.record().level(m_.in_progress, static_cast<double>(txns_.size()));
}

void TxnCoordinator::on_disk(Context& ctx, DiskOpId, uint64_t tag) {
  const auto [kind, local] = kit::timer_of<Sync>(tag);
  const auto it = local_.find(local);
  if (it == local_.end()) return;
  Txn& t = txns_.at(it->second);
  if (kind == Sync::kCollecting && t.phase == Phase::kCollecting) {
    t.phase = Phase::kVoting;
    send_prepares(ctx, t);
  } else if (kind == Sync::kDecided && t.phase == Phase::kDeciding) {
    take_effect(ctx, t);  // the decision is durable (for a commit, the commit point)
  }
  ctx.record().level(m_.in_progress, static_cast<double>(txns_.size()));
}

// --- the first phase ----------------------------------------------------------------------

void TxnCoordinator::on_request(Context& ctx, const TxnRequest& req) {
  if (Txn* t = find(req.txn)) {
    t->call = req.call;  // a retry: answer this attempt
    return;
  }
  if (const auto o = outcomes_.find(req.txn)) {
    // Finished: a retry whose answer was lost. The reads are gone, so a commit is
    // reported as unavailable (the client keeps the outcome unknown) rather than made up.
    ctx.send(req.call.reply_to,
             TxnResponse{req.call.id,
                         *o ? TxnResponse::Status::kUnavailable : TxnResponse::Status::kAborted,
                         AbortCause::kNone,
                         {}});
    return;
  }
  if (participants_.empty() || req.ops.empty()) {
    ctx.send(req.call.reply_to,
             TxnResponse{req.call.id, TxnResponse::Status::kUnavailable, AbortCause::kNone, {}});
    return;
  }
  Txn& t = add(req.txn);
  t.call = req.call;
  t.priority = req.priority;
  t.ops = req.ops;
  t.reads.assign(req.ops.size(), 0);
  t.began = ctx.monotonic();
  const auto shards = static_cast<uint32_t>(participants_.size());
  for (uint32_t i = 0; i < t.ops.size(); ++i) {
    const NodeId node = participants_[kit::slot_shard(kit::hash_slot(t.ops[i].key), shards)];
    Part* p = part_of(t, node);
    if (!p) {
      t.parts.emplace_back();
      p = &t.parts.back();
      p->node = node;
    }
    p->ops.push_back(i);
    p->writes = p->writes || t.ops[i].write;
  }
  std::sort(t.parts.begin(), t.parts.end(),
            [](const Part& a, const Part& b) { return a.node < b.node; });
  arm(ctx, t, Timer::kVotes, config_.vote_timeout);
  std::vector<NodeId> peers;
  for (const Part& p : t.parts)
    peers.push_back(p.node);
  for (const Part& p : t.parts) {
    Execute msg;
    msg.txn = t.id;
    msg.priority = t.priority;
    msg.coordinator = ctx.self();
    msg.protocol = config_.protocol;
    msg.presumption = config_.presumption;
    msg.read_only_vote = config_.read_only_vote;
    msg.cooperative = config_.cooperative;
    for (uint32_t i : p.ops)
      msg.ops.push_back(t.ops[i]);
    msg.peers = peers;
    msg.acceptors = acceptors_;
    msg.coordinators = coordinators_;
    ctx.record().count(m_.execution_messages);
    ctx.send(p.node, std::move(msg));
  }
}

void TxnCoordinator::on_executed(Context& ctx, NodeId from, const Executed& e) {
  Txn* t = find(e.txn);
  if (!t || t->phase != Phase::kExecuting) return;
  Part* p = part_of(*t, from);
  if (!p || p->executed) return;
  p->executed = true;
  for (size_t i = 0; i < p->ops.size() && i < e.reads.size(); ++i)
    t->reads[p->ops[i]] = e.reads[i];
  const bool all =
      std::all_of(t->parts.begin(), t->parts.end(), [](const Part& q) { return q.executed; });
  if (all) start_commit(ctx, *t);
}

void TxnCoordinator::start_commit(Context& ctx, Txn& t) {
  if (config_.protocol == Protocol::kTwoPhase && config_.presumption == Presumption::kCommit) {
    // Presumed commit: knowing nothing must mean commit, so the participants are logged
    // before anyone is prepared (R*'s collecting record).
    std::string rec = std::to_string(t.parts.size());
    for (const Part& p : t.parts)
      rec += ' ' + std::to_string(p.node);
    ctx.disk().write("c/" + std::to_string(t.id), std::move(rec), 0, DiskWrite::kLog);
    ctx.disk().sync(kit::timer_tag(Sync::kCollecting, t.local));
    ctx.record().count(m_.forced_writes);
    t.phase = Phase::kCollecting;
    return;
  }
  t.phase = Phase::kVoting;
  send_prepares(ctx, t);
}

void TxnCoordinator::send_prepares(Context& ctx, Txn& t) {
  for (const Part& p : t.parts)
    send(ctx, p.node, Prepare{t.id, 1});
}

void TxnCoordinator::on_vote(Context& ctx, NodeId from, const Vote& v) {
  Txn* t = find(v.txn);
  if (!t) return;
  Part* p = part_of(*t, from);
  if (!p || p->heard != Heard::kNothing) return;
  if (v.vote == VoteKind::kNo && (t->phase == Phase::kExecuting || t->phase == Phase::kVoting ||
                                  t->phase == Phase::kCollecting)) {
    p->heard = Heard::kNo;
    decide(ctx, *t, false, v.cause == AbortCause::kNone ? AbortCause::kVoteNo : v.cause);
    return;
  }
  if (t->phase != Phase::kVoting) return;
  p->heard = v.vote == VoteKind::kYes ? Heard::kYes : Heard::kReadOnly;
  t->delays = std::max(t->delays, v.delays);
  const bool all = std::all_of(t->parts.begin(), t->parts.end(),
                               [](const Part& q) { return q.heard != Heard::kNothing; });
  if (all) all_voted(ctx, *t);
}

void TxnCoordinator::all_voted(Context& ctx, Txn& t) {
  const bool any_yes = std::any_of(t.parts.begin(), t.parts.end(),
                                   [](const Part& q) { return q.heard == Heard::kYes; });
  if (!any_yes) {
    // Every participant only read: nothing to decide, nothing to log.
    ctx.record().count(m_.read_only);
    t.commit = true;
    ctx.record().mark(m_.mark_decide, static_cast<int64_t>(t.id), 1);
    answer(ctx, t);
    if (config_.protocol == Protocol::kTwoPhase && config_.presumption == Presumption::kCommit)
      ctx.disk().erase("c/" + std::to_string(t.id));
    finish(ctx, t);
    return;
  }
  if (config_.protocol == Protocol::kThreePhase) {
    t.phase = Phase::kPreCommitting;
    for (const Part& p : t.parts)
      if (p.heard == Heard::kYes) send(ctx, p.node, PreCommit{t.id, t.delays + 1});
    arm(ctx, t, Timer::kResend, config_.resend);
    return;
  }
  decide(ctx, t, true, AbortCause::kNone);
}

void TxnCoordinator::on_pre_commit_ack(Context& ctx, NodeId from, const PreCommitAck& a) {
  Txn* t = find(a.txn);
  if (!t || t->phase != Phase::kPreCommitting) return;
  t->delays = std::max(t->delays, a.delays);
  if (Part* p = part_of(*t, from)) p->pre_commit_acked = true;
  const bool all = std::all_of(t->parts.begin(), t->parts.end(), [](const Part& q) {
    return q.heard != Heard::kYes || q.pre_commit_acked;
  });
  if (all) decide(ctx, *t, true, AbortCause::kNone);
}

// --- the decision -------------------------------------------------------------------------

void TxnCoordinator::decide(Context& ctx, Txn& t, bool commit, AbortCause cause) {
  t.commit = commit;
  t.cause = cause;
  t.phase = Phase::kDeciding;
  if (!decision_forced(commit)) {
    // Presumed abort's aborts are not logged, nor are Paxos Commit's decisions (the
    // acceptors hold them): the decision takes effect now.
    take_effect(ctx, t);
    return;
  }
  if (logged()) {
    settle(ctx, t.id, commit, kNoNode);  // the commit point is the replicated record
    return;
  }
  std::string rec = std::to_string(commit ? 1 : 0) + ' ' + std::to_string(t.parts.size());
  for (const Part& p : t.parts)
    rec += ' ' + std::to_string(p.node);
  ctx.disk().write("d/" + std::to_string(t.id), std::move(rec), 0, DiskWrite::kLog);
  ctx.disk().sync(kit::timer_tag(Sync::kDecided, t.local));
  ctx.record().count(m_.forced_writes);
}

void TxnCoordinator::take_effect(Context& ctx, Txn& t) {
  ctx.record().mark(m_.mark_decide, static_cast<int64_t>(t.id), t.commit ? 1 : 0);
  answer(ctx, t);
  send_decision(ctx, t);
}

void TxnCoordinator::send_decision(Context& ctx, Txn& t) {
  t.phase = Phase::kAcking;
  const bool acks = acks_wanted(t.commit);
  bool waiting = false;
  for (const Part& p : t.parts) {
    // Read-only voters left; a no voter aborted on its own; acknowledged ones are done.
    // Under Paxos Commit, those that only read left once they proposed.
    if (p.heard == Heard::kReadOnly || p.heard == Heard::kNo || p.heard == Heard::kAcked) continue;
    if (paxos() && !p.writes) continue;
    send(ctx, p.node, Decision{t.id, t.commit, t.delays + 1});
    waiting = waiting || acks;
  }
  if (waiting) {
    arm(ctx, t, Timer::kResend, config_.resend);
    return;
  }
  finish(ctx, t);
}

void TxnCoordinator::on_ack(Context& ctx, NodeId from, uint64_t txn) {
  Txn* t = find(txn);
  if (!t || t->phase != Phase::kAcking) return;
  if (Part* p = part_of(*t, from)) p->heard = Heard::kAcked;
  const bool all = std::all_of(t->parts.begin(), t->parts.end(), [](const Part& q) {
    return q.heard == Heard::kAcked || q.heard == Heard::kReadOnly || q.heard == Heard::kNo;
  });
  if (all) finish(ctx, *t);
}

void TxnCoordinator::on_query(Context& ctx, NodeId from, const Query& q) {
  bool commit = false;
  if (Txn* t = find(q.txn)) {
    if (t->phase != Phase::kAcking) return;  // not decided yet (or not durable): no answer
    commit = t->commit;
  } else if (const auto o = outcomes_.find(q.txn)) {
    commit = *o;
  } else if (paxos()) {
    lead_recovery(ctx, q);  // the acceptors know: ask them
    return;
  } else if (logged()) {
    settle(ctx, q.txn, false, from);  // the log knows, or it is aborted there now
    return;
  } else {
    commit = config_.protocol == Protocol::kTwoPhase &&
             config_.presumption == Presumption::kCommit;  // R*: what knowing nothing means
  }
  send(ctx, from, Decision{q.txn, commit, 0});
}

void TxnCoordinator::finish(Context& ctx, Txn& t) {
  // The end record: the log no longer needs the transaction (not forced).
  ctx.disk().erase("d/" + std::to_string(t.id));
  ctx.disk().erase("c/" + std::to_string(t.id));
  if (t.timer.valid()) ctx.cancel_timer(t.timer);
  outcomes_.remember(t.id, t.commit);
  erase(t);
}

void TxnCoordinator::answer(Context& ctx, const Txn& t) {
  if (t.call.id == 0) return;  // recovered: the client's call died with the old instance
  const Duration took = ctx.monotonic() - t.began;
  if (t.commit) {
    ctx.record().count(m_.committed);
    ctx.record().observe(m_.commit_time, took);
  } else {
    ctx.record().count(m_.aborted);
    ctx.record().count(m_.abort_cause[static_cast<int>(t.cause)]);
    ctx.record().observe(m_.abort_time, took);
  }
  ctx.send(t.call.reply_to,
           TxnResponse{t.call.id,
                       t.commit ? TxnResponse::Status::kCommitted : TxnResponse::Status::kAborted,
                       t.cause, t.commit ? t.reads : std::vector<int64_t>{}});
}

// --- recovery and bookkeeping -------------------------------------------------------------

void TxnCoordinator::recover(Context& ctx) {
  std::map<uint64_t, std::string> decided, collecting;
  ctx.disk().for_each("d/", [&](std::string_view key, std::string_view value) {
    decided[std::stoull(std::string(key.substr(2)))] = std::string(value);
  });
  ctx.disk().for_each("c/", [&](std::string_view key, std::string_view value) {
    collecting[std::stoull(std::string(key.substr(2)))] = std::string(value);
  });
  auto read_parts = [](std::istringstream& in, Txn& t) {
    size_t n = 0;
    in >> n;
    for (size_t i = 0; i < n; ++i) {
      Part p;
      in >> p.node;
      p.heard = Heard::kYes;
      t.parts.push_back(p);
    }
  };
  for (const auto& [id, text] : decided) {
    std::istringstream in(text);
    int commit = 0;
    in >> commit;
    Txn& t = add(id);
    read_parts(in, t);
    DSIM_ASSERT(!in.fail(), "a decision record does not parse: txn ", id);
    t.commit = commit != 0;
    t.began = ctx.monotonic();
    send_decision(ctx, t);  // again, until acknowledged where the variant wants it
  }
  for (const auto& [id, text] : collecting) {
    if (decided.count(id)) continue;
    // Presumed commit: prepared participants may exist and nothing was decided: abort.
    std::istringstream in(text);
    Txn& t = add(id);
    read_parts(in, t);
    DSIM_ASSERT(!in.fail(), "a collecting record does not parse: txn ", id);
    t.began = ctx.monotonic();
    decide(ctx, t, false, AbortCause::kRecovery);
  }
}

void TxnCoordinator::arm(Context& ctx, Txn& t, Timer kind, Duration after) {
  if (t.timer.valid()) ctx.cancel_timer(t.timer);
  t.timer = ctx.set_timer(after, kit::timer_tag(kind, t.local));
}

void TxnCoordinator::send(Context& ctx, NodeId to, Message msg) {
  ctx.record().count(m_.messages);
  ctx.send(to, std::move(msg));
}

TxnCoordinator::Part* TxnCoordinator::part_of(Txn& t, NodeId node) {
  for (Part& p : t.parts)
    if (p.node == node) return &p;
  return nullptr;
}

TxnCoordinator::Txn* TxnCoordinator::find(uint64_t txn) {
  const auto it = txns_.find(txn);
  return it == txns_.end() ? nullptr : &it->second;
}

TxnCoordinator::Txn& TxnCoordinator::add(uint64_t txn) {
  Txn& t = txns_[txn];
  t.id = txn;
  t.local = next_local_++;
  local_[t.local] = txn;
  return t;
}

void TxnCoordinator::erase(Txn& t) {
  local_.erase(t.local);
  txns_.erase(t.id);
}

}  // namespace dsim::txn
