// The primary-backup model one handler at a time, through recording contexts: the
// layout's arithmetic, a primary and its backups wired by hand (replication modes, reads,
// session rules, fencing, resynchronisation), and a monitor's failover round.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "models/primary_backup/layout.h"
#include "models/primary_backup/messages.h"
#include "models/primary_backup/monitor.h"
#include "models/primary_backup/replica.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::pb;
using dsim::kv::KvRequest;
using dsim::kv::KvResponse;
using dsim::kv::KvStatus;
using dsim::testing::RecordingContext;

namespace {

constexpr NodeId kClient = 20;
constexpr NodeId kMonitor = 10;

Distribution const_time(Duration d) {
  return Distribution::constant(static_cast<double>(d.ns())).with_dim(Distribution::Dim::kTime);
}

KvRequest put(uint64_t id, uint64_t key, int64_t value) {
  KvRequest r;
  r.call.id = id;
  r.call.reply_to = kClient;
  r.op = kv::KvOpKind::kPut;
  r.key = key;
  r.value = value;
  r.value_bytes = 10;
  r.call.idempotency_key = 1000 + id;
  r.session = (uint64_t{kClient} << 32) | 0;
  return r;
}

KvRequest append(uint64_t id, uint64_t key, int64_t value) {
  KvRequest r = put(id, key, value);
  r.op = kv::KvOpKind::kAppend;
  return r;
}

KvRequest get(uint64_t id, uint64_t key, uint64_t token = 0) {
  KvRequest r;
  r.call.id = id;
  r.call.reply_to = kClient;
  r.op = kv::KvOpKind::kGet;
  r.key = key;
  r.session = (uint64_t{kClient} << 32) | 0;
  r.session_token = token;
  return r;
}

// Three replicas (nodes 0, 1, 2: one shard, node 0 its primary) and a monitor (node 10),
// each with its own recording context; pump() carries messages between the replicas.
struct Cluster {
  explicit Cluster(PrimaryBackup::Config c) : config(std::move(c)) {
    config.monitors = "mon";
    for (NodeId i = 0; i < 3; ++i) {
      ctx.push_back(std::make_unique<RecordingContext>(i));
      ctx[i]->groups["rep"] = {0, 1, 2};
      ctx[i]->groups["mon"] = {kMonitor};
      ctx[i]->names[i] = "rep." + std::to_string(i);
      ctx[i]->set_group("rep", i);
      delivered.push_back(0);
    }
  }
  void start() {
    for (NodeId i = 0; i < 3; ++i) {
      node.push_back(std::make_unique<PrimaryBackup>(config));
      node[i]->on_start(*ctx[i]);
    }
  }
  void set_now(SimTime t) {
    for (auto& c : ctx)
      c->set_now(t);
  }
  // Delivers, in order, the messages between replicas sent since the last call (and those
  // they cause), except to nodes in `down`; returns how many.
  int pump(std::set<NodeId> down = {}) {
    int n = 0;
    for (bool more = true; more;) {
      more = false;
      for (NodeId i = 0; i < 3; ++i) {
        while (delivered[i] < ctx[i]->sent.size()) {
          const auto s = ctx[i]->sent[delivered[i]++];
          if (s.to >= 3 || down.count(s.to) || down.count(i)) continue;
          ctx[s.to]->deliver(*node[s.to], i, s.msg);
          ++n;
          more = true;
        }
      }
    }
    return n;
  }
  // Skips every message sent so far (they are lost).
  void drop_all() {
    for (NodeId i = 0; i < 3; ++i)
      delivered[i] = ctx[i]->sent.size();
  }
  void request(NodeId to, const KvRequest& r) { ctx[to]->deliver(*node[to], kClient, r); }
  // The answers node i sent to the client.
  std::vector<KvResponse> answers(NodeId i) const {
    std::vector<KvResponse> out;
    for (const auto& [to, r] : ctx[i]->sent_of<KvResponse>()) {
      if (to == kClient) out.push_back(r);
    }
    return out;
  }
  template <class T>
  std::vector<std::pair<NodeId, T>> sent(NodeId i) const {
    return ctx[i]->sent_of<T>();
  }

  PrimaryBackup::Config config;
  std::vector<std::unique_ptr<RecordingContext>> ctx;
  std::vector<std::unique_ptr<PrimaryBackup>> node;
  std::vector<size_t> delivered;
};

PrimaryBackup::Config base_config(Replication r) {
  PrimaryBackup::Config c;
  c.backups = 2;
  c.replication = r;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------

TEST_CASE("pb layout: CRC16 hash slots, placement and quorums") {
  CHECK(crc16_xmodem("123456789") == 0x31C3);        // the CRC16/XMODEM check value
  CHECK(crc16_xmodem("foo") % kSlotCount == 12182);  // Redis: CLUSTER KEYSLOT foo
  Layout l;
  l.nodes = 5;
  l.shards = 4;
  l.backups = 2;
  std::vector<int> per_shard(4, 0);
  for (uint64_t k = 0; k < 20000; ++k) {
    const uint32_t s = l.shard_of(k);
    REQUIRE(s < 4);
    ++per_shard[s];
  }
  for (int n : per_shard)
    CHECK(std::abs(n - 5000) < 500);  // hash slots spread the keys evenly
  // Contiguous slot ranges: slot 12182 (key text "foo" would have it) is in shard 2.
  CHECK((uint64_t{12182} * 4) / kSlotCount == 2);
  l.sharding = Sharding::kModulo;
  CHECK(l.shard_of(13) == 1);
  // Shard 3 of 5 nodes with 2 backups lives on nodes 3, 4, 0.
  CHECK(l.placement(3, 0) == 3);
  CHECK(l.placement(3, 2) == 0);
  CHECK(l.holds(0, 3));
  CHECK(l.holds(4, 3));
  CHECK_FALSE(l.holds(1, 3));
  CHECK_FALSE(l.holds(2, 3));
  // A failover must hear from r - acks + 1 of r in-sync backups.
  l.replication = Replication::kSync;
  CHECK(l.fence_quorum(2) == 1);
  CHECK(l.acks_needed(2) == 2);
  l.replication = Replication::kSemiSync;
  CHECK(l.fence_quorum(2) == 2);
  CHECK(l.acks_needed(2) == 1);
  CHECK(l.fence_quorum(1) == 1);
  l.replication = Replication::kAsync;
  CHECK(l.fence_quorum(3) == 3);
  CHECK(l.acks_needed(3) == 0);
  CHECK(l.fence_quorum(0) == 0);
}

TEST_CASE("pb layout: epoch histories and the common prefix of two logs") {
  EpochHistory a, b;
  for (uint64_t i = 1; i <= 5; ++i) {
    note_entry(a, 1, i);
    note_entry(b, 1, i);
  }
  for (uint64_t i = 6; i <= 10; ++i)
    note_entry(a, 3, i);  // the old primary went on in epoch 3
  for (uint64_t i = 6; i <= 8; ++i)
    note_entry(b, 4, i);  // the new one took over after entry 5
  CHECK(a.size() == 2);
  CHECK(epoch_at(a, 0) == 0);
  CHECK(epoch_at(a, 5) == 1);
  CHECK(epoch_at(a, 6) == 3);
  CHECK(common_prefix(a, 10, b, 8) == 5);
  CHECK(common_prefix(a, 4, b, 8) == 4);  // one log is a prefix of the other
  CHECK(common_prefix(a, 10, a, 7) == 7);
  truncate_history(a, 5);
  CHECK(a.size() == 1);

  ShardConfig c{7, 2, {0, 1}};
  ShardConfig d;
  REQUIRE(ShardConfig::parse(c.serialize(), d));
  CHECK(d == c);
  ShardConfig empty{3, 1, {}};
  REQUIRE(ShardConfig::parse(empty.serialize(), d));
  CHECK(d == empty);
  CHECK_FALSE(ShardConfig::parse("x", d));
}

TEST_CASE("pb async: the primary answers at once and ships the write to both backups") {
  Cluster c(base_config(Replication::kAsync));
  c.start();
  CHECK(c.node[0]->role() == "primary");
  CHECK(c.node[1]->role() == "backup");
  c.request(0, put(1, 5, 42));
  REQUIRE(c.answers(0).size() == 1);
  CHECK(c.answers(0)[0].status == KvStatus::kOk);
  CHECK(c.answers(0)[0].session_token == 0);  // no session rule: no token
  int shipped = 0;
  for (const auto& [to, m] : c.sent<Replicate>(0)) {
    if (m.entries.empty()) continue;
    ++shipped;
    CHECK(m.entries[0].index == 1);
    CHECK(m.entries[0].write.value == 42);
  }
  CHECK(shipped == 2);
  c.pump();
  for (NodeId b : {1u, 2u}) {
    const auto v = c.node[b]->view(0);
    REQUIRE(v);
    CHECK(v->received.index == 1);
    CHECK(v->applied == 1);
    CHECK(v->state->get(5).is_single(42));
  }
}

TEST_CASE("pb sync and semi-sync: the answer waits for the in-sync backups") {
  SECTION("sync waits for both") {
    Cluster c(base_config(Replication::kSync));
    c.start();
    c.pump();
    c.request(0, put(1, 5, 42));
    CHECK(c.answers(0).empty());
    c.pump({2});  // only backup 1 gets it and answers
    CHECK(c.answers(0).empty());
    c.request(0, get(2, 5));  // a read of the key waits for the write too
    CHECK(c.answers(0).empty());
    CHECK(c.ctx[0]->counter("read_waits") == 1);
    // Backup 2 gets the entry again from the heartbeat tick and answers.
    c.set_now(SimTime::zero() + ms(150));
    while (c.ctx[0]->pending().front()->at <= SimTime::zero() + ms(150))
      c.ctx[0]->fire_next(*c.node[0]);
    c.pump();
    REQUIRE(c.answers(0).size() == 2);
    CHECK(c.answers(0)[0].status == KvStatus::kOk);
    CHECK(c.answers(0)[1].value.is_single(42));
    CHECK(c.node[0]->view(0)->commit == 1);
  }
  SECTION("semi-sync takes the first") {
    Cluster c(base_config(Replication::kSemiSync));
    c.start();
    c.pump();
    c.request(0, put(1, 5, 42));
    CHECK(c.answers(0).empty());
    c.pump({2});
    REQUIRE(c.answers(0).size() == 1);
    CHECK(c.answers(0)[0].status == KvStatus::kOk);
  }
}

TEST_CASE("pb: a write waiting past ack_timeout is indeterminate, or ok with the async fallback") {
  for (auto mode :
       {PrimaryBackup::OnAckTimeout::kIndeterminate, PrimaryBackup::OnAckTimeout::kAsync}) {
    PrimaryBackup::Config cfg = base_config(Replication::kSync);
    cfg.on_ack_timeout = mode;
    cfg.ack_timeout = ms(50);
    Cluster c(cfg);
    c.start();
    c.pump();
    c.request(0, put(1, 5, 42));
    c.drop_all();  // the backups never get it
    c.set_now(SimTime::zero() + ms(60));
    for (int i = 0; i < 5 && c.answers(0).empty(); ++i)
      c.ctx[0]->fire_next(*c.node[0]);
    REQUIRE(c.answers(0).size() == 1);
    CHECK(c.ctx[0]->counter("ack_timeouts") == 1);
    if (mode == PrimaryBackup::OnAckTimeout::kIndeterminate) {
      CHECK(c.answers(0)[0].status == KvStatus::kIndeterminate);
    } else {
      CHECK(c.answers(0)[0].status == KvStatus::kOk);
      // Degraded: the next write is answered without waiting.
      c.request(0, put(2, 6, 43));
      CHECK(c.answers(0).size() == 2);
    }
  }
}

TEST_CASE("pb reads: backups redirect to the primary, or serve their lagging copy") {
  PrimaryBackup::Config cfg = base_config(Replication::kAsync);
  SECTION("read_from: primary") {
    Cluster c(cfg);
    c.start();
    c.request(1, get(1, 5));
    c.request(1, put(2, 5, 1));
    REQUIRE(c.answers(1).size() == 2);
    for (const auto& r : c.answers(1)) {
      CHECK(r.status == KvStatus::kNotLeader);
      CHECK(r.hint == 0);
    }
  }
  SECTION("read_from: any, with an apply delay") {
    cfg.read_from = ReadFrom::kAny;
    cfg.apply_delay = const_time(ms(30));
    Cluster c(cfg);
    c.start();
    c.request(0, put(1, 5, 42));
    c.pump();
    CHECK(c.node[1]->view(0)->received.index == 1);
    CHECK(c.node[1]->view(0)->applied == 0);  // waiting out its delay
    c.request(1, get(2, 5));
    REQUIRE(c.answers(1).size() == 1);
    CHECK(c.answers(1)[0].value.empty());  // stale
    c.ctx[1]->set_now(SimTime::zero() + ms(30));
    c.ctx[1]->fire_next(*c.node[1]);
    CHECK(c.node[1]->view(0)->applied == 1);
    c.request(1, get(3, 5));
    CHECK(c.answers(1)[1].value.is_single(42));
    CHECK(c.ctx[1]->counter("reads_backup") == 2);
  }
  SECTION("read_from: backups, the primary sends reads on") {
    cfg.read_from = ReadFrom::kBackups;
    Cluster c(cfg);
    c.start();
    c.pump();
    c.request(0, get(1, 5));
    c.request(0, get(2, 5));
    REQUIRE(c.answers(0).size() == 2);
    CHECK(c.answers(0)[0].status == KvStatus::kNotLeader);
    CHECK(c.answers(0)[0].hint != c.answers(0)[1].hint);  // in turn over the backups
  }
}

TEST_CASE("pb read-your-writes: the seeds' window and the session token") {
  PrimaryBackup::Config cfg = base_config(Replication::kAsync);
  cfg.read_from = ReadFrom::kAny;
  cfg.apply_delay = const_time(ms(30));
  SECTION("window") {
    cfg.read_your_writes = SessionReads::kWindow;
    cfg.ryw_window = seconds(1);
    Cluster c(cfg);
    c.start();
    c.request(0, put(1, 5, 42));
    const uint64_t token = c.answers(0).at(0).session_token;
    CHECK(token != 0);
    c.pump();
    c.request(1, get(2, 5, token));  // within a second of the write: to the primary
    CHECK(c.answers(1).at(0).status == KvStatus::kNotLeader);
    CHECK(c.answers(1).at(0).hint == 0);
    CHECK(c.ctx[1]->counter("ryw_redirects") == 1);
    c.request(1, get(3, 5, 0));  // a session that did not write: served here
    CHECK(c.answers(1).at(1).status == KvStatus::kOk);
    c.ctx[1]->set_now(SimTime::from_ns(static_cast<int64_t>(token)) + seconds(1));
    c.request(1, get(4, 5, token));  // after the window: served here
    CHECK(c.answers(1).at(2).status == KvStatus::kOk);
  }
  SECTION("token") {
    cfg.read_your_writes = SessionReads::kToken;
    Cluster c(cfg);
    c.start();
    c.set_now(SimTime::zero() + ms(5));
    c.request(0, put(1, 5, 42));
    const uint64_t token = c.answers(0).at(0).session_token;
    c.pump();
    c.request(1, get(2, 5, token));  // not applied yet: to the primary
    CHECK(c.answers(1).at(0).status == KvStatus::kNotLeader);
    c.ctx[1]->set_now(SimTime::zero() + ms(40));
    c.ctx[1]->fire_next(*c.node[1]);  // applied
    c.request(1, get(3, 5, token));
    REQUIRE(c.answers(1).at(1).status == KvStatus::kOk);
    CHECK(c.answers(1).at(1).value.is_single(42));
    CHECK(c.answers(1).at(1).session_token >= token);  // what the read covered
  }
}

TEST_CASE("pb epoch fencing: a fenced backup refuses the old primary, which steps down") {
  Cluster c(base_config(Replication::kSemiSync));
  c.start();
  c.pump();
  // A monitor fences backup 1 with epoch 5.
  c.ctx[1]->deliver(*c.node[1], kMonitor, Fence{0, 5, true});
  const auto replies = c.sent<FenceReply>(1);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].first == kMonitor);
  CHECK(replies[0].second.valid);
  CHECK(c.node[1]->view(0)->fenced == 5);
  c.request(0, put(1, 5, 42));
  c.pump({2});  // backup 2 is cut off
  CHECK(c.ctx[1]->counter("fence_refusals") >= 1);
  CHECK(c.answers(0).size() == 1);
  CHECK(c.answers(0)[0].status == KvStatus::kIndeterminate);  // failed when it stepped down
  CHECK(c.node[0]->view(0)->role == Role::kDeposed);
  c.request(0, put(2, 5, 43));
  CHECK(c.answers(0)[1].status == KvStatus::kNotLeader);
  CHECK(c.answers(0)[1].hint == kNoNode);  // it does not know the new primary yet
}

TEST_CASE("pb no fencing: a backup following a newer primary ignores the old one") {
  PrimaryBackup::Config cfg = base_config(Replication::kAsync);
  cfg.fencing = Fencing::kNone;
  Cluster c(cfg);
  c.start();
  c.pump();
  // Node 2 was made primary in epoch 3 (its configuration did not reach node 0).
  c.ctx[2]->deliver(*c.node[2], kMonitor, ConfigUpdate{0, ShardConfig{3, 2, {1}}});
  CHECK(c.node[2]->role() == "primary");
  c.drop_all();
  c.request(2, put(1, 7, 70));
  // Node 1 hears from node 2 first.
  for (const auto& s : c.ctx[2]->sent) {
    if (s.to == 1) c.ctx[1]->deliver(*c.node[1], 2, s.msg);
  }
  c.request(0, put(2, 8, 80));  // the old primary still takes writes: split brain
  CHECK(c.answers(0).at(0).status == KvStatus::kOk);
  for (const auto& s : c.ctx[0]->sent) {
    if (s.to == 1) c.ctx[1]->deliver(*c.node[1], 0, s.msg);
  }
  CHECK(c.ctx[1]->counter("stale_primary_ignored") >= 1);
  CHECK(c.ctx[1]->counter("fence_refusals") == 0);
  CHECK(c.node[1]->view(0)->state->get(8).empty());
  CHECK(c.node[0]->role() == "primary");  // nobody told it
}

TEST_CASE("pb: a deposed primary's acknowledged writes beyond the new log are counted lost") {
  Cluster c(base_config(Replication::kAsync));
  c.start();
  c.pump();
  c.request(0, append(1, 5, 1));
  c.pump();  // entry 1 reaches both backups
  c.request(0, append(2, 5, 2));
  c.request(0, append(3, 5, 3));
  c.drop_all();  // entries 2 and 3 never leave node 0
  CHECK(c.answers(0).size() == 3);
  const auto acked = c.node[0]->acknowledged(0);
  REQUIRE(acked.size() == 3);
  // A monitor promotes node 1 (epoch 2); it takes a write of its own.
  c.ctx[1]->deliver(*c.node[1], kMonitor, ConfigUpdate{0, ShardConfig{2, 1, {2}}});
  CHECK(c.node[1]->role() == "primary");
  CHECK(c.ctx[1]->counter("promotions") == 1);
  c.request(1, append(4, 5, 4));
  c.pump();  // node 0 hears from node 1, steps down, and is resynchronised by a snapshot
  CHECK(c.node[0]->role() == "backup");
  CHECK(c.ctx[0]->counter("demotions") == 1);
  CHECK(c.ctx[1]->counter("snapshots") >= 1);
  CHECK(c.ctx[0]->counter("writes_discarded") == 2);
  CHECK(c.ctx[0]->counter("acked_writes_discarded") == 2);
  const auto v = c.node[0]->view(0);
  std::vector<int64_t> list(v->state->get(5).elements().begin(), v->state->get(5).elements().end());
  CHECK(list == std::vector<int64_t>{1, 4});
}

TEST_CASE("pb: min_in_sync refuses writes once no backup answered within lag_timeout") {
  PrimaryBackup::Config cfg = base_config(Replication::kAsync);
  cfg.min_in_sync = 1;
  cfg.lag_timeout = ms(500);
  Cluster c(cfg);
  c.start();
  c.pump();
  c.request(0, put(1, 5, 1));
  CHECK(c.answers(0).at(0).status == KvStatus::kOk);
  c.drop_all();
  c.set_now(SimTime::zero() + ms(600));
  c.request(0, put(2, 5, 2));
  CHECK(c.answers(0).at(1).status == KvStatus::kUnavailable);
  CHECK(c.ctx[0]->counter("writes_refused") == 1);
}

TEST_CASE("pb restart: a replica that lost its state resynchronises by snapshot") {
  Cluster c(base_config(Replication::kAsync));
  c.start();
  c.request(0, put(1, 5, 42));
  c.pump();
  // Node 2 crashes and restarts: a new instance over the same disk.
  c.node[2] = std::make_unique<PrimaryBackup>(c.config);
  c.node[2]->on_start(*c.ctx[2]);
  CHECK(c.node[2]->view(0)->role == Role::kRecovering);
  CHECK(c.node[2]->role() == "recovering");
  c.ctx[2]->deliver(*c.node[2], kClient, get(2, 5));
  CHECK(c.ctx[2]->sent_of<KvResponse>().back().second.status == KvStatus::kNotLeader);
  c.drop_all();
  c.request(0, put(3, 6, 43));
  c.pump();
  const auto v = c.node[2]->view(0);
  CHECK(v->role == Role::kBackup);
  CHECK(v->received.index == 2);
  CHECK(v->state->get(5).is_single(42));
  CHECK(v->state->get(6).is_single(43));
  CHECK(c.ctx[0]->counter("snapshots") == 1);
}

// ---------------------------------------------------------------------------------------
// The monitor

namespace {

struct MonitorRig {
  explicit MonitorRig(Monitor::Config c) : config(std::move(c)), ctx(kMonitor) {
    config.replicas = "rep";
    ctx.groups["rep"] = {0, 1, 2};
    ctx.groups["mon"] = {kMonitor};
    ctx.names[kMonitor] = "mon.0";
    ctx.set_group("mon", 0);
    monitor = std::make_unique<Monitor>(config);
    monitor->on_start(ctx);
  }
  void pong(NodeId from, Role role, LogPos pos, Replication r = Replication::kSync) {
    Pong p;
    p.layout.nodes = 3;
    p.layout.shards = 1;
    p.layout.backups = 2;
    p.layout.replication = r;
    p.shards.push_back(ShardStatus{0, role, pos, ShardConfig{1, 0, {1, 2}}});
    ctx.deliver(*monitor, from, p);
  }
  // Delivers the monitor's messages to itself (votes), completing disk syncs as needed.
  void self_deliver() {
    for (bool more = true; more;) {
      more = false;
      while (seen < ctx.sent.size()) {
        const auto s = ctx.sent[seen++];
        if (s.to == kMonitor) {
          ctx.deliver(*monitor, kMonitor, s.msg);
          more = true;
        }
      }
      while (ctx.complete_sync(*monitor))
        more = true;
    }
  }
  Monitor::Config config;
  RecordingContext ctx;
  std::unique_ptr<Monitor> monitor;
  size_t seen = 0;
};

Monitor::Config monitor_config() {
  Monitor::Config c;
  c.heartbeat_interval = ms(100);
  c.failure_timeout = ms(500);
  c.round_timeout = ms(200);
  return c;
}

// Fires the monitor's timers up to `until`, the `alive` replicas answering each ping and
// the monitor's messages to itself delivered; stops early at the first fence when
// `stop_at_fence`.
void advance_ticks(MonitorRig& m, SimTime until, std::vector<NodeId> alive,
                   bool stop_at_fence = false) {
  while (!m.ctx.pending().empty() && m.ctx.pending().front()->at <= until) {
    m.ctx.fire_next(*m.monitor);
    for (NodeId n : alive)
      m.pong(n, n == 0 ? Role::kPrimary : Role::kBackup, LogPos{1, 3});
    m.self_deliver();
    if (stop_at_fence && !m.ctx.sent_of<Fence>().empty()) return;
  }
  m.ctx.set_now(until);
}

}  // namespace

TEST_CASE("pb monitor: a silent primary is failed over to the most up-to-date backup") {
  MonitorRig m(monitor_config());
  for (NodeId n : {0u, 1u, 2u})
    m.pong(n, n == 0 ? Role::kPrimary : Role::kBackup, LogPos{1, 3});
  REQUIRE(m.monitor->config(0));
  CHECK(m.monitor->config(0)->primary == 0);
  advance_ticks(m, SimTime::zero() + ms(400), {0, 1, 2});
  CHECK(m.ctx.sent_of<Prepare>().empty());
  advance_ticks(m, SimTime::zero() + ms(1200), {1, 2}, true);  // node 0 stops answering
  CHECK(m.ctx.now() > SimTime::zero() + ms(900));  // timeout 500 ms after its last answer
  // Phase 1 went to the monitor itself (a majority of one), then the fence.
  REQUIRE(m.ctx.sent_of<Prepare>().size() == 1);
  CHECK(m.ctx.sent_of<Promise>().at(0).second.ok);
  const auto fences = m.ctx.sent_of<Fence>();
  REQUIRE(fences.size() == 3);  // the in-sync backups, and the suspected primary itself
  CHECK(fences[0].first == 1);
  CHECK(fences[1].first == 2);
  CHECK(fences[2].first == 0);
  CHECK(fences[0].second.fence);
  const uint64_t ballot = fences[0].second.epoch;
  CHECK(ballot >= 2);
  m.ctx.deliver(*m.monitor, 1, FenceReply{0, ballot, LogPos{1, 5}, true});
  m.ctx.deliver(*m.monitor, 2, FenceReply{0, ballot, LogPos{1, 7}, true});
  CHECK(m.ctx.sent_of<Accept>().empty());  // waiting for node 0 until the round's end
  advance_ticks(m, m.ctx.now() + ms(250), {1, 2});
  REQUIRE(m.ctx.sent_of<Accept>().size() == 1);
  m.self_deliver();
  const auto configs = m.ctx.sent_of<ConfigUpdate>();
  REQUIRE(configs.size() == 3);  // to each replica
  const ShardConfig& c = configs[0].second.config;
  CHECK(c.epoch == ballot);
  CHECK(c.primary == 2);  // (1, 7) is ahead of (1, 5)
  CHECK(c.in_sync == std::vector<uint32_t>{1});
  CHECK(m.ctx.counter("failovers") == 1);
  CHECK(m.monitor->config(0)->epoch == ballot);
  CHECK(m.monitor->promised(0) == ballot);
  // The promise and the accepted value were persisted before they were answered.
  const auto saved = m.ctx.node_disk().get("pbmon/shard/0");
  REQUIRE(saved);
  CHECK(saved->find(std::to_string(ballot) + " " + std::to_string(ballot) + " 1|") == 0);
  // The new primary's first acknowledged write ends the failover's clock.
  m.ctx.deliver(*m.monitor, 2, Serving{0, ballot});
  CHECK(m.ctx.recorder().observations.count(m.ctx.intern("failover_time").id) == 1);
}

TEST_CASE("pb monitor: semi-sync cannot fail over without every in-sync backup") {
  MonitorRig m(monitor_config());
  for (NodeId n : {0u, 1u, 2u})
    m.pong(n, n == 0 ? Role::kPrimary : Role::kBackup, LogPos{1, 3}, Replication::kSemiSync);
  advance_ticks(m, SimTime::zero() + ms(1200), {1}, true);  // nodes 0 and 2 are silent
  const auto fences = m.ctx.sent_of<Fence>();
  REQUIRE(fences.size() == 3);
  m.ctx.deliver(*m.monitor, 1, FenceReply{0, fences[0].second.epoch, LogPos{1, 5}, true});
  // The round times out with one answer of the two it needs.
  const SimTime end = m.ctx.now() + ms(250);
  while (!m.ctx.pending().empty() && m.ctx.pending().front()->at <= end)
    m.ctx.fire_next(*m.monitor);
  CHECK(m.ctx.sent_of<Accept>().empty());
  CHECK(m.ctx.counter("failover_rounds_failed") >= 1);
  CHECK(m.ctx.counter("failovers") == 0);
}

TEST_CASE("pb monitor: a primary that answers the fence with a valid copy is chosen again") {
  MonitorRig m(monitor_config());
  for (NodeId n : {0u, 1u, 2u})
    m.pong(n, n == 0 ? Role::kPrimary : Role::kBackup, LogPos{1, 3});
  advance_ticks(m, SimTime::zero() + ms(1200), {1, 2}, true);  // node 0 silent: suspected
  const uint64_t ballot = m.ctx.sent_of<Fence>().at(0).second.epoch;
  m.ctx.deliver(*m.monitor, 1, FenceReply{0, ballot, LogPos{1, 5}, true});
  m.ctx.deliver(*m.monitor, 2, FenceReply{0, ballot, LogPos{0, 0}, false});  // restarted
  m.ctx.deliver(*m.monitor, 0, FenceReply{0, ballot, LogPos{1, 9}, true});   // only slow
  m.self_deliver();
  const auto configs = m.ctx.sent_of<ConfigUpdate>();
  REQUIRE(configs.size() == 3);
  CHECK(configs[0].second.config.primary == 0);
  CHECK(configs[0].second.config.in_sync == std::vector<uint32_t>{1});  // node 2 lost its copy
  CHECK(m.ctx.counter("failovers") == 0);
}

TEST_CASE("pb monitor: an acceptor promises once, reports what it accepted, refuses the stale") {
  MonitorRig m(monitor_config());
  for (NodeId n : {0u, 1u, 2u})
    m.pong(n, n == 0 ? Role::kPrimary : Role::kBackup, LogPos{1, 3});
  const ShardConfig initial = *m.monitor->config(0);
  CHECK(initial.epoch == 1);
  auto ask = [&](Message msg) -> Message {
    const size_t before = m.ctx.sent.size();
    m.ctx.deliver(*m.monitor, 11, msg);
    while (m.ctx.complete_sync(*m.monitor)) {
    }
    REQUIRE(m.ctx.sent.size() == before + 1);
    return m.ctx.sent.back().msg;
  };
  auto prepare = [&](uint64_t ballot, ShardConfig base, Change change) {
    Prepare p;
    p.ballot = ballot;
    p.base = base;
    p.change = change;
    p.subject = change == Change::kFailover ? 0 : 1;
    return *ask(p).get<Promise>();
  };
  // Node 0 answers pings: no promise for failing it over.
  CHECK_FALSE(prepare(5, initial, Change::kFailover).ok);
  const Promise first = prepare(5, initial, Change::kRemoveBackup);
  CHECK(first.ok);
  CHECK(first.accepted_ballot == 0);
  CHECK_FALSE(prepare(5, initial, Change::kRemoveBackup).ok);  // not above the promise
  // It accepts ballot 5's value; a later proposer is told about it (Paxos phase 1).
  Accept a;
  a.ballot = 5;
  a.base = initial;
  a.value = ShardConfig{5, 0, {2}};
  CHECK(ask(a).get<Accepted>()->ok);
  const Promise later = prepare(8, initial, Change::kAddBackup);
  CHECK(later.ok);
  CHECK(later.accepted_ballot == 5);
  CHECK(later.accepted == a.value);
  a.ballot = 7;  // below the promise of 8
  CHECK_FALSE(ask(a).get<Accepted>()->ok);
  // Once a newer configuration is known chosen, proposals built on an older one are told.
  m.ctx.deliver(*m.monitor, 11, ConfigUpdate{0, ShardConfig{8, 0, {2}}});
  const Promise stale = prepare(11, initial, Change::kRemoveBackup);
  CHECK_FALSE(stale.ok);
  CHECK(stale.decided.epoch == 8);
}
