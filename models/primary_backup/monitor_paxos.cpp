// The monitors' configuration changes, each chosen by a majority of the monitors: one
// instance of single-decree Paxos per change, ballots being epochs (monitor.h). The
// proposer runs a round (prepare; for a failover, the fence; accept) and announces the
// chosen configuration; the acceptor promises and accepts, persisting both before it
// answers, so a restarted monitor keeps its word.
#include "models/primary_backup/monitor.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace dsim::pb {

namespace {

constexpr std::string_view kDiskPrefix = "pbmon/shard/";

uint64_t parse_u64(std::string_view t) {
  uint64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Ballots and what the acceptor keeps on disk

uint64_t Monitor::next_ballot() {
  // The next epoch above every one heard of that is this monitor's own (i mod m).
  const uint64_t m = monitors_.size();
  uint64_t e = max_seen_ + 1;
  e += (me_ + m - e % m) % m;
  max_seen_ = e;
  return e;
}

// What this monitor promised and accepted before a crash.
void Monitor::load_acceptors(Context& ctx) {
  ctx.disk().for_each(kDiskPrefix, [&](std::string_view key, std::string_view value) {
    Acceptor a;
    if (!Acceptor::parse(value, a)) return;
    acceptor_[static_cast<uint32_t>(parse_u64(key.substr(kDiskPrefix.size())))] = a;
    max_seen_ = std::max({max_seen_, a.promised, a.accepted_ballot});
  });
}

std::string Monitor::Acceptor::serialize() const {
  return std::to_string(promised) + " " + std::to_string(accepted_ballot) + " " +
         std::to_string(accepted_base) + "|" + accepted.serialize();
}

bool Monitor::Acceptor::parse(std::string_view text, Acceptor& out) {
  const size_t bar = text.find('|');
  if (bar == std::string_view::npos) return false;
  const std::string_view head = text.substr(0, bar);
  const size_t sp1 = head.find(' '), sp2 = head.rfind(' ');
  out.promised = parse_u64(head.substr(0, sp1));
  out.accepted_ballot = parse_u64(head.substr(sp1 + 1, sp2 - sp1 - 1));
  out.accepted_base = parse_u64(head.substr(sp2 + 1));
  ShardConfig::parse(text.substr(bar + 1), out.accepted);
  return true;
}

// ---------------------------------------------------------------------------------------
// Proposer

void Monitor::start_round(Context& ctx, uint32_t s, Change change, uint32_t subject) {
  Round r;
  r.id = next_round_++;
  r.ballot = next_ballot();
  r.change = change;
  r.subject = subject;
  r.base = chosen_[s];
  r.timer = kit::Timeout(kit::timer_tag(Timer::kRound, r.id), config_.round_timeout);
  r.timer.start(ctx);
  Prepare p;
  p.shard = s;
  p.ballot = r.ballot;
  p.base = r.base;
  p.change = change;
  p.subject = subject;
  rounds_[s] = std::move(r);
  for (NodeId m : monitors_)
    ctx.send(m, p);
}

void Monitor::handle_promise(Context& ctx, uint32_t from, const Promise& p) {
  max_seen_ = std::max(max_seen_, p.promised);
  if (p.decided.epoch > 0) learn_chosen(p.shard, p.decided);
  auto it = rounds_.find(p.shard);
  if (it == rounds_.end()) return;
  Round& r = it->second;
  if (r.stage != Stage::kPrepare || p.ballot != r.ballot) return;
  if (!p.ok) {
    if (p.decided.epoch > r.base.epoch) {
      abort_round(ctx, p.shard, false);  // we were behind: start again from the newer one
    } else if (refused(r)) {
      abort_round(ctx, p.shard, true);
    }
    return;
  }
  r.promises.insert(from);
  // Paxos: a value already accepted after this base must be proposed again.
  if (p.accepted_ballot > r.best_accepted) {
    r.best_accepted = p.accepted_ballot;
    r.value = p.accepted;
  }
  if (r.promises.size() >= majority()) after_promises(ctx, p.shard, r);
}

void Monitor::after_promises(Context& ctx, uint32_t s, Round& r) {
  if (r.best_accepted > 0) {
    send_accepts(ctx, s, r);  // as accepted, with the epoch it was first proposed under
    return;
  }
  if (r.change == Change::kFailover) {
    start_fence(ctx, s, r);
    return;
  }
  r.value = r.base;
  r.value.epoch = r.ballot;
  auto& in_sync = r.value.in_sync;
  in_sync.erase(std::remove(in_sync.begin(), in_sync.end(), r.subject), in_sync.end());
  if (r.change == Change::kAddBackup) {
    in_sync.push_back(r.subject);
    std::sort(in_sync.begin(), in_sync.end());
  }
  send_accepts(ctx, s, r);
}

void Monitor::start_fence(Context& ctx, uint32_t s, Round& r) {
  r.stage = Stage::kFence;
  for (uint32_t b : r.base.in_sync) {
    if (b != r.base.primary) r.candidates.push_back(b);
  }
  r.needed = layout_.fence_quorum(static_cast<uint32_t>(r.candidates.size()));
  if (r.candidates.empty() && config_.unclean_failover) {
    for (uint32_t j = 0; j <= layout_.backups; ++j) {
      const uint32_t b = layout_.placement(s, j);
      if (b != r.base.primary) r.candidates.push_back(b);
    }
    r.needed = 1;
  }
  // The suspected primary is asked too: if it answers with a valid copy (it was only slow,
  // or deposed by a failover that did not finish), it holds every acknowledged write and is
  // chosen again.
  r.candidates.push_back(r.base.primary);
  const bool fence = layout_.fencing == Fencing::kEpoch;
  for (uint32_t b : r.candidates)
    ctx.send(replicas_[b], Fence{s, r.ballot, fence});
  r.timer.start(ctx);
}

void Monitor::handle_fence_reply(Context& ctx, uint32_t from, const FenceReply& f) {
  auto it = rounds_.find(f.shard);
  if (it == rounds_.end()) return;
  Round& r = it->second;
  if (r.stage != Stage::kFence || r.ballot != f.epoch) return;
  if (std::find(r.candidates.begin(), r.candidates.end(), from) == r.candidates.end()) return;
  if (r.positions.count(from) || r.invalid.count(from)) return;
  if (f.valid) {
    r.positions[from] = f.pos;
  } else {
    r.invalid.insert(from);
  }
  maybe_choose(ctx, f.shard, r, false);
}

void Monitor::maybe_choose(Context& ctx, uint32_t s, Round& r, bool timed_out) {
  const auto valid = static_cast<uint32_t>(r.positions.size());
  const bool all = valid + r.invalid.size() >= r.candidates.size();
  // Wait for every candidate (the new in-sync set is those that answered), or the round's
  // end. Sync and semi-sync then need their quorum of valid in-sync copies (or the old
  // primary itself); async promises nothing and takes the best of whoever answered.
  if (!all && !timed_out) return;
  const uint32_t old_primary = r.base.primary;
  const bool old_valid = r.positions.count(old_primary) > 0;
  const auto valid_backups = valid - (old_valid ? 1 : 0);
  const bool lenient = layout_.replication == Replication::kAsync || config_.unclean_failover;
  if (!old_valid && (valid_backups == 0 || valid_backups < r.needed) &&
      !(lenient && valid_backups >= 1)) {
    if (all) ctx.record().count(m_blocked_);
    abort_round(ctx, s, true);
    return;
  }
  uint32_t best = old_valid ? old_primary : kNoIndex;
  LogPos best_pos = old_valid ? r.positions[old_primary] : LogPos{};
  for (const auto& [b, pos] : r.positions) {
    if (best == kNoIndex || pos > best_pos) {
      best = b;
      best_pos = pos;
    }
  }
  r.value = ShardConfig{};
  r.value.epoch = r.ballot;
  r.value.primary = best;
  // The in-sync backups stay in sync, but those that said they lost their copy: one that
  // did not answer may be cut off, yet (sync) holds every acknowledged write and stays a
  // candidate; the new primary waits for it until it asks the monitors to remove it.
  for (uint32_t b : r.base.in_sync) {
    if (b != best && b != old_primary && !r.invalid.count(b)) r.value.in_sync.push_back(b);
  }
  send_accepts(ctx, s, r);
}

void Monitor::send_accepts(Context& ctx, uint32_t s, Round& r) {
  r.stage = Stage::kAccept;
  r.timer.start(ctx);
  Accept a;
  a.shard = s;
  a.ballot = r.ballot;
  a.base = r.base;
  a.value = r.value;
  for (NodeId m : monitors_)
    ctx.send(m, a);
}

void Monitor::handle_accepted(Context& ctx, uint32_t from, const Accepted& a) {
  max_seen_ = std::max(max_seen_, a.promised);
  auto it = rounds_.find(a.shard);
  if (it == rounds_.end()) return;
  Round& r = it->second;
  if (r.stage != Stage::kAccept || a.ballot != r.ballot) return;
  if (!a.ok) {
    if (refused(r)) abort_round(ctx, a.shard, true);
    return;
  }
  r.accepts.insert(from);
  if (r.accepts.size() < majority()) return;
  r.timer.stop(ctx);
  const Round done = std::move(r);
  rounds_.erase(it);
  chosen(ctx, a.shard, done);
}

bool Monitor::refused(Round& r) const {
  // Refusals of the prepare and the accept phase count together.
  ++r.refusals;
  const size_t granted = r.stage == Stage::kPrepare ? r.promises.size() : r.accepts.size();
  return kit::vote_result(voters(), static_cast<uint32_t>(granted), r.refusals, majority()) ==
         kit::VoteResult::kLost;
}

void Monitor::chosen(Context& ctx, uint32_t s, const Round& r) {
  learn_chosen(s, r.value);
  ConfigUpdate u{s, r.value};
  for (NodeId n : replicas_)
    ctx.send(n, u);
  for (NodeId m : monitors_) {
    if (m != ctx.self()) ctx.send(m, u);
  }
  // What the chosen value does (it may be another monitor's, proposed again).
  const bool failover = r.value.primary != r.base.primary;
  if (failover) {
    ctx.record().count(m_failovers_);
    auto it = outages_.find(s);
    if (it != outages_.end() && !it->second.chosen) {
      ctx.record().observe(m_detection_, it->second.suspected - it->second.last_heard);
      ctx.record().observe(m_promotion_, ctx.now() - it->second.suspected);
      it->second.chosen = true;
      it->second.epoch = r.value.epoch;
    }
  } else if (r.value.in_sync.size() > r.base.in_sync.size()) {
    ctx.record().count(m_expands_);
  } else if (r.value.in_sync.size() < r.base.in_sync.size()) {
    ctx.record().count(m_shrinks_);
  }
}

void Monitor::abort_round(Context& ctx, uint32_t s, bool backoff) {
  auto it = rounds_.find(s);
  if (it == rounds_.end()) return;
  it->second.timer.stop(ctx);
  if (it->second.change == Change::kFailover) ctx.record().count(m_rounds_failed_);
  rounds_.erase(it);
  if (!backoff) return;
  // Back off a random while, so competing monitors do not collide again.
  const auto wait = Duration::from_ns(static_cast<int64_t>(
      (1.0 + ctx.rng().uniform01()) * static_cast<double>(config_.round_timeout.ns())));
  backoff_[s] = ctx.now() + wait;
}

// A phase of a round got no answer in time: a fence chooses among the answers it has,
// prepare and accept give up (and back off).
void Monitor::on_round_timeout(Context& ctx, TimerId id) {
  for (auto& [s, r] : rounds_) {
    if (!r.timer.fired(id)) continue;
    if (r.stage == Stage::kFence) {
      maybe_choose(ctx, s, r, true);
    } else {
      abort_round(ctx, s, true);
    }
    return;
  }
}

// ---------------------------------------------------------------------------------------
// Acceptor

void Monitor::persist_and_reply(Context& ctx, uint32_t s, NodeId to, Message reply) {
  const std::string value = acceptor_[s].serialize();
  if (!ctx.disk().write(std::string(kDiskPrefix) + std::to_string(s), value)) return;  // full
  const DiskOpId op = ctx.disk().sync(0);
  replies_.emplace(op.seq, PendingReply{to, std::move(reply)});
}

template <class Reply, class Request>
Reply Monitor::reply_to(const Request& m) {
  max_seen_ = std::max(max_seen_, m.ballot);
  Reply reply;
  reply.shard = m.shard;
  reply.ballot = m.ballot;
  return reply;
}

void Monitor::handle_prepare(Context& ctx, NodeId from, const Prepare& p) {
  auto reply = reply_to<Promise>(p);
  Acceptor& a = acceptor_[p.shard];
  const ShardConfig* mine = config(p.shard);
  if (mine && mine->epoch > p.base.epoch) {
    reply.decided = *mine;  // the proposer is behind
    ctx.send(from, reply);
    return;
  }
  bool ok = p.ballot > a.promised;
  if (ok && p.change == Change::kFailover) ok = suspects(ctx, p.subject, p.shard, p.base.epoch);
  reply.promised = a.promised;
  if (!ok) {
    ctx.send(from, reply);
    return;
  }
  learn_chosen(p.shard, p.base);  // the proposer knows it was chosen
  a.promised = p.ballot;
  reply.ok = true;
  reply.promised = a.promised;
  if (a.accepted_ballot > 0 && a.accepted_base == p.base.epoch) {
    reply.accepted_ballot = a.accepted_ballot;
    reply.accepted = a.accepted;
  }
  ctx.record().count(m_promises_);
  persist_and_reply(ctx, p.shard, from, reply);
}

void Monitor::handle_accept(Context& ctx, NodeId from, const Accept& m) {
  auto reply = reply_to<Accepted>(m);
  Acceptor& a = acceptor_[m.shard];
  const ShardConfig* mine = config(m.shard);
  if (m.ballot < a.promised || (mine && mine->epoch > m.base.epoch)) {
    reply.promised = a.promised;
    ctx.send(from, reply);
    return;
  }
  // Accepting a value for the instance after `base` forgets any older accepted value, so
  // it must also know `base` was chosen (and refuse proposals built on older ones).
  learn_chosen(m.shard, m.base);
  a.promised = m.ballot;
  a.accepted_ballot = m.ballot;
  a.accepted_base = m.base.epoch;
  a.accepted = m.value;
  reply.ok = true;
  reply.promised = a.promised;
  persist_and_reply(ctx, m.shard, from, reply);
}

}  // namespace dsim::pb
