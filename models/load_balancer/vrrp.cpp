// An active/standby group of balancers sharing a virtual address, as VRRP (RFC 5798,
// section 6.4) and keepalived run it. Node i has priority 255 - i (node 0 is the address's
// owner). The master holds the address and advertises every advert_interval; a backup
// restarts its master-down timer on every advertisement of a node of higher priority (or
// of any node without preemption) and, when it runs out, takes the address: it claims it (a
// gratuitous ARP, so callers' packets reach it from then on) and advertises. A master that
// hears a node of higher priority advertise gives way to it.
#include "models/load_balancer/load_balancer.h"

#include <cmath>

#include "models/kit/timer.h"

namespace dsim::lb {

uint32_t LoadBalancer::priority(Context& ctx) const {
  return 255 - std::min<uint32_t>(ctx.index_in_group(), 254);
}

// Master_Down_Interval = down_after x advert_interval + Skew_Time, where Skew_Time =
// (256 - priority) / 256 x advert_interval: the backup of highest priority takes over first.
Duration LoadBalancer::master_down_interval(Context& ctx) const {
  const VipSpec& v = *config_.vip;
  const double skew = (256.0 - priority(ctx)) / 256.0;
  return Duration::from_ns(std::llround(static_cast<double>(v.advert_interval.ns()) *
                                        (static_cast<double>(v.down_after) + skew)));
}

void LoadBalancer::vip_start(Context& ctx) {
  m_.adverts_sent = ctx.intern("vrrp_adverts_sent");
  m_.vip_takeovers = ctx.intern("vip_takeovers");
  m_.vip_released = ctx.intern("vip_released");
  m_.mark_vip = ctx.intern("lb_vip");
  advert_ = kit::Timeout(kit::timer_tag(Timer::kAdvert), config_.vip->advert_interval);
  master_down_ = kit::Timeout(kit::timer_tag(Timer::kMasterDown), master_down_interval(ctx));
  // The owner starts as master (RFC 5798 6.4.1); the others listen first. A restarted
  // owner takes the address back at once only with preemption.
  if (ctx.index_in_group() == 0 && config_.vip->preempt) {
    become_master(ctx);
  } else {
    master_down_.start(ctx);
  }
}

void LoadBalancer::on_advert(Context& ctx, const VrrpAdvert& advert) {
  const uint32_t mine = priority(ctx);
  if (master_) {
    if (advert.priority > mine) become_backup(ctx);  // a node of higher priority is back
    return;
  }
  // A backup: the master is alive, unless, with preemption, it is of lower priority and
  // this node is to take over from it.
  if (!config_.vip->preempt || advert.priority >= mine) master_down_.start(ctx);
}

void LoadBalancer::advertise(Context& ctx) {
  const auto bytes = static_cast<uint32_t>(config_.vip->bytes);
  for (const NodeId n : ctx.group_nodes(ctx.group_name())) {
    if (n == ctx.self()) continue;
    ctx.send(n, VrrpAdvert{priority(ctx), bytes});
    ctx.record().count(m_.adverts_sent);
  }
  advert_.start(ctx);
}

void LoadBalancer::become_master(Context& ctx) {
  master_ = true;
  master_down_.stop(ctx);
  ctx.claim_address();
  ctx.record().count(m_.vip_takeovers);
  ctx.record().mark(m_.mark_vip, 1);
  advertise(ctx);
}

void LoadBalancer::become_backup(Context& ctx) {
  master_ = false;
  advert_.stop(ctx);
  ctx.record().count(m_.vip_released);
  ctx.record().mark(m_.mark_vip, 0);
  master_down_.start(ctx);
}

}  // namespace dsim::lb
