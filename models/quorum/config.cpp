// The quorum store's configuration: every parameter with its default and help, read from
// the scenario in a fixed order (the order `dsim list models` prints), and the rules
// between them. Bad values are ParamReader errors naming the key.
#include "models/quorum/store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "sim/core/units.h"

namespace dsim::quorum {

namespace {

using Config = QuorumStore::Config;

std::string group_size(int64_t nodes) {
  return std::to_string(nodes) + (nodes == 1 ? " node" : " nodes");
}

void read_quorum(ParamReader& r, Config& c) {
  c.n = r.integer("n", c.n,
                  "replicas per key (N): the length of a key's preference list "
                  "(N=3, W=2, R=2 is the usual example)",
                  1, 1000);
  c.w = r.integer(
      "w", c.w, "acknowledgements a write waits for (W), the coordinator's own included", 1, 1000);
  c.r =
      r.integer("r", c.r, "replies a read waits for (R), the coordinator's own included", 1, 1000);
  if (c.w > c.n) r.error("w", "must be <= n");
  if (c.r > c.n) r.error("r", "must be <= n");
  c.coordinators = r.integer(
      "coordinators", c.coordinators,
      "the group's last k nodes hold no data and stay off the ring: each coordinates every "
      "request it receives, and every leg to the replicas crosses the network (a coordinator "
      "that is not a replica, as Cassandra's or Voldemort's client-side routing: PBS's WARS "
      "model); 0: every node is a replica",
      0, 1'000'000);
  const int64_t group = r.env().group_count;
  if (group > 0 && c.coordinators >= group) {
    r.error("coordinators", "leaves no replica: the group has only " + group_size(group));
  }
  // Acknowledgements and replies come from distinct replicas: more than the group holds
  // never arrive, and every operation would fail.
  const int64_t nodes = group > 0 ? std::max<int64_t>(1, group - c.coordinators) : 0;
  const std::string holds = c.coordinators > 0
                                ? std::to_string(nodes) + " replicas (and " +
                                      std::to_string(c.coordinators) + " coordinators)"
                                : group_size(nodes);
  const auto check_size = [&](std::string_view key, int64_t value, std::string_view waiter) {
    if (nodes == 0 || value <= nodes) return;
    r.error(key, std::string(waiter) + " waits for " + std::to_string(value) +
                     " replies from distinct nodes, but the group has only " + holds);
  };
  check_size("w", c.w, "a write");
  check_size("r", c.r, "a read");
}

// The list under `key`: nullptr when it is absent, or not a list (then an error says
// what was `expected`).
const ParamNode* read_list(ParamReader& r, std::string_view key, std::string_view type,
                           std::string_view help, std::string_view def, std::string_view expected) {
  const ParamNode* node = r.raw(key, type, help, def);
  if (!node || node->kind == ParamNode::Kind::kList) return node;
  r.error(key, std::string(expected));
  return nullptr;
}

// The nodes that may hold data: the group less its coordinators (0: the size is unknown).
int64_t replica_nodes(ParamReader& r, const Config& c) {
  const int64_t group = r.env().group_count;
  return group > 0 ? std::max<int64_t>(1, group - c.coordinators) : 0;
}

std::vector<double> read_weights(ParamReader& r, int64_t nodes) {
  std::vector<double> weights;
  const ParamNode* w = read_list(r, "weights", "list of numbers",
                                 "capacity weight of each node by index (a node gets vnodes x "
                                 "weight tokens: 2x RAM -> 2x virtual nodes); "
                                 "missing entries are 1",
                                 "[] (all 1)", "expected a list of numbers, e.g. [1, 1, 2]");
  if (!w) return weights;
  for (const auto& item : w->items) {
    std::string err;
    auto v = item.kind == ParamNode::Kind::kScalar ? parse_number(item.scalar, &err) : std::nullopt;
    if (!v || !(*v > 0) || *v > 1000) {
      r.error("weights", "each weight must be a number in (0, 1000], got '" + item.scalar + "'");
      continue;
    }
    weights.push_back(*v);
  }
  if (nodes > 0 && static_cast<int64_t>(w->items.size()) > nodes) {
    r.error("weights", std::to_string(w->items.size()) + " weights, but the group has only " +
                           group_size(nodes) + " that hold data");
  }
  return weights;
}

QuorumStore::MembershipChange read_change(ParamReader& item, int64_t nodes) {
  QuorumStore::MembershipChange ch;
  ch.at = item.duration("at", Duration::zero(), "when");
  const bool add = item.has("add");
  const bool remove = item.has("remove");
  const int64_t joining = item.integer("add", 0, "index of the node that joins", 0, 1'000'000);
  const int64_t leaving = item.integer("remove", 0, "index of the node that leaves", 0, 1'000'000);
  if (add == remove) {
    item.error("", "give exactly one of add: <node index> or remove: <node index>");
  }
  const int64_t index = add ? joining : leaving;
  if ((add || remove) && nodes > 0 && index >= nodes) {
    item.error(add ? "add" : "remove", "no node " + std::to_string(index) + ": the group has " +
                                           group_size(nodes) + " (0 to " +
                                           std::to_string(nodes - 1) + ")");
  }
  item.finish();
  ch.node = static_cast<uint32_t>(add ? joining : leaving);
  ch.add = add;
  return ch;
}

std::vector<QuorumStore::MembershipChange> read_membership(ParamReader& r, int64_t nodes) {
  std::vector<QuorumStore::MembershipChange> changes;
  const ParamNode* m =
      read_list(r, "membership", "list of {at, add|remove}",
                "scheduled membership changes: [{at: 10s, add: 5}, {at: 20s, remove: 0}] (node "
                "indexes in the group; each node applies a change when its clock reaches `at`)",
                "[] (none)", "expected a list of {at: <duration>, add: <node>} or {at, remove}");
  if (!m) return changes;
  for (size_t i = 0; i < m->items.size(); ++i) {
    ParamReader item(&m->items[i], &r.env(), r.path() + ".membership[" + std::to_string(i) + "]",
                     m->items[i].loc);
    changes.push_back(read_change(item, nodes));
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  return changes;
}

void read_ring(ParamReader& r, Config& c) {
  c.vnodes = r.integer("vnodes", c.vnodes,
                       "virtual nodes (tokens) per node of weight 1 (commonly 100-150 for "
                       "equal nodes, 150-200 below 10 nodes)",
                       1, 100000);
  const int64_t nodes = replica_nodes(r, c);
  c.weights = read_weights(r, nodes);
  c.ring_seed = static_cast<uint64_t>(
      r.integer("ring_seed", 0, "seed of the token positions (the same ring on every node)", 0));
  c.initial_members =
      r.integer("initial_members", c.initial_members,
                "the first k nodes of the group form the ring at the start; the others join "
                "through `membership` (0: every node)",
                0, 1'000'000);
  if (nodes > 0 && c.initial_members > nodes) {
    r.error("initial_members", "the group has only " + group_size(nodes) + " that hold data");
  }
  c.membership = read_membership(r, nodes);
}

QuorumStore::Fanout read_fanout(ParamReader& r, std::string_view key, std::string_view what) {
  using Fanout = QuorumStore::Fanout;
  return r.choice(key, Fanout::kAll, {{"all", Fanout::kAll}, {"quorum", Fanout::kQuorum}},
                  std::string("all: send the ") + std::string(what) +
                      " to every replica of the key, answer at the quorum (Dynamo); quorum: only "
                      "to a random quorum of them (no propagation beyond it: the PBS model)");
}

void read_coordination(ParamReader& r, Config& c) {
  using Choice = QuorumStore::Choice;
  c.coordinator =
      r.choice("coordinator", QuorumStore::Coordinator::kServer,
               {{"server", QuorumStore::Coordinator::kServer},
                {"client", QuorumStore::Coordinator::kClient}},
               "server: a node outside the key's replicas forwards the request to one of them (one "
               "more hop); client: it answers 'not leader, try X' and the client goes there (with "
               "kv_client target_policy: key_owner it remembers X: a partition-aware client)");
  c.coordinator_choice = r.choice(
      "coordinator_choice", Choice::kReceiver,
      {{"receiver", Choice::kReceiver}, {"first", Choice::kFirst}, {"random", Choice::kRandom}},
      "which replica coordinates: the receiving node if it is one (else the first), the "
      "first of the preference list (Dynamo), or a random one");
  c.sloppy_quorum = r.boolean("sloppy_quorum", c.sloppy_quorum,
                              "true: replace unreachable replicas by the next healthy nodes on "
                              "the ring, which keep hinted writes; false: a "
                              "strict quorum of the preference list");
}

void read_versioning(ParamReader& r, Config& c) {
  using BlindContext = QuorumStore::BlindContext;
  c.versioning =
      r.choice("versioning", Versioning::kVectorClock,
               {{"vector_clock", Versioning::kVectorClock}, {"lww", Versioning::kLww}},
               "vector_clock: concurrent writes are kept as siblings for the client to merge; "
               "lww: the write with the latest coordinator wall-clock timestamp wins");
  c.blind_write_context = r.choice(
      "blind_write_context", BlindContext::kLocal,
      {{"local", BlindContext::kLocal}, {"none", BlindContext::kNone}},
      "a put without a client context supersedes what the coordinator holds (local) or "
      "nothing, becoming a sibling of every existing version (none, as Riak's allow_mult)");
  c.max_siblings =
      r.integer("max_siblings", c.max_siblings,
                "siblings kept per key; beyond, the oldest are dropped (counted)", 1, 1'000'000);
}

void read_failures(ParamReader& r, Config& c) {
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
}

void read_repair(ParamReader& r, Config& c) {
  using ReadRepair = QuorumStore::ReadRepair;
  c.read_repair = r.choice(
      "read_repair", ReadRepair::kBackground,
      {{"none", ReadRepair::kNone},
       {"background", ReadRepair::kBackground},
       {"sync", ReadRepair::kSync}},
      "after a read, update the replicas that returned older versions: background (Dynamo 5: "
      "after answering, once the late replies are in), sync (before answering, until W "
      "replicas hold what the read returns), or none");
  c.read_repair_wait = r.duration("read_repair_wait", c.read_repair_wait,
                                  "background read repair: how long to wait for the replies "
                                  "after the R-th");
  c.hinted_handoff = r.boolean("hinted_handoff", c.hinted_handoff,
                               "a stand-in returns hinted writes to their node when it answers "
                               "again");
  c.handoff_interval = r.duration("handoff_interval", c.handoff_interval,
                                  "how often a node tries to hand hinted writes back (and to "
                                  "resend unacknowledged membership transfers)");
  c.handoff_batch =
      r.integer("handoff_batch", c.handoff_batch, "keys per handoff message", 1, 1'000'000);
}

void read_anti_entropy(ParamReader& r, Config& c) {
  c.anti_entropy_interval =
      r.duration("anti_entropy_interval", c.anti_entropy_interval,
                 "how often a node compares Merkle trees with its next peer (0: never; "
                 "Cassandra's repair: typically weekly)");
  c.merkle_ranges = r.integer("merkle_ranges", c.merkle_ranges,
                              "key ranges, one Merkle tree each (a power of two)", 1, 65536);
  if ((c.merkle_ranges & (c.merkle_ranges - 1)) != 0) {
    r.error("merkle_ranges", "must be a power of two");
  }
  c.merkle_depth = r.integer("merkle_depth", c.merkle_depth,
                             "levels below each tree's root: 2^depth leaves per range "
                             "(typically 15-20 for large data sets)",
                             0, 40);
}

void read_durability(ParamReader& r, Config& c) {
  c.sync_writes = r.boolean("sync_writes", c.sync_writes,
                            "acknowledge a write only once synced to disk (else at once: a "
                            "crash loses what the last sync did not cover)");
  c.sync_period = r.duration("sync_period", c.sync_period,
                             "without sync_writes: sync the disk this often (0: never)");
  c.transfer_batch = r.integer("transfer_batch", c.transfer_batch,
                               "keys per membership transfer message", 1, 1'000'000);
}

}  // namespace

QuorumStore::Config QuorumStore::parse(ParamReader& r) {
  Config c;
  read_quorum(r, c);
  read_ring(r, c);
  read_coordination(r, c);
  read_versioning(r, c);
  c.write_fanout = read_fanout(r, "write_fanout", "write");
  c.read_fanout = read_fanout(r, "read_fanout", "read");
  read_failures(r, c);
  read_repair(r, c);
  read_anti_entropy(r, c);
  read_durability(r, c);
  if (c.replica_timeout <= Duration::zero()) r.error("replica_timeout", "must be > 0");
  if (c.handoff_interval <= Duration::zero()) r.error("handoff_interval", "must be > 0");
  return c;
}

}  // namespace dsim::quorum
