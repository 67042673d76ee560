// The Raft model, driven handler by handler without an engine (etcd raft's interaction
// tests): each server has a recording Context; the test decides which messages are
// delivered, which timers fire and when disk syncs complete, and asserts on what the
// servers send, persist and apply.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "models/raft/node.h"
#include "support/raft_cluster.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::raft;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kClient = 100;

// The server's named timers.
constexpr auto kElection = RaftNode::Timer::kElection;
constexpr auto kHeartbeat = RaftNode::Timer::kHeartbeat;
constexpr auto kQuorum = RaftNode::Timer::kQuorum;

kv::KvRequest put(uint64_t id, uint64_t key, int64_t value, uint64_t idem = 0) {
  kv::KvRequest r;
  r.call.id = id;
  r.call.reply_to = kClient;
  r.op = kv::KvOpKind::kPut;
  r.key = key;
  r.value = value;
  r.value_bytes = 8;
  r.call.idempotency_key = idem ? idem : id + 1000;
  return r;
}

kv::KvRequest get(uint64_t id, uint64_t key) {
  kv::KvRequest r;
  r.call.id = id;
  r.call.reply_to = kClient;
  r.op = kv::KvOpKind::kGet;
  r.key = key;
  return r;
}

// n servers (node ids 0..n-1, group "replicas") with recording contexts, and a hand-driven
// network: route() delivers what was sent, in order, to servers (messages to kClient are
// kept for the test). Syncs complete only when the test says so.
struct Cluster {
  explicit Cluster(size_t n, RaftConfig c = {}) : config(std::move(c)) {
    for (size_t i = 0; i < n; ++i)
      ids.push_back(static_cast<NodeId>(i));
    for (size_t i = 0; i < n; ++i) {
      auto ctx = std::make_unique<RecordingContext>(static_cast<NodeId>(i), 7);
      ctx->set_group("replicas", static_cast<uint32_t>(i));
      ctx->groups["replicas"] = ids;
      for (NodeId id : ids)
        ctx->names[id] = "replicas." + std::to_string(id);
      ctxs.push_back(std::move(ctx));
      routed.push_back(0);
      down.push_back(false);
    }
    for (size_t i = 0; i < n; ++i)
      nodes.push_back(std::make_unique<RaftNode>(config));
  }
  void start() {
    for (size_t i = 0; i < nodes.size(); ++i)
      nodes[i]->on_start(*ctxs[i]);
  }
  RaftNode& node(size_t i) { return *nodes[i]; }
  RecordingContext& ctx(size_t i) { return *ctxs[i]; }
  // Completes every pending sync of server i (its replies then go out).
  void sync(size_t i) {
    while (ctxs[i]->complete_sync(*nodes[i])) {
    }
  }
  void sync_all() {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!down[i]) sync(i);
  }
  // Delivers the messages sent since the last route, one pass; returns how many.
  size_t route_once() {
    size_t n = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      while (routed[i] < ctxs[i]->sent.size()) {
        const auto s = ctxs[i]->sent[routed[i]++];
        if (s.to == kClient) continue;
        if (s.to >= nodes.size() || down[s.to] || cut(static_cast<NodeId>(i), s.to)) continue;
        ctxs[s.to]->set_now(std::max(ctxs[s.to]->now(), ctxs[i]->now()));
        ctxs[s.to]->deliver(*nodes[s.to], static_cast<NodeId>(i), s.msg);
        ++n;
      }
    }
    return n;
  }
  // Syncs and routes until quiet.
  void settle() {
    for (int k = 0; k < 1000; ++k) {
      sync_all();
      if (route_once() == 0) {
        sync_all();
        if (route_once() == 0) return;
      }
    }
    FAIL("the cluster did not settle");
  }
  // Server i's election timer fires; the cluster settles.
  void campaign(size_t i) {
    fire_kind(i, kElection);
    settle();
  }
  // Fires server i's earliest pending timer of this kind (moving its clock there).
  void fire_kind(size_t i, RaftNode::Timer kind) {
    const TimerTag tag = kit::timer_tag(kind);
    for (const auto* t : ctxs[i]->pending()) {
      if (t->tag != tag) continue;
      ctxs[i]->set_now(std::max(ctxs[i]->now(), t->at));
      const TimerId id = t->id;
      ctxs[i]->cancel_timer(id);  // remove it from the queue, then fire it by hand
      nodes[i]->on_timer(*ctxs[i], id, tag);
      return;
    }
    FAIL("no pending timer of kind " << static_cast<int>(kind) << " on server " << i);
  }
  // Fires server i's pending timer of this kind now, without moving its clock.
  void fire_now(size_t i, RaftNode::Timer kind) {
    const TimerTag tag = kit::timer_tag(kind);
    for (const auto* t : ctxs[i]->pending()) {
      if (t->tag != tag) continue;
      const TimerId id = t->id;
      ctxs[i]->cancel_timer(id);
      nodes[i]->on_timer(*ctxs[i], id, tag);
      return;
    }
    FAIL("no pending timer of kind " << static_cast<int>(kind) << " on server " << i);
  }
  void client_sends(size_t i, const kv::KvRequest& r) { ctxs[i]->deliver(*nodes[i], kClient, r); }
  // What server i answered clients, in order.
  std::vector<kv::KvResponse> client_replies(size_t i) const {
    std::vector<kv::KvResponse> out;
    for (const auto& [to, r] : ctxs[i]->sent_of<kv::KvResponse>())
      if (to == kClient) out.push_back(r);
    return out;
  }
  bool cut(NodeId a, NodeId b) const {
    for (const auto& [x, y] : cuts)
      if ((x == a && y == b) || (x == b && y == a)) return true;
    return false;
  }
  // Crashes server i (unsynced writes are lost) and restarts it from its disk.
  void crash_restart(size_t i) {
    ctxs[i]->node_disk().crash();
    routed[i] = ctxs[i]->sent.size();
    nodes[i] = std::make_unique<RaftNode>(config);
    nodes[i]->on_start(*ctxs[i]);
  }
  size_t leaders() const {
    size_t n = 0;
    for (size_t i = 0; i < nodes.size(); ++i)
      n += !down[i] && nodes[i]->raft_role() == Role::kLeader ? 1 : 0;
    return n;
  }
  template <class T>
  std::vector<std::pair<NodeId, T>> sent_by(size_t i) const {
    return ctxs[i]->sent_of<T>();
  }

  RaftConfig config;
  std::vector<NodeId> ids;
  std::vector<std::unique_ptr<RecordingContext>> ctxs;
  std::vector<std::unique_ptr<RaftNode>> nodes;
  std::vector<size_t> routed;
  std::vector<bool> down;
  std::vector<std::pair<NodeId, NodeId>> cuts;
};

RaftConfig quiet_config() {
  RaftConfig c;
  c.election_timeout = Distribution::uniform(150e6, 300e6).with_dim(Distribution::Dim::kTime);
  c.heartbeat = ms(50);
  c.snapshot_threshold = 0;
  return c;
}

}  // namespace

TEST_CASE("raft: a follower campaigns after its randomized election timeout (5.2)") {
  Cluster c(3, quiet_config());
  c.start();
  for (size_t i = 0; i < 3; ++i) {
    const auto pending = c.ctx(i).pending();
    REQUIRE(pending.size() == 1);  // one named timer: the election timeout
    CHECK(pending[0]->at >= SimTime::zero() + ms(150));
    CHECK(pending[0]->at <= SimTime::zero() + ms(300));
    CHECK(c.node(i).role() == "follower");
  }
  c.fire_kind(0, kElection);
  CHECK(c.node(0).role() == "candidate");
  CHECK(c.node(0).term() == 1);
  CHECK(c.node(0).voted_for() == 0);
  // Figure 2: the new term and the vote are durable before any vote request leaves.
  CHECK(c.sent_by<RequestVote>(0).empty());
  c.sync(0);
  const auto rv = c.sent_by<RequestVote>(0);
  REQUIRE(rv.size() == 2);
  CHECK(rv[0].second.term == 1);
  CHECK_FALSE(rv[0].second.pre_vote);
  c.settle();
  CHECK(c.node(0).role() == "leader");
  CHECK(c.leaders() == 1);
  // The new leader's no-op (Raft 8) is replicated and committed.
  CHECK(c.node(0).log().last_index() == 1);
  CHECK(c.node(0).log().at(1).kind == EntryKind::kNoop);
  CHECK(c.node(0).commit_index() == 1);
  CHECK(c.node(1).log().last_index() == 1);
  // The follower learned the leader's commit index with the next AppendEntries.
  c.fire_kind(0, kHeartbeat);
  c.settle();
  CHECK(c.node(1).commit_index() == 1);
  CHECK(c.node(1).leader_hint() == 0);
}

TEST_CASE("raft: votes go once per term, only to up-to-date logs, durably (5.2, 5.4.1)") {
  Cluster c(3, quiet_config());
  c.start();
  c.campaign(0);
  REQUIRE(c.node(0).role() == "leader");
  c.client_sends(0, put(1, 5, 50));
  c.settle();
  REQUIRE(c.node(1).log().last_index() == 2);
  // Server 2 missed the last entry: its log is behind.
  c.down[2] = true;
  c.client_sends(0, put(2, 5, 51));
  c.settle();
  c.down[2] = false;
  REQUIRE(c.node(1).log().last_index() == 3);
  REQUIRE(c.node(2).log().last_index() == 2);

  RaftNode& voter = c.node(1);
  RecordingContext& vctx = c.ctx(1);
  const size_t before = vctx.sent.size();
  // A candidate whose last term is the same but whose log is shorter: refused.
  vctx.deliver(voter, 2, RequestVote{5, 2, 1, false});
  c.sync(1);
  auto replies = vctx.sent_of<VoteReply>();
  REQUIRE_FALSE(replies.empty());
  CHECK(replies.back().second.term == 5);
  CHECK_FALSE(replies.back().second.granted);
  CHECK(voter.term() == 5);  // the newer term was adopted (Figure 2)
  // An up-to-date candidate in the same term: granted, persisted before the reply.
  vctx.deliver(voter, 0, RequestVote{5, 3, 1, false});
  CHECK(vctx.sent.size() == before + 1);  // the vote is not sent before the sync
  c.sync(1);
  replies = vctx.sent_of<VoteReply>();
  CHECK(replies.back().second.granted);
  CHECK(voter.voted_for() == 0);
  // Another candidate in the same term: refused (one vote per term).
  vctx.deliver(voter, 2, RequestVote{5, 9, 4, false});
  c.sync(1);
  CHECK_FALSE(vctx.sent_of<VoteReply>().back().second.granted);
  // The vote survives a crash.
  c.crash_restart(1);
  CHECK(c.node(1).term() == 5);
  CHECK(c.node(1).voted_for() == 0);
  CHECK(c.node(1).log().last_index() == 3);
}

TEST_CASE("raft: the consistency check rejects with fast back-off hints (5.3)") {
  Cluster c(3, quiet_config());
  c.start();
  RaftNode& f = c.node(2);
  RecordingContext& fctx = c.ctx(2);
  // A leader of term 1 gives the follower three entries, none committed yet.
  Entry e1;
  e1.term = 1;
  e1.kind = EntryKind::kNoop;
  AppendEntries ae;
  ae.term = 1;
  ae.entries = std::make_shared<const std::vector<Entry>>(std::vector<Entry>{e1, e1, e1});
  fctx.deliver(f, 0, ae);
  c.sync(2);
  REQUIRE(f.log().last_index() == 3);
  REQUIRE(f.commit_index() == 0);
  // A leader of term 3 whose entry at 3 has term 2: the follower's entry at 3 has term 1,
  // so it answers with that term and the first index it holds of it.
  ae = AppendEntries{};
  ae.term = 3;
  ae.prev_log_index = 3;
  ae.prev_log_term = 2;
  fctx.deliver(f, 1, ae);
  c.sync(2);
  auto rep = fctx.sent_of<AppendReply>().back().second;
  CHECK_FALSE(rep.success);
  CHECK(rep.term == 3);
  CHECK(rep.conflict_term == 1);
  CHECK(rep.conflict_index == 1);
  CHECK(rep.rejected_prev == 3);
  // Beyond the end of its log: the hint is its length.
  ae.prev_log_index = 9;
  ae.prev_log_term = 3;
  fctx.deliver(f, 1, ae);
  c.sync(2);
  rep = fctx.sent_of<AppendReply>().back().second;
  CHECK_FALSE(rep.success);
  CHECK(rep.conflict_term == 0);
  CHECK(rep.conflict_index == 4);
  // A matching prev with a conflicting entry after it: the conflict and what follows go,
  // the new entry is appended, and the answer waits for the sync.
  Entry e3;
  e3.term = 3;
  e3.kind = EntryKind::kNoop;
  ae.prev_log_index = 1;
  ae.prev_log_term = 1;
  ae.leader_commit = 2;
  ae.entries = std::make_shared<const std::vector<Entry>>(std::vector<Entry>{e3});
  const size_t sent = fctx.sent.size();
  fctx.deliver(f, 1, ae);
  CHECK(fctx.sent.size() == sent);
  CHECK(f.log().last_index() == 2);
  CHECK(f.log().at(2).term == 3);
  CHECK(f.commit_index() == 2);  // min(leader commit, last new entry)
  c.sync(2);
  rep = fctx.sent_of<AppendReply>().back().second;
  CHECK(rep.success);
  CHECK(rep.match_index == 2);
  // A stale copy of an older AppendEntries changes nothing (no truncation).
  fctx.deliver(f, 1, ae);
  CHECK(f.log().last_index() == 2);
  // The truncation and the new entry are what the disk holds.
  c.crash_restart(2);
  CHECK(c.node(2).term() == 3);
  CHECK(c.node(2).log().last_index() == 2);
  CHECK(c.node(2).log().at(2).term == 3);
}

TEST_CASE("raft: the leader backs off over a follower's conflicting term at once (5.3)") {
  Cluster c(2, quiet_config());
  c.start();
  c.campaign(0);  // term 1
  for (uint64_t k = 0; k < 4; ++k)
    c.client_sends(0, put(10 + k, k, static_cast<int64_t>(k)));
  c.settle();
  // Server 0 appends 3 more entries that server 1 never sees, then wins term 2.
  c.down[1] = true;
  for (uint64_t k = 0; k < 3; ++k)
    c.client_sends(0, put(20 + k, k, 1));
  c.settle();
  c.down[1] = false;
  c.crash_restart(0);
  REQUIRE(c.node(0).log().last_index() == 8);
  REQUIRE(c.node(1).log().last_index() == 5);
  c.fire_kind(0, kElection);
  c.sync(0);
  c.route_once();  // the vote request
  c.sync(1);
  c.route_once();  // the vote: server 0 leads term 2 and probes at its log's end
  RaftNode& l = c.node(0);
  REQUIRE(l.role() == "leader");
  REQUIRE(l.term() == 2);
  // (The real answer to that probe is not delivered; crafted ones are.)
  c.routed[1] = c.ctx(1).sent.size();
  c.routed[0] = c.ctx(0).sent.size();
  auto last_probe = [&] { return c.sent_by<AppendEntries>(0).back().second; };
  REQUIRE(last_probe().prev_log_index == 8);
  // "My log is too short: it ends at 5" -> probe right after it.
  AppendReply r;
  r.term = 2;
  r.rejected_prev = 8;
  r.conflict_index = 6;
  c.ctx(0).deliver(l, 1, r);
  CHECK(last_probe().prev_log_index == 5);
  // "My entry at 5 has term 7, which I hold from index 3": the leader has no term 7, so
  // it goes to index 3 at once.
  r.rejected_prev = 5;
  r.conflict_term = 7;
  r.conflict_index = 3;
  c.ctx(0).deliver(l, 1, r);
  CHECK(last_probe().prev_log_index == 2);
  // "My entry at 2 has term 1 (from index 1)": the leader holds term 1 up to 8, so it
  // would go to 9 — but never forward of the rejected index: it probes at 1.
  r.rejected_prev = 2;
  r.conflict_term = 1;
  r.conflict_index = 1;
  c.ctx(0).deliver(l, 1, r);
  CHECK(last_probe().prev_log_index == 1);
  // A rejection of a probe it no longer waits for is stale: nothing is sent.
  const size_t n = c.sent_by<AppendEntries>(0).size();
  r.rejected_prev = 7;
  c.ctx(0).deliver(l, 1, r);
  CHECK(c.sent_by<AppendEntries>(0).size() == n);
  // Let the real exchange finish: the follower converges on the leader's log.
  c.routed[0] = c.ctx(0).sent.size();
  for (int k = 0; k < 6; ++k) {
    c.fire_kind(0, kHeartbeat);
    c.settle();
  }
  CHECK(c.node(1).log().last_index() == 9);
  CHECK(c.node(1).commit_index() == 9);
}

TEST_CASE("raft: only entries of the current term commit by counting replicas (5.4.2)") {
  // Raft Figure 8: a leader must not commit an entry of an earlier term because a majority
  // holds it; it commits it with an entry of its own term.
  Cluster c(3, quiet_config());
  c.start();
  c.campaign(0);  // term 1; the no-op at 1 is committed everywhere
  c.fire_kind(0, kHeartbeat);
  c.settle();
  // Server 0 appends an entry of term 1 and crashes before hearing back.
  c.down[1] = c.down[2] = true;
  c.client_sends(0, put(1, 1, 100));
  c.settle();
  // Both followers store it; their answers are lost.
  for (const auto& [to, ae] : c.sent_by<AppendEntries>(0)) {
    if (ae.count() > 0) c.ctx(to).deliver(c.node(to), 0, ae);
  }
  c.sync(1);
  c.sync(2);
  c.routed[1] = c.ctx(1).sent.size();
  c.routed[2] = c.ctx(2).sent.size();
  REQUIRE(c.node(1).log().last_index() == 2);
  REQUIRE(c.node(2).log().last_index() == 2);
  REQUIRE(c.node(1).commit_index() == 1);
  // Server 0 is gone; server 1 wins term 2 with server 2's vote.
  c.down[0] = true;
  c.down[1] = c.down[2] = false;
  c.fire_kind(1, kElection);
  c.sync(1);
  c.route_once();
  c.sync(2);
  c.route_once();
  RaftNode& l = c.node(1);
  REQUIRE(l.role() == "leader");
  REQUIRE(l.term() == 2);
  // Server 2 reports holding index 2 (term 1): with the leader that is a majority, yet
  // index 2 is not of term 2, so nothing commits (an answer to an earlier probe, say).
  c.routed[1] = c.ctx(1).sent.size();
  AppendReply r;
  r.term = 2;
  r.success = true;
  r.match_index = 2;
  c.ctx(1).deliver(l, 2, r);
  c.sync(1);
  CHECK(l.commit_index() == 1);
  // Its no-op of term 2 (index 3) on a majority commits, and index 2 with it (once the
  // messages held back above are presumed lost and sent again).
  c.routed[1] = c.ctx(1).sent.size();
  for (int k = 0; k < 6; ++k) {
    c.fire_kind(1, kHeartbeat);
    c.settle();
  }
  CHECK(l.commit_index() == 3);
  CHECK(l.log().at(3).term == 2);
  CHECK(l.state().get(1).is_single(100));
}

TEST_CASE("raft: a leader counts itself only once its own entries are durable") {
  Cluster c(1, quiet_config());
  c.start();
  c.fire_kind(0, kElection);
  REQUIRE(c.node(0).role() == "leader");
  CHECK(c.node(0).commit_index() == 0);  // the no-op is not synced yet
  c.sync(0);
  CHECK(c.node(0).commit_index() == 1);
  c.client_sends(0, put(1, 3, 30));
  CHECK(c.node(0).commit_index() == 1);
  CHECK(c.client_replies(0).empty());
  c.sync(0);
  CHECK(c.node(0).commit_index() == 2);
}

TEST_CASE("raft: clients are redirected to the leader with a hint") {
  Cluster c(3, quiet_config());
  c.start();
  c.client_sends(1, put(1, 1, 1));
  c.settle();
  auto replies = c.client_replies(1);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].status == kv::KvStatus::kNotLeader);
  CHECK(replies[0].hint == kNoNode);  // no leader known yet
  c.campaign(2);
  c.fire_kind(2, kHeartbeat);
  c.settle();
  c.client_sends(1, put(2, 1, 1));
  c.settle();
  replies = c.client_replies(1);
  REQUIRE(replies.size() == 2);
  CHECK(replies[1].status == kv::KvStatus::kNotLeader);
  CHECK(replies[1].hint == 2);
  CHECK(c.ctx(1).counter("redirects") == 2);
  // Server 0 refuses a request; later it leads, and a copy of that request arrives (the
  // network may duplicate messages): it is refused again, never applied, since the
  // client was told it was not.
  c.client_sends(0, put(7, 3, 3));
  c.campaign(0);
  REQUIRE(c.node(0).role() == "leader");
  const uint64_t last = c.node(0).log().last_index();
  c.client_sends(0, put(7, 3, 3));
  c.settle();
  CHECK(c.node(0).log().last_index() == last);
  CHECK(c.client_replies(0).back().status == kv::KvStatus::kNotLeader);
}

TEST_CASE("raft: a retried write (same idempotency key) is applied once (thesis 6.3)") {
  Cluster c(3, quiet_config());
  c.start();
  c.campaign(0);
  kv::KvRequest append;
  append.call.id = 1;
  append.call.reply_to = kClient;
  append.op = kv::KvOpKind::kAppend;
  append.key = 9;
  append.value = 77;
  append.value_bytes = 8;
  append.call.idempotency_key = 555;
  c.client_sends(0, append);
  append.call.id = 2;  // the retry: a new request, the same operation
  c.client_sends(0, append);
  c.settle();
  for (size_t i = 0; i < 3; ++i) {
    c.fire_kind(0, kHeartbeat);
    c.settle();
  }
  const auto replies = c.client_replies(0);
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].status == kv::KvStatus::kOk);
  CHECK(replies[1].status == kv::KvStatus::kOk);
  for (size_t i = 0; i < 3; ++i) {
    INFO("server " << i);
    CHECK(c.node(i).state().get(9).size() == 1);  // appended once
    CHECK(c.node(i).log().last_index() == 3);     // though logged twice
  }
}

TEST_CASE("raft: ReadIndex answers a read only after a majority confirms the leader (6.4)") {
  Cluster c(3, quiet_config());
  c.start();
  c.campaign(0);
  c.client_sends(0, put(1, 4, 40));
  c.settle();
  const size_t before = c.client_replies(0).size();
  // The read starts a heartbeat round; cut off from everyone, the leader cannot answer.
  c.cuts = {{0, 1}, {0, 2}};
  c.client_sends(0, get(2, 4));
  c.settle();
  CHECK(c.client_replies(0).size() == before);
  // Once a follower answers a round started after the read arrived, it is served.
  c.cuts.clear();
  c.fire_kind(0, kHeartbeat);
  c.settle();
  const auto replies = c.client_replies(0);
  REQUIRE(replies.size() == before + 1);
  CHECK(replies.back().status == kv::KvStatus::kOk);
  CHECK(replies.back().value.is_single(40));
}

TEST_CASE("raft: lease reads are served without a round while the lease holds (6.4.1)") {
  RaftConfig cfg = quiet_config();
  cfg.read_mode = ReadMode::kLease;
  cfg.check_quorum = true;
  cfg.clock_drift_bound = 1.5;  // lease = 150ms / 1.5 = 100ms from the round's start
  Cluster c(3, cfg);
  c.start();
  // Servers refuse votes for an election timeout after they start (no lease may be cut
  // short by a restart): let that pass.
  for (size_t i = 0; i < 3; ++i)
    c.ctx(i).advance(ms(200));
  c.campaign(0);
  REQUIRE(c.node(0).role() == "leader");
  c.client_sends(0, put(1, 4, 40));
  c.settle();
  c.fire_kind(0, kHeartbeat);  // a round: the lease starts
  c.settle();
  const size_t before = c.client_replies(0).size();
  c.cuts = {{0, 1}, {0, 2}};
  c.client_sends(0, get(2, 4));
  CHECK(c.client_replies(0).size() == before + 1);  // at once, no round needed
  CHECK(c.client_replies(0).back().value.is_single(40));
  // 100 ms later the lease has run out: the read falls back to ReadIndex and waits.
  c.ctx(0).advance(ms(101));
  c.client_sends(0, get(3, 4));
  c.settle();
  CHECK(c.client_replies(0).size() == before + 1);
  CHECK(c.ctx(0).counter("lease_fallbacks") == 1);
  // A follower that heard from the leader within the election timeout ignores a vote
  // request of a newer term (thesis 4.2.3), so no other leader can appear within a lease.
  RaftNode& f = c.node(1);
  const uint64_t term = f.term();
  const size_t votes = c.ctx(1).sent_of<VoteReply>().size();
  c.ctx(1).deliver(f, 2, RequestVote{term + 1, 99, term + 1, false});
  c.sync(1);
  CHECK(f.term() == term);
  CHECK(c.ctx(1).sent_of<VoteReply>().size() == votes);
}

TEST_CASE("raft: pre-vote changes no term, and is refused near a live leader (9.6)") {
  RaftConfig cfg = quiet_config();
  cfg.pre_vote = true;
  Cluster c(3, cfg);
  c.start();
  c.fire_kind(1, kElection);  // server 1 times out: a pre-candidate, still in term 0
  CHECK(c.node(1).raft_role() == Role::kPreCandidate);
  CHECK(c.node(1).term() == 0);
  const auto pv = c.sent_by<RequestVote>(1);
  REQUIRE(pv.size() == 2);
  CHECK(pv[0].second.pre_vote);
  CHECK(pv[0].second.term == 1);
  c.settle();
  // Granted by a majority: now it campaigns for real and wins.
  CHECK(c.node(1).role() == "leader");
  CHECK(c.node(1).term() == 1);
  CHECK(c.node(0).term() == 1);
  // A server cut off from the leader times out and asks for pre-votes: the others heard
  // from the leader recently and refuse; nobody's term moves.
  c.fire_kind(1, kHeartbeat);
  c.settle();
  c.fire_now(2, kElection);
  c.settle();
  CHECK(c.node(2).raft_role() == Role::kPreCandidate);
  CHECK(c.node(1).role() == "leader");
  for (size_t i = 0; i < 3; ++i)
    CHECK(c.node(i).term() == 1);
}

TEST_CASE("raft: with check-quorum a leader without a majority steps down (6.2)") {
  RaftConfig cfg = quiet_config();
  cfg.check_quorum = true;
  Cluster c(3, cfg);
  c.start();
  for (size_t i = 0; i < 3; ++i)
    c.ctx(i).advance(ms(200));
  c.campaign(0);
  REQUIRE(c.node(0).role() == "leader");
  c.fire_kind(0, kQuorum);  // a check: both followers answered
  CHECK(c.node(0).role() == "leader");
  c.cuts = {{0, 1}, {0, 2}};
  c.fire_kind(0, kHeartbeat);
  c.settle();
  c.fire_kind(0, kQuorum);  // a check with no answer since the last
  CHECK(c.node(0).role() == "follower");
  CHECK(c.ctx(0).counter("check_quorum_step_downs") == 1);
  // It recorded the end of its leadership for the failover analysis.
  bool marked = false;
  for (const auto& m : c.ctx(0).recorder().marks)
    marked = marked || c.ctx(0).symbol_name(m.kind) == "raft_step_down";
  CHECK(marked);
}

TEST_CASE("raft: snapshots bound the log, a lagging follower gets InstallSnapshot (7)") {
  RaftConfig cfg = quiet_config();
  cfg.snapshot_threshold = 10;
  cfg.snapshot_keep = 2;
  cfg.snapshot_chunk = 64;  // several chunks
  Cluster c(3, cfg);
  c.start();
  c.campaign(0);
  c.down[2] = true;
  for (uint64_t k = 0; k < 30; ++k) {
    c.client_sends(0, put(10 + k, k % 7, static_cast<int64_t>(k)));
    c.settle();
  }
  RaftNode& l = c.node(0);
  CHECK(l.snapshot_index() >= 20);
  CHECK(l.log().size() <= 12);  // bounded: threshold + kept entries
  CHECK(c.ctx(0).counter("snapshots_taken") >= 2);
  // Server 2 comes back with an empty log: the entries it needs are gone; it is sent the
  // snapshot in chunks, installs it, and catches up.
  c.down[2] = false;
  for (int k = 0; k < 40; ++k) {
    c.fire_kind(0, kHeartbeat);
    c.settle();
  }
  CHECK(c.ctx(2).counter("snapshots_installed") == 1);
  CHECK(c.node(2).log().last_index() == l.log().last_index());
  CHECK(c.node(2).last_applied() == l.last_applied());
  CHECK(c.node(2).state().digest() == l.state().digest());
  // A restarted server recovers the snapshot and the log after it from its disk.
  const uint64_t snap = c.node(2).snapshot_index();
  c.crash_restart(2);
  CHECK(c.node(2).snapshot_index() == snap);
  CHECK(c.node(2).last_applied() == snap);
  CHECK(c.node(2).log().last_index() == l.log().last_index());
}

TEST_CASE("raft: pipelining sends several batches before any answer, batching fills them") {
  RaftConfig cfg = quiet_config();
  cfg.max_inflight = 3;
  cfg.max_batch_entries = 2;
  Cluster c(2, cfg);
  c.start();
  c.campaign(0);
  c.fire_kind(0, kHeartbeat);
  c.settle();  // follower 1 is in the replicate state
  const size_t before = c.sent_by<AppendEntries>(0).size();
  c.cuts = {{0, 1}};  // hold the answers back
  for (uint64_t k = 0; k < 10; ++k)
    c.client_sends(0, put(10 + k, k, 1));
  const auto sent = c.sent_by<AppendEntries>(0);
  size_t with_entries = 0;
  for (size_t i = before; i < sent.size(); ++i)
    with_entries += sent[i].second.count() > 0 ? 1 : 0;
  CHECK(with_entries == 3);  // at most max_inflight in flight
  // Without pipelining: one at a time.
  cfg.pipeline = false;
  Cluster d(2, cfg);
  d.start();
  d.campaign(0);
  d.fire_kind(0, kHeartbeat);
  d.settle();
  const size_t b2 = d.sent_by<AppendEntries>(0).size();
  d.cuts = {{0, 1}};
  for (uint64_t k = 0; k < 10; ++k)
    d.client_sends(0, put(10 + k, k, 1));
  const auto sent2 = d.sent_by<AppendEntries>(0);
  size_t with2 = 0;
  for (size_t i = b2; i < sent2.size(); ++i)
    with2 += sent2[i].second.count() > 0 ? 1 : 0;
  CHECK(with2 == 1);
  // Once answers flow, the rest goes in batches of max_batch_entries.
  d.cuts.clear();
  for (int k = 0; k < 8; ++k) {  // the lost batch is presumed lost after an election timeout
    d.fire_kind(0, kHeartbeat);
    d.settle();
  }
  CHECK(d.node(1).log().last_index() == 11);
  for (const auto& [to, ae] : d.sent_by<AppendEntries>(0))
    CHECK(ae.count() <= 2);
}

TEST_CASE("raft: the cluster checker catches a split brain") {
  // Two servers that both believe they lead term 1 (a broken election), each appending a
  // different entry at index 2: election safety and log matching must both be reported.
  Cluster c(3, quiet_config());
  c.start();
  c.fire_kind(0, kElection);
  c.sync(0);
  c.fire_kind(1, kElection);
  c.sync(1);
  // Server 2 grants both (as a buggy voter would): deliver by hand, reset its vote between.
  auto vote_for = [&](size_t candidate) {
    c.ctx(candidate).deliver(c.node(candidate), 2, VoteReply{1, true, false});
  };
  vote_for(0);
  vote_for(1);
  REQUIRE(c.node(0).role() == "leader");
  REQUIRE(c.node(1).role() == "leader");
  c.client_sends(0, put(1, 1, 1));
  c.client_sends(1, put(2, 1, 2));
  testing::RaftClusterChecker checker([&] {
    return std::vector<const RaftNode*>{&c.node(0), &c.node(1), &c.node(2)};
  });
  checker.check();
  std::string all;
  for (const auto& v : checker.violations())
    all += v + "\n";
  INFO(all);
  CHECK(all.find("election safety") != std::string::npos);
  CHECK(all.find("log matching") != std::string::npos);
}

TEST_CASE("raft: config rules: heartbeat below the election timeout, leases need check-quorum") {
  Diagnostics diag;
  ParamEnv env;
  env.diagnostics = &diag;
  ParamNode params = ParamNode::make_map();
  params.set("heartbeat", ParamNode::make_scalar("200ms"));
  params.set("read_mode", ParamNode::make_scalar("lease"));
  ParamReader r(&params, &env, "groups[0].params");
  RaftNode::parse(r);
  r.finish();
  const std::string errors = diag.render();
  INFO(errors);
  CHECK(errors.find("heartbeat") != std::string::npos);
  CHECK(errors.find("check_quorum") != std::string::npos);
}
