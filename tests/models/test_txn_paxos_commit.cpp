// Paxos Commit one handler at a time (Gray and Lamport, "Consensus on Transaction Commit"):
// the acceptor's phases 1 and 2 and what it keeps across a crash, the participant's
// proposal at ballot 0, and the leader learning each instance from F + 1 acceptors, taking
// over a transaction it does not know, and aborting one whose votes time out only through
// a chosen "aborted".
#include <catch2/catch.hpp>

#include <memory>
#include <set>

#include "models/kit/hash_slots.h"
#include "models/txn/acceptor.h"
#include "models/txn/coordinator.h"
#include "models/txn/participant.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::txn;
using dsim::testing::RecordingContext;

namespace {

const std::vector<NodeId> kShards = {10, 11};
const std::vector<NodeId> kAcceptors = {20, 21, 22};
const std::vector<NodeId> kCoordinators = {1, 2};

struct AcceptorRig {
  TxnAcceptor::Config config;
  RecordingContext ctx{20};
  std::unique_ptr<TxnAcceptor> node;
  AcceptorRig() { start(); }
  void start() {
    node = std::make_unique<TxnAcceptor>(config);
    node->on_start(ctx);
  }
  void deliver(NodeId from, Message m) { ctx.deliver(*node, from, std::move(m)); }
};

struct CoordinatorRig {
  TxnCoordinator::Config config;
  RecordingContext ctx;
  std::unique_ptr<TxnCoordinator> node;
  explicit CoordinatorRig(NodeId self = 1) : ctx(self) {
    config.participants = "shards";
    config.acceptors = "acceptors";
    config.protocol = Protocol::kPaxosCommit;
    config.faults = 1;
    ctx.groups["shards"] = kShards;
    ctx.groups["acceptors"] = kAcceptors;
    ctx.groups["coordinators"] = kCoordinators;
    ctx.set_group("coordinators", self == 1 ? 0 : 1);
    node = std::make_unique<TxnCoordinator>(config);
    node->on_start(ctx);
  }
  void deliver(NodeId from, Message m) { ctx.deliver(*node, from, std::move(m)); }
  // A transaction writing one key on each shard, executed on both.
  void begin(uint64_t txn) {
    std::vector<TxnOp> ops;
    std::set<NodeId> covered;
    for (uint64_t k = 1; covered.size() < kShards.size(); ++k) {
      const NodeId shard = kShards[kit::slot_shard(kit::hash_slot(k), 2)];
      if (covered.insert(shard).second) ops.push_back(TxnOp{k, 7, true});
    }
    TxnRequest req;
    req.call.id = 500;
    req.call.reply_to = 90;
    req.txn = txn;
    req.ops = ops;
    deliver(90, req);
    for (NodeId s : kShards)
      deliver(s, Executed{txn, {0}});
  }
  std::vector<TxnResponse> answers() const {
    std::vector<TxnResponse> out;
    for (const auto& [to, r] : ctx.sent_of<TxnResponse>())
      out.push_back(r);
    return out;
  }
};

}  // namespace

TEST_CASE("txn acceptor accepts and promises only what no higher ballot forbids") {
  AcceptorRig r;
  r.deliver(10, Phase2a{7, 10, 1, 0, true});
  CHECK(r.ctx.sent_of<Phase2b>().empty());  // not before its record is durable
  REQUIRE(r.ctx.complete_sync(*r.node));
  auto b = r.ctx.sent_of<Phase2b>();
  REQUIRE(b.size() == 1);
  CHECK(b[0].first == 1);  // to the leader the request named
  CHECK(b[0].second.prepared);
  // A new leader's phase 1 hears what was accepted, and the promise is kept.
  r.deliver(2, Phase1a{7, (1 << 16) + 2, {10, 11}});
  REQUIRE(r.ctx.complete_sync(*r.node));
  auto p = r.ctx.sent_of<Phase1b>();
  REQUIRE(p.size() == 1);
  CHECK(p[0].second.promised);
  REQUIRE(p[0].second.accepted.size() == 2);
  CHECK(p[0].second.accepted[0].any);
  CHECK(p[0].second.accepted[0].prepared);
  CHECK(!p[0].second.accepted[1].any);
  // The participant's own ballot 0 comes too late now for instance 11.
  r.deliver(11, Phase2a{7, 11, 1, 0, true});
  CHECK(r.ctx.counter("refused") == 1);
  // What it promised and accepted survives a crash.
  r.ctx.node_disk().crash();
  r.start();
  r.deliver(1, Phase1a{7, 5, {10}});  // a lower ballot than promised
  const auto refused = r.ctx.sent_of<Phase1b>();
  REQUIRE(refused.size() == 2);
  CHECK(!refused[1].second.promised);
}

TEST_CASE(
    "txn participant under Paxos Commit proposes to the acceptors and leaves if it only read") {
  TxnParticipant::Config config;
  RecordingContext ctx(10);
  TxnParticipant node(config);
  node.on_start(ctx);
  Execute e;
  e.txn = 3;
  e.coordinator = 1;
  e.protocol = Protocol::kPaxosCommit;
  e.ops = {TxnOp{5, 9, true}};
  e.peers = kShards;
  e.acceptors = kAcceptors;
  e.coordinators = kCoordinators;
  ctx.deliver(node, 1, e);
  ctx.deliver(node, 1, Prepare{3});
  CHECK(ctx.sent_of<Phase2a>().empty());
  REQUIRE(ctx.complete_sync(node));  // the prepare record first
  const auto a = ctx.sent_of<Phase2a>();
  REQUIRE(a.size() == 3);
  for (const auto& [to, m] : a) {
    CHECK(m.ballot == 0);
    CHECK(m.prepared);
    CHECK(m.leader == 1);
  }
  CHECK(ctx.sent_of<Vote>().empty());
  // In doubt, it asks its own coordinator, then the other one.
  REQUIRE(ctx.fire_next(node));
  REQUIRE(ctx.fire_next(node));
  const auto q = ctx.sent_of<Query>();
  REQUIRE(q.size() == 2);
  CHECK(q[0].first == 1);
  CHECK(q[1].first == 2);
  CHECK(q[1].second.peers == kShards);
  // A read-only part proposes "prepared" without a record and leaves.
  Execute ro = e;
  ro.txn = 4;
  ro.ops = {TxnOp{6, 0, false}};
  ctx.deliver(node, 1, ro);
  ctx.deliver(node, 1, Prepare{4});
  CHECK(ctx.sent_of<Phase2a>().size() == 6);
  CHECK(ctx.counter("forced_writes") == 1);
}

TEST_CASE(
    "txn coordinator under Paxos Commit commits once F plus 1 acceptors accepted every instance") {
  CoordinatorRig r;
  r.begin(8);
  CHECK(r.ctx.sent_of<Prepare>().size() == 2);
  r.deliver(20, Phase2b{8, 10, 0, true});
  r.deliver(20, Phase2b{8, 11, 0, true});
  r.deliver(21, Phase2b{8, 10, 0, true});
  CHECK(r.answers().empty());  // instance 11 has one acceptor only
  r.deliver(22, Phase2b{8, 11, 0, true});
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].status == TxnResponse::Status::kCommitted);
  CHECK(r.ctx.counter("forced_writes") == 0);  // the acceptors hold the outcome
  CHECK(r.ctx.sent_of<Decision>().size() == 2);
  CHECK(r.ctx.pending().empty());  // no acknowledgements awaited
}

TEST_CASE("txn coordinator under Paxos Commit aborts a silent instance only through phase 1") {
  CoordinatorRig r;
  r.begin(9);
  r.deliver(20, Phase2b{9, 10, 0, true});
  r.deliver(21, Phase2b{9, 10, 0, true});
  REQUIRE(r.ctx.fire_next(*r.node));  // the vote timeout: phase 1 at its own ballot
  const auto p1 = r.ctx.sent_of<Phase1a>();
  REQUIRE(p1.size() == 3);
  const uint64_t ballot = p1[0].second.ballot;
  CHECK(ballot > 0);
  CHECK(r.answers().empty());
  Phase1b b;
  b.txn = 9;
  b.ballot = ballot;
  b.accepted = {{10, true, 0, true}, {11, false, 0, false}};
  r.deliver(20, b);
  r.deliver(21, b);
  // Phase 2: instance 10 keeps "prepared" (already chosen), 11 gets "aborted".
  const auto p2 = r.ctx.sent_of<Phase2a>();
  REQUIRE(p2.size() == 3);
  for (const auto& [to, m] : p2) {
    CHECK(m.instance == 11);
    CHECK(!m.prepared);
    CHECK(m.ballot == ballot);
  }
  r.deliver(20, Phase2b{9, 11, ballot, false});
  r.deliver(22, Phase2b{9, 11, ballot, false});
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].status == TxnResponse::Status::kAborted);
  CHECK(r.answers()[0].cause == AbortCause::kVoteTimeout);
}

TEST_CASE("txn coordinator under Paxos Commit leads the recovery of a transaction it never saw") {
  CoordinatorRig r(2);
  r.deliver(10, Query{12, kShards, kAcceptors});
  const auto p1 = r.ctx.sent_of<Phase1a>();
  REQUIRE(p1.size() == 3);
  const uint64_t ballot = p1[0].second.ballot;
  Phase1b b;
  b.txn = 12;
  b.ballot = ballot;
  b.accepted = {{10, true, 0, true}, {11, true, 0, true}};
  r.deliver(21, b);
  r.deliver(22, b);
  CHECK(r.ctx.sent_of<Phase2a>().size() == 6);  // both instances, prepared
  for (NodeId a : {21, 22}) {
    r.deliver(a, Phase2b{12, 10, ballot, true});
    r.deliver(a, Phase2b{12, 11, ballot, true});
  }
  const auto d = r.ctx.sent_of<Decision>();
  REQUIRE(d.size() == 2);
  CHECK(d[0].second.commit);
  CHECK(r.answers().empty());  // no client waits on this node
}
