// The gossip model's cycle form (engine: cycles), one turn at a time against a scripted
// world: what each exchange learns, sends and loses, and the stop rules, as the
// event-driven node does them (test_gossip.cpp).
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "models/gossip/gossip.h"
#include "sim/core/symbols.h"

using namespace dsim;
using namespace dsim::gossip;

namespace {

// A world whose network loses the messages the test says, and that keeps every message's
// size and every mark.
class ScriptedWorld final : public CycleWorld {
 public:
  SimTime now() const override { return now_; }
  Rng& rng() override { return rng_; }
  bool send(uint32_t bytes) override {
    sent.push_back(bytes);
    if (lose.empty()) return false;
    const bool lost = lose.front();
    lose.pop_front();
    return lost;
  }
  void mark(uint32_t node, Symbol kind, int64_t a, int64_t b) override {
    marks.push_back({now_, node, kind, a, b});
  }
  Symbol intern(std::string_view name) override { return symbols.intern(name); }
  bool measured() const override { return true; }

  size_t marks_of(std::string_view kind, uint32_t node) {
    const Symbol s = symbols.intern(kind);
    size_t n = 0;
    for (const auto& m : marks)
      n += m.kind == s && m.node == node ? 1 : 0;
    return n;
  }

  SimTime now_ = SimTime::zero() + seconds(1);
  Rng rng_{7, 1};
  SymbolTable symbols;
  std::deque<bool> lose;  // the next messages' fates: true, lost
  std::vector<uint32_t> sent;
  std::vector<TimelineMark> marks;
};

GossipNode::Config config(Protocol p, Exchange e) {
  GossipNode::Config c;
  c.protocol = p;
  c.exchange = e;
  c.rumors = 1;
  c.first_rumor = seconds(1);
  return c;
}

std::unique_ptr<CycleGroup> group_of(const GossipNode::Config& c, uint32_t n) {
  CycleSetup s;
  s.count = n;
  s.measured = seconds(60);
  return GossipNode::cycle_group(c, s);
}

// Starts the scheduled rumor (on node `origin`).
void start_rumor(CycleGroup& g, ScriptedWorld& w) {
  REQUIRE(g.next_due() == SimTime::zero() + seconds(1));
  g.at(w);
  REQUIRE(g.next_due() == SimTime::max());
}

}  // namespace

TEST_CASE("gossip cycles: push-pull anti-entropy learns both ways in one turn") {
  const auto c = config(Protocol::kAntiEntropy, Exchange::kPushPull);
  auto g = group_of(c, 2);
  ScriptedWorld w;
  start_rumor(*g, w);
  CHECK(w.marks_of(kMarkInformed, 0) == 1);
  g->turn(w, 1);  // node 1 knows nothing: it pulls the rumor from node 0
  CHECK(w.marks_of(kMarkInformed, 1) == 1);
  // The request carries node 1's (empty) state; the reply node 0's one value.
  CHECK(w.sent == std::vector<uint32_t>{16, 16 + 100});
  g->turn(w, 0);  // node 0 pushes it back: node 1 already knew
  CHECK(w.marks_of(kMarkInformed, 1) == 1);
  CHECK(w.sent.size() == 4);
  const auto rows = g->finish(w);
  CHECK(rows[0] == std::pair<std::string, double>{"gossip_messages", 4});
  CHECK(rows[2] == std::pair<std::string, double>{"rumors_learned", 2});
  CHECK(rows[3].first == "redundant_rumors");
  CHECK(rows[3].second == 2);  // node 0's own rumor back in the reply, and node 1's push
}

TEST_CASE(
    "gossip cycles: a lost request changes nothing and a lost reply informs only the callee") {
  const auto c = config(Protocol::kAntiEntropy, Exchange::kPushPull);
  SECTION("the request is lost") {
    auto g = group_of(c, 2);
    ScriptedWorld w;
    start_rumor(*g, w);
    w.lose = {true};
    g->turn(w, 1);
    CHECK(w.sent.size() == 1);
    CHECK(w.marks_of(kMarkInformed, 1) == 0);
  }
  SECTION("the reply is lost") {
    auto g = group_of(c, 2);
    ScriptedWorld w;
    start_rumor(*g, w);
    w.lose = {false, true};
    g->turn(w, 0);  // node 0 pushes: node 1 learns from the request
    CHECK(w.sent.size() == 2);
    CHECK(w.marks_of(kMarkInformed, 1) == 1);
  }
}

TEST_CASE(
    "gossip cycles: push with feedback and counter loses interest after k needless contacts") {
  auto c = config(Protocol::kRumor, Exchange::kPush);
  c.feedback = Feedback::kFeedback;
  c.loss = LossOfInterest::kCounter;
  c.k = 2;
  auto g = group_of(c, 2);
  ScriptedWorld w;
  start_rumor(*g, w);
  g->turn(w, 1);  // node 1 has nothing hot: a push-only node does not call
  CHECK(w.sent.empty());
  g->turn(w, 0);  // node 1 learns: not a needless contact
  CHECK(w.marks_of(kMarkInformed, 1) == 1);
  CHECK(w.sent.size() == 2);  // feedback needs the reply
  g->turn(w, 0);              // node 1 knew: the first needless contact
  CHECK(w.marks_of(kMarkCooled, 0) == 0);
  g->turn(w, 0);  // the second: node 0 loses interest
  CHECK(w.marks_of(kMarkCooled, 0) == 1);
  const size_t sent = w.sent.size();
  g->turn(w, 0);  // nothing hot any more: no call
  CHECK(w.sent.size() == sent);
}

TEST_CASE("gossip cycles: blind push counts every contact and sends no reply") {
  auto c = config(Protocol::kRumor, Exchange::kPush);
  c.feedback = Feedback::kBlind;
  c.loss = LossOfInterest::kCounter;
  c.k = 1;
  auto g = group_of(c, 3);
  ScriptedWorld w;
  start_rumor(*g, w);
  g->turn(w, 0);
  CHECK(w.sent.size() == 1);               // blind push: one message per contact
  CHECK(w.marks_of(kMarkCooled, 0) == 1);  // the contact counted, though the peer learned
  CHECK(w.marks_of(kMarkInformed, 1) + w.marks_of(kMarkInformed, 2) == 1);
}

TEST_CASE("gossip cycles: push-pull digests send ids, then only the values the other side lacks") {
  auto c = config(Protocol::kAntiEntropy, Exchange::kPushPull);
  c.content = Content::kDigest;
  auto g = group_of(c, 2);
  ScriptedWorld w;
  start_rumor(*g, w);
  g->turn(w, 0);  // ids (1), reply wanting it (1 id), then its value
  CHECK(w.sent == std::vector<uint32_t>{16 + 8, 16 + 8, 16 + 100});
  CHECK(w.marks_of(kMarkInformed, 1) == 1);
  g->turn(w, 1);  // both know everything: ids both ways, nothing wanted
  CHECK(w.sent.size() == 5);
}

TEST_CASE("gossip cycles: configs the cycle form cannot run are refused with the key") {
  auto c = config(Protocol::kRumor, Exchange::kPush);
  CHECK(GossipNode::cycle_refusal(c).empty());
  c.peers = Peers::kNearby;
  CHECK(GossipNode::cycle_refusal(c).rfind("peers:", 0) == 0);
  c = config(Protocol::kRumor, Exchange::kPush);
  c.rumors = GossipNode::kMaxCycleRumors + 1;
  CHECK(GossipNode::cycle_refusal(c).rfind("rumors:", 0) == 0);
  c = config(Protocol::kRumor, Exchange::kPush);
  c.rumor_rate = 1;
  CHECK(GossipNode::cycle_refusal(c).rfind("rumor_rate:", 0) == 0);
}
