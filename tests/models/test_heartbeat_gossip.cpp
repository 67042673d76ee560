// The heartbeat-gossip model, one handler at a time: a round raises the member's own counter
// and sends the whole table, a merge keeps the higher counters, a counter that stops rising
// is declared dead after the timeout and comes back when it rises again, and a restart
// starts a higher generation.
#include <catch2/catch.hpp>

#include <algorithm>

#include "models/heartbeat_gossip/heartbeat_gossip.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::heartbeat_gossip;
using dsim::testing::RecordingContext;

namespace {

RecordingContext member_of(uint32_t n, uint32_t index) {
  RecordingContext ctx(100 + index);
  std::vector<NodeId> ids;
  for (uint32_t i = 0; i < n; ++i)
    ids.push_back(100 + i);
  ctx.groups["members"] = ids;
  ctx.set_group("members", index);
  return ctx;
}

std::vector<TimelineMark> marks_named(RecordingContext& ctx, std::string_view name) {
  const Symbol s = ctx.intern(name);
  std::vector<TimelineMark> out;
  for (const TimelineMark& m : ctx.recorder().marks)
    if (m.kind == s) out.push_back(m);
  return out;
}

}  // namespace

TEST_CASE(
    "heartbeat gossip: a round raises the own counter and sends the table to fanout members") {
  HeartbeatGossip::Config c;
  c.fanout = 2;
  HeartbeatGossip m(c);
  RecordingContext ctx = member_of(4, 1);
  m.on_start(ctx);
  REQUIRE(ctx.fire_next(m));
  auto sent = ctx.sent_of<Heartbeats>();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].first != sent[1].first);
  for (const auto& [to, hb] : sent) {
    CHECK(to != 101);
    CHECK(hb.counters == std::vector<uint64_t>{0, 1, 0, 0});
  }
  CHECK(ctx.sent[0].msg.size_bytes() == 16 + 4 * 12);
  // A merge keeps the higher of each entry, never its own.
  ctx.deliver(m, 102, Heartbeats{{5, 0, 7, 0}, 12});
  REQUIRE(ctx.fire_next(m));
  CHECK(ctx.sent_of<Heartbeats>().back().second.counters == std::vector<uint64_t>{5, 2, 7, 0});
  m.check_invariants();
}

TEST_CASE(
    "heartbeat gossip: a counter that stops rising is dead after fail_after, back when it rises") {
  HeartbeatGossip::Config c;
  c.period = seconds(1);
  c.fail_after = seconds(5);
  HeartbeatGossip m(c);
  RecordingContext ctx = member_of(3, 0);
  m.on_start(ctx);
  // Member 1 keeps rising, member 2 never does.
  for (uint64_t beat = 1; beat <= 8; ++beat) {
    REQUIRE(ctx.fire_next(m));
    ctx.deliver(m, 101, Heartbeats{{0, beat, 0}, 12});
  }
  auto dead = marks_named(ctx, kMarkDead);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].a == 2);
  // The first round more than 5 s after the start (the grace period) declares it.
  CHECK(dead[0].at > SimTime::zero() + seconds(5));
  CHECK(dead[0].at <= SimTime::zero() + seconds(7));
  ctx.deliver(m, 101, Heartbeats{{0, 9, 1}, 12});
  auto alive = marks_named(ctx, kMarkAlive);
  REQUIRE(alive.size() == 1);
  CHECK(alive[0].a == 2);
  m.check_invariants();
}

TEST_CASE("heartbeat gossip: a restarted member's counter starts a generation above its old one") {
  HeartbeatGossip::Config c;
  RecordingContext ctx = member_of(3, 2);
  {
    HeartbeatGossip first(c);
    first.on_start(ctx);
  }
  HeartbeatGossip again(c);
  again.on_start(ctx);  // the same disk: a restart
  REQUIRE(ctx.fire_next(again));
  REQUIRE(ctx.fire_next(again));
  const auto counters = ctx.sent_of<Heartbeats>().back().second.counters;
  CHECK(counters[2] >> kGenerationShift == 1);
  CHECK(marks_named(ctx, kMarkRejoin).size() == 1);
}
