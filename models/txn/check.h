// The txn history family's entry in the registry and its checkers:
//   - serializability: the direct serialization graph of the committed transactions
//     (Adya 1999, "Weak Consistency: A Generalized Theory and Optimistic Implementations
//     for Distributed Transactions", 3.1-3.2) built from the values they read and wrote,
//     and its cycles (Tarjan's strongly connected components); reads of aborted writes
//     (G1a) and of values nobody wrote; serializable (1, 0 or unknown), the counts, and
//     txn_anomalies.csv with the first anomalies found;
//   - history files: txn_history.csv, one row per transaction.
//
// The graph. Values are unique per write and 0 is every key's initial version, so the
// version of key k a transaction read is the one it replaced when it wrote k. For each
// version v of k, with W the transaction that wrote it:
//   - ww: W -> each transaction that read v and wrote k (it installed the next version);
//   - wr: W -> each transaction that read v and did not write k;
//   - rw: each transaction that read v -> each other transaction that read v and wrote k
//     (an anti-dependency: it overwrote what the reader saw).
// Two transactions that both replaced v (a lost update) have rw edges both ways. A
// transaction of unknown outcome whose write some committed transaction read must have
// committed and joins the graph (with its writes only: what it read is not known); one
// nobody read is left out. A history is serializable when the graph has no cycle (a
// strongly connected component of two or more transactions, or one that read its own
// write) and no committed transaction read an aborted or unwritten value.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/txn/history.h"
#include "sim/core/registry.h"

namespace dsim::txn {

/// The kind of a dependency edge (Adya's write-, read- and anti-dependencies).
enum class DependencyKind : uint8_t { kWw, kWr, kRw };
std::string_view dependency_kind_name(DependencyKind k);

/// One anomaly the serializability checker found.
struct TxnAnomaly {
  enum class Kind : uint8_t {
    kCycle,        ///< a cycle of the serialization graph
    kAbortedRead,  ///< a committed transaction read an aborted transaction's write (G1a)
    kGarbageRead,  ///< a committed transaction read a value no transaction wrote to its key
  };
  Kind kind = Kind::kCycle;
  /// History indices. A cycle: its transactions in order (each depends on the one before,
  /// the first on the last), one of the shortest through its component's first
  /// transaction. A read: the reader, then the writer when there is one.
  std::vector<uint32_t> txns;
  /// A cycle: the edge into each transaction (`edges[i]` on key `keys[i]` ends at
  /// `txns[i]`). A read: the key.
  std::vector<uint64_t> keys;
  std::vector<DependencyKind> edges;
  uint32_t component_size = 0;  ///< a cycle: transactions in its strongly connected component
  int64_t value = 0;            ///< a read: the value read
};
std::string_view txn_anomaly_kind_name(TxnAnomaly::Kind k);

/// What the serializability checker found.
struct SerializabilityResult {
  static constexpr uint32_t kNoCycle = HistoryLog::kNone;
  /// Per history transaction, in history order.
  struct Finding {
    bool checked = false;        ///< in the graph (committed, or read by a committed one)
    uint32_t cycle = kNoCycle;   ///< the cycle (component) it is in, numbered from 0
    uint32_t aborted_reads = 0;  ///< its reads of aborted writes
    uint32_t garbage_reads = 0;  ///< its reads of values nobody wrote
  };
  std::vector<Finding> txns;
  uint64_t txns_checked = 0;
  uint64_t unknown_committed = 0;  ///< of unknown outcome, in the graph because read
  uint64_t edges = 0;
  uint64_t cycles = 0;  ///< strongly connected components that are cycles
  uint64_t txns_in_cycles = 0;
  uint64_t aborted_reads = 0;
  uint64_t garbage_reads = 0;
  std::vector<TxnAnomaly> anomalies;  ///< cycles first, then reads; at most max_anomalies

  bool serializable() const { return cycles == 0 && aborted_reads == 0 && garbage_reads == 0; }
};

/// Builds the serialization graph of `h` and finds its cycles and bad reads; keeps the
/// first `max_anomalies` anomalies. Linear in the history and the graph's edges; no
/// recursion.
SerializabilityResult check_serializability(const TxnHistory& h, size_t max_anomalies = 100);

/// A transaction's operations as text: "r5 w7=123" (read key 5, write 123 to key 7).
std::string txn_ops_text(std::span<const TxnOp> ops);

/// The txn family with its checkers, for ModelRegistry::add_family().
HistoryFamilyEntry txn_history_family();

}  // namespace dsim::txn
