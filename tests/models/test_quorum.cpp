// The quorum store, piece by piece and one handler at a time: the ring, vector clocks and
// last-write-wins, Merkle trees, and the model driven through recording contexts — a
// small harness delivers the messages the nodes send each other at once and fires their
// timers in time order, so a test can cut links, step clocks and read what each node
// sent, stored and counted.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "models/kit/ring.h"
#include "models/kv/client.h"
#include "models/quorum/merkle.h"
#include "models/quorum/store.h"
#include "models/quorum/versions.h"
#include "support/recording_context.h"

using namespace dsim;
using namespace dsim::quorum;
using dsim::testing::RecordingContext;
using kv::KvRequest;
using kv::KvResponse;
using kv::KvStatus;
using kv::KvValue;

namespace {

constexpr NodeId kClient = 100;

Version version(uint64_t actor, uint64_t counter, int64_t ts, int64_t value, VClock past = {}) {
  Version v;
  v.dot = {actor, counter};
  v.past = std::move(past);
  v.ts = ts;
  v.value = KvValue::single(value, 10);
  return v;
}

std::vector<int64_t> elements(const KvValue& v) {
  return std::vector<int64_t>(v.elements().begin(), v.elements().end());
}

KvRequest request(kv::KvOpKind op, uint64_t key, int64_t value = 0, uint64_t id = 1) {
  KvRequest r;
  r.call.id = id;
  r.call.reply_to = kClient;
  r.op = op;
  r.key = key;
  r.value = value;
  r.value_bytes = 10;
  return r;
}

// Nodes 0..n-1 of group "store", each with its own recording context and disk. Messages
// between them are delivered at once (unless the link is cut); messages to anyone else
// (the client) are collected. Timers fire in time order across nodes.
struct Cluster {
  Cluster(size_t n, QuorumStore::Config c) : config(std::move(c)) {
    std::vector<NodeId> ids;
    for (NodeId i = 0; i < n; ++i)
      ids.push_back(i);
    for (NodeId i = 0; i < n; ++i) {
      auto x = std::make_unique<RecordingContext>(i);
      x->groups["store"] = ids;
      x->set_group("store", i);
      for (NodeId j = 0; j < n; ++j)
        x->names[j] = "store." + std::to_string(j);
      ctx.push_back(std::move(x));
      node.push_back(nullptr);
      cursor.push_back(0);
    }
  }
  void start() {
    for (size_t i = 0; i < ctx.size(); ++i)
      restart(static_cast<NodeId>(i));
  }
  // A new model instance on the node's disk (a restart; crash() first to lose unsynced).
  void restart(NodeId i) {
    node[i] = std::make_unique<QuorumStore>(config);
    cursor[i] = ctx[i]->sent.size();
    node[i]->on_start(*ctx[i]);
  }
  void crash(NodeId i) {
    ctx[i]->node_disk().crash();
    node[i] = nullptr;
  }
  SimTime now() const { return ctx[0]->now(); }
  // Delivers what the nodes sent, until nothing is left.
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      bool any = false;
      for (size_t i = 0; i < ctx.size(); ++i) {
        while (cursor[i] < ctx[i]->sent.size()) {
          const auto s = ctx[i]->sent[cursor[i]++];
          any = true;
          const auto from = static_cast<NodeId>(i);
          if (s.to >= ctx.size()) {
            to_client.emplace_back(from, s.msg);
            continue;
          }
          if (cut.count({from, s.to}) || !node[s.to]) {
            ++dropped;
            continue;
          }
          ++delivered[std::string(s.msg.name())];
          ctx[s.to]->deliver(*node[s.to], from, s.msg);
        }
      }
      if (!any) return;
    }
    FAIL("messages never stop");
  }
  // Fires every timer due up to `until` in time order, delivering messages as they go.
  void run_until(SimTime until) {
    pump();
    for (;;) {
      size_t best = ctx.size();
      SimTime at = until;
      for (size_t i = 0; i < ctx.size(); ++i) {
        if (!node[i]) continue;
        const auto p = ctx[i]->pending();
        if (!p.empty() && p.front()->at <= at) {
          at = p.front()->at;
          best = i;
        }
      }
      if (best == ctx.size()) break;
      for (auto& x : ctx)
        x->set_now(std::max(x->now(), at));
      ctx[best]->fire_next(*node[best]);
      pump();
    }
    for (auto& x : ctx)
      x->set_now(std::max(x->now(), until));
  }
  void run_for(Duration d) { run_until(now() + d); }
  void send(NodeId to, Message m) {
    if (node[to]) ctx[to]->deliver(*node[to], kClient, std::move(m));
    pump();
  }
  // The client's responses so far, by request id.
  std::map<uint64_t, KvResponse> responses() const {
    std::map<uint64_t, KvResponse> out;
    for (const auto& [from, m] : to_client) {
      if (const auto* r = m.get<KvResponse>()) out.emplace(r->call, *r);
    }
    return out;
  }
  KvResponse response(uint64_t id) const {
    auto all = responses();
    auto it = all.find(id);
    REQUIRE(it != all.end());
    return it->second;
  }
  bool answered(uint64_t id) const { return responses().count(id) > 0; }
  void isolate(NodeId n) {
    for (NodeId j = 0; j < ctx.size(); ++j) {
      cut.insert({n, j});
      cut.insert({j, n});
    }
  }
  void heal() { cut.clear(); }
  int64_t counter(std::string_view name) {
    int64_t sum = 0;
    for (auto& x : ctx)
      sum += x->counter(name);
    return sum;
  }
  // The key's preference list (node ids), as the nodes compute it.
  std::vector<NodeId> home(uint64_t key) const {
    std::vector<NodeId> out;
    for (uint32_t m :
         node[0]->ring().walk(key_position(key, config.ring_seed), static_cast<size_t>(config.n)))
      out.push_back(m);
    return out;
  }
  // A key whose preference list starts with `first` (and, if given, leaves out `not_in`).
  uint64_t key_led_by(NodeId first, NodeId not_in = kNoNode) const {
    for (uint64_t k = 0; k < 100000; ++k) {
      const auto h = home(k);
      if (h[0] == first && std::find(h.begin(), h.end(), not_in) == h.end()) return k;
    }
    FAIL("no such key");
    return 0;
  }
  std::vector<int64_t> values_at(NodeId n, uint64_t key) const {
    std::vector<int64_t> out;
    if (const Siblings* s = node[n]->versions(key)) {
      for (const auto& v : *s)
        for (int64_t e : v.value.elements())
          out.push_back(e);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  QuorumStore::Config config;
  std::vector<std::unique_ptr<RecordingContext>> ctx;
  std::vector<std::unique_ptr<QuorumStore>> node;
  std::vector<size_t> cursor;
  std::set<std::pair<NodeId, NodeId>> cut;
  std::vector<std::pair<NodeId, Message>> to_client;
  std::map<std::string, int> delivered;
  int dropped = 0;
};

QuorumStore::Config base_config() {
  QuorumStore::Config c;
  c.n = 3;
  c.w = 2;
  c.r = 2;
  c.vnodes = 16;
  c.read_repair = QuorumStore::ReadRepair::kNone;
  return c;
}

}  // namespace

// --- versions ---------------------------------------------------------------------------

TEST_CASE("versions: vector clocks order versions, concurrent ones stay as siblings") {
  const VClock c = VClock::of({{2, 5}, {1, 3}, {2, 4}});
  CHECK(c.entries() == std::vector<VClock::Entry>{{1, 3}, {2, 5}});
  CHECK(c.covers({1, 3}));
  CHECK_FALSE(c.covers({1, 4}));
  CHECK(VClock::of({{1, 2}}).leq(c));
  CHECK_FALSE(c.leq(VClock::of({{1, 9}})));
  CHECK(VClock::from_words(c.words()) == c);
  CHECK_FALSE(VClock::from_words({1, 2, 3}));

  const Version a = version(1, 1, 100, 10);
  const Version b = version(2, 1, 50, 20);                       // concurrent with a
  const Version c2 = version(1, 2, 10, 30, context_of({a, b}));  // saw both
  const auto mode = Versioning::kVectorClock;
  auto m = merge({a}, {b}, mode, 100);
  REQUIRE(m.merged.size() == 2);
  CHECK(m.merged[0].dot == b.dot);  // oldest first by timestamp
  CHECK(m.merged[1].dot == a.dot);
  CHECK(same_versions(merge({b}, {a}, mode, 100).merged, m.merged));            // commutative
  CHECK(same_versions(merge(m.merged, m.merged, mode, 100).merged, m.merged));  // idempotent
  // A version that saw both supersedes both, whatever the clocks say.
  auto n = merge(m.merged, {c2}, mode, 100);
  REQUIRE(n.merged.size() == 1);
  CHECK(n.merged[0].dot == c2.dot);
  CHECK(context_of(n.merged).covers(a.dot));
  CHECK(max_counter(n.merged, 1) == 2);
  // A write from a stale context is a sibling of what it did not see.
  const Version d = version(3, 1, 500, 40, a.clock());
  CHECK(merge({c2}, {d}, mode, 100).merged.size() == 2);
  // The sibling cap drops the oldest.
  auto capped = merge({a}, {b}, mode, 1);
  CHECK(capped.capped == 1);
  REQUIRE(capped.merged.size() == 1);
  CHECK(capped.merged[0].dot == a.dot);
}

TEST_CASE("versions: last-write-wins keeps the latest timestamp and counts what it threw away") {
  const Version a = version(1, 1, 100, 10);
  const Version b = version(2, 1, 50, 20);
  auto m = merge({a}, {b}, Versioning::kLww, 100);
  REQUIRE(m.merged.size() == 1);
  CHECK(m.merged[0].dot == a.dot);
  CHECK(m.lww_discarded == 1);  // b was concurrent: an update lost
  // A later version that saw the loser discards it without losing anything.
  const Version c = version(2, 2, 200, 30, a.clock());
  auto n = merge({a}, {c}, Versioning::kLww, 100);
  CHECK(n.merged[0].dot == c.dot);
  CHECK(n.lww_discarded == 0);
  // A causally later write with an older timestamp (a clock behind) loses.
  const Version late = version(3, 1, 90, 40, a.clock());
  auto o = merge({a}, {late}, Versioning::kLww, 100);
  CHECK(o.merged[0].dot == a.dot);
  CHECK(o.lww_discarded == 1);
  // Equal timestamps: the larger dot wins, on every replica alike.
  const Version t1 = version(1, 5, 7, 1), t2 = version(2, 1, 7, 2);
  CHECK(merge({t1}, {t2}, Versioning::kLww, 100).merged[0].dot == t2.dot);
  CHECK(merge({t2}, {t1}, Versioning::kLww, 100).merged[0].dot == t2.dot);
}

TEST_CASE("versions: encoding round-trips, union merges lists") {
  Version a = version(1ULL << 40, 7, -5, 3, VClock::of({{9, 2}}));
  a.value.append(4, 0);
  const Siblings s = {a, version(2, 1, 10, 8)};
  auto back = decode(encode(s));
  REQUIRE(back);
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].dot == a.dot);
  CHECK((*back)[0].past == a.past);
  CHECK((*back)[0].ts == -5);
  CHECK(elements((*back)[0].value) == std::vector<int64_t>{3, 4});
  CHECK((*back)[0].value.bytes() == a.value.bytes());
  CHECK(hash_of(*back) == hash_of(s));
  const std::string bytes = encode(s);
  CHECK_FALSE(decode(std::string_view(bytes).substr(0, bytes.size() - 3)));
  CHECK(elements(union_value(s)) == std::vector<int64_t>{3, 4, 8});
}

// --- Merkle trees -----------------------------------------------------------------------

TEST_CASE("merkle: equal sets have equal trees, a difference shows along its path only") {
  const MerkleLayout layout{2, 4};
  auto items = [&](int changed) {
    std::vector<MerkleTree::Item> v;
    for (uint64_t k = 0; k < 40; ++k) {
      const uint64_t pos = key_position(k, 0);
      if (layout.range_of(pos) != 1) continue;
      v.push_back({layout.leaf_of(pos), pos, k * 7 + (static_cast<int>(k) == changed ? 1 : 0)});
    }
    return v;
  };
  const MerkleTree a(4, items(-1)), b(4, items(-1));
  CHECK(a.root() == b.root());
  CHECK(a.root() != 0);
  CHECK(MerkleTree(4, {}).root() == 0);
  // Change one key of range 1: every level differs at exactly one node, its ancestor.
  uint64_t changed = 0;
  while (layout.range_of(key_position(changed, 0)) != 1)
    ++changed;
  const MerkleTree c(4, items(static_cast<int>(changed)));
  const uint64_t leaf = layout.leaf_of(key_position(changed, 0));
  for (uint32_t level = 0; level <= 4; ++level) {
    int differing = 0;
    for (uint64_t i = 0; i < (1u << level); ++i)
      differing += a.hash(level, i) != c.hash(level, i) ? 1 : 0;
    CHECK(differing == 1);
    CHECK(a.hash(level, leaf >> (4 - level)) != c.hash(level, leaf >> (4 - level)));
  }
}

// --- the model ---------------------------------------------------------------------------

TEST_CASE("quorum: a put is sent to the N replicas and answered after W acknowledgements") {
  Cluster cl(5, base_config());
  cl.start();
  const uint64_t key = cl.key_led_by(0);
  const auto home = cl.home(key);
  // Node 0 coordinates (it is a replica); it writes locally and to the other two.
  cl.cut.insert({home[1], 0});  // acks from home[1] are lost
  cl.cut.insert({home[2], 0});  // and from home[2]
  cl.send(0, request(kv::KvOpKind::kPut, key, 77));
  CHECK_FALSE(cl.answered(1));  // only its own ack so far: W = 2 needs one more
  CHECK(cl.values_at(home[1], key) == std::vector<int64_t>{77});
  CHECK(cl.values_at(home[2], key) == std::vector<int64_t>{77});
  // Let home[2]'s ack through: answered ok, with a causal context.
  cl.cut.erase({home[2], 0});
  const auto writes = cl.ctx[0]->sent_of<QuorumWrite>();
  REQUIRE(writes.size() == 2);
  for (const auto& [to, w] : writes) {
    CHECK(w.hint == kNoNode);
    CHECK((to == home[1] || to == home[2]));
  }
  cl.ctx[0]->deliver(*cl.node[0], home[2], QuorumWriteAck{writes[0].second.op, true});
  cl.pump();
  const KvResponse r = cl.response(1);
  CHECK(r.status == KvStatus::kOk);
  REQUIRE(r.causal);
  CHECK_FALSE(r.causal->context.empty());
  CHECK(cl.counter("coordinated_puts") == 1);
}

TEST_CASE("quorum: a get waits for R replies and returns siblings with a context") {
  Cluster cl(3, base_config());
  cl.start();
  const uint64_t key = 5;
  // Two writes through different coordinators while they cannot see each other: siblings.
  cl.isolate(0);
  cl.send(0, request(kv::KvOpKind::kPut, key, 1, 1));
  cl.heal();
  cl.cut.insert({1, 0});
  cl.cut.insert({0, 1});
  cl.send(1, request(kv::KvOpKind::kPut, key, 2, 2));
  cl.heal();
  CHECK(cl.values_at(2, key) == std::vector<int64_t>{2});  // only node 1's write reached it
  cl.send(0, request(kv::KvOpKind::kGet, key, 0, 3));
  const KvResponse r = cl.response(3);
  REQUIRE(r.status == KvStatus::kOk);
  REQUIRE(r.causal);
  REQUIRE(r.causal->siblings.size() == 2);
  CHECK(cl.counter("reads_with_siblings") == 1);
  CHECK(cl.counter("read_siblings") == 2);
  // The newer sibling (by the writers' clocks: equal here, so the larger dot) is `value`.
  CHECK(elements(r.value) == elements(r.causal->siblings.back()));
  // A write with that context supersedes both siblings everywhere it lands.
  kv::KvContextRequest w{request(kv::KvOpKind::kPut, key, 3, 4), r.causal->context};
  cl.send(2, w);
  CHECK(cl.response(4).status == KvStatus::kOk);
  for (NodeId n = 0; n < 3; ++n)
    CHECK(cl.values_at(n, key) == std::vector<int64_t>{3});
}

TEST_CASE("quorum: a coordinator that holds no data sends every leg to the N replicas") {
  auto c = base_config();
  c.coordinators = 1;  // node 3 of 4
  Cluster cl(4, c);
  cl.start();
  for (uint64_t k = 0; k < 200; ++k) {
    const auto h = cl.home(k);
    CHECK(std::find(h.begin(), h.end(), NodeId{3}) == h.end());  // never on the ring
  }
  const uint64_t key = 7;
  cl.send(3, request(kv::KvOpKind::kPut, key, 77, 1));
  const auto writes = cl.ctx[3]->sent_of<QuorumWrite>();
  REQUIRE(writes.size() == 3);  // to each replica, none to itself
  std::set<NodeId> to;
  for (const auto& [n, w] : writes)
    to.insert(n);
  CHECK(to == std::set<NodeId>{0, 1, 2});
  CHECK(cl.response(1).status == KvStatus::kOk);
  CHECK(cl.ctx[3]->counter("coordinated_puts") == 1);
  CHECK(cl.ctx[3]->counter("forwarded") == 0);
  CHECK(cl.node[3]->data().empty());
  for (NodeId n = 0; n < 3; ++n)
    CHECK(cl.values_at(n, key) == std::vector<int64_t>{77});
  // A read asks the three replicas and answers with what R of them hold.
  cl.send(3, request(kv::KvOpKind::kGet, key, 0, 2));
  CHECK(cl.ctx[3]->sent_of<QuorumRead>().size() == 3);
  const KvResponse r = cl.response(2);
  REQUIRE(r.status == KvStatus::kOk);
  CHECK(elements(r.value) == std::vector<int64_t>{77});
  // A replica that receives a request still coordinates it, writing its own copy at once.
  cl.send(0, request(kv::KvOpKind::kPut, key, 78, 3));
  CHECK(cl.ctx[0]->sent_of<QuorumWrite>().size() == 2);
  CHECK(cl.response(3).status == KvStatus::kOk);
}

TEST_CASE("quorum: a node outside the preference list forwards, or redirects the client") {
  auto c = base_config();
  c.coordinator_choice = QuorumStore::Choice::kFirst;
  Cluster cl(5, c);
  cl.start();
  const uint64_t key = cl.key_led_by(1, 0);  // node 0 is not a replica
  cl.send(0, request(kv::KvOpKind::kPut, key, 9));
  const auto fwd = cl.ctx[0]->sent_of<QuorumForward>();
  REQUIRE(fwd.size() == 1);
  CHECK(fwd[0].first == 1);
  CHECK(cl.delivered["quorum_forward_ack"] == 1);
  // The coordinator answers the client directly.
  CHECK(cl.response(1).status == KvStatus::kOk);
  CHECK(cl.ctx[1]->counter("coordinated_puts") == 1);
  // Unacknowledged forwards are taken elsewhere: the first replica is unreachable.
  cl.isolate(1);
  cl.send(0, request(kv::KvOpKind::kGet, key, 0, 2));
  CHECK_FALSE(cl.answered(2));
  cl.run_for(ms(150));
  CHECK(cl.counter("suspicions") >= 1);
  const auto forwards = cl.ctx[0]->sent_of<QuorumForward>();
  REQUIRE(forwards.size() == 3);
  CHECK(forwards[1].first == 1);
  CHECK(forwards[2].first != 1);
  CHECK(cl.response(2).status == KvStatus::kOk);

  SECTION("client-side coordination: a redirect to a replica") {
    auto cc = base_config();
    cc.coordinator = QuorumStore::Coordinator::kClient;
    cc.coordinator_choice = QuorumStore::Choice::kFirst;
    Cluster cr(5, cc);
    cr.start();
    cr.send(0, request(kv::KvOpKind::kGet, key, 0, 7));
    const KvResponse r = cr.response(7);
    CHECK(r.status == KvStatus::kNotLeader);
    CHECK(r.hint == cr.home(key)[0]);
    CHECK(cr.counter("redirected") == 1);
  }
}

TEST_CASE("quorum: sloppy quorum writes to a stand-in, which hands the write back") {
  auto c = base_config();
  c.handoff_interval = ms(200);
  Cluster cl(5, c);
  cl.start();
  const uint64_t key = cl.key_led_by(0);
  const auto home = cl.home(key);
  const NodeId down = home[2];
  cl.isolate(down);
  cl.send(0, request(kv::KvOpKind::kPut, key, 5));
  // W = 2 is met by node 0 and home[1] without the silent one.
  CHECK(cl.response(1).status == KvStatus::kOk);
  CHECK(cl.ctx[0]->sent_of<QuorumWrite>().size() == 2);
  // The write waits for its third replica; after replica_timeout that one is suspected
  // and the write goes on to the next healthy node clockwise, with a hint naming it.
  cl.run_for(ms(100));
  CHECK(cl.counter("suspicions") == 1);
  auto writes = cl.ctx[0]->sent_of<QuorumWrite>();
  REQUIRE(writes.size() == 3);
  const auto& hinted = writes.back();
  CHECK(hinted.second.hint == down);
  const NodeId stand_in = hinted.first;
  CHECK(std::find(home.begin(), home.end(), stand_in) == home.end());
  CHECK(cl.values_at(stand_in, key) == std::vector<int64_t>{5});
  // While the replica is suspected, writes go to the stand-in straight away.
  cl.send(0, request(kv::KvOpKind::kPut, key, 6, 2));
  CHECK(cl.response(2).status == KvStatus::kOk);
  writes = cl.ctx[0]->sent_of<QuorumWrite>();
  REQUIRE(writes.size() == 5);
  CHECK(writes.back().first == stand_in);
  CHECK(writes.back().second.hint == down);
  CHECK(cl.counter("sloppy_writes") == 2);
  CHECK(cl.counter("hints_stored") == 1);  // one hint per (node, key)
  CHECK(cl.node[stand_in]->hints_pending() == 1);
  // The hint is on the stand-in's disk: a restart keeps it.
  cl.restart(stand_in);
  CHECK(cl.node[stand_in]->hints_pending() == 1);
  CHECK(cl.values_at(stand_in, key) == std::vector<int64_t>{6});
  // While the owner is away nothing is handed off; once it is back, the hint goes home
  // and the stand-in, not a replica of the key, drops its copy.
  cl.run_for(seconds(2));
  CHECK(cl.node[stand_in]->hints_pending() == 1);
  cl.heal();
  cl.run_for(seconds(2));
  CHECK(cl.node[stand_in]->hints_pending() == 0);
  CHECK(cl.counter("hints_replayed") == 1);
  CHECK(cl.values_at(down, key) == std::vector<int64_t>{6});
  CHECK(cl.node[stand_in]->versions(key) == nullptr);
}

TEST_CASE("quorum: a strict quorum fails instead, first maybe applied, then unavailable") {
  auto c = base_config();
  c.sloppy_quorum = false;
  c.w = 3;
  Cluster cl(5, c);
  cl.start();
  const uint64_t key = cl.key_led_by(0);
  const NodeId down = cl.home(key)[2];
  cl.isolate(down);
  cl.send(0, request(kv::KvOpKind::kPut, key, 5));
  CHECK_FALSE(cl.answered(1));
  cl.run_for(ms(100));
  // Two replicas stored it, the third never answered: maybe applied.
  CHECK(cl.response(1).status == KvStatus::kIndeterminate);
  CHECK(cl.ctx[0]->sent_of<QuorumWrite>().size() == 2);  // no stand-in
  // The silent replica is now suspected: refused at once, nothing written.
  cl.send(0, request(kv::KvOpKind::kPut, key, 6, 2));
  CHECK(cl.response(2).status == KvStatus::kUnavailable);
  CHECK(cl.ctx[0]->sent_of<QuorumWrite>().size() == 2);
  // Reads need R = 2 of the two left: still served.
  cl.send(0, request(kv::KvOpKind::kGet, key, 0, 3));
  CHECK(elements(cl.response(3).value) == std::vector<int64_t>{5});
  // After suspect_for the replica is tried again (and found back).
  cl.heal();
  cl.run_for(seconds(1));
  cl.send(0, request(kv::KvOpKind::kPut, key, 7, 4));
  CHECK(cl.response(4).status == KvStatus::kOk);
}

TEST_CASE("quorum: last-write-wins by the coordinator's clock loses a later write") {
  auto c = base_config();
  c.versioning = Versioning::kLww;
  Cluster cl(3, c);
  cl.start();
  cl.run_for(seconds(1));
  cl.ctx[1]->set_now(cl.now() - ms(100));  // node 1's clock is behind
  cl.send(0, request(kv::KvOpKind::kPut, 3, 1, 1));
  cl.send(1, request(kv::KvOpKind::kPut, 3, 2, 2));  // later in true time, older timestamp
  CHECK(cl.response(2).status == KvStatus::kOk);     // acknowledged...
  for (NodeId n = 0; n < 3; ++n)
    CHECK(cl.values_at(n, 3) == std::vector<int64_t>{1});  // ...and gone everywhere
  CHECK(cl.counter("lww_discarded") == 3);
  cl.send(2, request(kv::KvOpKind::kGet, 3, 0, 3));
  const KvResponse r = cl.response(3);
  CHECK(elements(r.value) == std::vector<int64_t>{1});
  CHECK_FALSE(r.causal);  // no siblings, no contexts
}

TEST_CASE("quorum: read repair, in the background or before answering") {
  auto c = base_config();
  c.read_repair = QuorumStore::ReadRepair::kBackground;
  c.r = 1;
  Cluster cl(3, c);
  cl.start();
  cl.isolate(2);
  cl.send(0, request(kv::KvOpKind::kPut, 4, 1, 1));
  cl.heal();
  CHECK(cl.values_at(2, 4).empty());
  // R = 1: node 2 answers from its own (empty) copy at once; the late replies show it is
  // behind, and it is repaired.
  cl.send(2, request(kv::KvOpKind::kGet, 4, 0, 2));
  CHECK(cl.response(2).value.empty());
  CHECK(cl.values_at(2, 4) == std::vector<int64_t>{1});
  CHECK(cl.counter("read_repairs") == 1);
  CHECK(cl.counter("read_repair_bytes") > 0);

  SECTION("sync: the answer waits until W replicas hold what it returns") {
    auto s = base_config();
    s.read_repair = QuorumStore::ReadRepair::kSync;
    s.w = 3;
    s.r = 1;
    Cluster cs(3, s);
    cs.start();
    cs.cut = {{1, 2}, {2, 1}};
    cs.send(1, request(kv::KvOpKind::kPut, 4, 1, 1));  // W = 3: node 2 never gets it
    cs.run_for(ms(200));
    CHECK(cs.response(1).status == KvStatus::kIndeterminate);
    CHECK(cs.values_at(2, 4).empty());
    // Node 0 reads its own copy (R = 1) and writes it back to the two others before
    // answering: what it returns is then on W = 3 replicas.
    cs.send(0, request(kv::KvOpKind::kGet, 4, 0, 2));
    CHECK(elements(cs.response(2).value) == std::vector<int64_t>{1});
    CHECK(cs.values_at(2, 4) == std::vector<int64_t>{1});
    CHECK(cs.delivered["quorum_repair_ack"] == 2);
    // A replica suspected leaves fewer than W: such reads are refused at once.
    cs.isolate(2);
    cs.send(0, request(kv::KvOpKind::kGet, 4, 0, 3));
    cs.run_for(ms(300));
    CHECK(cs.response(3).status == KvStatus::kUnavailable);
    cs.send(0, request(kv::KvOpKind::kGet, 4, 0, 4));
    CHECK(cs.response(4).status == KvStatus::kUnavailable);
  }
}

TEST_CASE("quorum: appends read first and are applied once, cas compares what a quorum holds") {
  Cluster cl(3, base_config());
  cl.start();
  cl.send(0, request(kv::KvOpKind::kAppend, 8, 1, 1));
  cl.send(1, request(kv::KvOpKind::kAppend, 8, 2, 2));
  cl.send(2, request(kv::KvOpKind::kAppend, 8, 2, 3));  // a retry of the same element
  CHECK(cl.response(3).status == KvStatus::kOk);
  CHECK(cl.counter("duplicate_appends_skipped") == 1);
  cl.send(0, request(kv::KvOpKind::kGet, 8, 0, 4));
  CHECK(elements(cl.response(4).value) == std::vector<int64_t>{1, 2});

  KvRequest cas = request(kv::KvOpKind::kCas, 9, 5, 5);
  cas.expected_absent = true;
  cl.send(0, cas);
  CHECK(cl.response(5).status == KvStatus::kOk);
  cas.call.id = 6;
  cas.value = 6;
  cl.send(1, cas);  // expects absence, finds 5
  CHECK(cl.response(6).status == KvStatus::kCasMismatch);
  KvRequest cas2 = request(kv::KvOpKind::kCas, 9, 7, 7);
  cas2.expected = 5;
  cl.send(2, cas2);
  CHECK(cl.response(7).status == KvStatus::kOk);
  CHECK(cl.values_at(1, 9) == std::vector<int64_t>{7});
}

TEST_CASE("quorum: data survives a restart, unsynced writes do not survive a crash") {
  auto c = base_config();
  c.sync_period = ms(100);
  Cluster cl(3, c);
  cl.start();
  cl.send(0, request(kv::KvOpKind::kPut, 1, 11, 1));
  cl.run_for(ms(150));  // a periodic sync covers it
  for (auto& x : cl.ctx)
    while (x->complete_sync(*cl.node[x->self()])) {
    }
  cl.send(0, request(kv::KvOpKind::kPut, 2, 22, 2));  // not synced yet
  cl.crash(1);
  cl.restart(1);
  CHECK(cl.values_at(1, 1) == std::vector<int64_t>{11});
  CHECK(cl.values_at(1, 2).empty());
  CHECK(cl.node[0]->ring().members().size() == 3);
}

TEST_CASE("quorum: a membership change moves a key to its new replica, then drops it") {
  auto c = base_config();
  c.n = 1;
  c.w = 1;
  c.r = 1;
  c.initial_members = 2;
  c.membership = {{ms(500), 2, true}};
  Cluster cl(3, c);
  cl.start();
  CHECK(cl.node[0]->ring().members() == std::vector<uint32_t>{0, 1});
  std::vector<uint64_t> keys;
  for (uint64_t k = 0; k < 60; ++k) {
    cl.send(0, request(kv::KvOpKind::kPut, k, static_cast<int64_t>(k + 1000), k + 1));
    keys.push_back(k);
  }
  // Which keys will change owner, by the ring after the join.
  const Ring after({{0, 1.0}, {1, 1.0}, {2, 1.0}}, 16, 0);
  int moving = 0;
  for (uint64_t k : keys)
    moving += after.owner(key_position(k, 0)) == 2 ? 1 : 0;
  REQUIRE(moving > 0);
  cl.run_for(seconds(1));
  CHECK(cl.counter("membership_changes") == 3);
  CHECK(cl.counter("keys_moved") == moving);
  for (uint64_t k : keys) {
    const NodeId owner = after.owner(key_position(k, 0));
    CHECK(cl.values_at(owner, k) == std::vector<int64_t>{static_cast<int64_t>(k + 1000)});
    for (NodeId n = 0; n < 3; ++n) {
      if (n != owner) CHECK(cl.node[n]->versions(k) == nullptr);
    }
  }
}

TEST_CASE("quorum: anti-entropy finds and repairs exactly the keys that differ") {
  auto c = base_config();
  c.anti_entropy_interval = ms(100);
  c.merkle_ranges = 4;
  c.merkle_depth = 5;
  c.n = 2;
  c.w = 1;
  c.r = 1;
  Cluster cl(2, c);
  cl.start();
  for (uint64_t k = 0; k < 200; ++k)
    cl.send(0, request(kv::KvOpKind::kPut, k, static_cast<int64_t>(k), k + 1));
  // Node 1 misses three writes.
  cl.isolate(1);
  for (uint64_t k = 0; k < 3; ++k)
    cl.send(0, request(kv::KvOpKind::kPut, k, static_cast<int64_t>(k + 500), k + 300));
  cl.heal();
  const int hashes_before = cl.delivered["merkle_hashes"];
  cl.run_for(ms(250));
  CHECK(cl.counter("anti_entropy_rounds") >= 1);
  CHECK(cl.counter("merkle_keys_repaired") == 3);
  for (uint64_t k = 0; k < 3; ++k)
    CHECK(cl.values_at(1, k) == std::vector<int64_t>{static_cast<int64_t>(k + 500)});
  // Only the differing leaves' keys travelled: at most one leaf each, a few keys.
  for (const auto& [to, m] : cl.ctx[0]->sent_of<MerkleSync>())
    CHECK(m.entries.size() <= 6);
  CHECK(cl.delivered["merkle_hashes"] > hashes_before);
  // In sync: a round ends at the roots.
  const int syncs = cl.delivered["merkle_sync"];
  cl.run_for(ms(500));
  CHECK(cl.delivered["merkle_sync"] == syncs);
  CHECK(cl.counter("merkle_hash_bytes") > 0);
  CHECK(cl.counter("merkle_repair_bytes") > 0);
  for (auto& n : cl.node)
    n->check_invariants();
}

// --- the client side of causal contexts -------------------------------------------------

namespace {

struct ClientRig {
  explicit ClientRig(kv::KvClient::Config c) : config(std::move(c)), ctx(10) {
    config.target = "store";
    config.arrivals.process = kit::ArrivalSpec::Process::kFixed;
    config.arrivals.rate.base = 1;
    config.calls.timeout = ms(100);
    ctx.groups["store"] = {0, 1, 2};
    client = std::make_unique<kv::KvClient>(config);
    client->on_start(ctx);
  }
  // Fires timers until a message is sent; returns it.
  std::pair<NodeId, Message> next() {
    const size_t before = ctx.sent.size();
    while (ctx.sent.size() == before)
      REQUIRE(ctx.fire_next(*client));
    return {ctx.sent.back().to, ctx.sent.back().msg};
  }
  kv::KvClient::Config config;
  RecordingContext ctx;
  std::unique_ptr<kv::KvClient> client;
};

KvResponse with_siblings(const KvRequest& req, std::vector<std::vector<int64_t>> sibs,
                         std::vector<uint64_t> context) {
  KvResponse r = kv::kv_reply(req, KvStatus::kOk);
  kv::KvCausal c;
  for (const auto& s : sibs) {
    KvValue v;
    for (int64_t e : s)
      v.append(e, 10);
    c.siblings.push_back(v);
  }
  r.value = c.siblings.back();
  c.context = std::move(context);
  r.causal = kv::KvCausalPtr(std::move(c));
  return r;
}

}  // namespace

TEST_CASE("kv_client: merge policies decide what a read of siblings returns") {
  using Merge = kv::KvClient::Merge;
  const std::vector<std::pair<Merge, std::vector<int64_t>>> cases = {
      {Merge::kLast, {2, 3}}, {Merge::kFirst, {1, 2}}, {Merge::kUnion, {1, 2, 3}}};
  for (const auto& [merge, expected] : cases) {
    kv::KvClient::Config c;
    c.mix = {{"get", 1}};
    c.merge = merge;
    ClientRig rig(c);
    auto [to, msg] = rig.next();
    const KvRequest req = *msg.get<KvRequest>();
    rig.ctx.deliver(*rig.client, to, with_siblings(req, {{1, 2}, {2, 3}}, {7, 1}));
    const auto& op = rig.ctx.recorder().ops.at(0);
    CHECK(op.read == expected);
    CHECK(rig.ctx.counter("sibling_reads") == 1);
    CHECK(rig.ctx.counter("siblings_read") == 2);
  }
}

TEST_CASE("kv_client: with causal_context, a write sends back the key's last context") {
  kv::KvClient::Config c;
  c.mix = {{"get", 0.5}, {"put", 0.5}};
  c.keys.n = 1;
  c.causal_context = true;
  ClientRig rig(c);
  bool saw_context = false;
  std::vector<uint64_t> last;
  for (int i = 0; i < 20; ++i) {
    auto [to, msg] = rig.next();
    if (const auto* cr = msg.get<kv::KvContextRequest>()) {
      CHECK(cr->req.op == kv::KvOpKind::kPut);
      CHECK(cr->context == last);
      saw_context = true;
      last = {static_cast<uint64_t>(i), 1};
      rig.ctx.deliver(*rig.client, to, with_siblings(cr->req, {{1}}, last));
      continue;
    }
    const KvRequest req = *msg.get<KvRequest>();
    CHECK((req.op == kv::KvOpKind::kGet || last.empty()));
    last = {static_cast<uint64_t>(i), 2};
    rig.ctx.deliver(*rig.client, to, with_siblings(req, {{1}}, last));
  }
  CHECK(saw_context);

  SECTION("without it, writes go out blind") {
    kv::KvClient::Config b = c;
    b.causal_context = false;
    ClientRig blind(b);
    for (int i = 0; i < 10; ++i) {
      auto [to, msg] = blind.next();
      REQUIRE(msg.get<KvRequest>());
      blind.ctx.deliver(*blind.client, to, with_siblings(*msg.get<KvRequest>(), {{1}}, {1, 1}));
    }
  }
}

TEST_CASE("kv_client: key_owner sends each key where it was last served or redirected") {
  kv::KvClient::Config c;
  c.mix = {{"get", 1}};
  c.keys.n = 1;
  c.calls.balancer.kind = kit::BalancerKind::kKeyOwner;
  ClientRig rig(c);
  auto [to, msg] = rig.next();
  KvRequest req = *msg.get<KvRequest>();
  const NodeId owner = to == 2 ? 1 : 2;
  rig.ctx.deliver(*rig.client, to, kv::kv_reply(req, KvStatus::kNotLeader, owner));
  auto [to2, msg2] = rig.next();  // the redirect
  CHECK(to2 == owner);
  rig.ctx.deliver(*rig.client, to2, kv::kv_reply(*msg2.get<KvRequest>(), KvStatus::kOk));
  for (int i = 0; i < 5; ++i) {
    auto [t, m] = rig.next();
    CHECK(t == owner);
    rig.ctx.deliver(*rig.client, t, kv::kv_reply(*m.get<KvRequest>(), KvStatus::kOk));
  }
}
