// Lifeguard's refinements of SWIM (Dadgar, Phillips and Currey, "Lifeguard: Local Health
// Awareness for More Accurate Failure Detection", 2018), as HashiCorp's memberlist runs
// them:
//   - local health (section IV-A): a multiplier from 0 to `health_max`, up by one for each
//     failed probe (or, when ping-req relays were asked, by each relay whose nack did not
//     come) and for each refutation of a suspicion about itself, down by one for each
//     successful probe. The period and the ping timeout are × (1 + multiplier): a member
//     that cannot keep up (its own messages late) probes less often and waits longer, and
//     stops accusing healthy members;
//   - nacks: a ping-req relay that has no ack from the target after ping_timeout tells the
//     asker so. A missing nack means the asker's own messages are not getting through;
//   - dynamic suspicion (section IV-B): a suspicion's timeout starts at
//     suspicion_max_mult × the shortest and shrinks as other members independently suspect
//     the same member at the same incarnation: after c of K confirmations it is
//     max(min, max − (max − min) × log(c + 1) / log(K + 1)), measured from when this
//     member began suspecting. A new confirmation is spread on, as memberlist does.
#include <algorithm>
#include <cmath>

#include "models/kit/timer.h"
#include "models/swim/swim.h"

namespace dsim::swim {

void SwimNode::adjust_health(Context& ctx, int delta) {
  if (config_.health_max == 0) return;
  const int next =
      std::clamp(static_cast<int>(health_) + delta, 0, static_cast<int>(config_.health_max));
  if (static_cast<uint32_t>(next) == health_) return;
  health_ = static_cast<uint32_t>(next);
  ctx.record().level(m_health_, health_);
}

Duration SwimNode::suspicion_timeout(uint32_t confirmed) const {
  // K is at most the members other than this one and the suspect (memberlist's rule: no
  // more confirmations are expected than could come).
  const uint32_t k = std::min(config_.confirmations, n_ > 2 ? n_ - 2 : 0);
  if (!config_.dynamic_suspicion || k == 0) return suspicion_timeout_;
  const double min = static_cast<double>(suspicion_timeout_.ns());
  const double max = min * config_.suspicion_max_mult;
  const double frac = std::log(confirmed + 1.0) / std::log(k + 1.0);
  return Duration::from_ns(static_cast<int64_t>(std::max(min, max - frac * (max - min))));
}

void SwimNode::start_suspicion(Context& ctx, const Update& u) {
  Suspicion s;
  s.since = ctx.monotonic();
  s.confirmers.push_back(u.from);
  s.timer = ctx.set_timer(suspicion_timeout(0), kit::timer_tag(Timer::kSuspicion, u.member));
  suspicions_[u.member] = std::move(s);
}

// `u` repeats a suspicion this member holds: from a member not heard suspecting it yet, it
// is a confirmation that shortens the timeout (the time already waited counts).
void SwimNode::confirm_suspicion(Context& ctx, const Update& u) {
  if (!config_.dynamic_suspicion) return;
  const auto it = suspicions_.find(u.member);
  if (it == suspicions_.end()) return;
  Suspicion& s = it->second;
  const auto confirmed = static_cast<uint32_t>(s.confirmers.size() - 1);
  if (confirmed >= config_.confirmations ||
      std::find(s.confirmers.begin(), s.confirmers.end(), u.from) != s.confirmers.end())
    return;
  s.confirmers.push_back(u.from);
  ctx.record().count(m_confirmations_);
  const Duration waited = ctx.monotonic() - s.since;
  const Duration left = std::max(suspicion_timeout(confirmed + 1) - waited, Duration::zero());
  ctx.cancel_timer(s.timer);
  s.timer = ctx.set_timer(left, kit::timer_tag(Timer::kSuspicion, u.member));
  gossip_.add(u);
}

void SwimNode::relay_nack(Context& ctx, uint32_t relay_seq) {
  const auto it = relays_.find(relay_seq);
  if (it == relays_.end()) return;  // the target answered: its ack went on instead
  send(ctx, it->second.asker, Nack{it->second.asker_seq});
}

}  // namespace dsim::swim
