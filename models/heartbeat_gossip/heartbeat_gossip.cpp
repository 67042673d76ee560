// The heartbeat-gossip member: its parameters, rounds, merges and verdicts.
#include "models/heartbeat_gossip/heartbeat_gossip.h"

#include <algorithm>
#include <string>

#include "models/kit/detection.h"
#include "models/kit/timer.h"
#include "sim/core/assert.h"

namespace dsim::heartbeat_gossip {

HeartbeatGossip::Config HeartbeatGossip::parse(ParamReader& r) {
  Config c;
  c.period = r.duration("period", c.period,
                        "time between a member's rounds (raise its counter, send its table)",
                        Duration::from_ns(1));
  c.fanout = static_cast<uint32_t>(
      r.integer("fanout", c.fanout, "members each member sends its table to per round", 1, 1000));
  c.detector =
      r.choice("detector", c.detector, {{"timeout", Detector::kTimeout}, {"phi", Detector::kPhi}},
               "timeout: dead when a counter has not risen for fail_after; phi: dead "
               "when the phi-accrual level of its rises passes phi_threshold");
  const bool phi = c.detector == Detector::kPhi;
  if (!phi || r.doc_mode() || r.has("fail_after")) {
    c.fail_after = r.duration("fail_after", c.fail_after,
                              "timeout: a counter that has not risen this long means dead "
                              "(T_fail)",
                              Duration::from_ns(1));
    if (phi && !r.doc_mode()) r.error("fail_after", "applies to detector: timeout");
  }
  if (phi || r.doc_mode() || r.has("phi_threshold") || r.has("phi_model") || r.has("phi_window") ||
      r.has("phi_min_std_dev") || r.has("phi_acceptable_pause")) {
    c.phi.threshold =
        r.number("phi_threshold", c.phi.threshold,
                 "phi: dead above this level (Cassandra's phi_convict_threshold)", 0.01, 100);
    c.phi.model = r.choice("phi_model", kit::PhiAccrualDetector::Model::kExponential,
                           {{"exponential", kit::PhiAccrualDetector::Model::kExponential},
                            {"normal", kit::PhiAccrualDetector::Model::kNormal}},
                           "phi: the gaps' assumed law: exponential (Cassandra) or normal (Akka, "
                           "Hayashibara et al.)");
    c.phi.window = static_cast<uint32_t>(
        r.integer("phi_window", c.phi.window, "phi: gaps kept per member", 2, 100000));
    c.phi.min_std_dev = r.duration("phi_min_std_dev", c.phi.min_std_dev,
                                   "phi: floor of the gaps' standard deviation");
    c.phi.acceptable_pause = r.duration("phi_acceptable_pause", c.phi.acceptable_pause,
                                        "phi: added to the mean gap before phi is computed (Akka's "
                                        "acceptable-heartbeat-pause)");
    c.phi.first_interval = c.period;
    if (!phi && !r.doc_mode()) {
      for (const char* key :
           {"phi_threshold", "phi_model", "phi_window", "phi_min_std_dev", "phi_acceptable_pause"})
        if (r.has(key)) r.error(key, "applies to detector: phi");
    }
  }
  c.entry_bytes = r.size("entry_size", c.entry_bytes, "one member's entry on the wire");
  if (c.entry_bytes > 1024) r.error("entry_size", "at most 1KiB");
  c.leave_linger = r.duration("leave_linger", c.leave_linger,
                              "a leaving member (a leave fault) goes on this long, gossiping its "
                              "counter marked left, before it stops",
                              Duration::zero());
  return c;
}

void HeartbeatGossip::declare(const Config&, MetricDecls& d) {
  d.counter("heartbeat_messages");
  d.counter("heartbeat_bytes");
  d.level("members_dead");
  for (std::string_view f :
       {"crashes", "crashes_detected", "first_dead_ms_mean", "first_dead_ms_max",
        "all_dead_ms_mean", "all_dead_ms_max", "false_positives", "false_positives_per_node_hour"})
    d.figure(f);
  for (std::string_view f : kit::kFlapAndHealFigures)
    d.figure(f);
  for (std::string_view f : kit::kJoinAndLeaveFigures)
    d.figure(f);
}

AnalysisOutput HeartbeatGossip::analyze(const AnalysisInput& in) {
  return kit::detection_analysis(
      in, kit::DetectionMarks{{}, kMarkDead, kMarkAlive, {}, kMarkRejoin, kMarkLeft, kMarkLeave});
}

std::vector<ReportSection> HeartbeatGossip::report(const ReportInput& in) {
  return kit::detection_report(in, kName);
}

void HeartbeatGossip::on_start(Context& ctx) {
  peers_ = ctx.group_nodes(ctx.group_name());
  self_ = ctx.index_in_group();
  DSIM_ASSERT(self_ < peers_.size() && peers_[self_] == ctx.self(), "node ", ctx.self(),
              " is not at its place in its group");
  m_dead_ = ctx.intern(kMarkDead);
  m_alive_ = ctx.intern(kMarkAlive);
  m_rejoin_ = ctx.intern(kMarkRejoin);
  m_left_ = ctx.intern(kMarkLeft);
  m_leave_ = ctx.intern(kMarkLeave);
  m_messages_ = ctx.intern("heartbeat_messages");
  m_bytes_ = ctx.intern("heartbeat_bytes");
  m_dead_count_ = ctx.intern("members_dead");
  ctx.record().level(m_dead_count_, 0);
  const size_t n = peers_.size();
  counters_.assign(n, 0);
  dead_.assign(n, 0);
  // The group's first members; those joining later are unknown until heard of.
  const size_t founders = n - std::min<size_t>(n, ctx.group_joining(ctx.group_name()));
  member_.assign(n, 0);
  std::fill(member_.begin(), member_.begin() + static_cast<std::ptrdiff_t>(founders), 1);
  member_[self_] = 1;
  constexpr std::string_view kGenerationKey = "heartbeat/generation";
  uint64_t generation = 0;
  if (const auto stored = ctx.disk().get(kGenerationKey)) {
    generation = std::stoull(std::string(*stored)) + 1;
    ctx.record().mark(m_rejoin_, self_, static_cast<int64_t>(generation));
  } else if (self_ >= founders) {
    ctx.record().mark(m_rejoin_, self_, 0);
  }
  ctx.disk().write(kGenerationKey, std::to_string(generation), 0, DiskWrite::kMetadata);
  ctx.disk().sync();
  counters_[self_] = generation << kGenerationShift;
  // Every member is treated as just heard from: a grace period at start (and at restart,
  // whose table starts empty).
  if (config_.detector == Detector::kTimeout) {
    timeout_ = std::make_unique<kit::HeartbeatDetector>(config_.fail_after);
    timeout_->watch(n, ctx.monotonic());
  } else {
    // Each window starts with one gap of a period, as Akka bootstraps its estimate: a single
    // short first gap would make the detector sure of itself at once.
    phi_ = std::make_unique<kit::PhiAccrualDetector>(config_.phi);
    for (uint32_t i = 0; i < n; ++i) {
      if (member_[i]) watch(ctx, i);
    }
  }
  ctx.set_timer(kit::random_phase(ctx.rng(), config_.period), kit::timer_tag(Timer::kPeriod, 0));
}

// Starts watching a member: as if just heard from. The phi window starts with one gap of a
// period, as Akka bootstraps its estimate: a single short first gap would make the detector
// sure of itself at once.
void HeartbeatGossip::watch(Context& ctx, uint32_t member) {
  if (timeout_) {
    timeout_->heard(member, ctx.monotonic());
    return;
  }
  phi_->forget(member);
  phi_->heard(member, ctx.monotonic() - config_.period);
  phi_->heard(member, ctx.monotonic());
}

// A graceful leave: the counter marked left spreads with the tables while it lingers.
Duration HeartbeatGossip::on_leave(Context& ctx) {
  counters_[self_] |= kLeftBit;
  ctx.record().mark(m_leave_, self_,
                    static_cast<int64_t>((counters_[self_] & ~kLeftBit) >> kGenerationShift));
  return config_.leave_linger;
}

void HeartbeatGossip::on_timer(Context& ctx, TimerId /*id*/, TimerTag tag) {
  round(ctx);
  ctx.set_timer(config_.period, tag);
}

void HeartbeatGossip::round(Context& ctx) {
  const auto n = static_cast<uint32_t>(peers_.size());
  ++counters_[self_];
  // Verdicts first, on what the table says now.
  const SimTime now = ctx.monotonic();
  for (uint32_t i = 0; i < n; ++i) {
    if (i == self_ || dead_[i] || !member_[i] || !suspected(i, now)) continue;
    dead_[i] = 1;
    ctx.record().mark(m_dead_, i, static_cast<int64_t>(counters_[i] >> kGenerationShift));
  }
  ctx.record().level(m_dead_count_,
                     static_cast<double>(std::count(dead_.begin(), dead_.end(), uint8_t{1})));
  // To `fanout` members drawn from those it holds in the group (dead or not).
  std::vector<uint32_t> others;
  for (uint32_t i = 0; i < n; ++i) {
    if (i != self_ && member_[i]) others.push_back(i);
  }
  const auto fanout = static_cast<uint32_t>(std::min<size_t>(config_.fanout, others.size()));
  std::vector<uint32_t> chosen;
  while (chosen.size() < fanout) {
    const uint32_t to = others[ctx.rng().below(static_cast<uint32_t>(others.size()))];
    if (std::find(chosen.begin(), chosen.end(), to) == chosen.end()) chosen.push_back(to);
  }
  for (uint32_t to : chosen) {
    Heartbeats hb{counters_, static_cast<uint32_t>(config_.entry_bytes)};
    ctx.record().count(m_messages_);
    ctx.record().count(m_bytes_, hb.size_bytes());
    ctx.send(peers_[to], std::move(hb));
  }
}

bool HeartbeatGossip::suspected(uint32_t member, SimTime now) const {
  return timeout_ ? timeout_->suspected(member, now) : phi_->suspected(member, now);
}

void HeartbeatGossip::on_message(Context& ctx, const Envelope& env) {
  const auto* hb = env.msg.get<Heartbeats>();
  if (!hb || hb->counters.size() != counters_.size()) return;
  for (uint32_t i = 0; i < counters_.size(); ++i) {
    if (i == self_ || !newer(hb->counters[i], counters_[i])) continue;
    counters_[i] = hb->counters[i];
    heard(ctx, i);
  }
}

// A newer counter of `member`: it lives, joined again, or left.
void HeartbeatGossip::heard(Context& ctx, uint32_t member) {
  const auto generation = static_cast<int64_t>((counters_[member] & ~kLeftBit) >> kGenerationShift);
  if (counters_[member] & kLeftBit) {
    if (!member_[member]) return;
    member_[member] = 0;
    dead_[member] = 0;
    ctx.record().mark(m_left_, member, generation);
    return;
  }
  if (!member_[member]) {  // a member that joined, or left and came back
    member_[member] = 1;
    dead_[member] = 0;
    watch(ctx, member);
    ctx.record().mark(m_alive_, member, generation);
    return;
  }
  if (timeout_) {
    timeout_->heard(member, ctx.monotonic());
  } else {
    phi_->heard(member, ctx.monotonic());
  }
  if (!dead_[member]) return;
  dead_[member] = 0;
  ctx.record().mark(m_alive_, member, generation);
}

void HeartbeatGossip::check_invariants() const {
  DSIM_ASSERT(counters_.size() == peers_.size() && dead_.size() == peers_.size() &&
                  member_.size() == peers_.size(),
              "tables sized for ", counters_.size(), " of ", peers_.size());
  for (size_t i = 0; i < dead_.size(); ++i)
    DSIM_ASSERT(!dead_[i] || member_[i], "member ", i, " held dead though not in the group");
  DSIM_ASSERT(!dead_[self_], "a member holds itself dead");
}

}  // namespace dsim::heartbeat_gossip
