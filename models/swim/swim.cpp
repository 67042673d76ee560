// The SWIM member: its protocol period (ping, ping-req, the failed probe), the suspicion
// mechanism with incarnation numbers, and piggybacked dissemination (Das et al. 2002,
// sections 3, 4.1 and 4.2). Lifeguard's refinements are in lifeguard.cpp.
#include "models/swim/swim.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "models/kit/detection.h"
#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::swim {

namespace {

constexpr uint32_t kNone = 0xffffffffu;
constexpr uint32_t kRelaySeq = 0x80000000u;  // relayed pings' seqs, apart from own probes'
constexpr std::string_view kIncarnationKey = "swim/incarnation";
constexpr uint64_t kAnnounce = 1;  // the sync after which a restart or a join announces itself

std::string updates_text(const Updates& us) {
  static constexpr const char* kNames[] = {"alive", "suspect", "dead", "left"};
  std::string out;
  for (const Update& u : us)
    out += std::string(" ") + kNames[static_cast<int>(u.state)] + "(" + std::to_string(u.member) +
           "," + std::to_string(u.incarnation) + ")";
  return out;
}

}  // namespace

std::string Ping::describe() const {
  return "ping " + std::to_string(seq) + updates_text(updates);
}
std::string PingReq::describe() const {
  return "ping-req " + std::to_string(seq) + " for " + std::to_string(target) +
         updates_text(updates);
}
std::string Sync::describe() const {
  return std::string(reply ? "sync reply" : "sync") + updates_text(updates);
}
std::string Ack::describe() const {
  return "ack " + std::to_string(seq) + updates_text(updates);
}

AnalysisOutput SwimNode::analyze(const AnalysisInput& in) {
  return kit::detection_analysis(
      in, kit::DetectionMarks{kMarkSuspect, kMarkDead, kMarkAlive, kMarkRefute, kMarkRejoin,
                              kMarkLeft, kMarkLeave});
}

std::vector<ReportSection> SwimNode::report(const ReportInput& in) {
  return kit::detection_report(in, kName);
}

// --- start and the protocol period ---------------------------------------------------------

void SwimNode::on_start(Context& ctx) {
  peers_ = ctx.group_nodes(ctx.group_name());
  n_ = static_cast<uint32_t>(peers_.size());
  self_ = ctx.index_in_group();
  DSIM_ASSERT(self_ < n_ && peers_[self_] == ctx.self(), "node ", ctx.self(),
              " is not at its place in its group");
  DSIM_ASSERT(std::is_sorted(peers_.begin(), peers_.end()), "group ", ctx.group_name(),
              " is not in node id order (index_of searches it)");
  m_suspect_ = ctx.intern(kMarkSuspect);
  m_dead_ = ctx.intern(kMarkDead);
  m_alive_ = ctx.intern(kMarkAlive);
  m_refute_ = ctx.intern(kMarkRefute);
  m_rejoin_ = ctx.intern(kMarkRejoin);
  m_left_ = ctx.intern(kMarkLeft);
  m_leave_ = ctx.intern(kMarkLeave);
  m_syncs_ = ctx.intern("syncs");
  m_probes_ = ctx.intern("probes");
  m_failed_probes_ = ctx.intern("failed_probes");
  m_indirect_ = ctx.intern("indirect_probes_sent");
  m_messages_ = ctx.intern("swim_messages");
  m_bytes_ = ctx.intern("swim_bytes");
  m_view_ = ctx.intern("view_entries");
  m_health_ = ctx.intern("local_health");
  m_nacks_ = ctx.intern("nacks");
  m_missed_nacks_ = ctx.intern("missed_nacks");
  m_confirmations_ = ctx.intern("suspicion_confirmations");
  ctx.record().level(m_view_, 0);
  if (config_.health_max > 0) ctx.record().level(m_health_, 0);
  const double log_n = std::max(1.0, std::log10(static_cast<double>(n_)));
  suspicion_timeout_ = Duration::from_ns(static_cast<int64_t>(
      config_.suspicion_mult * log_n * static_cast<double>(config_.period.ns())));
  const uint32_t founders = n_ - std::min(n_, ctx.group_joining(ctx.group_name()));
  view_ = View(founders);
  // A restart comes back with a higher incarnation than any it had, and says so; a member
  // joining for the first time starts at 1, above the "not a member" it is held at.
  // It speaks of the new incarnation once that is durable: a crash before would bring it
  // back at the same one, which others may already hold dead.
  const auto stored = ctx.disk().get(kIncarnationKey);
  const bool announce = stored || self_ >= founders;
  if (announce)
    incarnation_ = stored ? static_cast<uint32_t>(std::stoul(std::string(*stored))) + 1 : 1;
  ctx.disk().write(kIncarnationKey, std::to_string(incarnation_), 0, DiskWrite::kMetadata);
  ctx.disk().sync(announce ? kAnnounce : 0);
  ctx.set_timer(kit::random_phase(ctx.rng(), config_.period), kit::timer_tag(Timer::kPeriod, 0));
}

void SwimNode::on_disk(Context& ctx, DiskOpId /*op*/, uint64_t tag) {
  if (tag != kAnnounce) return;
  gossip_.add(Update{self_, State::kAlive, incarnation_});
  ctx.record().mark(m_rejoin_, self_, incarnation_);
  syncing_ = true;
  sync(ctx);
}

// Memberlist's join: the state exchange with one member tells the newcomer who left, died or
// joined since the start, and tells that member (who spreads it) that the newcomer is alive.
void SwimNode::sync(Context& ctx) {
  const uint32_t to = next_target(ctx);
  if (to == kNone) return;
  ctx.record().count(m_syncs_);
  Updates mine = view_.updates();
  mine.push_back(Update{self_, State::kAlive, incarnation_});
  send(ctx, node_of(to), Sync{false, std::move(mine), static_cast<uint32_t>(config_.update_bytes)});
  ctx.set_timer(config_.period, kit::timer_tag(Timer::kSync, 0));
}

void SwimNode::on_sync(Context& ctx, NodeId from, const Sync& sync) {
  receive(ctx, sync.updates);
  if (sync.reply) {
    syncing_ = false;
    return;
  }
  Updates mine = view_.updates();
  mine.push_back(Update{self_, leaving_ ? State::kLeft : State::kAlive, incarnation_});
  send(ctx, from, Sync{true, std::move(mine), static_cast<uint32_t>(config_.update_bytes)});
}

// A graceful leave: the member's own "left" spreads on its messages while it lingers.
Duration SwimNode::on_leave(Context& ctx) {
  leaving_ = true;
  gossip_.add(Update{self_, State::kLeft, incarnation_});
  ctx.record().mark(m_leave_, self_, incarnation_);
  return config_.leave_linger;
}

void SwimNode::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  const auto [kind, value] = kit::timer_of<Timer>(tag);
  switch (kind) {
    case Timer::kPeriod:
      period(ctx);
      ctx.set_timer(scaled(config_.period), tag);
      return;
    case Timer::kPingTimeout:
      if (probing_ && !acked_ && value == seq_) indirect(ctx);
      return;
    case Timer::kSuspicion: {
      const auto member = static_cast<uint32_t>(value);
      suspicions_.erase(member);
      const MemberState s = view_.get(member);
      if (s.state == State::kSuspect) apply(ctx, Update{member, State::kDead, s.incarnation});
      return;
    }
    case Timer::kRelay:
      relays_.erase(static_cast<uint32_t>(value));
      return;
    case Timer::kNack:
      relay_nack(ctx, static_cast<uint32_t>(value));
      return;
    case Timer::kSync:
      if (syncing_) sync(ctx);
      return;
  }
}

void SwimNode::period(Context& ctx) {
  if (probing_) probe_ended(ctx);
  probing_ = false;
  const uint32_t target = next_target(ctx);
  if (target == kNone) return;
  target_ = target;
  target_incarnation_ = view_.get(target).incarnation;
  seq_ = (seq_ + 1) % kRelaySeq;
  probing_ = true;
  acked_ = false;
  nacks_expected_ = nacks_ = 0;
  ctx.record().count(m_probes_);
  send_ping(ctx, target, seq_);
  ctx.set_timer(scaled(config_.ping_timeout), kit::timer_tag(Timer::kPingTimeout, seq_));
}

// Round robin through a random permutation, k -> (a k + b) mod n with gcd(a, n) = 1, drawn
// anew after each pass (section 4.3), skipping itself and the members it holds dead.
uint32_t SwimNode::next_target(Context& ctx) {
  if (config_.targets == Targets::kRandom) {
    for (uint32_t tries = 0; tries < 64 && n_ > 1; ++tries) {
      const uint32_t m = ctx.rng().below(n_);
      if (usable(m)) return m;
    }
    // Few usable members: the round robin below finds one if there is one.
  }
  for (uint32_t tries = 0; tries <= n_; ++tries) {
    if (rr_k_ % n_ == 0) {
      do {
        rr_a_ = 1 + ctx.rng().below(std::max<uint32_t>(n_ - 1, 1));
      } while (std::gcd(rr_a_, uint64_t{n_}) != 1);
      rr_b_ = ctx.rng().below(n_);
      rr_k_ = 0;
    }
    const auto m = static_cast<uint32_t>((rr_a_ * rr_k_ + rr_b_) % n_);
    ++rr_k_;
    if (usable(m)) return m;
  }
  return kNone;
}

bool SwimNode::usable(uint32_t index) const {
  const State s = view_.get(index).state;
  return index != self_ && s != State::kDead && s != State::kLeft;
}

void SwimNode::indirect(Context& ctx) {
  std::vector<uint32_t> chosen;
  for (uint32_t tries = 0;
       tries < 8 * config_.indirect_probes && chosen.size() < config_.indirect_probes; ++tries) {
    const uint32_t m = ctx.rng().below(n_);
    if (m == target_ || !usable(m) || std::find(chosen.begin(), chosen.end(), m) != chosen.end())
      continue;
    chosen.push_back(m);
  }
  if (config_.health_max > 0) nacks_expected_ = static_cast<uint32_t>(chosen.size());
  for (uint32_t m : chosen) {
    ctx.record().count(m_indirect_);
    send(ctx, node_of(m),
         PingReq{seq_, target_, piggyback(m), static_cast<uint32_t>(config_.update_bytes)});
  }
}

// The end of a probe's period: a success makes this member healthier (Lifeguard); a failure
// suspects the target, and less healthy by each relay that did not even nack (or by one
// without relays).
void SwimNode::probe_ended(Context& ctx) {
  if (acked_) {
    adjust_health(ctx, -1);
    return;
  }
  probe_failed(ctx);
  if (config_.health_max == 0) return;
  const uint32_t missed = nacks_expected_ - std::min(nacks_, nacks_expected_);
  ctx.record().count(m_missed_nacks_, missed);
  adjust_health(ctx, nacks_expected_ > 0 ? static_cast<int>(missed) : 1);
}

void SwimNode::probe_failed(Context& ctx) {
  ctx.record().count(m_failed_probes_);
  // About the incarnation it probed: if the member came back with a higher one meanwhile,
  // the failed probe says nothing about it (and the precedence rules ignore the update).
  apply(ctx, Update{target_, config_.suspicion ? State::kSuspect : State::kDead,
                    target_incarnation_, self_});
}

void SwimNode::send_ping(Context& ctx, uint32_t target, uint32_t seq) {
  send(ctx, node_of(target),
       Ping{seq, piggyback(target), static_cast<uint32_t>(config_.update_bytes)});
}

// --- messages --------------------------------------------------------------------------------

void SwimNode::on_message(Context& ctx, const Envelope& env) {
  const uint32_t from = index_of(env.from);
  if (from == kNone) return;  // not a member of this group
  if (const auto* ping = env.msg.get<Ping>()) {
    receive(ctx, ping->updates);
    send(ctx, env.from,
         Ack{ping->seq, piggyback(from), static_cast<uint32_t>(config_.update_bytes)});
  } else if (const auto* req = env.msg.get<PingReq>()) {
    receive(ctx, req->updates);
    if (req->target >= n_ || req->target == self_) return;
    uint32_t rs = kRelaySeq | static_cast<uint32_t>(relays_.size());
    while (relays_.count(rs))
      rs = kRelaySeq | ((rs + 1) & ~kRelaySeq);
    relays_[rs] = Relay{env.from, req->seq};
    send_ping(ctx, req->target, rs);
    ctx.set_timer(config_.period, kit::timer_tag(Timer::kRelay, rs));
    if (config_.health_max > 0)
      ctx.set_timer(config_.ping_timeout, kit::timer_tag(Timer::kNack, rs));
  } else if (const auto* ack = env.msg.get<Ack>()) {
    receive(ctx, ack->updates);
    if (probing_ && ack->seq == seq_) {
      acked_ = true;
      return;
    }
    const auto it = relays_.find(ack->seq);
    if (it == relays_.end()) return;
    const Relay relay = it->second;
    relays_.erase(it);
    const uint32_t asker = index_of(relay.asker);
    send(ctx, relay.asker,
         Ack{relay.asker_seq, piggyback(asker), static_cast<uint32_t>(config_.update_bytes)});
  } else if (const auto* sy = env.msg.get<Sync>()) {
    on_sync(ctx, env.from, *sy);
  } else if (const auto* nack = env.msg.get<Nack>()) {
    if (probing_ && nack->seq == seq_) {
      ++nacks_;
      ctx.record().count(m_nacks_);
    }
  }
}

uint32_t SwimNode::index_of(NodeId node) const {
  // Group members' ids are increasing in group order.
  const auto it = std::lower_bound(peers_.begin(), peers_.end(), node);
  return it != peers_.end() && *it == node ? static_cast<uint32_t>(it - peers_.begin()) : kNone;
}

// --- the view and dissemination --------------------------------------------------------------

void SwimNode::receive(Context& ctx, const Updates& updates) {
  for (const Update& u : updates) {
    if (u.member >= n_) continue;
    if (u.member == self_) {
      about_self(ctx, u);
    } else {
      apply(ctx, u);
    }
  }
}

void SwimNode::about_self(Context& ctx, const Update& u) {
  if (u.state == State::kAlive || u.incarnation < incarnation_) return;
  if (leaving_) {  // it is leaving: its own word overrides a suspicion at its incarnation
    if (u.state != State::kLeft) gossip_.add(Update{self_, State::kLeft, incarnation_});
    return;
  }
  // Suspected or declared dead at the current incarnation: refute with a higher one.
  incarnation_ = u.incarnation + 1;
  gossip_.add(Update{self_, State::kAlive, incarnation_});
  ctx.record().mark(m_refute_, self_, incarnation_);
  adjust_health(ctx, 1);  // Lifeguard: being suspected hints that this member is slow
  ctx.disk().write(kIncarnationKey, std::to_string(incarnation_), 0, DiskWrite::kMetadata);
  ctx.disk().sync();
}

void SwimNode::apply(Context& ctx, const Update& u) {
  const MemberState before = view_.get(u.member);
  if (!overrides(u, before)) {
    if (u.state == State::kSuspect && before.state == State::kSuspect &&
        u.incarnation == before.incarnation)
      confirm_suspicion(ctx, u);
    return;
  }
  view_.set(u.member, MemberState{u.state, u.incarnation});
  gossip_.add(u);
  changed(ctx, u, before);
}

void SwimNode::changed(Context& ctx, const Update& u, MemberState before) {
  ctx.record().level(m_view_, static_cast<double>(view_.size()));
  if (const auto it = suspicions_.find(u.member); it != suspicions_.end()) {
    ctx.cancel_timer(it->second.timer);
    suspicions_.erase(it);
  }
  switch (u.state) {
    case State::kSuspect:
      ctx.record().mark(m_suspect_, u.member, u.incarnation);
      start_suspicion(ctx, u);
      return;
    case State::kDead:
      ctx.record().mark(m_dead_, u.member, u.incarnation);
      return;
    case State::kLeft:
      ctx.record().mark(m_left_, u.member, u.incarnation);
      return;
    case State::kAlive:
      if (before.state != State::kAlive) ctx.record().mark(m_alive_, u.member, u.incarnation);
      return;
  }
}

Updates SwimNode::piggyback(uint32_t for_target) {
  const double log_n = std::ceil(std::log10(static_cast<double>(n_) + 1));
  const auto limit =
      static_cast<uint32_t>(std::max(1.0, std::ceil(config_.retransmit_mult * log_n)));
  Updates out;
  const MemberState s = view_.get(for_target);
  // Lifeguard's buddy system: the member hears first that this node suspects it.
  if (config_.buddy && s.state == State::kSuspect)
    out.push_back(Update{for_target, s.state, s.incarnation, self_});
  for (const Update& u : gossip_.take(config_.max_piggyback - out.size(), limit)) {
    if (out.empty() || !u.same_news(out.front())) out.push_back(u);
  }
  return out;
}

void SwimNode::check_invariants() const {
  DSIM_ASSERT(view_.sorted(), "view out of order");
  DSIM_ASSERT(view_.get(self_) == view_.initial(self_), "a member holds a view of itself");
  DSIM_ASSERT(!probing_ || target_ < n_, "probing member ", target_, " of ", n_);
  DSIM_ASSERT(health_ <= config_.health_max, "local health ", health_, " above ",
              config_.health_max);
  for (const auto& [member, s] : suspicions_)
    DSIM_ASSERT(view_.get(member).state == State::kSuspect && !s.confirmers.empty(),
                "a suspicion timer for member ", member, ", which is not suspected");
}

}  // namespace dsim::swim
