#include "models/primary_backup/monitor.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "models/primary_backup/replica.h"

namespace dsim::pb {

namespace {

constexpr uint64_t kTagValueMask = (uint64_t{1} << 56) - 1;
constexpr std::string_view kDiskPrefix = "pbmon/shard/";

uint64_t parse_u64(std::string_view t) {
  uint64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

}  // namespace

Monitor::Config Monitor::parse(ParamReader& r) {
  Config c;
  c.replicas = r.group("replicas", "the primary_backup group this monitor watches");
  if (const std::string_view m = r.env().model_of(c.replicas);
      !r.doc_mode() && !m.empty() && m != PrimaryBackup::kName) {
    r.error("replicas", "group '" + c.replicas + "' runs " + std::string(m) + ", not " +
                            std::string(PrimaryBackup::kName));
  }
  c.heartbeat_interval =
      r.duration("heartbeat_interval", c.heartbeat_interval,
                 "how often each replica is pinged (Redis Sentinel: every second)");
  c.failure_timeout = r.duration(
      "failure_timeout", c.failure_timeout,
      "a primary silent this long is suspected (Sentinel down-after-milliseconds: 30 s)");
  c.round_timeout = r.duration("round_timeout", c.round_timeout,
                               "how long each phase of a configuration change waits for "
                               "answers before it gives up and retries later");
  c.unclean_failover =
      r.boolean("unclean_failover", c.unclean_failover,
                "with no in-sync backup left, promote the most up-to-date other backup anyway "
                "(availability over acknowledged writes; Kafka unclean.leader.election)");
  if (c.heartbeat_interval <= Duration::zero()) r.error("heartbeat_interval", "must be > 0");
  if (c.round_timeout <= Duration::zero()) r.error("round_timeout", "must be > 0");
  if (c.failure_timeout < c.heartbeat_interval) {
    r.error("failure_timeout",
            "must be at least heartbeat_interval (else every node is suspected between two "
            "heartbeats)");
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Start, dispatch, timers

void Monitor::on_start(Context& ctx) {
  const auto reps = ctx.group_nodes(config_.replicas);
  replicas_.assign(reps.begin(), reps.end());
  const std::string name = ctx.node_name(ctx.self());
  const auto mons = ctx.group_nodes(name.substr(0, name.rfind('.')));
  monitors_.assign(mons.begin(), mons.end());
  if (monitors_.empty()) monitors_.push_back(ctx.self());
  me_ = monitor_index(ctx.self());
  if (me_ == kNoIndex) me_ = 0;
  detector_.watch(replicas_.size(), ctx.now());
  healthy_.assign(replicas_.size(), ctx.now());

  m_failovers_ = ctx.intern("failovers");
  m_rounds_failed_ = ctx.intern("failover_rounds_failed");
  m_blocked_ = ctx.intern("failovers_blocked");
  m_shrinks_ = ctx.intern("in_sync_removals");
  m_expands_ = ctx.intern("in_sync_additions");
  m_promises_ = ctx.intern("promises");
  m_resent_ = ctx.intern("configs_resent");
  m_suspicions_ = ctx.intern("suspicions");
  m_detection_ = ctx.intern("failover_detection");
  m_promotion_ = ctx.intern("failover_promotion");
  m_failover_time_ = ctx.intern("failover_time");
  m_serving_ = ctx.intern("failover_serving");

  // What this monitor promised and accepted before a crash.
  ctx.disk().for_each(kDiskPrefix, [&](std::string_view key, std::string_view value) {
    const auto s = static_cast<uint32_t>(parse_u64(key.substr(kDiskPrefix.size())));
    const size_t bar = value.find('|');
    if (bar == std::string_view::npos) return;
    Acceptor a;
    const std::string_view head = value.substr(0, bar);
    const size_t sp1 = head.find(' '), sp2 = head.rfind(' ');
    a.promised = parse_u64(head.substr(0, sp1));
    a.accepted_ballot = parse_u64(head.substr(sp1 + 1, sp2 - sp1 - 1));
    a.accepted_base = parse_u64(head.substr(sp2 + 1));
    ShardConfig::parse(value.substr(bar + 1), a.accepted);
    acceptor_[s] = a;
    max_seen_ = std::max({max_seen_, a.promised, a.accepted_ballot});
  });
  // Ticks at a random phase, so monitors do not act in lockstep.
  const auto phase = Duration::from_ns(static_cast<int64_t>(
      ctx.rng().uniform01() * static_cast<double>(config_.heartbeat_interval.ns())));
  ctx.set_timer(phase, tag(kTick, 0));
}

const ShardConfig* Monitor::config(uint32_t shard) const {
  auto it = chosen_.find(shard);
  return it == chosen_.end() ? nullptr : &it->second;
}

uint64_t Monitor::promised(uint32_t shard) const {
  auto it = acceptor_.find(shard);
  return it == acceptor_.end() ? 0 : it->second.promised;
}

uint32_t Monitor::replica_index(NodeId n) const {
  const auto it = std::lower_bound(replicas_.begin(), replicas_.end(), n);
  return it != replicas_.end() && *it == n ? static_cast<uint32_t>(it - replicas_.begin())
                                           : kNoIndex;
}

uint32_t Monitor::monitor_index(NodeId n) const {
  const auto it = std::lower_bound(monitors_.begin(), monitors_.end(), n);
  return it != monitors_.end() && *it == n ? static_cast<uint32_t>(it - monitors_.begin())
                                           : kNoIndex;
}

uint64_t Monitor::next_ballot() {
  // The next epoch above every one heard of that is this monitor's own (i mod m).
  const uint64_t m = monitors_.size();
  uint64_t e = max_seen_ + 1;
  e += (me_ + m - e % m) % m;
  max_seen_ = e;
  return e;
}

void Monitor::learn_chosen(uint32_t s, const ShardConfig& c) {
  if (c.epoch == 0) return;
  auto it = chosen_.find(s);
  if (it == chosen_.end() || c.epoch > it->second.epoch) chosen_[s] = c;
  max_seen_ = std::max(max_seen_, c.epoch);
}

void Monitor::learn_layout(const Layout& l) {
  if (have_layout_) return;
  have_layout_ = true;
  layout_ = l;
  layout_.nodes = static_cast<uint32_t>(replicas_.size());
  for (uint32_t s = 0; s < layout_.shards; ++s) {
    ShardConfig c;  // the replicas' initial configuration (replica.cpp, on_start)
    c.epoch = 1;
    c.primary = layout_.placement(s, 0);
    for (uint32_t j = 1; j <= layout_.backups; ++j)
      c.in_sync.push_back(layout_.placement(s, j));
    std::sort(c.in_sync.begin(), c.in_sync.end());
    learn_chosen(s, c);
  }
}

void Monitor::on_message(Context& ctx, const Envelope& env) {
  const Message& m = env.msg;
  if (const auto* p = m.get<Pong>()) {
    const uint32_t from = replica_index(env.from);
    if (from != kNoIndex) handle_pong(ctx, from, *p);
  } else if (const auto* f = m.get<FenceReply>()) {
    const uint32_t from = replica_index(env.from);
    if (from != kNoIndex) handle_fence_reply(ctx, from, *f);
  } else if (const auto* pr = m.get<Prepare>()) {
    handle_prepare(ctx, env.from, *pr);
  } else if (const auto* pm = m.get<Promise>()) {
    const uint32_t from = monitor_index(env.from);
    if (from != kNoIndex) handle_promise(ctx, from, *pm);
  } else if (const auto* ac = m.get<Accept>()) {
    handle_accept(ctx, env.from, *ac);
  } else if (const auto* ad = m.get<Accepted>()) {
    const uint32_t from = monitor_index(env.from);
    if (from != kNoIndex) handle_accepted(ctx, from, *ad);
  } else if (const auto* cu = m.get<ConfigUpdate>()) {
    learn_chosen(cu->shard, cu->config);
  } else if (const auto* req = m.get<IsrChange>()) {
    const uint32_t from = replica_index(env.from);
    if (!have_layout_ || from == kNoIndex || req->shard >= layout_.shards) return;
    const ShardConfig& c = chosen_[req->shard];
    if (from != c.primary || req->base != c.epoch || rounds_.count(req->shard)) return;
    if (req->node == c.primary || !layout_.holds(req->node, req->shard)) return;
    if (req->add && c.in_sync_has(req->node)) return;
    // The in-sync set never shrinks below min_in_sync: while it would, the primary refuses
    // writes, so the backup it would drop still holds every acknowledged write and must
    // stay a candidate (Kafka's "eligible leader replicas").
    if (!req->add && c.in_sync_has(req->node) && c.in_sync.size() <= layout_.min_in_sync) return;
    start_round(ctx, req->shard, req->add ? Change::kAddBackup : Change::kRemoveBackup, req->node);
  } else if (const auto* sv = m.get<Serving>()) {
    auto it = outages_.find(sv->shard);
    if (it != outages_.end() && it->second.chosen && sv->epoch >= it->second.epoch) {
      ctx.record().observe(m_failover_time_, ctx.now() - it->second.last_heard);
      ctx.record().observe(m_serving_, ctx.now() - it->second.suspected);
      outages_.erase(it);
    }
  }
}

void Monitor::on_timer(Context& ctx, TimerId /*id*/, TimerTag t) {
  const auto kind = static_cast<TagKind>(t >> kTagShift);
  const uint64_t v = t & kTagValueMask;
  if (kind == kTick) {
    tick(ctx);
    ctx.set_timer(config_.heartbeat_interval, tag(kTick, 0));
    return;
  }
  for (auto& [s, r] : rounds_) {
    if (r.id != v) continue;
    if (r.stage == Stage::kFence) {
      maybe_choose(ctx, s, r, true);
    } else {
      abort_round(ctx, s, true);
    }
    return;
  }
}

void Monitor::on_disk(Context& ctx, DiskOpId op, uint64_t /*tag*/) {
  auto it = replies_.find(op.seq);
  if (it == replies_.end()) return;
  ctx.send(it->second.to, std::move(it->second.msg));
  replies_.erase(it);
}

void Monitor::on_stop(Context& ctx) {
  for (Symbol m : {m_failovers_, m_rounds_failed_, m_blocked_, m_shrinks_, m_expands_, m_promises_,
                   m_resent_, m_suspicions_})
    ctx.record().count(m, 0);
}

// ---------------------------------------------------------------------------------------
// Failure detection

void Monitor::tick(Context& ctx) {
  ++ping_seq_;
  for (NodeId n : replicas_)
    ctx.send(n, Ping{ping_seq_});
  if (!have_layout_) return;
  const SimTime now = ctx.now();
  for (uint32_t s = 0; s < layout_.shards; ++s) {
    const ShardConfig& c = chosen_[s];
    if (c.primary == kNoIndex) continue;
    if (!suspects(ctx, c.primary, s, c.epoch)) {
      // A false alarm that came to nothing (the primary answers again).
      auto it = outages_.find(s);
      if (it != outages_.end() && !it->second.chosen && !rounds_.count(s)) outages_.erase(it);
      continue;
    }
    auto b = backoff_.find(s);
    if (rounds_.count(s) || (b != backoff_.end() && now < b->second)) continue;
    if (!outages_.count(s)) {
      ctx.record().count(m_suspicions_);
      outages_[s] = Outage{healthy_[c.primary], now, 0, false};
    }
    start_round(ctx, s, Change::kFailover, c.primary);
  }
}

bool Monitor::suspects(Context& ctx, uint32_t node, uint32_t s, uint64_t epoch) const {
  if (node >= replicas_.size()) return false;
  if (detector_.suspected(node, ctx.now())) return true;
  // It answers, but says it lost its copy (restarted), or that it is not primary of a
  // configuration it knows names it (deposed by a fence).
  auto r = reports_.find(node);
  if (r == reports_.end()) return false;
  auto st = r->second.find(s);
  if (st == r->second.end()) return false;
  if (st->second.role == Role::kRecovering) return true;
  return st->second.role != Role::kPrimary && st->second.config.epoch >= epoch &&
         st->second.config.primary == node;
}

void Monitor::handle_pong(Context& ctx, uint32_t from, const Pong& p) {
  learn_layout(p.layout);
  detector_.heard(from, ctx.now());
  bool healthy = true;
  bool restarted = false;
  auto& mine = reports_[from];
  for (const auto& st : p.shards) {
    if (st.shard >= layout_.shards) continue;
    mine[st.shard] = st;
    if (st.role == Role::kRecovering) healthy = false;
    if (st.config.epoch == 0) restarted = true;
    learn_chosen(st.shard, st.config);  // replicas only ever hold chosen configurations
  }
  if (healthy) healthy_[from] = ctx.now();
  // A replica behind on configurations gets the newer ones (all of them after a restart:
  // it needs every shard's primary to redirect clients).
  for (const auto& st : p.shards) {
    if (st.shard >= layout_.shards || restarted) continue;
    const ShardConfig& c = chosen_[st.shard];
    if (st.config.epoch < c.epoch) {
      ctx.record().count(m_resent_);
      ctx.send(replicas_[from], ConfigUpdate{st.shard, c});
    }
  }
  if (restarted) {
    for (const auto& [s, c] : chosen_) {
      ctx.record().count(m_resent_);
      ctx.send(replicas_[from], ConfigUpdate{s, c});
    }
  }
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
  r.timer = ctx.set_timer(config_.round_timeout, tag(kRound, r.id));
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
    } else if (++r.refusals > monitors_.size() - majority()) {
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
  ctx.cancel_timer(r.timer);
  r.timer = ctx.set_timer(config_.round_timeout, tag(kRound, r.id));
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
  ctx.cancel_timer(r.timer);
  r.timer = ctx.set_timer(config_.round_timeout, tag(kRound, r.id));
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
    if (++r.refusals > monitors_.size() - majority()) abort_round(ctx, a.shard, true);
    return;
  }
  r.accepts.insert(from);
  if (r.accepts.size() < majority()) return;
  const Round done = r;
  ctx.cancel_timer(done.timer);
  rounds_.erase(it);
  chosen(ctx, a.shard, done);
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
  ctx.cancel_timer(it->second.timer);
  if (it->second.change == Change::kFailover) ctx.record().count(m_rounds_failed_);
  rounds_.erase(it);
  if (!backoff) return;
  // Back off a random while, so competing monitors do not collide again.
  const auto wait = Duration::from_ns(static_cast<int64_t>(
      (1.0 + ctx.rng().uniform01()) * static_cast<double>(config_.round_timeout.ns())));
  backoff_[s] = ctx.now() + wait;
}

// ---------------------------------------------------------------------------------------
// Acceptor

void Monitor::persist_and_reply(Context& ctx, uint32_t s, NodeId to, Message reply) {
  const Acceptor& a = acceptor_[s];
  const std::string value = std::to_string(a.promised) + " " + std::to_string(a.accepted_ballot) +
                            " " + std::to_string(a.accepted_base) + "|" + a.accepted.serialize();
  if (!ctx.disk().write(std::string(kDiskPrefix) + std::to_string(s), value)) return;  // full
  const DiskOpId op = ctx.disk().sync(0);
  replies_.emplace(op.seq, PendingReply{to, std::move(reply)});
}

void Monitor::handle_prepare(Context& ctx, NodeId from, const Prepare& p) {
  max_seen_ = std::max(max_seen_, p.ballot);
  Acceptor& a = acceptor_[p.shard];
  Promise reply;
  reply.shard = p.shard;
  reply.ballot = p.ballot;
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
  max_seen_ = std::max(max_seen_, m.ballot);
  Acceptor& a = acceptor_[m.shard];
  Accepted reply;
  reply.shard = m.shard;
  reply.ballot = m.ballot;
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
