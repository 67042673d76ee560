// The operation history as files: history.csv (one row per operation) and Jepsen's EDN
// history format (history.edn), so dsim's verdicts can be cross-checked with Knossos,
// Elle or Porcupine. Formats in docs/consistency.md ("Histories").
#pragma once

#include <functional>
#include <string>

#include "models/kv/history.h"

namespace dsim::kv::check {

/// Names a client node in the files ("clients.3").
using NodeNamer = std::function<std::string(NodeId)>;

/// history.csv, after `header` (comment lines).
std::string render_history_csv(const KvHistory& h, const NodeNamer& name,
                               const std::string& header);

/// history.edn: one Jepsen operation map per line, invocations and completions in time
/// order. Keys with appends are written as Elle list-append transactions
/// (`:f :txn, :value [[:append k v]]`, `[[:r k [..]]]`); other keys as Knossos
/// cas-register operations on independent keys (`:f :read|:write|:cas, :value [k v]`).
std::string render_history_edn(const KvHistory& h, const NodeNamer& name,
                               const std::string& header);

/// One operation in a line, for counterexamples: "#12 clients.0/s1 put k=7 v=3000000005 ok
/// [1.000200000 s, 1.000450000 s]".
/// `max_elements`: a read's list longer than this shows its first and last few elements
/// and how many there are (0: every element).
std::string describe_op(const KvHistory& h, uint32_t index, const NodeNamer& name,
                        size_t max_elements = 0);

}  // namespace dsim::kv::check
