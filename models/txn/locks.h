// The lock table of one transaction participant under strict two-phase locking: a
// transaction takes shared or exclusive locks on keys as it runs and gives every one back
// at once when it commits or aborts (release_all). A request that cannot be granted queues
// FIFO on its key; a release grants from the head of each queue every request compatible
// with the holders (a run of shared requests together). Deadlocks are handled by one of
// three policies:
//
//   timeout     a conflicting request always waits; the participant's lock_timeout timer
//               aborts a transaction that waits too long
//   wait_die    an older requester waits for younger holders; a younger requester dies
//               (aborts at once, its request not queued)
//   wound_wait  an older requester wounds (aborts) the younger holders and waits for them
//               to release; a younger requester waits. A prepared transaction cannot be
//               wounded (set_woundable): the older requester waits for it instead
//
// Age is a Priority: smaller timestamps are older, ties broken by the smaller txn id. A
// transaction restarted after dying or being wounded keeps its first timestamp, so it
// grows older until it wins.
//
// Both age rules compare the requester with the conflicting *holders* only, not with the
// waiters queued ahead of it: a request compatible with the holders but queued behind a
// waiter waits whatever the ages, so a waits-for cycle through a queue remains possible and
// a participant that must never hang keeps its lock timeout under every policy.
//
// Lock conversion: a holder of a shared lock that asks for the exclusive one is granted at
// once when it is the only holder; otherwise it waits at the front of the queue (behind
// conversions already waiting there), since it holds the shared lock that any exclusive
// waiter ahead of it would wait for. Against the other holders the policy's rules apply.
//
// Sources: D. J. Rosenkrantz, R. E. Stearns and P. M. Lewis II, "System level concurrency
// control for distributed database systems", ACM TODS 3(2), 1978 (wait-die, wound-wait);
// P. A. Bernstein, V. Hadzilacos and N. Goodman, "Concurrency Control and Recovery in
// Database Systems", Addison-Wesley 1987, ch. 3 (two-phase locking, lock modes, conversions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace dsim::txn {

/// A lock's mode: shared locks are compatible with each other, exclusive with none.
enum class LockMode : uint8_t { kShared, kExclusive };

/// How the table keeps transactions out of deadlocks (see the file comment).
enum class DeadlockPolicy : uint8_t { kTimeout, kWaitDie, kWoundWait };

/// The age of a transaction: a smaller timestamp is older; ties broken by txn id (smaller older).
struct Priority {
  int64_t ts = 0;    ///< the transaction's first start timestamp
  uint64_t txn = 0;  ///< the tie breaker
  /// True when this transaction is strictly older than `o`.
  bool older_than(const Priority& o) const;
};

class LockTable {
 public:
  /// A table that resolves conflicts by `policy`.
  explicit LockTable(DeadlockPolicy policy);

  /// The outcome of a request.
  enum class Grant : uint8_t {
    kGranted,  ///< the transaction holds the lock now
    kWaiting,  ///< queued; a later release_all grants it
    kDie,      ///< wait-die only: younger than a conflicting holder, abort; nothing queued
  };
  /// What acquire() decided.
  struct Request {
    Grant grant = Grant::kGranted;  ///< granted, waiting or die
    std::vector<uint64_t> wounded;  ///< wound-wait: holders to abort, ascending txn ids
  };

  /// `txn` (of age `prio`) asks for `mode` on `key`. kGranted: it holds it now (also when it
  /// already held it, or a stronger mode). kWaiting: queued FIFO behind the conflicting
  /// holders and the waiters (a conversion at the front, see the file comment). kDie:
  /// wait-die only, see the file comment. Under wound-wait `wounded` lists the younger
  /// woundable conflicting holders: the caller aborts them and calls release_all for each,
  /// which grants the requester once nothing else is in its way. A transaction waits for
  /// at most one lock at a time (asserted).
  Request acquire(uint64_t txn, Priority prio, uint64_t key, LockMode mode);
  /// Releases every lock `txn` holds, removes its pending request and forgets its woundable
  /// flag; returns the (txn, key) pairs granted in consequence, by ascending key, FIFO within
  /// a key.
  std::vector<std::pair<uint64_t, uint64_t>> release_all(uint64_t txn);
  /// Marks `txn` woundable or not (default woundable). A prepared transaction voted yes and
  /// only its coordinator decides its fate, so wound-wait makes an older requester wait for it.
  void set_woundable(uint64_t txn, bool woundable);

  /// True when `txn` holds `key` in `mode` or a stronger one (exclusive implies shared).
  bool holds(uint64_t txn, uint64_t key, LockMode mode) const;
  /// True when `txn` has a request queued.
  bool waiting(uint64_t txn) const;
  /// Keys with at least one holder.
  size_t keys_locked() const;
  /// Queued requests, over every key.
  size_t waiters() const;
  /// The policy the table was built with.
  DeadlockPolicy policy() const { return policy_; }

  /// Asserts that holders are compatible, that no queue's head could be granted (nobody
  /// waits needlessly), that conversions lead their queues, that no key is kept without a
  /// holder and that the per-transaction indexes match the per-key state.
  void check_invariants() const;

 private:
  struct Holder {
    LockMode mode = LockMode::kShared;
    Priority prio;
  };
  struct Waiter {
    uint64_t txn = 0;
    LockMode mode = LockMode::kShared;
    Priority prio;
  };
  struct KeyState {
    std::map<uint64_t, Holder> holders;  // by txn id
    std::vector<Waiter> queue;           // FIFO, conversions first
  };

  static bool grantable(const KeyState& k, const Waiter& w);
  void grant_from_head(uint64_t key, KeyState& k,
                       std::vector<std::pair<uint64_t, uint64_t>>& granted);

  DeadlockPolicy policy_;
  std::map<uint64_t, KeyState> keys_;            // only keys with a holder
  std::map<uint64_t, std::set<uint64_t>> held_;  // txn -> keys it holds
  std::map<uint64_t, uint64_t> waiting_;         // txn -> the key it waits for
  std::set<uint64_t> unwoundable_;               // prepared transactions
};

}  // namespace dsim::txn
