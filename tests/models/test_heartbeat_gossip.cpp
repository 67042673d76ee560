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

TEST_CASE(
    "heartbeat gossip: a newcomer is unknown until its counter arrives and a left counter is "
    "held left and never dead") {
  HeartbeatGossip::Config c;
  c.fanout = 3;
  c.fail_after = seconds(5);
  HeartbeatGossip m(c);
  RecordingContext ctx = member_of(5, 0);
  ctx.joining["members"] = 1;  // member 4 joins later
  m.on_start(ctx);
  REQUIRE(ctx.fire_next(m));
  for (const auto& [to, hb] : ctx.sent_of<Heartbeats>())
    CHECK(to != 104);  // not sent to a member it does not know
  // Member 4's counter arrives: it is a member now, watched from here.
  ctx.deliver(m, 104, Heartbeats{{0, 0, 0, 0, 1}, 12});
  CHECK(marks_named(ctx, kMarkAlive).size() == 1);
  // Member 2 leaves: its counter, the same but marked left, is newer news.
  ctx.deliver(m, 102, Heartbeats{{0, 0, 3, 0, 1}, 12});
  ctx.deliver(m, 103, Heartbeats{{0, 0, 3 | kLeftBit, 0, 1}, 12});
  const auto left = marks_named(ctx, kMarkLeft);
  REQUIRE(left.size() == 1);
  CHECK(left[0].a == 2);
  ctx.deliver(m, 101, Heartbeats{{0, 0, 3, 0, 1}, 12});  // older news: still left
  // Long past fail_after, with 1, 3 and 4 heard from each round: no one is declared dead (2
  // is not even watched), and no table goes to 2 any more.
  const size_t before = ctx.sent_of<Heartbeats>().size();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(ctx.fire_next(m));
    ctx.deliver(m, 103, Heartbeats{{0, uint64_t(i + 2), 3, uint64_t(i + 2), uint64_t(i + 2)}, 12});
  }
  CHECK(marks_named(ctx, kMarkDead).empty());
  const auto sent = ctx.sent_of<Heartbeats>();
  CHECK(sent.size() == before + 20 * 3);
  for (size_t i = before; i < sent.size(); ++i)
    CHECK(sent[i].first != 102);
  m.check_invariants();
}

TEST_CASE("heartbeat gossip: a leaving member marks its counter left and goes on gossiping") {
  HeartbeatGossip::Config c;
  c.leave_linger = seconds(2);
  HeartbeatGossip m(c);
  RecordingContext ctx = member_of(3, 1);
  m.on_start(ctx);
  REQUIRE(ctx.fire_next(m));
  CHECK(m.on_leave(ctx) == seconds(2));
  CHECK(marks_named(ctx, kMarkLeave).size() == 1);
  REQUIRE(ctx.fire_next(m));
  const auto counters = ctx.sent_of<Heartbeats>().back().second.counters;
  CHECK(counters[1] == (2 | kLeftBit));
  CHECK(newer(counters[1], 2));
  CHECK_FALSE(newer(2, counters[1]));
  CHECK(newer(uint64_t{1} << kGenerationShift, counters[1]));  // a later generation rejoins
}
