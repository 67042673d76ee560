// Clients: requests speaking the kv contract, redirects from non-leaders (thesis 6.2),
// refusals, writes through the log, and reads through the log, by ReadIndex (thesis 6.4)
// or under a leader lease (thesis 6.4.1), which rest on heartbeat rounds a majority
// confirmed.
#include "models/raft/node.h"

#include <algorithm>

namespace dsim::raft {

using kv::KvOpKind;

Entry RaftNode::new_entry(Context& ctx, EntryKind kind) const {
  Entry e;
  e.term = term_;
  e.time = ctx.now();
  e.kind = kind;
  return e;
}

void RaftNode::answer(Context& ctx, const Pending& p, const kv::KvResponse& resp) {
  kv::KvResponse r = resp;
  r.call = p.req.call.id;
  ctx.send(p.client, std::move(r));
}

void RaftNode::answer_held_requests(Context& ctx) {
  // Writes in the log may still commit under the next leader: their outcome is unknown.
  for (const auto& [index, p] : writes_) {
    answer(ctx, p,
           kv::kv_reply(p.req, p.req.op == KvOpKind::kGet ? kv::KvStatus::kNotLeader
                                                          : kv::KvStatus::kIndeterminate));
  }
  // Gathered writes were never appended, and reads never change anything: definitely not
  // done.
  for (const auto& p : proposal_clients_)
    answer(ctx, p, kv::kv_reply(p.req, kv::KvStatus::kNotLeader));
  proposals_.clear();
  proposal_clients_.clear();
  for (auto* q : {&reads_waiting_round_, &reads_waiting_apply_, &reads_waiting_commit_}) {
    for (const auto& p : *q)
      answer(ctx, p, kv::kv_reply(p.req, kv::KvStatus::kNotLeader));
    q->clear();
  }
  writes_.clear();
  proposed_at_.clear();
}

void RaftNode::refuse(Context& ctx, NodeId from, const kv::KvRequest& req, kv::KvStatus status) {
  // A refusal tells the client the request was not applied, so a copy of it (the network
  // may duplicate messages) must never be accepted later: remember it.
  if (refused_.insert({from, req.call.id}).second) {
    refused_order_.emplace_back(from, req.call.id);
    if (refused_order_.size() > kMaxRefused) {
      refused_.erase(refused_order_.front());
      refused_order_.pop_front();
    }
  }
  ctx.send(from, kv::kv_reply(req, status, redirect_hint()));
}

void RaftNode::handle_client(Context& ctx, NodeId from, const kv::KvRequest& req) {
  if (refused_.count({from, req.call.id})) {
    ctx.send(from, kv::kv_reply(req, kv::KvStatus::kNotLeader, redirect_hint()));
    return;
  }
  if (role_ != Role::kLeader) {
    // Thesis 6.2: a server that is not the leader redirects the client to the leader it
    // knows of (kNoNode when it knows none).
    ctx.record().count(m_.redirects);
    refuse(ctx, from, req, kv::KvStatus::kNotLeader);
    return;
  }
  const size_t held = writes_.size() + proposals_.size() + reads_waiting_round_.size() +
                      reads_waiting_apply_.size() + reads_waiting_commit_.size();
  if (held >= static_cast<size_t>(config_.max_pending)) {
    ctx.record().count(m_.refused_busy);
    refuse(ctx, from, req, kv::KvStatus::kUnavailable);
    return;
  }
  Pending p;
  p.client = from;
  p.req = req;
  p.term = term_;
  if (req.op != KvOpKind::kGet || config_.read_mode == ReadMode::kLog) {
    propose_request(ctx, p);
  } else if (config_.read_mode == ReadMode::kLease) {
    read_under_lease(ctx, std::move(p));
  } else {
    start_read_index(ctx, std::move(p));
  }
}

void RaftNode::propose_request(Context& ctx, const Pending& p) {
  // Writes, and reads in read_mode log, go through the log: answered once applied.
  const bool read = p.req.op == KvOpKind::kGet;
  if (read) ctx.record().count(m_.reads_log);
  Entry e = new_entry(ctx, read ? EntryKind::kRead : EntryKind::kCommand);
  e.cmd = p.req;
  proposal_clients_.push_back(p);
  propose(ctx, std::move(e));
}

void RaftNode::read_under_lease(Context& ctx, Pending p) {
  // Thesis 6.4.1: within the lease no other leader can exist: read the state as of the
  // commit index without a round of heartbeats.
  if (committed_in_term_ && lease_valid(ctx)) {
    ctx.record().count(m_.reads_lease);
    p.read_index = commit_;
    reads_waiting_apply_.push_back(std::move(p));
    serve_reads(ctx);
    return;
  }
  ctx.record().count(m_.lease_fallbacks);
  start_read_index(ctx, std::move(p));
}

void RaftNode::start_read_index(Context& ctx, Pending p) {
  // Thesis 6.4, ReadIndex: (1) an entry of this term committed; (2) read index = commit
  // index; (3) a heartbeat round started after now answered by a majority; (4) applied up
  // to the read index; (5) read.
  ctx.record().count(m_.reads_index);
  if (!committed_in_term_) {
    reads_waiting_commit_.push_back(std::move(p));
    return;
  }
  wait_for_round(std::move(p));
  start_round_for_reads(ctx);  // else: after the round in flight
}

void RaftNode::wait_for_round(Pending p) {
  p.read_index = commit_;
  p.round = round_ + 1;
  reads_waiting_round_.push_back(std::move(p));
}

void RaftNode::start_round_for_reads(Context& ctx) {
  if (!reads_waiting_round_.empty() && confirmed_round_ == round_) broadcast_round(ctx);
}

void RaftNode::release_reads_waiting_commit(Context& ctx) {
  // Thesis 6.4 step 1 done: reads that waited for it take the commit index now.
  while (!reads_waiting_commit_.empty()) {
    wait_for_round(reads_waiting_commit_.front());
    reads_waiting_commit_.pop_front();
  }
  start_round_for_reads(ctx);
}

void RaftNode::on_round_acked(Context& ctx) {
  // The highest round a majority answered: the majority()-th largest acked round.
  const uint64_t confirmed = majority_reached(round_, &Peer::acked_round);
  if (confirmed <= confirmed_round_) return;
  confirmed_round_ = confirmed;
  extend_lease(confirmed);
  // Thesis 6.4 step 3: reads whose round is confirmed may proceed once applied.
  while (!reads_waiting_round_.empty() && reads_waiting_round_.front().round <= confirmed) {
    reads_waiting_apply_.push_back(reads_waiting_round_.front());
    reads_waiting_round_.pop_front();
  }
  serve_reads(ctx);
  // Reads that arrived during the round need one of their own: start it now.
  start_round_for_reads(ctx);
}

void RaftNode::extend_lease(uint64_t confirmed) {
  // Thesis 6.4.1: the lease runs from the start of the confirmed round.
  SimTime start;
  bool found = false;
  while (!round_starts_.empty() && round_starts_.front().first <= confirmed) {
    if (round_starts_.front().first == confirmed) {
      start = round_starts_.front().second;
      found = true;
    }
    round_starts_.pop_front();
  }
  if (!found || config_.read_mode != ReadMode::kLease) return;
  const auto lease = Duration::from_ns(
      static_cast<int64_t>(static_cast<double>(eto_min().ns()) / config_.clock_drift_bound));
  lease_until_ = std::max(lease_until_, start + lease);
}

bool RaftNode::lease_valid(Context& ctx) const {
  return ctx.monotonic() < lease_until_;
}

void RaftNode::serve_reads(Context& ctx) {
  while (!reads_waiting_apply_.empty() && reads_waiting_apply_.front().read_index <= applied_) {
    const Pending p = reads_waiting_apply_.front();
    reads_waiting_apply_.pop_front();
    answer(ctx, p, sm_.apply(p.req, ctx.now()));
  }
}

}  // namespace dsim::raft
