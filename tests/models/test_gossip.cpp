// The gossip model, one handler at a time: when rounds and rumors start, what each exchange
// sends, and the stop rules of rumor mongering (Demers et al. 1987, section 1.4).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "models/gossip/gossip.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::gossip;
using dsim::testing::RecordingContext;

namespace {

// Node `index` of a group "peers" of `n` nodes with ids 100, 101, ...
RecordingContext node_of(uint32_t n, uint32_t index) {
  RecordingContext ctx(100 + index);
  std::vector<NodeId> ids;
  for (uint32_t i = 0; i < n; ++i)
    ids.push_back(100 + i);
  ctx.groups["peers"] = ids;
  ctx.set_group("peers", index);
  return ctx;
}

RumorId rumor_of(uint32_t origin, uint32_t number) {
  return (uint64_t{origin} << 32) | number;
}

GossipNode::Config rumor_config(Exchange e, Feedback f, LossOfInterest l, uint32_t k) {
  GossipNode::Config c;
  c.protocol = Protocol::kRumor;
  c.exchange = e;
  c.feedback = f;
  c.loss = l;
  c.k = k;
  c.phase = Phase::kAligned;
  c.rumors = 0;
  return c;
}

// Fires the next timer: a round, when the node has no scheduled rumor.
void run_round(RecordingContext& ctx, GossipNode& m) {
  REQUIRE(ctx.fire_next(m));
}

std::vector<GossipRequest> requests(const RecordingContext& ctx) {
  std::vector<GossipRequest> out;
  for (const auto& [to, r] : ctx.sent_of<GossipRequest>())
    out.push_back(r);
  return out;
}

size_t marks_named(RecordingContext& ctx, std::string_view name) {
  const Symbol s = ctx.intern(name);
  return static_cast<size_t>(std::count_if(ctx.recorder().marks.begin(), ctx.recorder().marks.end(),
                                           [&](const TimelineMark& m) { return m.kind == s; }));
}

}  // namespace

TEST_CASE("gossip: aligned rounds fall on multiples of the period and rumor i on node origin + i") {
  GossipNode::Config c;
  c.phase = Phase::kAligned;
  c.period = ms(500);
  c.rumors = 7;
  c.origin = 2;
  c.first_rumor = ms(1200);
  c.rumor_every = seconds(10);
  GossipNode m(c);
  RecordingContext ctx = node_of(4, 1);
  ctx.set_now(SimTime::zero() + ms(130));  // a node (re)starting off the grid
  m.on_start(ctx);
  auto pending = ctx.pending();
  REQUIRE(pending.size() == 2);
  // Rumors 3 (node (2+3) mod 4 = 1) at 31.2 s, then 7 would be next: only 0..6 exist.
  CHECK(pending[0]->at == SimTime::zero() + ms(500));
  CHECK(pending[1]->at == SimTime::zero() + ms(31200));
  while (ctx.now() < SimTime::zero() + seconds(40))
    REQUIRE(ctx.fire_next(m));
  CHECK(marks_named(ctx, kMarkInformed) == 1);
  CHECK(ctx.recorder().marks[0].a == static_cast<int64_t>(rumor_of(1, 0)));
  CHECK(ctx.recorder().marks[0].at == SimTime::zero() + ms(31200));
}

TEST_CASE("gossip push rumor: an infective node pushes its hot rumors to one other node a round") {
  const auto c = rumor_config(Exchange::kPush, Feedback::kBlind, LossOfInterest::kCounter, 2);
  GossipNode m(c);
  RecordingContext ctx = node_of(5, 0);
  m.on_start(ctx);
  run_round(ctx, m);
  CHECK(ctx.sent.empty());  // nothing to push yet
  ctx.deliver(m, 103, GossipRequest{{rumor_of(3, 0)}, {}, {100, 8}, false});
  CHECK(marks_named(ctx, kMarkInformed) == 1);
  CHECK(ctx.sent.empty());  // a blind push asks for no reply
  run_round(ctx, m);
  run_round(ctx, m);
  auto sent = requests(ctx);
  REQUIRE(sent.size() == 2);
  for (const auto& r : sent) {
    CHECK(r.rumors == std::vector<RumorId>{rumor_of(3, 0)});
    CHECK(r.digest.empty());
    CHECK_FALSE(r.wants_reply);
  }
  for (const auto& s : ctx.sent)
    CHECK(s.to != 100);
  CHECK(ctx.sent[0].msg.size_bytes() == 16 + 100);
  // Blind counter with k = 2: two contacts, then it has lost interest.
  run_round(ctx, m);
  CHECK(requests(ctx).size() == 2);
  CHECK(marks_named(ctx, kMarkCooled) == 1);
  m.check_invariants();
}

TEST_CASE("gossip push rumor with feedback: only contacts that already knew count") {
  const auto c = rumor_config(Exchange::kPush, Feedback::kFeedback, LossOfInterest::kCounter, 2);
  GossipNode m(c);
  RecordingContext ctx = node_of(5, 0);
  m.on_start(ctx);
  const RumorId r = rumor_of(3, 0);
  ctx.deliver(m, 103, GossipRequest{{r}, {}, {100, 8}, true});
  // The pusher is answered; it did not know the rumor.
  auto replies = ctx.sent_of<GossipReply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].first == 103);
  CHECK(replies[0].second.already_known.empty());
  // Pushed again: it answers that it knew.
  ctx.deliver(m, 104, GossipRequest{{r}, {}, {100, 8}, true});
  replies = ctx.sent_of<GossipReply>();
  REQUIRE(replies.size() == 2);
  CHECK(replies[1].second.already_known == std::vector<RumorId>{r});

  // As a pusher: a reply saying "new to me" does not count, two saying "knew it" do.
  run_round(ctx, m);
  ctx.deliver(m, 101, GossipReply{{}, {}, {}, {100, 8}});
  run_round(ctx, m);
  ctx.deliver(m, 102, GossipReply{{}, {}, {r}, {100, 8}});
  CHECK(marks_named(ctx, kMarkCooled) == 0);
  run_round(ctx, m);
  ctx.deliver(m, 102, GossipReply{{}, {}, {r}, {100, 8}});
  CHECK(marks_named(ctx, kMarkCooled) == 1);
  const size_t pushes = requests(ctx).size();
  run_round(ctx, m);
  CHECK(requests(ctx).size() == pushes);        // not hot any more: it no longer calls
  CHECK(ctx.counter("redundant_rumors") == 1);  // the second push it received
  m.check_invariants();
}

TEST_CASE("gossip pull rumor: the callee sends what the caller lacks and coin k=1 cools at once") {
  const auto c = rumor_config(Exchange::kPull, Feedback::kFeedback, LossOfInterest::kCoin, 1);
  GossipNode m(c);
  RecordingContext ctx = node_of(5, 0);
  m.on_start(ctx);
  // Every node pulls each round, informed or not, sending the ids it knows.
  run_round(ctx, m);
  auto sent = requests(ctx);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].rumors.empty());
  CHECK(sent[0].digest.empty());
  CHECK(sent[0].wants_reply);
  // It learns two rumors from the reply.
  const RumorId a = rumor_of(2, 0), b = rumor_of(3, 0);
  ctx.deliver(m, 102, GossipReply{{a, b}, {}, {}, {100, 8}});
  CHECK(marks_named(ctx, kMarkInformed) == 2);
  // A caller that knows `a` pulls: it gets only `b`, and this node loses interest in `a`.
  ctx.deliver(m, 104, GossipRequest{{}, {a}, {100, 8}, true});
  auto replies = ctx.sent_of<GossipReply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].second.rumors == std::vector<RumorId>{b});
  CHECK(marks_named(ctx, kMarkCooled) == 1);
  CHECK(ctx.recorder().marks.back().a == static_cast<int64_t>(a));
  m.check_invariants();
}

TEST_CASE("gossip anti-entropy with digests: ids first and values only for what the other lacks") {
  GossipNode::Config c;
  c.protocol = Protocol::kAntiEntropy;
  c.exchange = Exchange::kPushPull;
  c.content = Content::kDigest;
  c.phase = Phase::kAligned;
  c.rumors = 1;
  c.first_rumor = ms(100);
  GossipNode m(c);
  RecordingContext ctx = node_of(3, 0);
  m.on_start(ctx);
  REQUIRE(ctx.fire_next(m));  // its own rumor 0.0 at 100 ms
  const RumorId mine = rumor_of(0, 0), theirs = rumor_of(1, 0), shared = rumor_of(2, 0);
  ctx.deliver(m, 102, GossipValues{{shared}, {100, 8}});
  // A caller knowing {theirs, shared}: it gets `mine` and is asked for `theirs`.
  ctx.deliver(m, 101, GossipRequest{{}, {theirs, shared}, {100, 8}, true});
  auto replies = ctx.sent_of<GossipReply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].second.rumors == std::vector<RumorId>{mine});
  CHECK(replies[0].second.wanted == std::vector<RumorId>{theirs});
  CHECK(ctx.sent.back().msg.size_bytes() == 16 + 100 + 8);
  // As the caller: its digest lists every id, and it sends the values asked for.
  REQUIRE(ctx.fire_next(m));
  auto sent = requests(ctx);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].rumors.empty());
  CHECK(sent[0].digest == std::vector<RumorId>{mine, shared});
  ctx.deliver(m, 101, GossipReply{{theirs}, {mine}, {}, {100, 8}});
  auto values = ctx.sent_of<GossipValues>();
  REQUIRE(values.size() == 1);
  CHECK(values[0].first == 101);
  CHECK(values[0].second.rumors == std::vector<RumorId>{mine});
  CHECK(marks_named(ctx, kMarkInformed) == 3);
  m.check_invariants();
}

TEST_CASE("gossip: fan-out contacts distinct peers uniformly over the others") {
  GossipNode::Config c;
  c.protocol = Protocol::kAntiEntropy;
  c.exchange = Exchange::kPull;
  c.fanout = 3;
  c.rumors = 0;
  GossipNode m(c);
  RecordingContext ctx = node_of(7, 4);
  m.on_start(ctx);
  const int rounds = 6000;
  std::map<NodeId, int> to;
  for (int i = 0; i < rounds; ++i) {
    const size_t before = ctx.sent.size();
    REQUIRE(ctx.fire_next(m));
    REQUIRE(ctx.sent.size() == before + 3);
    std::vector<NodeId> round;
    for (size_t j = before; j < ctx.sent.size(); ++j)
      round.push_back(ctx.sent[j].to);
    std::sort(round.begin(), round.end());
    CHECK(std::unique(round.begin(), round.end()) == round.end());
    for (NodeId n : round)
      ++to[n];
  }
  CHECK(to.count(104) == 0);
  REQUIRE(to.size() == 6);
  // Each of the 6 others is in a round's 3 with probability 1/2: within 5 standard
  // deviations of the binomial count.
  const double expect = rounds * 0.5, sd = std::sqrt(rounds * 0.25);
  for (const auto& [node, count] : to)
    CHECK(std::abs(count - expect) < 5 * sd);
}
