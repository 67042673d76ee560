#include "models/quorum/store.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "sim/core/units.h"

namespace dsim::quorum {

using kv::KvOpKind;
using kv::KvRequest;
using kv::KvResponse;
using kv::KvStatus;
using kv::KvValue;

namespace {

enum TagKind : uint64_t {
  kOpTimer = 1,
  kMaintenanceTick = 2,
  kAeTick = 3,
  kAeTimeout = 4,
  kSyncTick = 5,
  kMembershipTimer = 6,
  kForwardTimer = 7,
};
constexpr int kTagShift = 56;
constexpr uint64_t kTagMask = (uint64_t{1} << kTagShift) - 1;
TimerTag tag(TagKind k, uint64_t v) {
  return (static_cast<uint64_t>(k) << kTagShift) | v;
}

constexpr uint64_t kSyncForReplies = 1;

std::string hex16(uint64_t x) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}
std::string data_key(uint64_t key) {
  return "d/" + hex16(key);
}
std::string hint_key(NodeId owner, uint64_t key) {
  return "h/" + hex16(owner).substr(8) + "/" + hex16(key);
}
uint64_t parse_hex(std::string_view s) {
  uint64_t x = 0;
  for (char c : s) {
    x <<= 4;
    if (c >= '0' && c <= '9') x |= static_cast<uint64_t>(c - '0');
    if (c >= 'a' && c <= 'f') x |= static_cast<uint64_t>(c - 'a' + 10);
  }
  return x;
}

template <class T>
T make_target_of(NodeId n) {
  T t;
  t.node = n;
  return t;
}

bool contains(const std::vector<NodeId>& v, NodeId n) {
  return std::find(v.begin(), v.end(), n) != v.end();
}

}  // namespace

// --- configuration --------------------------------------------------------------------

QuorumStore::Config QuorumStore::parse(ParamReader& r) {
  Config c;
  c.n = r.integer("n", c.n,
                  "replicas per key (N): the length of a key's preference list "
                  "([004]:171-174: N=3, W=2, R=2)",
                  1, 1000);
  c.w = r.integer(
      "w", c.w, "acknowledgements a write waits for (W), the coordinator's own included", 1, 1000);
  c.r =
      r.integer("r", c.r, "replies a read waits for (R), the coordinator's own included", 1, 1000);
  if (c.w > c.n) r.error("w", "must be <= n");
  if (c.r > c.n) r.error("r", "must be <= n");
  c.vnodes = r.integer("vnodes", c.vnodes,
                       "virtual nodes (tokens) per node of weight 1 ([002]:710-715: 100-150 "
                       "homogeneous, 150-200 below 10 nodes; the seeds' code uses 150)",
                       1, 100000);
  if (const ParamNode* w = r.raw("weights", "list of numbers",
                                 "capacity weight of each node by index (a node gets vnodes x "
                                 "weight tokens; [002]:713: 2x RAM -> 2x virtual nodes); "
                                 "missing entries are 1",
                                 "[] (all 1)")) {
    if (w->kind != ParamNode::Kind::kList) {
      r.error("weights", "expected a list of numbers, e.g. [1, 1, 2]");
    } else {
      for (const auto& item : w->items) {
        std::string err;
        auto v =
            item.kind == ParamNode::Kind::kScalar ? parse_number(item.scalar, &err) : std::nullopt;
        if (!v || !(*v > 0) || *v > 1000) {
          r.error("weights",
                  "each weight must be a number in (0, 1000], got '" + item.scalar + "'");
          continue;
        }
        c.weights.push_back(*v);
      }
    }
  }
  c.ring_seed = static_cast<uint64_t>(
      r.integer("ring_seed", 0, "seed of the token positions (the same ring on every node)", 0));
  c.initial_members =
      r.integer("initial_members", c.initial_members,
                "the first k nodes of the group form the ring at the start; the others join "
                "through `membership` (0: every node)",
                0, 1'000'000);
  if (const ParamNode* m =
          r.raw("membership", "list of {at, add|remove}",
                "scheduled membership changes: [{at: 10s, add: 5}, {at: 20s, remove: 0}] (node "
                "indexes in the group; each node applies a change when its clock reaches `at`)",
                "[] (none)")) {
    if (m->kind != ParamNode::Kind::kList) {
      r.error("membership", "expected a list of {at: <duration>, add: <node>} or {at, remove}");
    } else {
      for (size_t i = 0; i < m->items.size(); ++i) {
        ParamReader item(&m->items[i], &r.env(),
                         r.path() + ".membership[" + std::to_string(i) + "]", m->items[i].loc);
        MembershipChange ch;
        ch.at = item.duration("at", Duration::zero(), "when");
        const bool add = item.has("add");
        const bool remove = item.has("remove");
        const int64_t joining =
            item.integer("add", 0, "index of the node that joins", 0, 1'000'000);
        const int64_t leaving =
            item.integer("remove", 0, "index of the node that leaves", 0, 1'000'000);
        if (add == remove) {
          item.error("", "give exactly one of add: <node index> or remove: <node index>");
        }
        item.finish();
        ch.node = static_cast<uint32_t>(add ? joining : leaving);
        ch.add = add;
        c.membership.push_back(ch);
      }
      std::stable_sort(
          c.membership.begin(), c.membership.end(),
          [](const MembershipChange& a, const MembershipChange& b) { return a.at < b.at; });
    }
  }
  const std::string coord =
      r.choice("coordinator", "server", {"server", "client"},
               "server: a node outside the key's replicas forwards the request to one of them (one "
               "more hop); client: it answers 'not leader, try X' and the client goes there (with "
               "kv_client target_policy: key_owner it remembers X: a partition-aware client)");
  c.coordinator = coord == "client" ? Coordinator::kClient : Coordinator::kServer;
  const std::string choice =
      r.choice("coordinator_choice", "receiver", {"receiver", "first", "random"},
               "which replica coordinates: the receiving node if it is one (else the first), the "
               "first of the preference list (Dynamo), or a random one");
  c.coordinator_choice = choice == "first"    ? Choice::kFirst
                         : choice == "random" ? Choice::kRandom
                                              : Choice::kReceiver;
  c.sloppy_quorum = r.boolean("sloppy_quorum", c.sloppy_quorum,
                              "true: replace unreachable replicas by the next healthy nodes on "
                              "the ring, which keep hinted writes ([003]:563-566); false: a "
                              "strict quorum of the preference list");
  const std::string versioning =
      r.choice("versioning", "vector_clock", {"vector_clock", "lww"},
               "vector_clock: concurrent writes are kept as siblings for the client to merge; "
               "lww: the write with the latest coordinator wall-clock timestamp wins");
  c.versioning = versioning == "lww" ? Versioning::kLww : Versioning::kVectorClock;
  const std::string blind = r.choice(
      "blind_write_context", "local", {"local", "none"},
      "a put without a client context supersedes what the coordinator holds (local) or "
      "nothing, becoming a sibling of every existing version (none, as Riak's allow_mult)");
  c.blind_write_context = blind == "none" ? BlindContext::kNone : BlindContext::kLocal;
  c.max_siblings =
      r.integer("max_siblings", c.max_siblings,
                "siblings kept per key; beyond, the oldest are dropped (counted)", 1, 1'000'000);
  auto fanout = [&](std::string_view key, std::string_view what) {
    const std::string f = r.choice(
        key, "all", {"all", "quorum"},
        std::string("all: send the ") + std::string(what) +
            " to every replica of the key, answer at the quorum (Dynamo); quorum: only to a "
            "random quorum of them (no propagation beyond it: the PBS model)");
    return f == "quorum" ? Fanout::kQuorum : Fanout::kAll;
  };
  c.write_fanout = fanout("write_fanout", "write");
  c.read_fanout = fanout("read_fanout", "read");
  c.replica_timeout = r.duration("replica_timeout", c.replica_timeout,
                                 "a replica silent this long is suspected, and the operation "
                                 "moves on to stand-ins (sloppy) or fails (strict)");
  c.suspect_for = r.duration("suspect_for", c.suspect_for,
                             "how long a suspected node is avoided before being tried again "
                             "(a message from it clears the suspicion at once)");
  c.max_rounds = r.integer("max_rounds", c.max_rounds,
                           "rounds an operation may take (each waits replica_timeout; after the "
                           "first, silent replicas are replaced) before it fails",
                           1, 100);
  const std::string rr = r.choice(
      "read_repair", "background", {"none", "background", "sync"},
      "after a read, update the replicas that returned older versions: background (Dynamo 5: "
      "after answering, once the late replies are in), sync (before answering, until W "
      "replicas hold what the read returns), or none");
  c.read_repair = rr == "none"   ? ReadRepair::kNone
                  : rr == "sync" ? ReadRepair::kSync
                                 : ReadRepair::kBackground;
  c.read_repair_wait = r.duration("read_repair_wait", c.read_repair_wait,
                                  "background read repair: how long to wait for the replies "
                                  "after the R-th");
  c.hinted_handoff = r.boolean("hinted_handoff", c.hinted_handoff,
                               "a stand-in returns hinted writes to their node when it answers "
                               "again ([003]:435-438)");
  c.handoff_interval = r.duration("handoff_interval", c.handoff_interval,
                                  "how often a node tries to hand hinted writes back (and to "
                                  "resend unacknowledged membership transfers)");
  c.handoff_batch =
      r.integer("handoff_batch", c.handoff_batch, "keys per handoff message", 1, 1'000'000);
  c.anti_entropy_interval =
      r.duration("anti_entropy_interval", c.anti_entropy_interval,
                 "how often a node compares Merkle trees with its next peer (0: never; the seeds: "
                 "weekly, [002]:854)");
  c.merkle_ranges = r.integer("merkle_ranges", c.merkle_ranges,
                              "key ranges, one Merkle tree each (a power of two)", 1, 65536);
  if ((c.merkle_ranges & (c.merkle_ranges - 1)) != 0) {
    r.error("merkle_ranges", "must be a power of two");
  }
  c.merkle_depth = r.integer("merkle_depth", c.merkle_depth,
                             "levels below each tree's root: 2^depth leaves per range "
                             "([002]:864: 15-20 for large data sets)",
                             0, 40);
  c.sync_writes = r.boolean("sync_writes", c.sync_writes,
                            "acknowledge a write only once synced to disk (else at once: a "
                            "crash loses what the last sync did not cover)");
  c.sync_period = r.duration("sync_period", c.sync_period,
                             "without sync_writes: sync the disk this often (0: never)");
  c.transfer_batch = r.integer("transfer_batch", c.transfer_batch,
                               "keys per membership transfer message", 1, 1'000'000);
  if (c.replica_timeout <= Duration::zero()) r.error("replica_timeout", "must be > 0");
  if (c.handoff_interval <= Duration::zero()) r.error("handoff_interval", "must be > 0");
  return c;
}

// --- start, ring and membership -----------------------------------------------------

void QuorumStore::on_start(Context& ctx) {
  m_gets_ = ctx.intern("coordinated_gets");
  m_puts_ = ctx.intern("coordinated_puts");
  m_appends_ = ctx.intern("coordinated_appends");
  m_cas_ = ctx.intern("coordinated_cas");
  m_forwarded_ = ctx.intern("forwarded");
  m_redirected_ = ctx.intern("redirected");
  m_unavailable_ = ctx.intern("unavailable");
  m_indeterminate_ = ctx.intern("indeterminate");
  m_sloppy_ = ctx.intern("sloppy_writes");
  m_hints_stored_ = ctx.intern("hints_stored");
  m_hints_replayed_ = ctx.intern("hints_replayed");
  m_read_repairs_ = ctx.intern("read_repairs");
  m_read_repair_bytes_ = ctx.intern("read_repair_bytes");
  m_reads_ok_ = ctx.intern("reads_ok");
  m_read_siblings_ = ctx.intern("read_siblings");
  m_reads_with_siblings_ = ctx.intern("reads_with_siblings");
  m_lww_discarded_ = ctx.intern("lww_discarded");
  m_siblings_capped_ = ctx.intern("siblings_capped");
  m_ae_rounds_ = ctx.intern("anti_entropy_rounds");
  m_merkle_hash_bytes_ = ctx.intern("merkle_hash_bytes");
  m_merkle_repair_bytes_ = ctx.intern("merkle_repair_bytes");
  m_merkle_keys_repaired_ = ctx.intern("merkle_keys_repaired");
  m_membership_changes_ = ctx.intern("membership_changes");
  m_keys_moved_ = ctx.intern("keys_moved");
  m_transfer_bytes_ = ctx.intern("transfer_bytes");
  m_suspicions_ = ctx.intern("suspicions");
  m_disk_refused_ = ctx.intern("disk_refused");
  m_duplicate_appends_skipped_ = ctx.intern("duplicate_appends_skipped");
  m_cas_mismatch_ = ctx.intern("cas_mismatches");
  m_hints_pending_ = ctx.intern("hints_pending");
  m_keys_stored_ = ctx.intern("keys_stored");

  self_ = ctx.self();
  const std::string name = ctx.node_name(ctx.self());
  group_name_ = name.substr(0, name.rfind('.'));
  const auto nodes = ctx.group_nodes(group_name_);
  group_.assign(nodes.begin(), nodes.end());
  if (group_.empty()) group_.push_back(ctx.self());
  uint32_t bits = 0;
  while ((1u << bits) < static_cast<uint32_t>(config_.merkle_ranges))
    ++bits;
  layout_ = MerkleLayout{bits, static_cast<uint32_t>(config_.merkle_depth)};

  // A new incarnation after every restart: its dots never repeat those written before.
  DurableStore& disk = ctx.disk();
  if (auto inc = disk.get("meta/incarnation")) incarnation_ = parse_hex(*inc);
  ++incarnation_;
  disk.write("meta/incarnation", hex16(incarnation_));
  disk.sync(0);
  next_op_ = (incarnation_ << 40) | 1;
  next_forward_ = (incarnation_ << 40) | 1;
  next_batch_ = (incarnation_ << 40) | 1;
  next_round_ = (incarnation_ << 40) | 1;
  disk.for_each("d/", [&](std::string_view k, std::string_view v) {
    if (auto s = decode(v); s && !s->empty()) data_[parse_hex(k.substr(2))] = std::move(*s);
  });
  disk.for_each("h/", [&](std::string_view k, std::string_view) {
    const size_t slash = k.find('/', 2);
    if (slash == std::string_view::npos) return;
    hints_.emplace(static_cast<NodeId>(parse_hex(k.substr(2, slash - 2))),
                   parse_hex(k.substr(slash + 1)));
  });

  size_t applied = 0;
  while (applied < config_.membership.size() &&
         config_.membership[applied].at <= ctx.now().since_start()) {
    ++applied;
  }
  ring_ = ring_for(applied);
  applied_events_ = applied;
  if (applied < config_.membership.size()) {
    ctx.set_timer(config_.membership[applied].at - ctx.now().since_start(),
                  tag(kMembershipTimer, applied));
  }
  if ((config_.hinted_handoff && config_.sloppy_quorum) || !config_.membership.empty()) {
    ctx.set_timer(config_.handoff_interval, tag(kMaintenanceTick, 0));
  }
  if (config_.anti_entropy_interval > Duration::zero()) {
    // A random first phase, so the nodes' rounds do not all start at once.
    const auto first = Duration::from_ns(static_cast<int64_t>(
        ctx.rng().uniform01() * static_cast<double>(config_.anti_entropy_interval.ns())));
    ctx.set_timer(first, tag(kAeTick, 0));
  }
  if (!config_.sync_writes && config_.sync_period > Duration::zero()) {
    ctx.set_timer(config_.sync_period, tag(kSyncTick, 0));
  }
  update_levels(ctx);
}

uint32_t QuorumStore::index_of(NodeId id) const {
  auto it = std::find(group_.begin(), group_.end(), id);
  return static_cast<uint32_t>(it - group_.begin());
}

Ring QuorumStore::ring_for(size_t applied_events) const {
  const auto size = static_cast<uint32_t>(group_.size());
  std::set<uint32_t> members;
  const uint32_t initial =
      config_.initial_members > 0
          ? std::min<uint32_t>(size, static_cast<uint32_t>(config_.initial_members))
          : size;
  for (uint32_t i = 0; i < initial; ++i)
    members.insert(i);
  for (size_t e = 0; e < applied_events && e < config_.membership.size(); ++e) {
    const auto& ch = config_.membership[e];
    if (ch.node >= size) continue;  // beyond the group: ignored
    if (ch.add) {
      members.insert(ch.node);
    } else {
      members.erase(ch.node);
    }
  }
  std::vector<Ring::Member> list;
  for (uint32_t m : members) {
    list.push_back({m, m < config_.weights.size() ? config_.weights[m] : 1.0});
  }
  return Ring(list, static_cast<uint32_t>(config_.vnodes), config_.ring_seed);
}

void QuorumStore::apply_membership(Context& ctx, size_t applied_events) {
  const Ring old = ring_;
  ring_ = ring_for(applied_events);
  applied_events_ = applied_events;
  ctx.record().count(m_membership_changes_);
  send_transfers(ctx, old);
  if (applied_events < config_.membership.size()) {
    const Duration wait = config_.membership[applied_events].at - ctx.now().since_start();
    ctx.set_timer(std::max(wait, Duration::zero()), tag(kMembershipTimer, applied_events));
  }
}

std::vector<NodeId> QuorumStore::home(const Ring& ring, uint64_t key) const {
  std::vector<NodeId> out;
  for (uint32_t m : ring.walk(key_position(key, config_.ring_seed), static_cast<size_t>(config_.n)))
    out.push_back(node_of(m));
  return out;
}

std::vector<NodeId> QuorumStore::home(uint64_t key) const {
  return home(ring_, key);
}

bool QuorumStore::is_home(uint64_t key) const {
  return contains(home(key), self_);
}

// --- failure detection and targets ----------------------------------------------------

bool QuorumStore::healthy(Context& ctx, NodeId n) const {
  if (n == self_) return true;
  auto it = suspected_until_.find(n);
  return it == suspected_until_.end() || it->second <= ctx.now();
}

void QuorumStore::suspect(Context& ctx, NodeId n) {
  if (n == self_) return;
  if (healthy(ctx, n)) ctx.record().count(m_suspicions_);
  suspected_until_[n] = ctx.now() + config_.suspect_for;
}

void QuorumStore::heard_from(NodeId n) {
  suspected_until_.erase(n);
}

std::vector<QuorumStore::Target> QuorumStore::targets(Context& ctx, uint64_t key) const {
  std::vector<Target> out;
  const uint64_t pos = key_position(key, config_.ring_seed);
  const auto n = static_cast<size_t>(config_.n);
  if (!config_.sloppy_quorum) {
    for (uint32_t m : ring_.walk(pos, n)) {
      if (healthy(ctx, node_of(m))) out.push_back(make_target_of<Target>(node_of(m)));
    }
    return out;
  }
  // Sloppy quorum: the first N healthy nodes clockwise; a stand-in beyond the preference
  // list keeps its writes for the first unhealthy home replica not yet stood in for.
  const auto walk = ring_.walk(pos, ring_.members().size());
  std::vector<NodeId> missing;
  size_t next_missing = 0;
  for (size_t i = 0; i < walk.size(); ++i) {
    const NodeId node = node_of(walk[i]);
    if (i < n) {
      if (healthy(ctx, node)) {
        out.push_back(make_target_of<Target>(node));
      } else {
        missing.push_back(node);
      }
    } else if (next_missing < missing.size() && healthy(ctx, node)) {
      Target t = make_target_of<Target>(node);
      t.hint = missing[next_missing++];
      out.push_back(t);
    }
    if (out.size() >= n) break;
  }
  return out;
}

// --- messages -------------------------------------------------------------------------

void QuorumStore::on_message(Context& ctx, const Envelope& env) {
  const Message& msg = env.msg;
  if (env.from != self_) heard_from(env.from);
  if (const auto* req = msg.get<KvRequest>()) {
    on_client(ctx, req->call.reply_to, *req, nullptr, false);
  } else if (const auto* creq = msg.get<kv::KvContextRequest>()) {
    on_client(ctx, creq->req.call.reply_to, creq->req, &creq->context, false);
  } else if (const auto* fwd = msg.get<QuorumForward>()) {
    ctx.send(env.from, QuorumForwardAck{fwd->id});
    on_client(ctx, fwd->client, fwd->req, fwd->has_context ? &fwd->context : nullptr, true);
  } else if (const auto* got = msg.get<QuorumForwardAck>()) {
    forwards_.erase(got->id);
  } else if (const auto* w = msg.get<QuorumWrite>()) {
    const bool stored = store(ctx, w->key, w->versions);
    if (stored && w->hint != kNoNode && w->hint != self_) add_hint(ctx, w->hint, w->key);
    reply_durably(ctx, env.from, QuorumWriteAck{w->op, stored});
  } else if (const auto* ack = msg.get<QuorumWriteAck>()) {
    on_write_ack(ctx, ack->op, env.from, ack->stored);
  } else if (const auto* rd = msg.get<QuorumRead>()) {
    QuorumReadReply reply{rd->op, rd->key, {}};
    if (auto it = data_.find(rd->key); it != data_.end()) reply.versions = it->second;
    ctx.send(env.from, std::move(reply));
  } else if (const auto* rep = msg.get<QuorumReadReply>()) {
    on_read_reply(ctx, rep->op, env.from, rep->versions);
  } else if (const auto* fix = msg.get<QuorumRepair>()) {
    const bool stored = store(ctx, fix->key, fix->versions);
    if (fix->op != 0) reply_durably(ctx, env.from, QuorumRepairAck{fix->op, stored});
  } else if (const auto* fack = msg.get<QuorumRepairAck>()) {
    on_write_ack(ctx, fack->op, env.from, fack->stored);
  } else if (const auto* h = msg.get<QuorumHandoff>()) {
    bool stored = true;
    for (const auto& e : h->entries)
      stored = store(ctx, e.key, e.versions) && stored;
    reply_durably(ctx, env.from, QuorumHandoffAck{h->batch, stored});
  } else if (const auto* hack = msg.get<QuorumHandoffAck>()) {
    on_handoff_ack(ctx, env.from, *hack);
  } else if (const auto* t = msg.get<QuorumTransfer>()) {
    bool stored = true;
    for (const auto& e : t->entries)
      stored = store(ctx, e.key, e.versions) && stored;
    reply_durably(ctx, env.from, QuorumTransferAck{t->batch, stored});
  } else if (const auto* tack = msg.get<QuorumTransferAck>()) {
    on_transfer_ack(ctx, *tack);
  } else if (const auto* mh = msg.get<MerkleHashes>()) {
    on_merkle_hashes(ctx, env.from, *mh);
  } else if (const auto* md = msg.get<MerkleDiff>()) {
    on_merkle_diff(ctx, env.from, *md);
  } else if (const auto* ms = msg.get<MerkleSync>()) {
    on_merkle_sync(ctx, env.from, *ms);
  } else if (const auto* msr = msg.get<MerkleSyncReply>()) {
    on_merkle_sync_reply(ctx, env.from, *msr);
  }
}

void QuorumStore::on_timer(Context& ctx, TimerId /*id*/, TimerTag t) {
  const auto kind = static_cast<TagKind>(t >> kTagShift);
  const uint64_t value = t & kTagMask;
  switch (kind) {
    case kOpTimer:
      op_timeout(ctx, value);
      return;
    case kMaintenanceTick:
      handoff_tick(ctx);
      ctx.set_timer(config_.handoff_interval, tag(kMaintenanceTick, 0));
      return;
    case kAeTick:
      anti_entropy_tick(ctx);
      ctx.set_timer(config_.anti_entropy_interval, tag(kAeTick, 0));
      return;
    case kAeTimeout:
      if (round_.active && (round_.id & kTagMask) == value) end_round(ctx, false);
      return;
    case kSyncTick:
      if (unsynced_) {
        ctx.disk().sync(0);
        unsynced_ = false;
      }
      ctx.set_timer(config_.sync_period, tag(kSyncTick, 0));
      return;
    case kMembershipTimer:
      if (value == applied_events_) apply_membership(ctx, applied_events_ + 1);
      return;
    case kForwardTimer:
      forward_timeout(ctx, value);
      return;
  }
}

void QuorumStore::on_disk(Context& ctx, DiskOpId op, uint64_t /*tag*/) {
  auto it = after_sync_.find(op.seq);
  if (it == after_sync_.end()) return;
  std::vector<PendingSend> sends = std::move(it->second);
  after_sync_.erase(it);
  for (auto& s : sends) {
    if (s.to == self_) {
      on_message(ctx, Envelope{self_, self_, s.msg});
    } else {
      ctx.send(s.to, std::move(s.msg));
    }
  }
}

void QuorumStore::reply_durably(Context& ctx, NodeId to, Message msg) {
  if (!config_.sync_writes) {
    if (to == self_) {
      on_message(ctx, Envelope{self_, self_, msg});
    } else {
      ctx.send(to, std::move(msg));
    }
    return;
  }
  const DiskOpId op = ctx.disk().sync(kSyncForReplies);
  unsynced_ = false;
  after_sync_[op.seq].push_back(PendingSend{to, std::move(msg)});
}

// --- coordination ---------------------------------------------------------------------

void QuorumStore::on_client(Context& ctx, NodeId client, const KvRequest& req,
                            const std::vector<uint64_t>* context, bool forwarded, uint32_t tries) {
  const std::vector<Target> tg = targets(ctx, req.key);
  const auto r = static_cast<size_t>(config_.r);
  const auto w = static_cast<size_t>(config_.w);
  // Gets with synchronous read repair also write back to W replicas; appends and cas
  // read, then write.
  const bool get_only = req.op == KvOpKind::kGet && config_.read_repair != ReadRepair::kSync;
  const size_t needed = get_only ? r : req.op == KvOpKind::kPut ? w : std::max(r, w);
  if (tg.size() < needed) {
    // Not enough replicas known healthy: refuse before touching anything (a definite
    // failure, like Cassandra's UnavailableException).
    ctx.record().count(m_unavailable_);
    ctx.send(client, kv::kv_reply(req, KvStatus::kUnavailable));
    return;
  }
  const bool self_in =
      std::any_of(tg.begin(), tg.end(), [&](const Target& t) { return t.node == self_; });
  if (forwarded || (config_.coordinator_choice == Choice::kReceiver && self_in)) {
    coordinate(ctx, client, req, context);
    return;
  }
  const NodeId pick = config_.coordinator_choice == Choice::kRandom
                          ? tg[ctx.rng().below(static_cast<uint32_t>(tg.size()))].node
                          : tg[0].node;
  if (pick == self_) {
    coordinate(ctx, client, req, context);
  } else if (config_.coordinator == Coordinator::kServer) {
    ctx.record().count(m_forwarded_);
    const uint64_t id = next_forward_++;
    QuorumForward f{id, client, req, {}, context != nullptr};
    if (context) f.context = *context;
    Forward& rec = forwards_[id];
    rec.client = client;
    rec.req = req;
    rec.context = f.context;
    rec.has_context = f.has_context;
    rec.to = pick;
    rec.tries = tries + 1;
    ctx.set_timer(config_.replica_timeout, tag(kForwardTimer, id));
    ctx.send(pick, std::move(f));
  } else {
    ctx.record().count(m_redirected_);
    ctx.send(client, kv::kv_reply(req, KvStatus::kNotLeader, pick));
  }
}

void QuorumStore::forward_timeout(Context& ctx, uint64_t id) {
  auto it = forwards_.find(id);       // ids stay below 2^56: the tag holds them whole
  if (it == forwards_.end()) return;  // acknowledged
  const Forward f = std::move(it->second);
  forwards_.erase(it);
  // The coordinator did not take the request over: suspect it and try another (the
  // request most likely never reached it), up to max_rounds forwards.
  suspect(ctx, f.to);
  if (f.tries >= static_cast<uint32_t>(config_.max_rounds)) {
    ctx.record().count(m_unavailable_);
    ctx.send(f.client, kv::kv_reply(f.req, KvStatus::kUnavailable));
    return;
  }
  on_client(ctx, f.client, f.req, f.has_context ? &f.context : nullptr, false, f.tries);
}

uint64_t QuorumStore::actor_for(uint64_t key) const {
  auto it = key_actor_.find(key);
  const uint64_t epoch = it == key_actor_.end() ? 0 : it->second.epoch;
  return (static_cast<uint64_t>(self_) << 32) | ((incarnation_ & 0xffff) << 16) | (epoch & 0xffff);
}

Version QuorumStore::new_version(Context& ctx, uint64_t key, VClock past, KvValue value,
                                 const Siblings& seen) {
  Version v;
  v.dot.actor = actor_for(key);
  KeyActor& ka = key_actor_[key];
  uint64_t counter =
      std::max({max_counter(seen, v.dot.actor), past.get(v.dot.actor), ka.last_counter});
  if (auto it = data_.find(key); it != data_.end()) {
    counter = std::max(counter, max_counter(it->second, v.dot.actor));
  }
  v.dot.counter = counter + 1;
  ka.last_counter = v.dot.counter;
  v.past = std::move(past);
  v.ts = ctx.now().ns();
  v.value = std::move(value);
  return v;
}

void QuorumStore::coordinate(Context& ctx, NodeId client, const KvRequest& req,
                             const std::vector<uint64_t>* context) {
  const uint64_t id = next_op_++;
  Op& op = ops_[id];
  op.client = client;
  op.req = req;
  op.has_context = context != nullptr;
  if (context) op.client_context = *context;
  switch (req.op) {
    case KvOpKind::kGet:
      ctx.record().count(m_gets_);
      start_read(ctx, id);
      return;
    case KvOpKind::kAppend:
      ctx.record().count(m_appends_);
      start_read(ctx, id);
      return;
    case KvOpKind::kCas:
      ctx.record().count(m_cas_);
      start_read(ctx, id);
      return;
    case KvOpKind::kPut: {
      ctx.record().count(m_puts_);
      VClock past;
      const Siblings none;
      const auto it = data_.find(req.key);
      const Siblings& local = it == data_.end() ? none : it->second;
      if (op.has_context && config_.versioning == Versioning::kVectorClock) {
        // Dynamo 4.4: the client names the versions it updates by their context.
        if (auto c = VClock::from_words(op.client_context)) past = std::move(*c);
      } else if (config_.blind_write_context == BlindContext::kLocal) {
        past = context_of(local);
      }
      op.written = new_version(ctx, req.key, std::move(past),
                               KvValue::single(req.value, req.value_bytes), {});
      start_write(ctx, id);
      return;
    }
  }
}

void QuorumStore::send_phase(Context& ctx, uint64_t op_id, Target& t) {
  Op& op = ops_.at(op_id);
  t.asked = true;
  if (t.node == self_) return;  // the caller handles the local replica last
  switch (op.phase) {
    case Phase::kRead:
      ctx.send(t.node, QuorumRead{op_id, op.req.key});
      return;
    case Phase::kWrite: {
      QuorumWrite w{op_id, op.req.key, op.payload, t.hint};
      if (t.hint != kNoNode && !op.substituted) {
        op.substituted = true;
        ctx.record().count(m_sloppy_);
      }
      ctx.send(t.node, std::move(w));
      return;
    }
    case Phase::kRepair: {
      QuorumRepair fix{op_id, op.req.key, op.merged};
      ctx.record().count(m_read_repairs_);
      ctx.record().count(m_read_repair_bytes_, fix.size_bytes());
      ctx.send(t.node, std::move(fix));
      return;
    }
    case Phase::kLinger:
      return;
  }
}

namespace {

// Up to k indexes of [0, n), at random (all of them when k >= n).
std::vector<size_t> pick_indexes(Rng& rng, size_t n, size_t k) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i)
    idx[i] = i;
  if (k >= n) return idx;
  for (size_t i = 0; i < k; ++i) {
    const size_t j = i + rng.below(static_cast<uint32_t>(n - i));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace

void QuorumStore::start_read(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  op.phase = Phase::kRead;
  op.targets = targets(ctx, op.req.key);
  op.needed = static_cast<uint32_t>(config_.r);
  op.rounds = 0;
  if (op.targets.size() < op.needed) {
    fail(ctx, op_id);
    return;
  }
  const auto chosen =
      pick_indexes(ctx.rng(), op.targets.size(),
                   config_.read_fanout == Fanout::kAll ? op.targets.size() : op.needed);
  bool local = false;
  for (size_t i : chosen) {
    send_phase(ctx, op_id, op.targets[i]);
    local = local || op.targets[i].node == self_;
  }
  op.timer = ctx.set_timer(config_.replica_timeout, tag(kOpTimer, op_id));
  if (local) {
    const auto it = data_.find(op.req.key);
    on_read_reply(ctx, op_id, self_, it == data_.end() ? Siblings{} : it->second);
  }
}

void QuorumStore::start_write(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  op.phase = Phase::kWrite;
  op.targets = targets(ctx, op.req.key);
  op.needed = static_cast<uint32_t>(config_.w);
  op.rounds = 0;
  if (op.targets.size() < op.needed) {
    fail(ctx, op_id);
    return;
  }
  ctx.cancel_timer(op.timer);
  // Replicas get the key's versions after the write as the coordinator knows them (with
  // vector clocks: the new version and the siblings it does not supersede), so a replica
  // holding the new version also holds what it did not supersede; with LWW, just the
  // new version (each replica keeps the later one).
  if (config_.versioning == Versioning::kVectorClock) {
    const auto d = data_.find(op.req.key);
    op.payload = d == data_.end() ? Siblings{op.written}
                                  : merge(d->second, {op.written}, config_.versioning,
                                          static_cast<size_t>(config_.max_siblings))
                                        .merged;
  } else {
    op.payload = {op.written};
  }
  const auto chosen =
      pick_indexes(ctx.rng(), op.targets.size(),
                   config_.write_fanout == Fanout::kAll ? op.targets.size() : op.needed);
  bool local = false;
  for (size_t i : chosen) {
    send_phase(ctx, op_id, op.targets[i]);
    op.any_stored = true;
    local = local || op.targets[i].node == self_;
  }
  op.timer = ctx.set_timer(config_.replica_timeout, tag(kOpTimer, op_id));
  if (local) {
    // The coordinator writes its own copy first (Dynamo 4.5) and counts its own ack.
    const auto self = std::find_if(op.targets.begin(), op.targets.end(),
                                   [&](const Target& t) { return t.node == self_; });
    const bool stored = store_own(ctx, op.req.key, {op.written}, self->hint);
    reply_durably(ctx, self_, QuorumWriteAck{op_id, stored});
  }
}

void QuorumStore::on_read_reply(Context& ctx, uint64_t op_id, NodeId from, Siblings versions) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  Op& op = it->second;
  if (op.phase != Phase::kRead && op.phase != Phase::kLinger) return;
  auto t = std::find_if(op.targets.begin(), op.targets.end(),
                        [&](const Target& x) { return x.node == from && x.asked && !x.replied; });
  if (t == op.targets.end()) return;
  t->replied = true;
  t->versions = std::move(versions);
  if (op.phase == Phase::kLinger) {
    if (std::all_of(op.targets.begin(), op.targets.end(),
                    [](const Target& x) { return !x.asked || x.replied; })) {
      finish_background_repair(ctx, op_id);
    }
    return;
  }
  const auto replied = static_cast<uint32_t>(std::count_if(
      op.targets.begin(), op.targets.end(), [](const Target& x) { return x.replied; }));
  if (replied >= op.needed) read_done(ctx, op_id);
}

void QuorumStore::read_done(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  Siblings merged;
  for (const auto& t : op.targets) {
    if (t.replied) {
      merged =
          merge(merged, t.versions, config_.versioning, static_cast<size_t>(config_.max_siblings))
              .merged;
    }
  }
  op.merged = merged;
  switch (op.req.op) {
    case KvOpKind::kGet: {
      if (config_.read_repair == ReadRepair::kSync) {
        start_sync_repair(ctx, op_id);
        return;
      }
      answer_read(ctx, op);
      if (config_.read_repair == ReadRepair::kNone) {
        end_op(ctx, op_id);
        return;
      }
      op.phase = Phase::kLinger;
      if (std::all_of(op.targets.begin(), op.targets.end(),
                      [](const Target& x) { return !x.asked || x.replied; })) {
        finish_background_repair(ctx, op_id);
        return;
      }
      ctx.cancel_timer(op.timer);
      op.timer = ctx.set_timer(config_.read_repair_wait, tag(kOpTimer, op_id));
      return;
    }
    case KvOpKind::kAppend: {
      KvValue base;
      if (!merged.empty()) {
        base =
            config_.versioning == Versioning::kVectorClock ? union_value(merged) : merged[0].value;
      }
      const auto elems = base.elements();
      if (std::find(elems.begin(), elems.end(), op.req.value) != elems.end()) {
        // A retried append whose element is already there: applied once only (values
        // identify their logical write).
        ctx.record().count(m_duplicate_appends_skipped_);
        answer(ctx, op, KvStatus::kOk);
        end_op(ctx, op_id);
        return;
      }
      base.append(op.req.value, op.req.value_bytes);
      op.written = new_version(ctx, op.req.key, context_of(merged), std::move(base), merged);
      start_write(ctx, op_id);
      return;
    }
    case KvOpKind::kCas: {
      bool match = false;
      if (op.req.expected_absent) {
        match = std::all_of(merged.begin(), merged.end(),
                            [](const Version& v) { return v.value.empty(); });
      } else {
        match = merged.size() == 1 && merged[0].value.is_single(op.req.expected);
      }
      if (!match) {
        ctx.record().count(m_cas_mismatch_);
        answer(ctx, op, KvStatus::kCasMismatch);
        end_op(ctx, op_id);
        return;
      }
      op.written = new_version(ctx, op.req.key, context_of(merged),
                               KvValue::single(op.req.value, op.req.value_bytes), merged);
      start_write(ctx, op_id);
      return;
    }
    case KvOpKind::kPut:
      return;
  }
}

void QuorumStore::start_sync_repair(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  // What the read returns must be on W replicas before it is returned (the write-back of
  // ABD's read), so every later read quorum meets it.
  uint32_t holders = 0;
  for (auto& t : op.targets) {
    const bool holds = t.replied && same_versions(t.versions, op.merged);
    t.stored = holds;
    t.replied = holds;
    t.asked = holds;
    holders += holds ? 1 : 0;
  }
  op.phase = Phase::kRepair;
  op.needed = static_cast<uint32_t>(config_.w);
  op.rounds = 0;
  if (holders >= op.needed || op.merged.empty()) {
    answer_read(ctx, op);
    end_op(ctx, op_id);
    return;
  }
  ctx.cancel_timer(op.timer);
  bool local = false;
  for (auto& t : op.targets) {
    if (t.asked) continue;
    send_phase(ctx, op_id, t);
    local = local || t.node == self_;
  }
  op.timer = ctx.set_timer(config_.replica_timeout, tag(kOpTimer, op_id));
  if (local) {
    const bool stored = store(ctx, op.req.key, op.merged);
    reply_durably(ctx, self_, QuorumRepairAck{op_id, stored});
  }
}

void QuorumStore::on_write_ack(Context& ctx, uint64_t op_id, NodeId from, bool stored) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  Op& op = it->second;
  if (op.phase != Phase::kWrite && op.phase != Phase::kRepair) return;
  auto t = std::find_if(op.targets.begin(), op.targets.end(),
                        [&](const Target& x) { return x.node == from && x.asked && !x.replied; });
  if (t == op.targets.end()) return;
  t->replied = true;
  t->stored = stored;
  const auto acks = static_cast<uint32_t>(std::count_if(op.targets.begin(), op.targets.end(),
                                                        [](const Target& x) { return x.stored; }));
  const bool all = std::all_of(op.targets.begin(), op.targets.end(),
                               [](const Target& x) { return !x.asked || x.replied; });
  if (acks < op.needed) {
    if (op.answered && all) end_op(ctx, op_id);
    return;
  }
  if (op.phase == Phase::kWrite) {
    answer(ctx, op, KvStatus::kOk);
    // Answered; the write still waits for the other replicas it was sent to, so that a
    // silent one is noticed (and, with a sloppy quorum, stood in for: the write reaches N
    // nodes, Dynamo 4.6) — until they answer or replica_timeout ends the wait.
    if (!all) return;
  } else {
    answer_read(ctx, op);
  }
  end_op(ctx, op_id);
}

void QuorumStore::op_timeout(Context& ctx, uint64_t op_id) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  Op& op = it->second;
  if (op.phase == Phase::kLinger) {
    finish_background_repair(ctx, op_id);
    return;
  }
  for (const auto& t : op.targets) {
    if (t.asked && !t.replied) suspect(ctx, t.node);
  }
  const bool lingering = op.answered;  // an acknowledged write waiting for the rest
  if (lingering && (!config_.sloppy_quorum || config_.write_fanout == Fanout::kQuorum)) {
    end_op(ctx, op_id);
    return;
  }
  if (++op.rounds >= static_cast<uint32_t>(config_.max_rounds)) {
    if (lingering) {
      end_op(ctx, op_id);
    } else {
      fail(ctx, op_id);
    }
    return;
  }
  // Another round: replicas not asked yet (quorum fan-out), then — with a sloppy quorum —
  // stand-ins for the silent ones, found by walking the ring past them.
  const auto progress = static_cast<uint32_t>(std::count_if(
      op.targets.begin(), op.targets.end(),
      [&](const Target& x) { return op.phase == Phase::kRead ? x.replied : x.stored; }));
  const Fanout fanout = op.phase == Phase::kRead ? config_.read_fanout : config_.write_fanout;
  size_t budget = fanout == Fanout::kAll ? SIZE_MAX : op.needed - std::min(op.needed, progress);
  for (const Target& t : targets(ctx, op.req.key)) {
    if (std::none_of(op.targets.begin(), op.targets.end(),
                     [&](const Target& x) { return x.node == t.node; })) {
      op.targets.push_back(t);
    }
  }
  std::vector<size_t> ask;
  for (size_t i = 0; i < op.targets.size() && ask.size() < budget; ++i) {
    const Target& t = op.targets[i];
    if (!t.asked && healthy(ctx, t.node)) ask.push_back(i);
  }
  if (ask.empty()) {
    if (lingering) {
      end_op(ctx, op_id);
    } else {
      fail(ctx, op_id);
    }
    return;
  }
  bool local = false;
  for (size_t i : ask) {
    send_phase(ctx, op_id, op.targets[i]);
    local = local || op.targets[i].node == self_;
  }
  op.timer = ctx.set_timer(config_.replica_timeout, tag(kOpTimer, op_id));
  if (!local) return;
  const uint64_t key = op.req.key;
  switch (op.phase) {
    case Phase::kRead: {
      const auto d = data_.find(key);
      on_read_reply(ctx, op_id, self_, d == data_.end() ? Siblings{} : d->second);
      return;
    }
    case Phase::kWrite: {
      const auto self = std::find_if(op.targets.begin(), op.targets.end(),
                                     [&](const Target& t) { return t.node == self_; });
      const bool stored = store_own(ctx, key, {op.written}, self->hint);
      reply_durably(ctx, self_, QuorumWriteAck{op_id, stored});
      return;
    }
    case Phase::kRepair: {
      const bool stored = store(ctx, key, op.merged);
      reply_durably(ctx, self_, QuorumRepairAck{op_id, stored});
      return;
    }
    case Phase::kLinger:
      return;
  }
}

void QuorumStore::fail(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  // A write some replica may have stored is not known to have failed: the client must
  // treat it as maybe applied (Dynamo keeps what reached a replica).
  const bool maybe = op.phase == Phase::kWrite && op.any_stored;
  ctx.record().count(maybe ? m_indeterminate_ : m_unavailable_);
  answer(ctx, op, maybe ? KvStatus::kIndeterminate : KvStatus::kUnavailable);
  end_op(ctx, op_id);
}

void QuorumStore::answer(Context& ctx, Op& op, KvStatus status) {
  if (op.answered) return;
  op.answered = true;
  KvResponse r = kv::kv_reply(op.req, status);
  if (status == KvStatus::kOk && config_.versioning == Versioning::kVectorClock &&
      op.req.op != KvOpKind::kGet) {
    kv::KvCausal c;
    c.context =
        op.written.dot.counter != 0 ? op.written.clock().words() : context_of(op.merged).words();
    r.causal = kv::KvCausalPtr(std::move(c));
  }
  ctx.send(op.client, std::move(r));
}

void QuorumStore::answer_read(Context& ctx, Op& op) {
  if (op.answered) return;
  op.answered = true;
  const Siblings& m = op.merged;
  KvResponse r = kv::kv_reply(op.req, KvStatus::kOk);
  if (!m.empty()) r.value = m.back().value;  // the newest by the writers' clocks
  ctx.record().count(m_reads_ok_);
  ctx.record().count(m_read_siblings_, static_cast<int64_t>(m.size()));
  if (m.size() >= 2) ctx.record().count(m_reads_with_siblings_);
  if (config_.versioning == Versioning::kVectorClock) {
    kv::KvCausal c;
    if (m.size() >= 2) {
      for (const auto& v : m)
        c.siblings.push_back(v.value);
    }
    c.context = context_of(m).words();
    r.causal = kv::KvCausalPtr(std::move(c));
  }
  ctx.send(op.client, std::move(r));
}

void QuorumStore::finish_background_repair(Context& ctx, uint64_t op_id) {
  Op& op = ops_.at(op_id);
  // Dynamo 5: once the late replies are in, replicas that returned older versions get
  // the merged result.
  Siblings merged;
  for (const auto& t : op.targets) {
    if (t.replied) {
      merged =
          merge(merged, t.versions, config_.versioning, static_cast<size_t>(config_.max_siblings))
              .merged;
    }
  }
  for (const auto& t : op.targets) {
    if (!t.replied || same_versions(t.versions, merged)) continue;
    QuorumRepair fix{0, op.req.key, merged};
    ctx.record().count(m_read_repairs_);
    ctx.record().count(m_read_repair_bytes_, fix.size_bytes());
    if (t.node == self_) {
      store(ctx, op.req.key, merged);
    } else {
      ctx.send(t.node, std::move(fix));
    }
  }
  end_op(ctx, op_id);
}

void QuorumStore::end_op(Context& ctx, uint64_t op_id) {
  auto it = ops_.find(op_id);
  if (it == ops_.end()) return;
  ctx.cancel_timer(it->second.timer);
  ops_.erase(it);
}

// --- replica side ---------------------------------------------------------------------

const Siblings* QuorumStore::versions(uint64_t key) const {
  auto it = data_.find(key);
  return it == data_.end() ? nullptr : &it->second;
}

bool QuorumStore::store(Context& ctx, uint64_t key, const Siblings& incoming, bool* changed) {
  if (changed) *changed = false;
  if (incoming.empty()) return true;
  const auto it = data_.find(key);
  const Siblings none;
  const Siblings& old = it == data_.end() ? none : it->second;
  MergeResult m =
      merge(old, incoming, config_.versioning, static_cast<size_t>(config_.max_siblings));
  if (m.lww_discarded > 0) ctx.record().count(m_lww_discarded_, m.lww_discarded);
  if (m.capped > 0) ctx.record().count(m_siblings_capped_, m.capped);
  if (same_versions(m.merged, old)) return true;
  if (!ctx.disk().write(data_key(key), encode(m.merged))) {
    ctx.record().count(m_disk_refused_);
    return false;
  }
  const bool added = it == data_.end();
  data_[key] = std::move(m.merged);
  unsynced_ = true;
  if (changed) *changed = true;
  if (added) update_levels(ctx);
  return true;
}

bool QuorumStore::store_own(Context& ctx, uint64_t key, const Siblings& versions, NodeId hint) {
  const bool stored = store(ctx, key, versions);
  if (stored && hint != kNoNode && hint != self_) add_hint(ctx, hint, key);
  return stored;
}

void QuorumStore::drop_key(Context& ctx, uint64_t key) {
  if (data_.erase(key) == 0) return;
  ctx.disk().erase(data_key(key));
  // Dots this node makes for the key from now on come from a new actor: versions it no
  // longer holds can never be mistaken for ones a later context covers.
  KeyActor& ka = key_actor_[key];
  ++ka.epoch;
  ka.last_counter = 0;
  update_levels(ctx);
}

void QuorumStore::add_hint(Context& ctx, NodeId owner, uint64_t key) {
  if (!hints_.emplace(owner, key).second) return;
  ctx.disk().write(hint_key(owner, key), "");
  ctx.record().count(m_hints_stored_);
  update_levels(ctx);
}

void QuorumStore::release_if_unowned(Context& ctx, uint64_t key) {
  if (is_home(key)) return;
  for (NodeId n : group_) {
    if (hints_.count({n, key})) return;
  }
  for (const auto& [id, b] : transfers_) {
    if (std::find(b.keys.begin(), b.keys.end(), key) != b.keys.end()) return;
  }
  drop_key(ctx, key);
}

void QuorumStore::update_levels(Context& ctx) {
  ctx.record().level(m_keys_stored_, static_cast<double>(data_.size()));
  ctx.record().level(m_hints_pending_, static_cast<double>(hints_.size()));
}

void QuorumStore::on_stop(Context& ctx) {
  update_levels(ctx);
}

// --- hinted handoff and membership transfers ----------------------------------------

void QuorumStore::handoff_tick(Context& ctx) {
  // Batches unanswered for a while are given up (their owner is suspected) and retried.
  const Duration patience = config_.replica_timeout * 2;
  for (auto it = handoffs_.begin(); it != handoffs_.end();) {
    if (ctx.now() - it->second.sent < patience) {
      ++it;
      continue;
    }
    suspect(ctx, it->second.to);
    handoff_busy_.erase(it->second.to);
    it = handoffs_.erase(it);
  }
  std::vector<std::pair<uint64_t, Batch>> resend;
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (ctx.now() - it->second.sent < patience) {
      ++it;
      continue;
    }
    resend.emplace_back(it->first, std::move(it->second));
    it = transfers_.erase(it);
  }
  for (auto& [id, b] : resend) {
    if (!healthy(ctx, b.to)) {
      transfers_.emplace(id, std::move(b));  // try again at the next tick
      continue;
    }
    QuorumTransfer t{next_batch_++, {}};
    for (uint64_t key : b.keys) {
      if (auto d = data_.find(key); d != data_.end()) t.entries.push_back({key, d->second});
    }
    ctx.record().count(m_transfer_bytes_, t.size_bytes());
    b.sent = ctx.now();
    transfers_.emplace(t.batch, std::move(b));
    ctx.send(transfers_.at(t.batch).to, std::move(t));
  }
  if (!config_.hinted_handoff) return;
  // One batch in flight per owner; an owner still suspected is tried again later (Dynamo
  // 4.6: hinted replicas are scanned periodically and delivered once the node is back).
  NodeId last = kNoNode;
  for (auto it = hints_.begin(); it != hints_.end();) {
    const NodeId owner = it->first;
    if (owner == last) {
      ++it;
      continue;
    }
    last = owner;
    if (handoff_busy_.count(owner) || !healthy(ctx, owner)) {
      ++it;
      continue;
    }
    QuorumHandoff h{next_batch_++, {}};
    Batch b{owner, {}, ctx.now()};
    auto k = it;
    std::vector<uint64_t> stale;
    for (; k != hints_.end() && k->first == owner &&
           h.entries.size() < static_cast<size_t>(config_.handoff_batch);
         ++k) {
      auto d = data_.find(k->second);
      if (d == data_.end()) {
        stale.push_back(k->second);
        continue;
      }
      h.entries.push_back({k->second, d->second});
      b.keys.push_back(k->second);
    }
    it = k;
    for (uint64_t key : stale) {
      hints_.erase({owner, key});
      ctx.disk().erase(hint_key(owner, key));
    }
    if (h.entries.empty()) continue;
    handoffs_.emplace(h.batch, std::move(b));
    handoff_busy_.insert(owner);
    ctx.send(owner, std::move(h));
  }
  update_levels(ctx);
}

void QuorumStore::on_handoff_ack(Context& ctx, NodeId from, const QuorumHandoffAck& ack) {
  auto it = handoffs_.find(ack.batch);
  if (it == handoffs_.end()) return;
  Batch b = std::move(it->second);
  handoffs_.erase(it);
  handoff_busy_.erase(b.to);
  if (!ack.stored || b.to != from) return;
  for (uint64_t key : b.keys) {
    if (hints_.erase({b.to, key}) == 0) continue;
    ctx.disk().erase(hint_key(b.to, key));
    ctx.record().count(m_hints_replayed_);
    // Dynamo 4.6: once the hinted replica is delivered, the stand-in may delete it.
    release_if_unowned(ctx, key);
  }
  update_levels(ctx);
  // More hints for the same node: on at once rather than at the next tick.
  auto more = hints_.lower_bound({b.to, 0});
  if (more != hints_.end() && more->first == b.to) handoff_tick(ctx);
}

void QuorumStore::send_transfers(Context& ctx, const Ring& old_ring) {
  // A key whose preference list changed goes to its new replicas from the replicas that
  // lost it (a join takes keys from the nodes it displaces; a leaving node hands over all
  // of its own), or — when nobody lost it (the list only grew) — from its first old
  // replica. Each key moves once per new replica; the rest catch up by anti-entropy.
  std::map<NodeId, std::vector<uint64_t>> out;
  std::vector<uint64_t> orphaned;
  for (const auto& [key, versions] : data_) {
    const auto before = home(old_ring, key);
    if (!contains(before, self_)) continue;
    const auto after = home(key);
    std::vector<NodeId> gained;
    for (NodeId n : after) {
      if (!contains(before, n)) gained.push_back(n);
    }
    const bool lost = !contains(after, self_);
    if (gained.empty()) {
      if (lost) orphaned.push_back(key);
      continue;
    }
    const bool anyone_lost =
        std::any_of(before.begin(), before.end(), [&](NodeId n) { return !contains(after, n); });
    if (!lost && (anyone_lost || before.front() != self_)) continue;
    for (NodeId n : gained)
      out[n].push_back(key);
  }
  for (uint64_t key : orphaned)
    release_if_unowned(ctx, key);
  for (auto& [to, keys] : out) {
    for (size_t i = 0; i < keys.size(); i += static_cast<size_t>(config_.transfer_batch)) {
      QuorumTransfer t{next_batch_++, {}};
      Batch b{to, {}, ctx.now()};
      for (size_t j = i; j < keys.size() && j < i + static_cast<size_t>(config_.transfer_batch);
           ++j) {
        t.entries.push_back({keys[j], data_.at(keys[j])});
        b.keys.push_back(keys[j]);
      }
      ctx.record().count(m_transfer_bytes_, t.size_bytes());
      transfers_.emplace(t.batch, std::move(b));
      ctx.send(to, std::move(t));
    }
  }
}

void QuorumStore::on_transfer_ack(Context& ctx, const QuorumTransferAck& ack) {
  auto it = transfers_.find(ack.batch);
  if (it == transfers_.end() || !ack.stored) return;
  const std::vector<uint64_t> keys = std::move(it->second.keys);
  transfers_.erase(it);
  ctx.record().count(m_keys_moved_, static_cast<int64_t>(keys.size()));
  for (uint64_t key : keys)
    release_if_unowned(ctx, key);
}

// --- anti-entropy -----------------------------------------------------------------------

std::vector<MerkleTree> QuorumStore::trees_with(NodeId peer) const {
  std::vector<std::vector<MerkleTree::Item>> items(layout_.ranges());
  for (const auto& [key, versions] : data_) {
    const auto h = home(key);
    if (!contains(h, self_) || !contains(h, peer)) continue;
    const uint64_t pos = key_position(key, config_.ring_seed);
    items[layout_.range_of(pos)].push_back(
        {layout_.leaf_of(pos), pos, mix64(key ^ hash_of(versions))});
  }
  std::vector<MerkleTree> trees;
  trees.reserve(items.size());
  for (auto& v : items)
    trees.emplace_back(layout_.depth, std::move(v));
  return trees;
}

std::vector<KeyVersions> QuorumStore::entries_in(
    NodeId peer, const std::vector<std::pair<uint32_t, uint64_t>>& leaves) const {
  const std::set<std::pair<uint32_t, uint64_t>> want(leaves.begin(), leaves.end());
  std::vector<KeyVersions> out;
  for (const auto& [key, versions] : data_) {
    const uint64_t pos = key_position(key, config_.ring_seed);
    if (!want.count({layout_.range_of(pos), layout_.leaf_of(pos)})) continue;
    const auto h = home(key);
    if (!contains(h, self_) || !contains(h, peer)) continue;
    out.push_back({key, versions});
  }
  return out;
}

void QuorumStore::anti_entropy_tick(Context& ctx) {
  if (round_.active) return;
  std::vector<NodeId> peers;
  for (uint32_t m : ring_.members()) {
    const NodeId n = node_of(m);
    if (n != self_ && healthy(ctx, n)) peers.push_back(n);
  }
  if (peers.empty() || !ring_.has_member(index_of(self_))) return;
  const NodeId peer = peers[next_peer_++ % peers.size()];
  const auto trees = trees_with(peer);
  MerkleHashes m{next_round_++, 0, {}};
  for (uint32_t r = 0; r < trees.size(); ++r)
    m.nodes.push_back({r, 0, trees[r].root()});
  round_ = AeRound{m.round, peer, 0, {}, true};
  round_.timer = ctx.set_timer(config_.replica_timeout * 2, tag(kAeTimeout, m.round & kTagMask));
  ctx.record().count(m_merkle_hash_bytes_, m.size_bytes());
  ctx.send(peer, std::move(m));
}

void QuorumStore::on_merkle_hashes(Context& ctx, NodeId from, const MerkleHashes& m) {
  const auto trees = trees_with(from);
  MerkleDiff d{m.round, m.level, {}};
  for (const auto& node : m.nodes) {
    if (node.range >= trees.size()) continue;
    if (trees[node.range].hash(m.level, node.index) != node.hash) {
      d.differing.emplace_back(node.range, node.index);
    }
  }
  ctx.record().count(m_merkle_hash_bytes_, d.size_bytes());
  ctx.send(from, std::move(d));
}

void QuorumStore::on_merkle_diff(Context& ctx, NodeId from, const MerkleDiff& m) {
  if (!round_.active || m.round != round_.id || from != round_.peer || m.level != round_.level) {
    return;
  }
  if (m.differing.empty()) {
    end_round(ctx, true);
    return;
  }
  ctx.cancel_timer(round_.timer);
  round_.timer = ctx.set_timer(config_.replica_timeout * 2, tag(kAeTimeout, round_.id & kTagMask));
  if (m.level < layout_.depth) {
    // Recurse into the differing subtrees only.
    const auto trees = trees_with(from);
    MerkleHashes next{round_.id, m.level + 1, {}};
    for (const auto& [range, index] : m.differing) {
      for (uint64_t child = index * 2; child <= index * 2 + 1; ++child) {
        next.nodes.push_back({range, child, trees[range].hash(m.level + 1, child)});
      }
    }
    round_.level = m.level + 1;
    ctx.record().count(m_merkle_hash_bytes_, next.size_bytes());
    ctx.send(from, std::move(next));
    return;
  }
  // Differing leaves: exchange their keys.
  MerkleSync sync{round_.id, m.differing, entries_in(from, m.differing)};
  round_.level = m.level + 1;
  ctx.record().count(m_merkle_repair_bytes_, sync.size_bytes());
  ctx.send(from, std::move(sync));
}

void QuorumStore::on_merkle_sync(Context& ctx, NodeId from, const MerkleSync& m) {
  MerkleSyncReply reply{m.round, entries_in(from, m.leaves)};
  ctx.record().count(m_merkle_repair_bytes_, reply.size_bytes());
  ctx.send(from, std::move(reply));
  merge_entries(ctx, m.entries);
}

void QuorumStore::on_merkle_sync_reply(Context& ctx, NodeId from, const MerkleSyncReply& m) {
  if (!round_.active || m.round != round_.id || from != round_.peer) return;
  merge_entries(ctx, m.entries);
  end_round(ctx, true);
}

uint32_t QuorumStore::merge_entries(Context& ctx, const std::vector<KeyVersions>& entries) {
  uint32_t repaired = 0;
  for (const auto& e : entries) {
    bool changed = false;
    store(ctx, e.key, e.versions, &changed);
    repaired += changed ? 1 : 0;
  }
  if (repaired > 0) ctx.record().count(m_merkle_keys_repaired_, repaired);
  return repaired;
}

void QuorumStore::end_round(Context& ctx, bool completed) {
  ctx.cancel_timer(round_.timer);
  round_.active = false;
  if (completed) ctx.record().count(m_ae_rounds_);
}

// --- invariants -----------------------------------------------------------------------

void QuorumStore::check_invariants() const {
  for (const auto& [key, s] : data_) {
    if (s.empty()) throw std::logic_error("quorum: key " + std::to_string(key) + " has no version");
    if (config_.versioning == Versioning::kLww && s.size() != 1) {
      throw std::logic_error("quorum: LWW key " + std::to_string(key) + " has siblings");
    }
    for (size_t i = 0; i < s.size(); ++i) {
      if (i > 0 && std::tie(s[i].ts, s[i].dot) <= std::tie(s[i - 1].ts, s[i - 1].dot)) {
        throw std::logic_error("quorum: siblings of key " + std::to_string(key) + " out of order");
      }
      for (size_t j = 0; j < s.size(); ++j) {
        if (i != j && s[i].obsoleted_by(s[j])) {
          throw std::logic_error("quorum: key " + std::to_string(key) +
                                 " keeps a version another supersedes");
        }
      }
    }
  }
}

}  // namespace dsim::quorum
