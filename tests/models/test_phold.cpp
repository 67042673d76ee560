// The phold benchmark model, one handler at a time: where tokens start, that timers are
// re-armed, and that a token goes to a uniformly random other node of the group.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "models/phold/phold.h"
#include "support/recording_context.h"

using namespace dsim;
using dsim::phold::Phold;
using dsim::phold::Token;
using dsim::testing::RecordingContext;

namespace {

// Node `index` of a group "hosts" of `n` nodes with ids 100, 101, ...
RecordingContext node_of(uint32_t n, uint32_t index) {
  RecordingContext ctx(100 + index);
  std::vector<NodeId> ids;
  for (uint32_t i = 0; i < n; ++i)
    ids.push_back(100 + i);
  ctx.groups["hosts"] = ids;
  ctx.set_group("hosts", index);
  return ctx;
}

}  // namespace

TEST_CASE("phold timers: tokens start round robin and are re-armed when they fire") {
  Phold::Config cfg;
  cfg.tokens = 10;
  cfg.delay = Distribution::constant(2e6).with_dim(Distribution::Dim::kTime);
  Phold m(cfg);
  RecordingContext ctx = node_of(4, 1);
  m.on_start(ctx);
  // Tokens 1, 5 and 9 start on node 1 of 4.
  auto pending = ctx.pending();
  REQUIRE(pending.size() == 3);
  CHECK(pending[0]->tag == 1);
  CHECK(pending[1]->tag == 5);
  CHECK(pending[2]->tag == 9);
  for (const auto* t : pending)
    CHECK(t->at == SimTime::zero() + ms(2));
  REQUIRE(ctx.fire_next(m));
  pending = ctx.pending();
  REQUIRE(pending.size() == 3);
  CHECK(pending.back()->tag == 1);
  CHECK(pending.back()->at == SimTime::zero() + ms(4));
  CHECK(ctx.sent.empty());
}

TEST_CASE("phold net: a token goes at once to a uniformly random other node") {
  Phold::Config cfg;
  cfg.workload = Phold::Workload::kNet;
  cfg.tokens = 10;
  cfg.token_bytes = 64;
  Phold m(cfg);
  RecordingContext ctx = node_of(4, 2);
  m.on_start(ctx);
  // Tokens 2 and 6 start here and leave at once.
  auto sent = ctx.sent_of<Token>();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].second.id == 2);
  CHECK(sent[1].second.id == 6);
  CHECK(ctx.sent[0].msg.size_bytes() == 64);
  CHECK(ctx.pending().empty());

  // Each of the three other nodes gets a third of the tokens: within five standard
  // deviations of the binomial count, and never this node.
  const int n = 30000;
  for (int i = 0; i < n; ++i)
    ctx.deliver(m, 100, Token{static_cast<uint32_t>(i), 64});
  std::map<NodeId, int> to;
  sent = ctx.sent_of<Token>();
  REQUIRE(sent.size() == n + 2);
  for (size_t i = 2; i < sent.size(); ++i) {
    REQUIRE(sent[i].second.id == i - 2);
    ++to[sent[i].first];
  }
  CHECK(to.count(102) == 0);
  REQUIRE(to.size() == 3);
  const double sd = std::sqrt(n * (1.0 / 3) * (2.0 / 3));
  for (const auto& [node, count] : to) {
    INFO("node " << node);
    CHECK(std::abs(count - n / 3.0) < 5 * sd);
  }
}

TEST_CASE("phold net: a node alone in its group keeps its tokens") {
  Phold::Config cfg;
  cfg.workload = Phold::Workload::kNet;
  cfg.tokens = 3;
  Phold m(cfg);
  RecordingContext ctx = node_of(1, 0);
  m.on_start(ctx);
  CHECK(ctx.sent.empty());
}
