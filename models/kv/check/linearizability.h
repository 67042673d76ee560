// Linearizability of a key-value history, key by key.
//
// Linearizability is compositional (Herlihy & Wing's locality; "P-compositionality" in
// Horn & Kroening), so each key's operations are checked on their own. Each key is a
// register/list object (history.h): get must return the current list; put and cas set it
// to one element (cas only when it is [expected], or empty with expected_absent); append
// adds an element.
//
// The search is Wing & Gong's, as improved by Lowe ("Testing for linearizability", 2017):
// calls and returns in time order in a linked list; linearize a pending call when the
// object allows it, backtrack at a return whose call was not linearized; memoize each
// configuration reached (the set of linearized operations and the object's state) so
// no configuration is explored twice. This is the approach of Knossos' WGL checker and of
// Porcupine. The set of linearized operations is memoized as a 128-bit Zobrist hash (two
// independent 64-bit keys per operation, XORed in and out), so an entry costs 16 bytes:
// the chance that two different configurations of a search collide is below
// n^2 / 2^129 for n entries (under 10^-20 for every history a budget allows). States are
// lists interned in a trie, so comparing two is comparing two integers.
//
// Outcomes: an operation that failed definitely did not happen and is left out; a read
// with an unknown outcome constrains nothing and is left out; a write with an unknown
// outcome (timed out, or still in flight at the end) may have happened at any time after
// its invocation, or never: the search may linearize it anywhere after its call, or not at
// all. One whose value no read returned and no compare-and-set expected is left out (it
// changes nothing anyone saw), which keeps histories with many timeouts tractable. Two operations
// are ordered when one completed strictly before the other was invoked; operations that touch at
// the same nanosecond count as concurrent.
//
// Budgets end a search with an explicit `unknown` instead of a hang: a number of search
// steps (deterministic, unlike a wall-clock budget; tests/bench measures steps per second)
// and the memory of the memo table. A key whose search ran out is still decided "not
// linearizable" when a cheap witness shows it (witness.h: a stale read, or a later read
// that saw less than an earlier one). On a violation the checker shrinks the key's
// operations to a small set that is still not linearizable (see minimize in the .cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/kv/history.h"

namespace dsim::kv::check {

enum class Verdict : uint8_t { kOk, kViolation, kUnknown };
/// "linearizable", "not linearizable", "unknown".
std::string_view verdict_name(Verdict v);

struct SearchBudget {
  uint64_t max_steps = 20'000'000;
  uint64_t max_memory_bytes = uint64_t{512} << 20;
};

struct SearchResult {
  Verdict verdict = Verdict::kOk;
  uint64_t steps = 0;
  uint64_t memo_entries = 0;
  std::string why_unknown;  ///< which budget ran out
};

/// Checks the operations `ops` (indices into `h`, all of one key, any order) alone.
SearchResult check_ops(const KvHistory& h, std::span<const uint32_t> ops,
                       const SearchBudget& budget);

struct LinearizabilityConfig {
  SearchBudget per_key;                      ///< each key's search
  uint64_t max_steps_total = 500'000'000;    ///< over every key; later keys become unknown
  bool minimize = true;                      ///< shrink counterexamples
  uint64_t max_minimize_steps = 50'000'000;  ///< spent shrinking counterexamples, over every key
  size_t max_counterexamples = 10;           ///< keys whose counterexample is shrunk and kept
  /// Optional: called before each key is checked (keys done, keys in all), for a progress
  /// display; it does not change the verdict.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct KeyResult {
  uint64_t key = 0;
  Verdict verdict = Verdict::kOk;
  uint64_t ops = 0;  ///< operations of the key the search considered
  uint64_t steps = 0;
  std::string why_unknown;
  /// Violations: history indices of operations that together are not linearizable, in
  /// invoke order (empty past max_counterexamples).
  std::vector<uint32_t> counterexample;
  bool minimal =
      false;  ///< removing any one operation (with the reads of its value) makes it linearizable
  /// The search ran out of budget and a witness (witness.h) decided the violation: the
  /// counterexample is its argument (a read, what showed a write had taken effect, the
  /// write, the read's base), without the writes of the read's other values.
  bool witness = false;
};

struct LinearizabilityResult {
  Verdict verdict = Verdict::kOk;  ///< violation if any key is; else unknown if any key is
  uint64_t keys = 0;
  uint64_t violated = 0;
  uint64_t unknown = 0;
  uint64_t steps = 0;
  std::vector<KeyResult> flagged;  ///< the violated and unknown keys, in key order
};

LinearizabilityResult check_linearizability(const KvHistory& h,
                                            const LinearizabilityConfig& config);

/// Shrinks `ops` (one key, known not linearizable) to a smaller set that is still not
/// linearizable: first the shortest prefix in invoke order, then chunks and single
/// operations removed while the rest stays a violation. Removing a write also removes
/// the operations that read its value (reads-from closure), so the smaller set never
/// accuses the system of something the full history explains. `minimal` is set when
/// the result is 1-minimal under that removal.
/// `max_steps` bounds the search steps spent; *steps_left (if given) gets what is left.
std::vector<uint32_t> minimize_violation(const KvHistory& h, std::vector<uint32_t> ops,
                                         const SearchBudget& per_check, uint64_t max_steps,
                                         bool* minimal, uint64_t* steps_left = nullptr);

}  // namespace dsim::kv::check
