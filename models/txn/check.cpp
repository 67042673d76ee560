#include "models/txn/check.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/core/assert.h"
#include "sim/core/csv.h"

namespace dsim::txn {

namespace {

constexpr uint32_t kNone = HistoryLog::kNone;
constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMaxAnomalies = 100;
// Anomalies the terminal shows (txn_anomalies.csv lists them all).
constexpr size_t kTerminalAnomalies = 3;

// A write of the history: key `key` set to `value` by transaction `txn`.
struct Write {
  uint64_t key;
  int64_t value;
  uint32_t txn;
  friend bool operator<(const Write& a, const Write& b) {
    return std::tie(a.key, a.value, a.txn) < std::tie(b.key, b.value, b.txn);
  }
};

// What a transaction in the graph did to one key: the version it read, and whether it
// wrote the key.
struct Access {
  uint64_t key;
  int64_t read;
  uint32_t txn;
  bool wrote;
  friend bool operator<(const Access& a, const Access& b) {
    return std::tie(a.key, a.read, a.txn) < std::tie(b.key, b.read, b.txn);
  }
};

struct Edge {
  uint32_t from;
  uint32_t to;
  uint64_t key;
  DependencyKind kind;
};

// The writer of `value` on `key`, or kNone (the first when the history broke uniqueness).
uint32_t writer_of(const std::vector<Write>& writes, uint64_t key, int64_t value) {
  const auto it = std::lower_bound(writes.begin(), writes.end(), Write{key, value, 0});
  if (it == writes.end() || it->key != key || it->value != value) return kNone;
  return it->txn;
}

bool reads_known(const TxnHistoryOp& t) {
  return t.committed() && t.reads_len == t.ops_len;
}

// The graph in compressed rows: the edges out of node v are [begin[v], begin[v + 1]).
struct Graph {
  std::vector<uint64_t> begin;
  std::vector<uint32_t> to;
  std::vector<uint64_t> key;
  std::vector<DependencyKind> kind;
  std::vector<bool> self_loop;
};

Graph make_graph(size_t n, const std::vector<Edge>& edges, std::vector<bool> self_loop) {
  Graph g;
  g.begin.assign(n + 1, 0);
  for (const Edge& e : edges)
    ++g.begin[e.from + 1];
  for (size_t v = 0; v < n; ++v)
    g.begin[v + 1] += g.begin[v];
  std::vector<uint64_t> at(g.begin.begin(), g.begin.end() - 1);
  g.to.resize(edges.size());
  g.key.resize(edges.size());
  g.kind.resize(edges.size());
  for (const Edge& e : edges) {
    const uint64_t i = at[e.from]++;
    g.to[i] = e.to;
    g.key[i] = e.key;
    g.kind[i] = e.kind;
  }
  g.self_loop = std::move(self_loop);
  return g;
}

// Tarjan's strongly connected components of the nodes in `nodes` (in that order), with an
// explicit stack: `on_component` gets each component's nodes, in the order found.
template <class F>
void strongly_connected(const Graph& g, const std::vector<uint32_t>& nodes, F on_component) {
  const size_t n = g.begin.size() - 1;
  std::vector<uint32_t> index(n, kNone), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<uint32_t> stack;
  struct Frame {
    uint32_t v;
    uint64_t next;  // the next edge of v to follow
  };
  std::vector<Frame> frames;
  uint32_t counter = 0;
  auto visit = [&](uint32_t v) {
    index[v] = low[v] = counter++;
    stack.push_back(v);
    on_stack[v] = true;
    frames.push_back({v, g.begin[v]});
  };
  std::vector<uint32_t> component;
  for (uint32_t s : nodes) {
    if (index[s] != kNone) continue;
    visit(s);
    while (!frames.empty()) {
      const uint32_t v = frames.back().v;
      if (frames.back().next < g.begin[v + 1]) {
        const uint32_t w = g.to[frames.back().next++];
        if (index[w] == kNone) {
          visit(w);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      frames.pop_back();
      if (!frames.empty()) {
        const uint32_t u = frames.back().v;
        low[u] = std::min(low[u], low[v]);
      }
      if (low[v] != index[v]) continue;
      component.clear();
      uint32_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      on_component(component);
    }
  }
}

// One of the shortest cycles through `s` inside its component (`in_component` marks it),
// by breadth-first search.
TxnAnomaly shortest_cycle(const Graph& g, uint32_t s, const std::vector<bool>& in_component,
                          uint32_t component_size) {
  TxnAnomaly a;
  a.kind = TxnAnomaly::Kind::kCycle;
  a.component_size = component_size;
  if (g.self_loop[s]) {
    for (uint64_t e = g.begin[s]; e < g.begin[s + 1]; ++e) {
      if (g.to[e] != s) continue;
      a.txns = {s};
      a.keys = {g.key[e]};
      a.edges = {g.kind[e]};
      return a;
    }
  }
  std::map<uint32_t, uint64_t> parent_edge;  // node -> the edge it was reached by
  std::vector<uint32_t> frontier = {s}, next;
  uint64_t closing = std::numeric_limits<uint64_t>::max();
  uint32_t last = kNone;
  std::map<uint64_t, uint32_t> edge_from;
  while (!frontier.empty() && last == kNone) {
    next.clear();
    for (uint32_t v : frontier) {
      for (uint64_t e = g.begin[v]; e < g.begin[v + 1]; ++e) {
        const uint32_t w = g.to[e];
        if (!in_component[w]) continue;
        if (w == s) {
          closing = e;
          last = v;
          break;
        }
        if (parent_edge.count(w)) continue;
        parent_edge[w] = e;
        edge_from[e] = v;
        next.push_back(w);
      }
      if (last != kNone) break;
    }
    std::swap(frontier, next);
  }
  DSIM_ASSERT(last != kNone, "a strongly connected component without a cycle through ", s);
  // Walk back from the closing edge to s.
  std::vector<uint32_t> txns;
  std::vector<uint64_t> in_edges;
  in_edges.push_back(closing);  // into s
  txns.push_back(s);
  for (uint32_t v = last; v != s;) {
    const uint64_t e = parent_edge.at(v);
    txns.push_back(v);
    in_edges.push_back(e);
    v = edge_from.at(e);
  }
  // txns is s, last, ..., (s's successor): reverse all but s.
  std::reverse(txns.begin() + 1, txns.end());
  std::reverse(in_edges.begin() + 1, in_edges.end());
  a.txns = std::move(txns);
  for (uint64_t e : in_edges) {
    a.keys.push_back(g.key[e]);
    a.edges.push_back(g.kind[e]);
  }
  return a;
}

}  // namespace

std::string_view dependency_kind_name(DependencyKind k) {
  switch (k) {
    case DependencyKind::kWw:
      return "ww";
    case DependencyKind::kWr:
      return "wr";
    case DependencyKind::kRw:
      return "rw";
  }
  return "?";
}

std::string_view txn_anomaly_kind_name(TxnAnomaly::Kind k) {
  switch (k) {
    case TxnAnomaly::Kind::kCycle:
      return "cycle";
    case TxnAnomaly::Kind::kAbortedRead:
      return "aborted_read";
    case TxnAnomaly::Kind::kGarbageRead:
      return "garbage_read";
  }
  return "?";
}

std::string txn_ops_text(std::span<const TxnOp> ops) {
  std::string s;
  for (const TxnOp& op : ops) {
    if (!s.empty()) s += ' ';
    s += (op.write ? "w" : "r") + std::to_string(op.key);
    if (op.write) s += "=" + std::to_string(op.value);
  }
  return s;
}

SerializabilityResult check_serializability(const TxnHistory& h, size_t max_anomalies) {
  SerializabilityResult r;
  const auto& txns = h.txns();
  const size_t n = txns.size();
  r.txns.resize(n);

  // Every write, whatever its transaction's outcome, by (key, value).
  std::vector<Write> writes;
  for (uint32_t i = 0; i < n; ++i) {
    for (const TxnOp& op : h.ops_of(txns[i]))
      if (op.write) writes.push_back({op.key, op.value, i});
  }
  std::sort(writes.begin(), writes.end());

  // The accesses of the committed transactions whose reads are known: one per key, with
  // the version the transaction read (every operation on a key returns the value it held
  // before the transaction: the first one's is taken).
  std::vector<Access> accesses;
  std::vector<Access> own;
  for (uint32_t i = 0; i < n; ++i) {
    const TxnHistoryOp& t = txns[i];
    if (!t.committed()) continue;
    r.txns[i].checked = true;
    if (!reads_known(t)) continue;
    const auto ops = h.ops_of(t);
    const auto reads = h.reads_of(t);
    own.clear();
    for (size_t j = 0; j < ops.size(); ++j)
      own.push_back({ops[j].key, reads[j], i, ops[j].write});
    std::stable_sort(own.begin(), own.end(),
                     [](const Access& a, const Access& b) { return a.key < b.key; });
    for (size_t j = 0; j < own.size();) {
      Access a = own[j];
      for (; j < own.size() && own[j].key == a.key; ++j)
        a.wrote = a.wrote || own[j].wrote;
      accesses.push_back(a);
    }
  }

  // Reads of values no one wrote or an aborted transaction wrote; transactions of unknown
  // outcome that were read must have committed.
  for (const Access& a : accesses) {
    if (a.read == 0) continue;
    const uint32_t w = writer_of(writes, a.key, a.read);
    SerializabilityResult::Finding& f = r.txns[a.txn];
    TxnAnomaly bad;
    bad.txns = {a.txn};
    bad.keys = {a.key};
    bad.value = a.read;
    if (w == kNone) {
      ++f.garbage_reads;
      ++r.garbage_reads;
      bad.kind = TxnAnomaly::Kind::kGarbageRead;
    } else if (txns[w].outcome == HistoryOutcome::kFail) {
      ++f.aborted_reads;
      ++r.aborted_reads;
      bad.kind = TxnAnomaly::Kind::kAbortedRead;
      bad.txns.push_back(w);
    } else {
      if (!r.txns[w].checked) {
        r.txns[w].checked = true;
        ++r.unknown_committed;
      }
      continue;
    }
    r.anomalies.push_back(std::move(bad));
  }
  std::vector<uint32_t> nodes;
  for (uint32_t i = 0; i < n; ++i)
    if (r.txns[i].checked) nodes.push_back(i);
  r.txns_checked = nodes.size();

  // The edges, version by version.
  std::sort(accesses.begin(), accesses.end());
  std::vector<Edge> edges;
  std::vector<bool> self_loop(n, false);
  std::vector<uint32_t> overwriters;
  for (size_t b = 0; b < accesses.size();) {
    size_t e = b;
    while (e < accesses.size() && accesses[e].key == accesses[b].key &&
           accesses[e].read == accesses[b].read)
      ++e;
    const uint64_t key = accesses[b].key;
    uint32_t w = accesses[b].read == 0 ? kNone : writer_of(writes, key, accesses[b].read);
    if (w != kNone && !r.txns[w].checked) w = kNone;  // aborted: no dependency
    overwriters.clear();
    for (size_t i = b; i < e; ++i)
      if (accesses[i].wrote) overwriters.push_back(accesses[i].txn);
    for (size_t i = b; i < e; ++i) {
      const Access& a = accesses[i];
      if (w == a.txn) {
        // It read its own write: it took effect before itself (run twice).
        self_loop[a.txn] = true;
        edges.push_back({a.txn, a.txn, key, a.wrote ? DependencyKind::kWw : DependencyKind::kWr});
      } else if (w != kNone) {
        edges.push_back({w, a.txn, key, a.wrote ? DependencyKind::kWw : DependencyKind::kWr});
      }
      for (uint32_t o : overwriters)
        if (o != a.txn) edges.push_back({a.txn, o, key, DependencyKind::kRw});
    }
    b = e;
  }
  r.edges = edges.size();
  const Graph g = make_graph(n, edges, std::move(self_loop));
  edges = {};

  // The cycles: components of two or more transactions, or of one that read its own write.
  std::vector<TxnAnomaly> cycles;
  std::vector<bool> in_component(n, false);
  strongly_connected(g, nodes, [&](const std::vector<uint32_t>& component) {
    if (component.size() == 1 && !g.self_loop[component[0]]) return;
    const uint32_t id = static_cast<uint32_t>(r.cycles++);
    r.txns_in_cycles += component.size();
    for (uint32_t v : component)
      r.txns[v].cycle = id;
    if (cycles.size() >= max_anomalies) return;
    for (uint32_t v : component)
      in_component[v] = true;
    const uint32_t first = *std::min_element(component.begin(), component.end());
    cycles.push_back(
        shortest_cycle(g, first, in_component, static_cast<uint32_t>(component.size())));
    for (uint32_t v : component)
      in_component[v] = false;
  });
  // Cycles first, then the reads, in history order.
  std::vector<TxnAnomaly> reads = std::move(r.anomalies);
  r.anomalies = std::move(cycles);
  for (auto& a : reads) {
    if (r.anomalies.size() >= max_anomalies) break;
    r.anomalies.push_back(std::move(a));
  }
  return r;
}

namespace {

const TxnHistory& history_of(const HistoryCheckInput& in) {
  return *static_cast<const TxnHistory*>(in.log);
}

// A cycle as "12 -rw(k5)-> 13 -ww(k7)-> 12", a read as "12 read k5=40 of aborted 9".
std::string anomaly_text(const TxnAnomaly& a, const TxnHistory& h) {
  auto id = [&](uint32_t i) { return std::to_string(h.txns()[i].txn); };
  if (a.kind == TxnAnomaly::Kind::kCycle) {
    std::string s = id(a.txns[0]);
    for (size_t i = 1; i <= a.txns.size(); ++i) {
      const size_t to = i % a.txns.size();
      s += " -" + std::string(dependency_kind_name(a.edges[to])) + "(k" +
           std::to_string(a.keys[to]) + ")-> " + id(a.txns[to]);
    }
    return s;
  }
  std::string s =
      id(a.txns[0]) + " read k" + std::to_string(a.keys[0]) + "=" + std::to_string(a.value);
  if (a.kind == TxnAnomaly::Kind::kAbortedRead) return s + " written by aborted " + id(a.txns[1]);
  return s + " which no transaction wrote to it";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ' ';
    s += x;
  }
  return s;
}

std::string anomalies_csv(const SerializabilityResult& r, const TxnHistory& h,
                          const std::string& header) {
  std::string out = header;
  out += "# the first " + std::to_string(kMaxAnomalies) +
         " anomalies of the serialization graph: cycles (txns in order, each depending on the one "
         "before, the first on the last; keys: the key of the edge into each), then reads of "
         "aborted (G1a) or unwritten values; txns are transaction ids\n";
  out += "kind,txns,keys,component_size,value,detail\n";
  for (const TxnAnomaly& a : r.anomalies) {
    std::vector<std::string> ids, keys;
    for (uint32_t i : a.txns)
      ids.push_back(std::to_string(h.txns()[i].txn));
    for (uint64_t k : a.keys)
      keys.push_back(std::to_string(k));
    const bool cycle = a.kind == TxnAnomaly::Kind::kCycle;
    out += std::string(txn_anomaly_kind_name(a.kind)) + "," + join(ids) + "," + join(keys) + "," +
           (cycle ? std::to_string(a.component_size) : std::string()) + "," +
           (cycle ? std::string() : std::to_string(a.value)) + "," + csv_cell(anomaly_text(a, h)) +
           "\n";
  }
  return out;
}

constexpr const char* kSerializabilityMetrics[] = {
    "serializable",  "serializability_cycles", "txns_in_cycles",
    "aborted_reads", "garbage_reads",          "txns_checked",
};

// Figures of a set of transactions: the run's, or one client group's.
struct Tally {
  uint64_t checked = 0, in_cycles = 0, aborted = 0, garbage = 0;
  std::set<uint32_t> cycles;
};

void tally_rows(std::vector<AnalysisOutput::Row>& rows, const std::string& group, const Tally& t,
                bool truncated) {
  auto row = [&](const char* metric, double v) { rows.push_back({group, "", metric, v}); };
  const bool anomaly = !t.cycles.empty() || t.aborted > 0 || t.garbage > 0;
  // A truncated history is a prefix: an anomaly in it stands, but its being serializable
  // says nothing of the transactions that were not recorded.
  row("serializable", anomaly ? 0.0 : truncated ? kUnknown : 1.0);
  row("serializability_cycles", static_cast<double>(t.cycles.size()));
  row("txns_in_cycles", static_cast<double>(t.in_cycles));
  row("aborted_reads", static_cast<double>(t.aborted));
  row("garbage_reads", static_cast<double>(t.garbage));
  row("txns_checked", static_cast<double>(t.checked));
}

AnalysisOutput run_serializability(const HistoryCheckInput& in) {
  AnalysisOutput out;
  const TxnHistory& h = history_of(in);
  const SerializabilityResult r = check_serializability(h, kMaxAnomalies);

  // The run's figures, and each client group's (its transactions' anomalies; a cycle
  // counts in every group with a transaction in it).
  Tally all;
  std::map<uint32_t, Tally> groups;
  for (size_t i = 0; i < h.size(); ++i) {
    const TxnHistoryOp& t = h.txns()[i];
    Tally& g = groups[in.node_group[t.client]];
    const SerializabilityResult::Finding& f = r.txns[i];
    for (Tally* x : {&all, &g}) {
      x->checked += f.checked ? 1 : 0;
      x->aborted += f.aborted_reads;
      x->garbage += f.garbage_reads;
      if (f.cycle != SerializabilityResult::kNoCycle) {
        ++x->in_cycles;
        x->cycles.insert(f.cycle);
      }
    }
  }
  tally_rows(out.rows, "run", all, in.truncated);
  for (const auto& [g, t] : groups)
    tally_rows(out.rows, in.group_names[g], t, in.truncated);

  std::string& text = out.text;
  text += "  serializability: ";
  if (!r.serializable()) {
    text += "not serializable (" + std::to_string(r.cycles) + " cycles over " +
            std::to_string(r.txns_in_cycles) + " transactions, " + std::to_string(r.aborted_reads) +
            " aborted reads, " + std::to_string(r.garbage_reads) + " garbage reads; ";
  } else {
    text += in.truncated ? "unknown (history truncated; " : "serializable (";
  }
  text += std::to_string(r.txns_checked) + " transactions checked";
  if (r.unknown_committed) {
    text +=
        ", " + std::to_string(r.unknown_committed) + " of unknown outcome read and so committed";
  }
  text += ", " + std::to_string(r.edges) + " dependencies)\n";
  for (size_t i = 0; i < r.anomalies.size() && i < kTerminalAnomalies; ++i) {
    text += "    " + std::string(txn_anomaly_kind_name(r.anomalies[i].kind)) + ": " +
            anomaly_text(r.anomalies[i], h) + "\n";
  }
  if (r.anomalies.size() > kTerminalAnomalies) text += "    ... (see txn_anomalies.csv)\n";
  out.files.emplace_back("txn_anomalies.csv", anomalies_csv(r, h, in.file_header));
  return out;
}

std::string render_txn_history_csv(const TxnHistory& h, const HistoryCheckInput& in) {
  std::string out = in.file_header;
  out +=
      "# one row per transaction in invoke order; times are true simulated time in ns; ops: "
      "rK reads key K, wK=V writes V to it; reads: what a committed transaction's operations "
      "returned, the value each key held before it (0: never written), space-separated\n";
  out += "index,client,txn,ops,reads,outcome,invoke_ns,complete_ns,attempts\n";
  for (uint32_t i = 0; i < h.size(); ++i) {
    const TxnHistoryOp& t = h.txns()[i];
    out += std::to_string(i) + "," + csv_cell(in.node_name(t.client)) + "," +
           std::to_string(t.txn) + "," + txn_ops_text(h.ops_of(t)) + ",";
    const auto reads = h.reads_of(t);
    for (size_t j = 0; j < reads.size(); ++j)
      out += (j ? " " : "") + std::to_string(reads[j]);
    out += "," + std::string(history_outcome_name(t.outcome)) + "," +
           std::to_string(t.invoke.ns()) + ",";
    if (t.complete != TxnHistoryOp::kNever) out += std::to_string(t.complete.ns());
    out += "," + std::to_string(t.attempts) + "\n";
  }
  return out;
}

AnalysisOutput run_history_files(const HistoryCheckInput& in) {
  AnalysisOutput out;
  out.files.emplace_back("txn_history.csv", render_txn_history_csv(history_of(in), in));
  return out;
}

}  // namespace

HistoryFamilyEntry txn_history_family() {
  HistoryFamilyEntry f;
  f.family = &kTxnFamily;
  f.description = "transactions: one-shot reads and writes of keys, committed or aborted";
  f.checkers.push_back({"serializability",
                        "the direct serialization graph of the committed transactions (Adya) has "
                        "no cycle, and none read an aborted or unwritten value",
                        {std::begin(kSerializabilityMetrics), std::end(kSerializabilityMetrics)},
                        &run_serializability});
  f.checkers.push_back({"history files", "txn_history.csv", {}, &run_history_files});
  return f;
}

}  // namespace dsim::txn
