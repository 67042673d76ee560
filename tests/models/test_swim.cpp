// The SWIM model, one handler at a time: the probe and its indirect probes, the suspicion
// and its timeout, refutation by incarnation, relayed acks, the precedence of updates and
// the round-robin order (Das et al. 2002, sections 3, 4.2 and 4.3).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "models/swim/swim.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::swim;
using dsim::testing::RecordingContext;

namespace {

// Member `index` of a group "members" of `n` nodes with ids 100, 101, ...
RecordingContext member_of(uint32_t n, uint32_t index) {
  RecordingContext ctx(100 + index);
  std::vector<NodeId> ids;
  for (uint32_t i = 0; i < n; ++i)
    ids.push_back(100 + i);
  ctx.groups["members"] = ids;
  ctx.set_group("members", index);
  return ctx;
}

size_t marks_named(RecordingContext& ctx, std::string_view name) {
  const Symbol s = ctx.intern(name);
  return static_cast<size_t>(std::count_if(ctx.recorder().marks.begin(), ctx.recorder().marks.end(),
                                           [&](const TimelineMark& m) { return m.kind == s; }));
}

// The marks `name` about member `target`.
std::vector<TimelineMark> marks_about(RecordingContext& ctx, std::string_view name,
                                      uint32_t target) {
  const Symbol s = ctx.intern(name);
  std::vector<TimelineMark> out;
  for (const TimelineMark& m : ctx.recorder().marks)
    if (m.kind == s && m.a == target) out.push_back(m);
  return out;
}

// Fires timers until the next period has begun (a ping went out), or `limit` timers.
std::pair<NodeId, Ping> next_ping(RecordingContext& ctx, SwimNode& m) {
  const size_t before = ctx.sent_of<Ping>().size();
  for (int i = 0; i < 100 && ctx.sent_of<Ping>().size() == before; ++i)
    REQUIRE(ctx.fire_next(m));
  return ctx.sent_of<Ping>().back();
}

}  // namespace

TEST_CASE(
    "swim updates: alive needs a higher incarnation, suspect overrides alive at equal, dead "
    "overrides both") {
  const MemberState alive0{State::kAlive, 0}, suspect1{State::kSuspect, 1}, dead1{State::kDead, 1};
  CHECK_FALSE(overrides({0, State::kAlive, 0}, alive0));
  CHECK(overrides({0, State::kAlive, 2}, suspect1));
  CHECK_FALSE(overrides({0, State::kAlive, 1}, suspect1));
  CHECK(overrides({0, State::kSuspect, 0}, alive0));
  CHECK_FALSE(overrides({0, State::kSuspect, 1}, suspect1));
  CHECK(overrides({0, State::kSuspect, 2}, suspect1));
  CHECK(overrides({0, State::kDead, 1}, suspect1));
  CHECK_FALSE(overrides({0, State::kDead, 0}, suspect1));
  CHECK_FALSE(overrides({0, State::kSuspect, 5}, dead1));
  CHECK(overrides({0, State::kAlive, 2}, dead1));  // back after a restart
}

TEST_CASE("swim: a ping is acked, with the updates piggybacked") {
  SwimNode::Config c;
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 0);
  m.on_start(ctx);
  ctx.deliver(m, 103, Ping{7, {{2, State::kSuspect, 0}}, 16});
  auto acks = ctx.sent_of<Ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].first == 103);
  CHECK(acks[0].second.seq == 7);
  // It heard that member 2 is suspected: that is news it passes on.
  CHECK(acks[0].second.updates == Updates{{2, State::kSuspect, 0}});
  CHECK(marks_named(ctx, kMarkSuspect) == 1);
  CHECK(ctx.sent.back().msg.size_bytes() == 24 + 16);
  m.check_invariants();
}

TEST_CASE("swim: an unanswered probe goes indirect, then suspects, then declares dead") {
  SwimNode::Config c;
  c.period = seconds(1);
  c.ping_timeout = ms(200);
  c.indirect_probes = 2;
  c.suspicion_mult = 3;  // n = 5: timeout 3 x max(1, log10 5) x 1 s = 3 s
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 0);
  m.on_start(ctx);
  const auto [to, ping] = next_ping(ctx, m);
  const uint32_t target = to - 100;
  REQUIRE(target != 0);
  const SimTime sent_at = ctx.now();
  REQUIRE(ctx.fire_next(m));  // the ping timeout
  CHECK(ctx.now() == sent_at + ms(200));
  auto reqs = ctx.sent_of<PingReq>();
  REQUIRE(reqs.size() == 2);
  std::set<NodeId> asked;
  for (const auto& [via, r] : reqs) {
    CHECK(r.target == target);
    CHECK(r.seq == ping.seq);
    CHECK(via != to);
    CHECK(via != 100);
    asked.insert(via);
  }
  CHECK(asked.size() == 2);
  // No ack by the end of the period: suspected, and the next ping carries it.
  const auto next = next_ping(ctx, m);
  CHECK(ctx.now() == sent_at + seconds(1));
  REQUIRE(marks_about(ctx, kMarkSuspect, target).size() == 1);
  CHECK(marks_about(ctx, kMarkSuspect, target)[0].at == sent_at + seconds(1));
  CHECK(std::find(next.second.updates.begin(), next.second.updates.end(),
                  Update{target, State::kSuspect, 0}) != next.second.updates.end());
  // Nobody refutes within the suspicion timeout: dead, and no longer probed.
  while (ctx.now() < sent_at + seconds(1) + seconds(3) + ms(1))
    REQUIRE(ctx.fire_next(m));
  const auto dead = marks_about(ctx, kMarkDead, target);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].at == sent_at + seconds(1) + seconds(3));
  const size_t pings = ctx.sent_of<Ping>().size();
  for (int i = 0; i < 40; ++i)
    REQUIRE(ctx.fire_next(m));
  for (size_t i = pings; i < ctx.sent_of<Ping>().size(); ++i)
    CHECK(ctx.sent_of<Ping>()[i].first != to);
  m.check_invariants();
}

TEST_CASE("swim: an ack through a ping-req clears the probe, and a refutation clears a suspicion") {
  SwimNode::Config c;
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 0);
  m.on_start(ctx);
  const auto [to, ping] = next_ping(ctx, m);
  REQUIRE(ctx.fire_next(m));                   // the ping timeout: ping-reqs go out
  ctx.deliver(m, 104, Ack{ping.seq, {}, 16});  // an intermediary forwards the ack
  const auto second = next_ping(ctx, m);
  CHECK(marks_named(ctx, kMarkSuspect) == 0);
  ctx.deliver(m, second.first, Ack{second.second.seq, {}, 16});
  // Someone else suspects member 3; member 3 refutes with incarnation 1.
  const uint32_t other = to == 103 ? 2 : 3;
  ctx.deliver(m, 100 + other == 102 ? 104 : 102, Ping{1, {{other, State::kSuspect, 0}}, 16});
  CHECK(marks_about(ctx, kMarkSuspect, other).size() == 1);
  ctx.deliver(m, 100 + other, Ping{2, {{other, State::kAlive, 1}}, 16});
  CHECK(marks_about(ctx, kMarkAlive, other).size() == 1);
  // Well past the suspicion timeout, answering every probe: nobody is declared dead.
  for (int i = 0; i < 10; ++i) {
    const auto [peer, p] = next_ping(ctx, m);
    ctx.deliver(m, peer, Ack{p.seq, {}, 16});
  }
  CHECK(marks_named(ctx, kMarkDead) == 0);
}

TEST_CASE("swim: a member told it is suspected refutes with a higher incarnation") {
  SwimNode::Config c;
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 2);
  m.on_start(ctx);
  ctx.deliver(m, 101, Ping{9, {{2, State::kSuspect, 0}}, 16});
  CHECK(marks_named(ctx, kMarkRefute) == 1);
  const auto acks = ctx.sent_of<Ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].second.updates == Updates{{2, State::kAlive, 1}});
  CHECK(ctx.node_disk().get("swim/incarnation") == std::optional<std::string_view>("1"));
  // An old suspicion (incarnation 0) is stale now: no second refutation.
  ctx.deliver(m, 103, Ping{10, {{2, State::kSuspect, 0}}, 16});
  CHECK(marks_named(ctx, kMarkRefute) == 1);
}

TEST_CASE("swim: a ping-req is relayed and its ack forwarded with the asker's seq") {
  SwimNode::Config c;
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 1);
  m.on_start(ctx);
  ctx.deliver(m, 100, PingReq{42, 3, {}, 16});
  auto pings = ctx.sent_of<Ping>();
  REQUIRE(pings.size() == 1);
  CHECK(pings[0].first == 103);
  ctx.deliver(m, 103, Ack{pings[0].second.seq, {}, 16});
  auto acks = ctx.sent_of<Ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].first == 100);
  CHECK(acks[0].second.seq == 42);
}

TEST_CASE("swim round robin: every other member once per pass") {
  SwimNode::Config c;
  SwimNode m(c);
  const uint32_t n = 12;
  RecordingContext ctx = member_of(n, 5);
  m.on_start(ctx);
  for (int pass = 0; pass < 3; ++pass) {
    std::set<NodeId> seen;
    for (uint32_t i = 0; i + 1 < n; ++i) {
      const auto [to, ping] = next_ping(ctx, m);
      ctx.deliver(m, to, Ack{ping.seq, {}, 16});
      seen.insert(to);
    }
    CHECK(seen.size() == n - 1);
    CHECK(seen.count(105) == 0);
  }
}

// --- Lifeguard (Dadgar et al. 2018) ----------------------------------------------------------

namespace {

// Fires every timer due at or before `t`, then moves the clock to `t`.
void advance_to(RecordingContext& ctx, SwimNode& m, SimTime t) {
  auto due = [&] {
    return std::any_of(ctx.timers.begin(), ctx.timers.end(),
                       [&](const auto& x) { return !x.fired && !x.cancelled && x.at <= t; });
  };
  while (due())
    REQUIRE(ctx.fire_next(m));
  ctx.set_now(t);
}

}  // namespace

TEST_CASE("swim lifeguard: failed probes stretch the period and a successful one shortens it") {
  SwimNode::Config c;
  c.period = seconds(1);
  c.indirect_probes = 0;  // no relays: each failed probe raises the multiplier by one
  c.health_max = 8;
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 0);
  m.on_start(ctx);
  next_ping(ctx, m);
  const SimTime t0 = ctx.now();
  next_ping(ctx, m);  // the first probe failed: multiplier 1
  CHECK(ctx.now() == t0 + seconds(1));
  const auto [to, ping] = next_ping(ctx, m);  // the second failed too: multiplier 2
  CHECK(ctx.now() == t0 + seconds(3));
  CHECK(ctx.recorder().levels[ctx.intern("local_health").id] == 2);
  // The ping timeout is stretched as well: 3 x 200 ms.
  REQUIRE(ctx.fire_next(m));
  CHECK(ctx.now() == t0 + seconds(3) + ms(600));
  ctx.deliver(m, to, Ack{ping.seq, {}, 16});
  next_ping(ctx, m);  // 3 s after the last: the ack brings the multiplier down to 1
  CHECK(ctx.now() == t0 + seconds(6));
  CHECK(ctx.recorder().levels[ctx.intern("local_health").id] == 1);
  m.check_invariants();
}

TEST_CASE("swim lifeguard: a relay nacks a ping-req whose target is silent") {
  SwimNode::Config c;
  c.health_max = 8;
  SwimNode m(c);
  RecordingContext ctx = member_of(5, 1);
  m.on_start(ctx);
  ctx.deliver(m, 100, PingReq{42, 3, {}, 16});
  ctx.deliver(m, 102, PingReq{43, 4, {}, 16});
  const auto pings = ctx.sent_of<Ping>();
  REQUIRE(pings.size() == 2);
  ctx.deliver(m, 104, Ack{pings[1].second.seq, {}, 16});  // member 4 answers, member 3 does not
  advance_to(ctx, m, ctx.now() + c.ping_timeout);
  const auto nacks = ctx.sent_of<Nack>();
  REQUIRE(nacks.size() == 1);
  CHECK(nacks[0].first == 100);
  CHECK(nacks[0].second.seq == 42);
}

TEST_CASE(
    "swim lifeguard: each relay that does not nack a failed probe counts against the prober") {
  for (const uint32_t nacks : {0u, 1u, 2u}) {
    SwimNode::Config c;
    c.indirect_probes = 2;
    c.health_max = 8;
    SwimNode m(c);
    RecordingContext ctx = member_of(5, 0);
    m.on_start(ctx);
    const auto [to, ping] = next_ping(ctx, m);
    REQUIRE(ctx.fire_next(m));  // the ping timeout: two ping-reqs
    const auto reqs = ctx.sent_of<PingReq>();
    REQUIRE(reqs.size() == 2);
    for (uint32_t i = 0; i < nacks; ++i)
      ctx.deliver(m, reqs[i].first, Nack{ping.seq});
    next_ping(ctx, m);
    INFO(nacks << " nacks");
    CHECK(ctx.recorder().levels[ctx.intern("local_health").id] == 2 - nacks);
    CHECK(ctx.recorder().counters[ctx.intern("missed_nacks").id] == 2 - nacks);
  }
}

TEST_CASE("swim lifeguard: a suspicion's timeout shrinks with independent confirmations") {
  SwimNode::Config c;
  c.period = seconds(1000);  // no probe of its own in the few seconds watched
  c.suspicion_mult = 0.001;  // the shortest timeout: 0.001 x max(1, log10 5) x 1000 s = 1 s
  c.dynamic_suspicion = true;
  c.suspicion_max_mult = 6;  // the longest: 6 s
  c.confirmations = 3;       // K (n - 2 = 3 others could confirm)
  SECTION("alone, a suspicion waits the longest timeout") {
    SwimNode m(c);
    RecordingContext ctx = member_of(5, 0);
    m.on_start(ctx);
    const SimTime t = ctx.now();
    ctx.deliver(m, 103, Ping{1, {{2, State::kSuspect, 0, 3}}, 16});
    advance_to(ctx, m, t + seconds(6) - Duration::from_ns(1));
    CHECK(marks_about(ctx, kMarkDead, 2).empty());
    advance_to(ctx, m, t + seconds(6));
    CHECK(marks_about(ctx, kMarkDead, 2).size() == 1);
  }
  SECTION("a second suspecter brings it to max - (max - min) log 2 / log 4 = 3.5 s") {
    SwimNode m(c);
    RecordingContext ctx = member_of(5, 0);
    m.on_start(ctx);
    const SimTime t = ctx.now();
    ctx.deliver(m, 103, Ping{1, {{2, State::kSuspect, 0, 3}}, 16});
    advance_to(ctx, m, t + seconds(1));
    ctx.deliver(m, 104, Ping{2, {{2, State::kSuspect, 0, 4}}, 16});
    ctx.deliver(m, 101, Ping{3, {{2, State::kSuspect, 0, 4}}, 16});  // 4 again: not counted
    CHECK(ctx.recorder().counters[ctx.intern("suspicion_confirmations").id] == 1);
    // The confirmation is news: passed on.
    const auto acks = ctx.sent_of<Ack>();
    CHECK(std::any_of(acks.begin(), acks.end(), [](const auto& a) {
      return std::find(a.second.updates.begin(), a.second.updates.end(),
                       Update{2, State::kSuspect, 0, 4}) != a.second.updates.end();
    }));
    advance_to(ctx, m, t + ms(3499));
    CHECK(marks_about(ctx, kMarkDead, 2).empty());
    advance_to(ctx, m, t + ms(3501));
    CHECK(marks_about(ctx, kMarkDead, 2).size() == 1);
    m.check_invariants();
  }
  SECTION("K confirmations bring it to the shortest, counted from the first suspicion") {
    SwimNode m(c);
    RecordingContext ctx = member_of(5, 0);
    m.on_start(ctx);
    const SimTime t = ctx.now();
    ctx.deliver(m, 103, Ping{1, {{2, State::kSuspect, 0, 3}}, 16});
    advance_to(ctx, m, t + ms(1500));
    // Two confirmations: 6 - 5 log 3 / log 4 = 2.04 s, not over yet.
    for (uint32_t from : {4u, 1u})
      ctx.deliver(m, 100 + from, Ping{from, {{2, State::kSuspect, 0, from}}, 16});
    advance_to(ctx, m, t + ms(1500));
    CHECK(marks_about(ctx, kMarkDead, 2).empty());
    // The third (this member's own suspicion, as its failed probe would report it): the
    // shortest timeout, 1 s, which has passed.
    ctx.deliver(m, 101, Ping{9, {{2, State::kSuspect, 0, 0}}, 16});
    advance_to(ctx, m, t + ms(1500));
    CHECK(marks_about(ctx, kMarkDead, 2).size() == 1);
  }
}

TEST_CASE("swim updates: left overrides at an equal incarnation and dead never overrides it") {
  const MemberState alive1{State::kAlive, 1}, suspect1{State::kSuspect, 1}, dead1{State::kDead, 1},
      left1{State::kLeft, 1};
  CHECK(overrides({0, State::kLeft, 1}, alive1));
  CHECK(overrides({0, State::kLeft, 1}, suspect1));
  CHECK(overrides({0, State::kLeft, 1}, dead1));
  CHECK_FALSE(overrides({0, State::kLeft, 0}, alive1));
  CHECK_FALSE(overrides({0, State::kDead, 5}, left1));
  CHECK_FALSE(overrides({0, State::kSuspect, 5}, left1));
  CHECK(overrides({0, State::kAlive, 2}, left1));  // joining again
  // Members from the `founders` on start outside the group: left at incarnation 0.
  View v(4);
  CHECK(v.get(3) == MemberState{});
  CHECK(v.get(4) == MemberState{State::kLeft, 0});
  v.set(4, {State::kAlive, 1});
  CHECK(v.updates() == Updates{{4, State::kAlive, 1}});
  v.set(4, {State::kLeft, 0});
  CHECK(v.size() == 0);
}

TEST_CASE(
    "swim join: a newcomer announces itself once its incarnation is durable by a state "
    "exchange") {
  SwimNode::Config c;
  SwimNode m(c);
  RecordingContext ctx = member_of(6, 5);
  ctx.joining["members"] = 1;
  m.on_start(ctx);
  CHECK(ctx.sent_of<Sync>().empty());
  REQUIRE(ctx.complete_sync(m));
  CHECK(marks_about(ctx, kMarkRejoin, 5).size() == 1);
  auto syncs = ctx.sent_of<Sync>();
  REQUIRE(syncs.size() == 1);
  CHECK_FALSE(syncs[0].second.reply);
  CHECK(syncs[0].second.updates == Updates{{5, State::kAlive, 1}});
  // The answer: member 2 died meanwhile. The newcomer holds it dead and stops asking.
  ctx.deliver(m, syncs[0].first, Sync{true, {{2, State::kDead, 0}, {5, State::kAlive, 1}}, 16});
  CHECK(marks_about(ctx, kMarkDead, 2).size() == 1);
  for (int i = 0; i < 20; ++i)
    REQUIRE(ctx.fire_next(m));
  CHECK(ctx.sent_of<Sync>().size() == 1);
  // Its pings carry its alive, and never go to member 2.
  for (const auto& [to, ping] : ctx.sent_of<Ping>())
    CHECK(to != 102);
}

TEST_CASE("swim join: a member probes a newcomer only once it has heard of it") {
  SwimNode::Config c;
  SwimNode m(c);
  RecordingContext ctx = member_of(6, 0);
  ctx.joining["members"] = 1;
  m.on_start(ctx);
  auto pinged = [&](int periods) {
    std::set<NodeId> to;
    for (int i = 0; i < periods; ++i) {
      const auto [peer, p] = next_ping(ctx, m);
      ctx.deliver(m, peer, Ack{p.seq, {}, 16});
      to.insert(peer);
    }
    return to;
  };
  CHECK(pinged(12).count(105) == 0);
  // The newcomer's state exchange: the answer holds what this member knows, and itself.
  ctx.deliver(m, 105, Sync{false, {{5, State::kAlive, 1}}, 16});
  const auto replies = ctx.sent_of<Sync>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].first == 105);
  CHECK(replies[0].second.reply);
  CHECK(replies[0].second.updates == Updates{{5, State::kAlive, 1}, {0, State::kAlive, 0}});
  CHECK(marks_about(ctx, kMarkAlive, 5).size() == 1);
  CHECK(pinged(12).count(105) == 1);
}

TEST_CASE(
    "swim leave: the leaver spreads its left and does not refute and others stop probing it") {
  SwimNode::Config c;
  c.leave_linger = seconds(3);
  SwimNode leaver(c);
  RecordingContext lctx = member_of(5, 3);
  leaver.on_start(lctx);
  CHECK(leaver.on_leave(lctx) == seconds(3));
  CHECK(marks_about(lctx, kMarkLeave, 3).size() == 1);
  const auto [to, ping] = next_ping(lctx, leaver);
  CHECK(ping.updates == Updates{{3, State::kLeft, 0}});
  // Suspected while it leaves: it does not refute.
  lctx.deliver(leaver, 101, Ping{5, {{3, State::kSuspect, 0}}, 16});
  CHECK(marks_named(lctx, kMarkRefute) == 0);

  SwimNode m(c);
  RecordingContext ctx = member_of(5, 0);
  m.on_start(ctx);
  ctx.deliver(m, 103, Ping{1, {{3, State::kLeft, 0}}, 16});
  CHECK(marks_about(ctx, kMarkLeft, 3).size() == 1);
  ctx.deliver(m, 102, Ping{2, {{3, State::kDead, 0}}, 16});  // dead does not override left
  CHECK(marks_about(ctx, kMarkDead, 3).empty());
  for (int i = 0; i < 12; ++i) {
    const auto [peer, p] = next_ping(ctx, m);
    CHECK(peer != 103);
    ctx.deliver(m, peer, Ack{p.seq, {}, 16});
  }
}
