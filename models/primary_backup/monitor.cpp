// The pb_monitor's parameters, start, dispatch of messages and timers, and failure
// detection: the heartbeat that pings every replica, the suspicion of a primary (silent,
// restarted or deposed) that starts a failover, the outage it measures until the new
// primary serves, and the configurations resent to replicas that are behind. The rounds
// that choose configurations are in monitor_paxos.cpp.
#include "models/primary_backup/monitor.h"

#include <algorithm>
#include <string>

#include "models/primary_backup/replica.h"

namespace dsim::pb {

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
  const auto mons = ctx.group_nodes(ctx.group_name());
  monitors_.assign(mons.begin(), mons.end());
  if (monitors_.empty()) monitors_.push_back(ctx.self());
  me_ = monitor_index(ctx.self());
  if (me_ == kNoIndex) me_ = 0;
  detector_.watch(replicas_.size(), ctx.now());
  healthy_.assign(replicas_.size(), ctx.now());
  intern_metrics(ctx);
  load_acceptors(ctx);
  // Ticks at a random phase, so monitors do not act in lockstep.
  const auto phase = Duration::from_ns(static_cast<int64_t>(
      ctx.rng().uniform01() * static_cast<double>(config_.heartbeat_interval.ns())));
  tick_.start(ctx, phase);
}

void Monitor::declare(const Config&, MetricDecls& d) {
  for (const char* c :
       {"failovers", "failover_rounds_failed", "failovers_blocked", "in_sync_removals",
        "in_sync_additions", "promises", "configs_resent", "suspicions"})
    d.counter(c);
  for (const char* t :
       {"failover_detection", "failover_promotion", "failover_time", "failover_serving"})
    d.timing(t);
}

void Monitor::intern_metrics(Context& ctx) {
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
}

const ShardConfig* Monitor::config(uint32_t shard) const {
  auto it = chosen_.find(shard);
  return it == chosen_.end() ? nullptr : &it->second;
}

uint64_t Monitor::promised(uint32_t shard) const {
  auto it = acceptor_.find(shard);
  return it == acceptor_.end() ? 0 : it->second.promised;
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
  for (uint32_t s = 0; s < layout_.shards; ++s)
    learn_chosen(s, initial_config(layout_, s));  // where the replicas start
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
    if (from != kNoIndex) handle_isr_change(ctx, from, *req);
  } else if (const auto* sv = m.get<Serving>()) {
    handle_serving(ctx, *sv);
  }
}

void Monitor::handle_isr_change(Context& ctx, uint32_t from, const IsrChange& req) {
  if (!have_layout_ || req.shard >= layout_.shards) return;
  const ShardConfig& c = chosen_[req.shard];
  if (from != c.primary || req.base != c.epoch || rounds_.count(req.shard)) return;
  if (req.node == c.primary || !layout_.holds(req.node, req.shard)) return;
  if (req.add && c.in_sync_has(req.node)) return;
  // The in-sync set never shrinks below min_in_sync: while it would, the primary refuses
  // writes, so the backup it would drop still holds every acknowledged write and must
  // stay a candidate (Kafka's "eligible leader replicas").
  if (!req.add && c.in_sync_has(req.node) && c.in_sync.size() <= layout_.min_in_sync) return;
  start_round(ctx, req.shard, req.add ? Change::kAddBackup : Change::kRemoveBackup, req.node);
}

// The new primary of a failover acknowledged its first write: the outage is over.
void Monitor::handle_serving(Context& ctx, const Serving& sv) {
  auto it = outages_.find(sv.shard);
  if (it == outages_.end() || !it->second.chosen || sv.epoch < it->second.epoch) return;
  ctx.record().observe(m_failover_time_, ctx.now() - it->second.last_heard);
  ctx.record().observe(m_serving_, ctx.now() - it->second.suspected);
  outages_.erase(it);
}

void Monitor::on_timer(Context& ctx, TimerId id, TimerTag tag) {
  switch (kit::timer_of<Timer>(tag).kind) {
    case Timer::kTick:
      if (!tick_.fired(id)) return;
      tick(ctx);
      tick_.start(ctx);
      return;
    case Timer::kRound:
      on_round_timeout(ctx, id);
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

}  // namespace dsim::pb
