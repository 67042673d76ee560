// An active/standby balancer group sharing a virtual address (models/load_balancer/vrrp.cpp):
// the owner claims it at start and advertises, a backup takes it over when the
// advertisements stop for down_after intervals plus its skew, and gives it back to a node
// of higher priority.
#include <catch2/catch.hpp>

#include "models/load_balancer/load_balancer.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::lb;
using dsim::testing::RecordingContext;

namespace {

LoadBalancer::Config pair_config(bool preempt = true) {
  LoadBalancer::Config c;
  c.backends = "web";
  c.vip = VipSpec{};
  c.vip->advert_interval = seconds(1);
  c.vip->down_after = 3;
  c.vip->preempt = preempt;
  return c;
}

struct Node {
  LoadBalancer::Config cfg;
  RecordingContext ctx;
  LoadBalancer lb;
  Node(LoadBalancer::Config c, NodeId self, uint32_t index)
      : cfg(std::move(c)), ctx(self), lb(cfg) {
    ctx.groups["lb"] = {10, 11};
    ctx.groups["web"] = {20, 21};
    ctx.set_group("lb", index);
    lb.on_start(ctx);
  }
  size_t adverts() const { return ctx.sent_of<VrrpAdvert>().size(); }
};

}  // namespace

TEST_CASE("vip: the owner claims the address at start and advertises every interval") {
  Node n(pair_config(), 10, 0);
  CHECK(n.ctx.claims == 1);
  auto adverts = n.ctx.sent_of<VrrpAdvert>();
  REQUIRE(adverts.size() == 1);
  CHECK(adverts[0].first == 11);
  CHECK(adverts[0].second.priority == 255);
  REQUIRE(n.ctx.fire_next(n.lb));
  CHECK(n.ctx.now() == SimTime::zero() + seconds(1));
  CHECK(n.adverts() == 2);
}

TEST_CASE("vip: a backup takes over down_after intervals plus its skew after the last advert") {
  Node n(pair_config(), 11, 1);
  CHECK(n.ctx.claims == 0);
  CHECK(n.adverts() == 0);
  n.ctx.advance(ms(500));
  n.ctx.deliver(n.lb, 10, VrrpAdvert{255, 40});  // the master is alive: the timer restarts
  REQUIRE(n.ctx.fire_next(n.lb));
  // 3 x 1 s + (256 - 254) / 256 x 1 s after the last advertisement.
  CHECK(n.ctx.now() == SimTime::zero() + ms(500) + seconds(3) + Duration::from_ns(7'812'500));
  CHECK(n.ctx.claims == 1);
  REQUIRE(n.adverts() == 1);
  CHECK(n.ctx.sent_of<VrrpAdvert>()[0].second.priority == 254);
  // The owner is back and advertises: the backup gives way and stops advertising.
  n.ctx.deliver(n.lb, 10, VrrpAdvert{255, 40});
  const size_t sent = n.adverts();
  REQUIRE(n.ctx.fire_next(n.lb));  // its master-down timer again, not an advertisement
  CHECK(n.adverts() == sent + 1);  // ... which, unanswered, makes it master once more
  CHECK(n.ctx.claims == 2);
}

TEST_CASE(
    "vip: without preemption the owner starts as a backup and a lower master keeps the address") {
  Node owner(pair_config(/*preempt=*/false), 10, 0);
  CHECK(owner.ctx.claims == 0);
  owner.ctx.advance(ms(100));
  owner.ctx.deliver(owner.lb, 11, VrrpAdvert{254, 40});  // heard: the timer restarts
  REQUIRE(owner.ctx.fire_next(owner.lb));
  CHECK(owner.ctx.now() == SimTime::zero() + ms(100) + seconds(3) + Duration::from_ns(3'906'250));
  CHECK(owner.ctx.claims == 1);
  Node backup(pair_config(/*preempt=*/false), 11, 1);
  backup.ctx.advance(seconds(1));
  REQUIRE(backup.ctx.fire_next(backup.lb));
  CHECK(backup.ctx.claims == 1);
  backup.ctx.deliver(backup.lb, 10, VrrpAdvert{200, 40});  // lower: it keeps the address
  const size_t sent = backup.adverts();
  REQUIRE(backup.ctx.fire_next(backup.lb));
  CHECK(backup.adverts() == sent + 1);  // still the master: it advertises
}
