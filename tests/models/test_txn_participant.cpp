// txn_participant, one handler at a time: execution (locks and reads), forced prepare records,
// read-only votes, the deadlock policies, the logging variants' forced writes and acks,
// termination in doubt (2PC cooperative, 3PC's rule) and recovery from the prepare record.
#include <catch2/catch.hpp>

#include <memory>

#include "models/txn/participant.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::txn;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kCoordinator = 1;
constexpr NodeId kSelf = 10;
constexpr NodeId kPeer = 11;

Execute prepare(uint64_t txn, int64_t priority, std::vector<TxnOp> ops,
                Presumption presumption = Presumption::kAbort,
                Protocol protocol = Protocol::kTwoPhase, bool cooperative = false) {
  Execute p;
  p.txn = txn;
  p.priority = priority;
  p.coordinator = kCoordinator;
  p.protocol = protocol;
  p.presumption = presumption;
  p.cooperative = cooperative;
  p.ops = std::move(ops);
  p.peers = {kSelf, kPeer};
  return p;
}

TxnOp rd(uint64_t key) {
  return TxnOp{key, 0, false};
}
TxnOp wr(uint64_t key, int64_t value) {
  return TxnOp{key, value, true};
}

struct Rig {
  TxnParticipant::Config config;
  RecordingContext ctx{kSelf};
  std::unique_ptr<TxnParticipant> node;

  explicit Rig(DeadlockPolicy policy = DeadlockPolicy::kWaitDie) {
    config.deadlock = policy;
    start();
  }
  void start() {
    node = std::make_unique<TxnParticipant>(config);
    node->on_start(ctx);
  }
  void crash_restart() {
    ctx.node_disk().crash();
    start();
  }
  void deliver(NodeId from, Message m) {
    ctx.deliver(*node, from, std::move(m));
    node->check_invariants();
  }
  // Executes the transaction and, once it has executed (every lock held), asks for the vote.
  void deliver(NodeId from, const Execute& e) {
    deliver(from, Message(e));
    prepare_if_executed(e.txn);
  }
  void prepare_if_executed(uint64_t txn) {
    for (const auto& [to, x] : ctx.sent_of<Executed>()) {
      if (x.txn != txn) continue;
      deliver(kCoordinator, Message(Prepare{txn}));
      return;
    }
  }
  std::vector<int64_t> reads_of(uint64_t txn) const {
    for (const auto& [to, x] : ctx.sent_of<Executed>())
      if (x.txn == txn) return x.reads;
    return {};
  }
  void sync() {
    REQUIRE(ctx.complete_sync(*node));
    node->check_invariants();
  }
  std::vector<Vote> votes() const {
    std::vector<Vote> out;
    for (const auto& [to, v] : ctx.sent_of<Vote>()) {
      CHECK(to == kCoordinator);
      out.push_back(v);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("txn participant votes yes only once its prepare record is forced") {
  Rig r;
  r.deliver(kCoordinator, prepare(7, 1, {rd(1), wr(2, 500)}));
  CHECK(r.votes().empty());
  CHECK(r.ctx.counter("forced_writes") == 1);
  r.sync();
  const auto votes = r.votes();
  REQUIRE(votes.size() == 1);
  CHECK(votes[0].vote == VoteKind::kYes);
  CHECK(r.reads_of(7) == std::vector<int64_t>{0, 0});
  // Presumed abort: the commit is forced, then acknowledged.
  r.deliver(kCoordinator, Decision{7, true});
  CHECK(r.ctx.sent_of<DecisionAck>().empty());
  r.sync();
  CHECK(r.ctx.sent_of<DecisionAck>().size() == 1);
  CHECK(r.ctx.counter("commits") == 1);
  // The next transaction reads the committed value.
  r.deliver(kCoordinator, prepare(8, 2, {rd(2)}));
  REQUIRE(r.votes().size() == 2);
  CHECK(r.votes()[1].vote == VoteKind::kReadOnly);
  CHECK(r.reads_of(8) == std::vector<int64_t>{500});
}

TEST_CASE("txn participant that only reads votes read-only and frees its locks at once") {
  Rig r;
  r.deliver(kCoordinator, prepare(1, 1, {rd(5), rd(6)}));
  REQUIRE(r.votes().size() == 1);
  CHECK(r.votes()[0].vote == VoteKind::kReadOnly);
  CHECK(r.ctx.counter("forced_writes") == 0);
  // A writer of the same key is not kept waiting.
  r.deliver(kCoordinator, prepare(2, 2, {wr(5, 9)}));
  CHECK(r.ctx.counter("forced_writes") == 1);
}

TEST_CASE("txn participant under wait-die: the younger dies and the older waits") {
  Rig r(DeadlockPolicy::kWaitDie);
  r.deliver(kCoordinator, prepare(1, 100, {wr(5, 1)}));  // holds 5
  r.deliver(kCoordinator, prepare(2, 200, {wr(5, 2)}));  // younger: dies
  auto votes = r.votes();
  REQUIRE(votes.size() == 1);
  CHECK(votes[0].txn == 2);
  CHECK(votes[0].vote == VoteKind::kNo);
  CHECK(votes[0].cause == AbortCause::kWaitDie);
  r.deliver(kCoordinator, prepare(3, 50, {wr(5, 3)}));  // older: waits
  CHECK(r.votes().size() == 1);
  // It waits until lock_timeout, then votes no.
  REQUIRE(r.ctx.fire_next(*r.node));
  votes = r.votes();
  REQUIRE(votes.size() == 2);
  CHECK(votes[1].txn == 3);
  CHECK(votes[1].cause == AbortCause::kLockTimeout);
  CHECK(r.ctx.counter("aborts_lock_timeout") == 1);
  CHECK(r.ctx.counter("aborts_wait_die") == 1);
}

TEST_CASE("txn participant under wound-wait: the older wounds a younger one not yet prepared") {
  Rig r(DeadlockPolicy::kWoundWait);
  r.deliver(kCoordinator, prepare(1, 300, {wr(9, 1)}));            // prepares: cannot be wounded
  r.deliver(kCoordinator, prepare(2, 200, {wr(5, 2), wr(9, 2)}));  // holds 5, waits for 9
  CHECK(r.votes().empty());
  r.deliver(kCoordinator, prepare(3, 100, {wr(5, 3)}));  // older: wounds 2
  auto votes = r.votes();
  REQUIRE(votes.size() == 1);
  CHECK(votes[0].txn == 2);
  CHECK(votes[0].cause == AbortCause::kWounded);
  CHECK(r.ctx.counter("forced_writes") == 2);  // 1 and 3 write their prepare records
  // An older one finding a prepared holder waits for it instead.
  r.deliver(kCoordinator, prepare(4, 50, {wr(9, 4)}));
  CHECK(r.votes().size() == 1);
}

TEST_CASE("txn participant logs as its presumption says") {
  SECTION("presumed commit: a commit is lazy and unacknowledged") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}, Presumption::kCommit));
    r.sync();
    r.deliver(kCoordinator, Decision{1, true});
    CHECK(r.ctx.sent_of<DecisionAck>().empty());
    CHECK(r.ctx.counter("forced_writes") == 1);
    r.deliver(kCoordinator, prepare(2, 2, {wr(5, 2)}, Presumption::kCommit));
    CHECK(r.ctx.counter("forced_writes") == 2);  // the lock was free at once
  }
  SECTION("presumed commit: an abort is forced and acknowledged") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}, Presumption::kCommit));
    r.sync();
    r.deliver(kCoordinator, Decision{1, false});
    CHECK(r.ctx.sent_of<DecisionAck>().empty());
    r.sync();
    CHECK(r.ctx.sent_of<DecisionAck>().size() == 1);
  }
  SECTION("presumed abort: an abort is lazy and unacknowledged") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}, Presumption::kAbort));
    r.sync();
    r.deliver(kCoordinator, Decision{1, false});
    CHECK(r.ctx.sent_of<DecisionAck>().empty());
    CHECK(r.ctx.counter("forced_writes") == 1);
  }
  SECTION("presumed nothing: both are forced and acknowledged") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}, Presumption::kNothing));
    r.sync();
    r.deliver(kCoordinator, Decision{1, false});
    r.sync();
    CHECK(r.ctx.sent_of<DecisionAck>().size() == 1);
    CHECK(r.ctx.counter("forced_writes") == 2);
  }
}

TEST_CASE("txn participant in doubt asks the coordinator and with cooperation its peers") {
  SECTION("without cooperative termination it asks the coordinator only") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}));
    r.sync();
    REQUIRE(r.ctx.fire_next(*r.node));
    const auto q = r.ctx.sent_of<Query>();
    REQUIRE(q.size() == 1);
    CHECK(q[0].first == kCoordinator);
    REQUIRE(r.ctx.fire_next(*r.node));  // and again, for as long as it takes
    CHECK(r.ctx.sent_of<Query>().size() == 2);
  }
  SECTION("with it a peer that knows the outcome ends the doubt") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}, Presumption::kAbort, Protocol::kTwoPhase,
                                    /*cooperative=*/true));
    r.sync();
    REQUIRE(r.ctx.fire_next(*r.node));
    const auto q = r.ctx.sent_of<Query>();
    REQUIRE(q.size() == 2);
    CHECK(q[1].first == kPeer);
    r.deliver(kPeer, Decision{1, true});
    r.sync();
    CHECK(r.ctx.counter("commits") == 1);
  }
}

TEST_CASE("txn participant answers a peer's query") {
  Rig r;
  // Executed but not voted: it aborts, tells the coordinator, and answers abort.
  r.deliver(kCoordinator, Message(prepare(4, 1, {wr(5, 1)})));
  r.deliver(kPeer, Query{4, {}, {}});
  auto d = r.ctx.sent_of<Decision>();
  REQUIRE(d.size() == 1);
  CHECK(!d[0].second.commit);
  REQUIRE(r.votes().size() == 1);
  CHECK(r.votes()[0].vote == VoteKind::kNo);
  // A prepare coming late is refused.
  r.deliver(kCoordinator, Message(Prepare{4}));
  REQUIRE(r.votes().size() == 2);
  CHECK(r.votes()[1].vote == VoteKind::kNo);
  // Unknown here (it may have voted read-only and forgotten it): uncertain.
  r.deliver(kPeer, Query{5, {}, {}});
  // In doubt itself: uncertain.
  r.deliver(kCoordinator, prepare(6, 2, {wr(6, 1)}));
  r.sync();
  r.deliver(kPeer, Query{6, {}, {}});
  const auto u = r.ctx.sent_of<Uncertain>();
  REQUIRE(u.size() == 2);
  CHECK(u[0].second.txn == 5);
  CHECK(u[1].second.txn == 6);
  CHECK(r.ctx.sent_of<Decision>().size() == 1);
}

TEST_CASE("txn participant restarted is back in doubt with its write locks") {
  Rig r;
  r.deliver(kCoordinator, prepare(1, 1, {rd(4), wr(5, 77)}));
  r.sync();
  r.crash_restart();
  // It asks at once.
  REQUIRE(r.ctx.sent_of<Query>().size() == 1);
  // Its write lock is held: an older writer of 5 waits rather than runs.
  r.deliver(kCoordinator, prepare(2, 0, {wr(5, 88)}));
  CHECK(r.ctx.counter("forced_writes") == 1);  // transaction 1's, before the crash
  r.deliver(kCoordinator, Decision{1, true});
  r.sync();  // the commit record; then transaction 2's lock is granted
  CHECK(r.reads_of(2) == std::vector<int64_t>{77});
  r.prepare_if_executed(2);
  r.sync();
  const auto votes = r.votes();
  REQUIRE(votes.size() == 2);
  CHECK(votes[1].txn == 2);
}

TEST_CASE("txn participant under 3PC decides by its state when nobody knows") {
  SECTION("pre-committed: commit") {
    Rig r;
    r.deliver(kCoordinator, prepare(1, 1, {wr(5, 1)}, Presumption::kAbort, Protocol::kThreePhase));
    r.sync();
    r.deliver(kCoordinator, PreCommit{1});
    CHECK(r.ctx.sent_of<PreCommitAck>().size() == 1);
    REQUIRE(r.ctx.fire_next(*r.node));  // asks the coordinator and the peers
    CHECK(r.ctx.sent_of<Query>().size() == 2);
    REQUIRE(r.ctx.fire_next(*r.node));  // no answer: the termination rule
    CHECK(r.ctx.counter("terminated_commit") == 1);
  }
  SECTION("uncertain: abort, unless a peer is pre-committed") {
    for (bool peer_pre_committed : {false, true}) {
      Rig r;
      r.deliver(kCoordinator,
                prepare(1, 1, {wr(5, 1)}, Presumption::kAbort, Protocol::kThreePhase));
      r.sync();
      REQUIRE(r.ctx.fire_next(*r.node));
      r.deliver(kPeer, Uncertain{1, peer_pre_committed});
      REQUIRE(r.ctx.fire_next(*r.node));
      CHECK(r.ctx.counter("terminated_commit") == (peer_pre_committed ? 1 : 0));
      CHECK(r.ctx.counter("terminated_abort") == (peer_pre_committed ? 0 : 1));
    }
  }
}
