// txn_coordinator, one handler at a time: the split of a transaction over the shards, their
// execution, the votes and the decision, the forced records and acknowledgements of each logging
// variant, read-only transactions, timeouts, queries and recovery from the log.
#include <catch2/catch.hpp>

#include <memory>
#include <set>

#include "models/kit/hash_slots.h"
#include "models/txn/coordinator.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::txn;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kSelf = 1;
constexpr NodeId kClient = 50;
const std::vector<NodeId> kShards = {10, 11, 12};

NodeId shard_of(uint64_t key) {
  return kShards[kit::slot_shard(kit::hash_slot(key), static_cast<uint32_t>(kShards.size()))];
}

// Keys 1..n, one on each shard in turn where the hash allows: the first key found per shard.
std::vector<uint64_t> key_per_shard() {
  std::vector<uint64_t> keys(kShards.size(), 0);
  for (uint64_t k = 1; std::count(keys.begin(), keys.end(), 0) > 0; ++k) {
    const size_t i = static_cast<size_t>(std::find(kShards.begin(), kShards.end(), shard_of(k)) -
                                         kShards.begin());
    if (keys[i] == 0) keys[i] = k;
  }
  return keys;
}

struct Rig {
  TxnCoordinator::Config config;
  RecordingContext ctx{kSelf};
  std::unique_ptr<TxnCoordinator> node;

  explicit Rig(Presumption p = Presumption::kAbort, Protocol protocol = Protocol::kTwoPhase) {
    config.participants = "shards";
    config.presumption = p;
    config.protocol = protocol;
    ctx.groups["shards"] = kShards;
    start();
  }
  void start() {
    node = std::make_unique<TxnCoordinator>(config);
    node->on_start(ctx);
  }
  // Every shard of the transaction reports its part executed (reads: 0).
  void execute_all(uint64_t txn) {
    for (const auto& [to, e] : ctx.sent_of<Execute>()) {
      if (e.txn != txn) continue;
      ctx.deliver(*node, to, Executed{txn, std::vector<int64_t>(e.ops.size(), 0)});
    }
  }
  void request(uint64_t txn, std::vector<TxnOp> ops) {
    TxnRequest req;
    req.call.id = 1000 + txn;
    req.call.reply_to = kClient;
    req.txn = txn;
    req.priority = 1;
    req.ops = std::move(ops);
    ctx.deliver(*node, kClient, req);
  }
  std::vector<TxnResponse> answers() const {
    std::vector<TxnResponse> out;
    for (const auto& [to, r] : ctx.sent_of<TxnResponse>())
      out.push_back(r);
    return out;
  }
  std::set<NodeId> decided(bool commit) const {
    std::set<NodeId> out;
    for (const auto& [to, d] : ctx.sent_of<Decision>())
      if (d.commit == commit) out.insert(to);
    return out;
  }
};

}  // namespace

TEST_CASE("txn coordinator sends each shard its operations and commits on yes votes") {
  const auto keys = key_per_shard();
  Rig r;
  r.request(1, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 0, false}, TxnOp{keys[2], 6, true}});
  const auto executes = r.ctx.sent_of<Execute>();
  REQUIRE(executes.size() == 3);
  for (const auto& [to, e] : executes) {
    REQUIRE(e.ops.size() == 1);
    CHECK(shard_of(e.ops[0].key) == to);
    CHECK(e.peers == kShards);
  }
  // The prepares go once every shard has executed its part.
  r.ctx.deliver(*r.node, 10, Executed{1, {41}});
  r.ctx.deliver(*r.node, 11, Executed{1, {42}});
  CHECK(r.ctx.sent_of<Prepare>().empty());
  r.ctx.deliver(*r.node, 12, Executed{1, {43}});
  CHECK(r.ctx.sent_of<Prepare>().size() == 3);
  r.ctx.deliver(*r.node, 10, Vote{1, VoteKind::kYes, AbortCause::kNone});
  r.ctx.deliver(*r.node, 11, Vote{1, VoteKind::kReadOnly, AbortCause::kNone});
  CHECK(r.answers().empty());
  r.ctx.deliver(*r.node, 12, Vote{1, VoteKind::kYes, AbortCause::kNone});
  // The commit record is forced before anyone hears the decision.
  CHECK(r.answers().empty());
  CHECK(r.ctx.counter("forced_writes") == 1);
  REQUIRE(r.ctx.complete_sync(*r.node));
  const auto a = r.answers();
  REQUIRE(a.size() == 1);
  CHECK(a[0].status == TxnResponse::Status::kCommitted);
  CHECK(a[0].reads == std::vector<int64_t>{41, 42, 43});
  // The read-only shard is left out of the second phase.
  CHECK(r.decided(true) == std::set<NodeId>{10, 12});
  // Presumed abort: commits are acknowledged; until then they are sent again.
  REQUIRE(r.ctx.fire_next(*r.node));
  CHECK(r.ctx.sent_of<Decision>().size() == 4);
  r.ctx.deliver(*r.node, 10, DecisionAck{1});
  r.ctx.deliver(*r.node, 12, DecisionAck{1});
  CHECK(r.ctx.pending().empty());
  CHECK(!r.ctx.disk().get("d/1"));
  CHECK(r.ctx.counter("messages") == 3 + 2 + 2);
  CHECK(r.ctx.counter("execution_messages") == 3);
}

TEST_CASE("txn coordinator aborts on a no vote without logging under presumed abort") {
  const auto keys = key_per_shard();
  Rig r;
  r.request(2, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.ctx.deliver(*r.node, 10, Vote{2, VoteKind::kNo, AbortCause::kWaitDie});  // executing
  const auto a = r.answers();
  REQUIRE(a.size() == 1);
  CHECK(a[0].status == TxnResponse::Status::kAborted);
  CHECK(a[0].cause == AbortCause::kWaitDie);
  CHECK(r.ctx.counter("forced_writes") == 0);
  // The shard that voted no aborted on its own; the other hears it; nobody acknowledges.
  CHECK(r.decided(false) == std::set<NodeId>{11});
  CHECK(r.ctx.pending().empty());
  CHECK(r.ctx.counter("aborts_wait_die") == 1);
}

TEST_CASE("txn coordinator under presumed commit logs the participants first") {
  const auto keys = key_per_shard();
  Rig r(Presumption::kCommit);
  r.request(3, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.execute_all(3);
  CHECK(r.ctx.sent_of<Prepare>().empty());
  REQUIRE(r.ctx.complete_sync(*r.node));  // the collecting record
  CHECK(r.ctx.sent_of<Prepare>().size() == 2);
  r.ctx.deliver(*r.node, 10, Vote{3, VoteKind::kYes, AbortCause::kNone});
  r.ctx.deliver(*r.node, 11, Vote{3, VoteKind::kYes, AbortCause::kNone});
  REQUIRE(r.ctx.complete_sync(*r.node));  // the commit record
  CHECK(r.answers().size() == 1);
  // No acknowledgements wanted: the transaction is over, and its records go.
  CHECK(r.ctx.pending().empty());
  CHECK(!r.ctx.disk().get("c/3"));
  CHECK(r.ctx.counter("forced_writes") == 2);
  // Knowing nothing of a transaction means it committed.
  r.ctx.deliver(*r.node, 12, Query{999, {}, {}});
  CHECK(r.decided(true).count(12) == 1);
}

TEST_CASE("txn coordinator aborts a transaction whose votes do not all come") {
  const auto keys = key_per_shard();
  Rig r(Presumption::kNothing);
  r.request(4, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.execute_all(4);
  r.ctx.deliver(*r.node, 10, Vote{4, VoteKind::kYes, AbortCause::kNone});
  REQUIRE(r.ctx.fire_next(*r.node));      // the vote timeout
  REQUIRE(r.ctx.complete_sync(*r.node));  // presumed nothing: the abort is forced
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].cause == AbortCause::kVoteTimeout);
  CHECK(r.decided(false) == std::set<NodeId>{10, 11});
  // Until both acknowledge, the abort record stays.
  r.ctx.deliver(*r.node, 10, DecisionAck{4});
  CHECK(r.ctx.disk().get("d/4"));
  r.ctx.deliver(*r.node, 11, DecisionAck{4});
  CHECK(!r.ctx.disk().get("d/4"));
}

TEST_CASE("txn coordinator restarted sends its logged commit again until acknowledged") {
  const auto keys = key_per_shard();
  Rig r;
  r.request(5, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.execute_all(5);
  r.ctx.deliver(*r.node, 10, Vote{5, VoteKind::kYes, AbortCause::kNone});
  r.ctx.deliver(*r.node, 11, Vote{5, VoteKind::kYes, AbortCause::kNone});
  REQUIRE(r.ctx.complete_sync(*r.node));
  const size_t before = r.ctx.sent_of<Decision>().size();
  r.ctx.node_disk().crash();
  r.start();
  CHECK(r.ctx.sent_of<Decision>().size() == before + 2);
  // A participant asking hears commit; one asking of an unknown transaction hears abort.
  r.ctx.deliver(*r.node, 10, Query{5, {}, {}});
  r.ctx.deliver(*r.node, 12, Query{77, {}, {}});
  const auto d = r.ctx.sent_of<Decision>();
  CHECK(d[d.size() - 2].second.commit);
  CHECK(!d.back().second.commit);
}

TEST_CASE("txn coordinator under 3PC pre-commits then commits") {
  const auto keys = key_per_shard();
  Rig r(Presumption::kAbort, Protocol::kThreePhase);
  r.request(6, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.execute_all(6);
  r.ctx.deliver(*r.node, 10, Vote{6, VoteKind::kYes, AbortCause::kNone});
  r.ctx.deliver(*r.node, 11, Vote{6, VoteKind::kYes, AbortCause::kNone});
  CHECK(r.ctx.sent_of<PreCommit>().size() == 2);
  CHECK(r.ctx.sent_of<Decision>().empty());
  r.ctx.deliver(*r.node, 10, PreCommitAck{6});
  CHECK(r.ctx.counter("forced_writes") == 0);
  // Skeen: a coordinator whose pre-commit acks do not all come commits anyway.
  REQUIRE(r.ctx.fire_next(*r.node));
  REQUIRE(r.ctx.complete_sync(*r.node));
  CHECK(r.decided(true) == std::set<NodeId>{10, 11});
}

namespace {

constexpr NodeId kLeader = 30, kFollower = 31;

struct LogRig : Rig {
  LogRig() {
    config.log = "txn_log";
    ctx.groups["txn_log"] = {kFollower, kLeader};
    ctx.groups["coordinators"] = {kSelf, 2};
    ctx.set_group("coordinators", 0);
    start();
  }
  std::vector<std::pair<NodeId, kv::KvRequest>> log_calls() const {
    return ctx.sent_of<kv::KvRequest>();
  }
  void log_answer(const kv::KvRequest& req, kv::KvStatus status, int64_t value = 0,
                  NodeId from = kLeader) {
    kv::KvResponse resp;
    resp.call = req.call.id;
    resp.status = status;
    if (status == kv::KvStatus::kNotLeader) resp.hint = kLeader;
    if (value != 0) resp.value = kv::KvValue::single(value, 8);
    ctx.deliver(*node, from, resp);
  }
  void vote_yes(uint64_t txn) {
    for (const auto& [to, p] : ctx.sent_of<Prepare>())
      if (p.txn == txn) ctx.deliver(*node, to, Vote{txn, VoteKind::kYes, AbortCause::kNone, 2});
  }
};

}  // namespace

TEST_CASE("txn coordinator with a replicated log commits at its compare-and-set") {
  const auto keys = key_per_shard();
  LogRig r;
  r.request(3, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.execute_all(3);
  r.vote_yes(3);
  auto calls = r.log_calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].second.op == kv::KvOpKind::kCas);
  CHECK(calls[0].second.expected_absent);
  CHECK(calls[0].second.key == 3);
  CHECK(calls[0].second.value == 1);
  CHECK(r.decided(true).empty());  // not before the log holds it
  CHECK(r.ctx.counter("forced_writes") == 0);
  // A node that does not lead redirects; the leader applies it.
  r.log_answer(calls[0].second, kv::KvStatus::kNotLeader, 0, calls[0].first);
  calls = r.log_calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].first == kLeader);
  r.log_answer(calls[1].second, kv::KvStatus::kOk);
  CHECK(r.decided(true).size() == 2);
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].status == TxnResponse::Status::kCommitted);
}

TEST_CASE("txn coordinator with a replicated log learns an abort another coordinator set") {
  const auto keys = key_per_shard();
  LogRig r;
  r.request(4, {TxnOp{keys[0], 5, true}, TxnOp{keys[1], 6, true}});
  r.execute_all(4);
  r.vote_yes(4);
  r.log_answer(r.log_calls()[0].second, kv::KvStatus::kCasMismatch);
  auto calls = r.log_calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].second.op == kv::KvOpKind::kGet);
  r.log_answer(calls[1].second, kv::KvStatus::kOk, 2);  // aborted
  CHECK(r.decided(true).empty());
  REQUIRE(r.answers().size() == 1);
  CHECK(r.answers()[0].status == TxnResponse::Status::kAborted);
  CHECK(r.answers()[0].cause == AbortCause::kRecovery);
}

TEST_CASE("txn coordinator with a replicated log settles a transaction it does not know") {
  LogRig r;
  // A shard in doubt asks about another coordinator's transaction: abort it, unless the log
  // holds its outcome already.
  r.ctx.deliver(*r.node, kShards[0], Query{77, {}, {}});
  r.ctx.deliver(*r.node, kShards[1], Query{77, {}, {}});
  auto calls = r.log_calls();
  REQUIRE(calls.size() == 1);  // one settlement for both askers
  CHECK(calls[0].second.op == kv::KvOpKind::kCas);
  CHECK(calls[0].second.value == 2);
  r.log_answer(calls[0].second, kv::KvStatus::kCasMismatch);
  calls = r.log_calls();
  REQUIRE(calls.size() == 2);
  r.log_answer(calls[1].second, kv::KvStatus::kOk, 1);  // it had committed
  CHECK(r.decided(true) == std::set<NodeId>{kShards[0], kShards[1]});
  // Unknown outcome of a write (the log lost its leader): read before writing again.
  r.ctx.deliver(*r.node, kShards[2], Query{78, {}, {}});
  calls = r.log_calls();
  r.log_answer(calls.back().second, kv::KvStatus::kIndeterminate);
  while (r.log_calls().size() == calls.size() && r.ctx.fire_next(*r.node)) {
  }
  calls = r.log_calls();
  CHECK(calls.back().second.op == kv::KvOpKind::kGet);
  r.log_answer(calls.back().second, kv::KvStatus::kOk);  // nothing there: write it
  calls = r.log_calls();
  CHECK(calls.back().second.op == kv::KvOpKind::kCas);
  r.log_answer(calls.back().second, kv::KvStatus::kOk);
  CHECK(r.decided(false) == std::set<NodeId>{kShards[2]});
}
