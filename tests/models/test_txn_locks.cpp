// The transaction participant's lock table (models/txn/locks.h), driven by scripts: lock
// compatibility, FIFO grants, conversions, and each deadlock policy's verdicts, with the
// table's invariants checked after every step.
#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>
#include <vector>

#include "models/txn/locks.h"
#include "sim/core/assert.h"

using namespace dsim::txn;
using Grant = LockTable::Grant;
using Grants = std::vector<std::pair<uint64_t, uint64_t>>;

namespace {

constexpr LockMode kS = LockMode::kShared;
constexpr LockMode kX = LockMode::kExclusive;
constexpr DeadlockPolicy kAllPolicies[] = {DeadlockPolicy::kTimeout, DeadlockPolicy::kWaitDie,
                                           DeadlockPolicy::kWoundWait};

// Transaction n started at time 10 n: a smaller id is older.
Priority age(uint64_t txn) {
  return Priority{static_cast<int64_t>(txn) * 10, txn};
}

// The table, with its invariants checked after every call.
class Script {
 public:
  explicit Script(DeadlockPolicy policy) : table_(policy) {}

  LockTable::Request acquire(uint64_t txn, uint64_t key, LockMode mode) {
    return acquire(txn, age(txn), key, mode);
  }
  LockTable::Request acquire(uint64_t txn, Priority prio, uint64_t key, LockMode mode) {
    auto r = table_.acquire(txn, prio, key, mode);
    table_.check_invariants();
    return r;
  }
  Grant grant(uint64_t txn, uint64_t key, LockMode mode) { return acquire(txn, key, mode).grant; }
  Grants release(uint64_t txn) {
    auto g = table_.release_all(txn);
    table_.check_invariants();
    return g;
  }
  void set_woundable(uint64_t txn, bool woundable) {
    table_.set_woundable(txn, woundable);
    table_.check_invariants();
  }
  const LockTable& table() const { return table_; }

 private:
  LockTable table_;
};

void require_empty(const LockTable& t) {
  REQUIRE(t.keys_locked() == 0);
  REQUIRE(t.waiters() == 0);
}

}  // namespace

TEST_CASE("txn locks: priority orders by timestamp then txn id", "[txn_locks]") {
  REQUIRE(Priority{1, 9}.older_than(Priority{2, 1}));
  REQUIRE_FALSE(Priority{2, 1}.older_than(Priority{1, 9}));
  REQUIRE(Priority{5, 1}.older_than(Priority{5, 2}));
  REQUIRE_FALSE(Priority{5, 2}.older_than(Priority{5, 1}));
  REQUIRE_FALSE(Priority{5, 2}.older_than(Priority{5, 2}));
}

TEST_CASE("txn locks: shared locks are compatible under every policy", "[txn_locks]") {
  for (auto policy : kAllPolicies) {
    Script s(policy);
    REQUIRE(s.grant(2, 7, kS) == Grant::kGranted);
    REQUIRE(s.grant(1, 7, kS) == Grant::kGranted);
    REQUIRE(s.grant(3, 7, kS) == Grant::kGranted);
    REQUIRE(s.table().holds(1, 7, kS));
    REQUIRE(s.table().holds(2, 7, kS));
    REQUIRE(s.table().holds(3, 7, kS));
    REQUIRE_FALSE(s.table().holds(1, 7, kX));
    REQUIRE(s.table().keys_locked() == 1);
    REQUIRE(s.table().waiters() == 0);
    REQUIRE(s.release(1).empty());
    REQUIRE(s.release(2).empty());
    REQUIRE(s.table().keys_locked() == 1);
    REQUIRE(s.release(3).empty());
    require_empty(s.table());
  }
}

TEST_CASE("txn locks: a held lock is granted again in the same or a weaker mode", "[txn_locks]") {
  for (auto policy : kAllPolicies) {
    Script s(policy);
    REQUIRE(s.grant(1, 4, kX) == Grant::kGranted);
    REQUIRE(s.grant(1, 4, kX) == Grant::kGranted);
    REQUIRE(s.grant(1, 4, kS) == Grant::kGranted);
    REQUIRE(s.table().holds(1, 4, kX));  // asking for shared did not weaken it
    REQUIRE(s.table().holds(1, 4, kS));
    REQUIRE(s.table().waiters() == 0);
    REQUIRE(s.release(1).empty());
    require_empty(s.table());
  }
}

TEST_CASE("txn locks: exclusive conflicts and waiters are granted on release", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 5, kX) == Grant::kGranted);
  REQUIRE(s.grant(2, 5, kS) == Grant::kWaiting);
  REQUIRE(s.grant(3, 5, kX) == Grant::kWaiting);
  REQUIRE(s.table().waiting(2));
  REQUIRE(s.table().waiting(3));
  REQUIRE_FALSE(s.table().waiting(1));
  REQUIRE_FALSE(s.table().holds(2, 5, kS));
  REQUIRE(s.table().waiters() == 2);
  // Another key is independent.
  REQUIRE(s.grant(4, 6, kX) == Grant::kGranted);
  REQUIRE(s.table().keys_locked() == 2);

  REQUIRE(s.release(1) == Grants{{2, 5}});
  REQUIRE(s.table().holds(2, 5, kS));
  REQUIRE(s.table().waiting(3));
  REQUIRE(s.release(2) == Grants{{3, 5}});
  REQUIRE(s.table().holds(3, 5, kX));
  REQUIRE(s.table().waiters() == 0);
  REQUIRE(s.release(3).empty());
  REQUIRE(s.release(4).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: release grants FIFO with a run of shared requests together", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 9, kX) == Grant::kGranted);
  REQUIRE(s.grant(3, 9, kS) == Grant::kWaiting);
  REQUIRE(s.grant(2, 9, kS) == Grant::kWaiting);
  REQUIRE(s.grant(4, 9, kX) == Grant::kWaiting);
  REQUIRE(s.grant(5, 9, kS) == Grant::kWaiting);
  REQUIRE(s.table().waiters() == 4);

  // The two shared requests at the head, in arrival order; the exclusive one stops the run
  // and the shared one behind it does not pass it.
  REQUIRE(s.release(1) == Grants{{3, 9}, {2, 9}});
  REQUIRE(s.table().holds(3, 9, kS));
  REQUIRE(s.table().holds(2, 9, kS));
  REQUIRE(s.table().waiting(4));
  REQUIRE(s.table().waiting(5));
  REQUIRE(s.release(2).empty());
  REQUIRE(s.release(3) == Grants{{4, 9}});
  REQUIRE(s.release(4) == Grants{{5, 9}});
  REQUIRE(s.release(5).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: a shared request queues behind a waiting exclusive one", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 2, kS) == Grant::kGranted);
  REQUIRE(s.grant(2, 2, kX) == Grant::kWaiting);
  // Compatible with the holder, but the writer came first.
  REQUIRE(s.grant(3, 2, kS) == Grant::kWaiting);
  REQUIRE(s.release(1) == Grants{{2, 2}});
  REQUIRE(s.release(2) == Grants{{3, 2}});
  REQUIRE(s.release(3).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: release grants across keys in key order", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 50, kX) == Grant::kGranted);
  REQUIRE(s.grant(1, 20, kX) == Grant::kGranted);
  REQUIRE(s.grant(2, 50, kX) == Grant::kWaiting);
  REQUIRE(s.grant(3, 20, kS) == Grant::kWaiting);
  REQUIRE(s.grant(4, 20, kS) == Grant::kWaiting);
  REQUIRE(s.release(1) == Grants{{3, 20}, {4, 20}, {2, 50}});
  for (uint64_t t : {2, 3, 4})
    REQUIRE(s.release(t).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: a sole shared holder converts to exclusive at once", "[txn_locks]") {
  for (auto policy : kAllPolicies) {
    Script s(policy);
    REQUIRE(s.grant(2, 3, kS) == Grant::kGranted);
    REQUIRE(s.grant(1, 3, kS) == Grant::kGranted);  // two shared holders, then one
    REQUIRE(s.release(1).empty());
    auto r = s.acquire(2, 3, kX);
    REQUIRE(r.grant == Grant::kGranted);
    REQUIRE(r.wounded.empty());
    REQUIRE(s.table().holds(2, 3, kX));
    REQUIRE(s.table().keys_locked() == 1);
    REQUIRE(s.release(2).empty());
    require_empty(s.table());
  }
}

TEST_CASE("txn locks: a conversion waits for the other holders ahead of other waiters",
          "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 8, kS) == Grant::kGranted);
  REQUIRE(s.grant(2, 8, kS) == Grant::kGranted);
  REQUIRE(s.grant(3, 8, kX) == Grant::kWaiting);
  REQUIRE(s.grant(1, 8, kX) == Grant::kWaiting);
  REQUIRE(s.table().holds(1, 8, kS));  // still holds its shared lock while it waits
  REQUIRE_FALSE(s.table().holds(1, 8, kX));
  REQUIRE(s.table().waiters() == 2);
  // The conversion is granted before txn 3, which came first.
  REQUIRE(s.release(2) == Grants{{1, 8}});
  REQUIRE(s.table().holds(1, 8, kX));
  REQUIRE(s.table().waiting(3));
  REQUIRE(s.release(1) == Grants{{3, 8}});
  REQUIRE(s.release(3).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: a waiting conversion gives up its shared lock on release", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 8, kS) == Grant::kGranted);
  REQUIRE(s.grant(2, 8, kS) == Grant::kGranted);
  REQUIRE(s.grant(2, 8, kX) == Grant::kWaiting);
  REQUIRE(s.grant(3, 8, kX) == Grant::kWaiting);
  // Txn 2 aborts (its lock timeout): txn 1 alone holds, txn 3 still conflicts.
  REQUIRE(s.release(2).empty());
  REQUIRE_FALSE(s.table().waiting(2));
  REQUIRE_FALSE(s.table().holds(2, 8, kS));
  REQUIRE(s.table().waiters() == 1);
  REQUIRE(s.release(1) == Grants{{3, 8}});
  REQUIRE(s.release(3).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wait-die lets an older requester wait and kills a younger one",
          "[txn_locks]") {
  Script s(DeadlockPolicy::kWaitDie);
  REQUIRE(s.grant(2, 1, kX) == Grant::kGranted);
  REQUIRE(s.grant(1, 1, kS) == Grant::kWaiting);  // older than the holder
  REQUIRE(s.table().waiting(1));
  auto die = s.acquire(3, 1, kX);  // younger than the holder
  REQUIRE(die.grant == Grant::kDie);
  REQUIRE(die.wounded.empty());
  REQUIRE_FALSE(s.table().waiting(3));  // nothing was queued
  REQUIRE(s.table().waiters() == 1);
  REQUIRE(s.release(3).empty());
  REQUIRE(s.release(2) == Grants{{1, 1}});
  REQUIRE(s.release(1).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wait-die kills a requester younger than any conflicting holder",
          "[txn_locks]") {
  Script s(DeadlockPolicy::kWaitDie);
  REQUIRE(s.grant(1, 4, kS) == Grant::kGranted);
  REQUIRE(s.grant(3, 4, kS) == Grant::kGranted);
  // Older than txn 3 but younger than txn 1.
  REQUIRE(s.grant(2, 4, kX) == Grant::kDie);
  // Txn 1 converts: older than the other holder, it waits; txn 3's conversion dies.
  REQUIRE(s.grant(1, 4, kX) == Grant::kWaiting);
  REQUIRE(s.grant(3, 4, kX) == Grant::kDie);
  REQUIRE(s.table().holds(3, 4, kS));  // dying does not release: the caller aborts it
  REQUIRE(s.release(3) == Grants{{1, 4}});
  REQUIRE(s.table().holds(1, 4, kX));
  REQUIRE(s.release(1).empty());
  REQUIRE(s.release(2).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wait-die breaks timestamp ties by txn id", "[txn_locks]") {
  Script s(DeadlockPolicy::kWaitDie);
  REQUIRE(s.acquire(5, Priority{100, 5}, 1, kX).grant == Grant::kGranted);
  REQUIRE(s.acquire(6, Priority{100, 6}, 1, kX).grant == Grant::kDie);
  REQUIRE(s.acquire(4, Priority{100, 4}, 1, kX).grant == Grant::kWaiting);
  // A restarted transaction keeps its first timestamp: older whatever its new id.
  REQUIRE(s.acquire(9, Priority{50, 9}, 1, kS).grant == Grant::kWaiting);
  REQUIRE(s.release(5) == Grants{{4, 1}});
  REQUIRE(s.release(4) == Grants{{9, 1}});
  REQUIRE(s.release(9).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wait-die compares with the holders only", "[txn_locks]") {
  Script s(DeadlockPolicy::kWaitDie);
  REQUIRE(s.grant(2, 6, kS) == Grant::kGranted);
  REQUIRE(s.grant(1, 6, kX) == Grant::kWaiting);
  // Younger than the waiter but compatible with the holder: it waits, it does not die.
  REQUIRE(s.grant(3, 6, kS) == Grant::kWaiting);
  REQUIRE(s.table().waiters() == 2);
  REQUIRE(s.release(2) == Grants{{1, 6}});
  REQUIRE(s.release(1) == Grants{{3, 6}});
  REQUIRE(s.release(3).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wound-wait wounds younger holders in txn id order", "[txn_locks]") {
  Script s(DeadlockPolicy::kWoundWait);
  REQUIRE(s.grant(3, 2, kS) == Grant::kGranted);
  REQUIRE(s.grant(2, 2, kS) == Grant::kGranted);
  auto r = s.acquire(1, 2, kX);
  REQUIRE(r.grant == Grant::kWaiting);
  REQUIRE(r.wounded == std::vector<uint64_t>{2, 3});
  REQUIRE(s.table().waiting(1));
  // The caller aborts the wounded; the last release grants the requester.
  REQUIRE(s.release(3).empty());
  REQUIRE(s.release(2) == Grants{{1, 2}});
  REQUIRE(s.table().holds(1, 2, kX));
  REQUIRE(s.release(1).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wound-wait makes a younger requester wait", "[txn_locks]") {
  Script s(DeadlockPolicy::kWoundWait);
  REQUIRE(s.grant(1, 2, kX) == Grant::kGranted);
  auto r = s.acquire(2, 2, kS);
  REQUIRE(r.grant == Grant::kWaiting);
  REQUIRE(r.wounded.empty());
  REQUIRE(s.table().holds(1, 2, kX));
  REQUIRE(s.release(1) == Grants{{2, 2}});
  REQUIRE(s.release(2).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wound-wait waits for a holder that cannot be wounded", "[txn_locks]") {
  Script s(DeadlockPolicy::kWoundWait);
  REQUIRE(s.grant(2, 7, kS) == Grant::kGranted);
  REQUIRE(s.grant(3, 7, kS) == Grant::kGranted);
  s.set_woundable(2, false);  // txn 2 prepared
  auto r = s.acquire(1, 7, kX);
  REQUIRE(r.grant == Grant::kWaiting);
  REQUIRE(r.wounded == std::vector<uint64_t>{3});
  REQUIRE(s.release(3).empty());  // txn 2 still holds
  REQUIRE(s.table().waiting(1));
  REQUIRE(s.release(2) == Grants{{1, 7}});

  // Woundable again once the flag is cleared.
  REQUIRE(s.grant(4, 8, kX) == Grant::kGranted);
  s.set_woundable(4, false);
  REQUIRE(s.acquire(0, 8, kX).wounded.empty());
  REQUIRE(s.release(0).empty());
  s.set_woundable(4, true);
  REQUIRE(s.acquire(0, 8, kX).wounded == std::vector<uint64_t>{4});
  REQUIRE(s.release(4) == Grants{{0, 8}});
  REQUIRE(s.release(0).empty());
  REQUIRE(s.release(1).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: wound-wait conversion wounds the younger shared holder", "[txn_locks]") {
  Script s(DeadlockPolicy::kWoundWait);
  REQUIRE(s.grant(1, 5, kS) == Grant::kGranted);
  REQUIRE(s.grant(2, 5, kS) == Grant::kGranted);
  auto young = s.acquire(2, 5, kX);
  REQUIRE(young.grant == Grant::kWaiting);
  REQUIRE(young.wounded.empty());
  REQUIRE(s.release(2).empty());
  REQUIRE(s.grant(2, 5, kS) == Grant::kGranted);
  auto old = s.acquire(1, 5, kX);
  REQUIRE(old.grant == Grant::kWaiting);
  REQUIRE(old.wounded == std::vector<uint64_t>{2});
  REQUIRE(s.release(2) == Grants{{1, 5}});
  REQUIRE(s.release(1).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: timeout policy always waits and never wounds", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 1, kX) == Grant::kGranted);
  REQUIRE(s.grant(5, 2, kX) == Grant::kGranted);
  auto younger = s.acquire(2, 1, kX);
  REQUIRE(younger.grant == Grant::kWaiting);
  REQUIRE(younger.wounded.empty());
  auto older = s.acquire(0, 2, kS);
  REQUIRE(older.grant == Grant::kWaiting);
  REQUIRE(older.wounded.empty());
  for (uint64_t t : {0, 1, 2, 5})
    s.release(t);
  require_empty(s.table());
}

TEST_CASE("txn locks: releasing a waiter removes its request", "[txn_locks]") {
  for (auto policy : kAllPolicies) {
    Script s(policy);
    // Txn 2 (younger) would die under wait-die: let the oldest hold shared there instead.
    REQUIRE(s.grant(3, 1, kS) == Grant::kGranted);
    REQUIRE(s.grant(1, 1, kX) == Grant::kWaiting);
    REQUIRE(s.grant(2, 1, kS) == Grant::kWaiting);
    REQUIRE(s.table().waiters() == 2);
    // Txn 1 leaves the queue: txn 2 reaches the head, compatible with the holder.
    REQUIRE(s.release(1) == Grants{{2, 1}});
    REQUIRE_FALSE(s.table().waiting(1));
    REQUIRE(s.table().holds(2, 1, kS));
    REQUIRE(s.table().waiters() == 0);
    REQUIRE(s.release(2).empty());
    REQUIRE(s.release(3).empty());
    require_empty(s.table());
  }
}

TEST_CASE("txn locks: releasing a waiter behind a conflict grants nothing", "[txn_locks]") {
  Script s(DeadlockPolicy::kTimeout);
  REQUIRE(s.grant(1, 1, kX) == Grant::kGranted);
  REQUIRE(s.grant(2, 1, kX) == Grant::kWaiting);
  REQUIRE(s.grant(3, 1, kS) == Grant::kWaiting);
  REQUIRE(s.release(2).empty());
  REQUIRE_FALSE(s.table().waiting(2));
  REQUIRE(s.table().waiting(3));
  REQUIRE(s.table().waiters() == 1);
  REQUIRE(s.release(1) == Grants{{3, 1}});
  REQUIRE(s.release(3).empty());
  require_empty(s.table());
}

TEST_CASE("txn locks: a transaction waits for one lock at a time", "[txn_locks]") {
  LockTable t(DeadlockPolicy::kTimeout);
  REQUIRE(t.acquire(1, age(1), 1, kX).grant == Grant::kGranted);
  REQUIRE(t.acquire(2, age(2), 1, kX).grant == Grant::kWaiting);
  REQUIRE_THROWS_AS(t.acquire(2, age(2), 2, kS), dsim::InvariantBroken);
  t.check_invariants();  // the refused request changed nothing
  REQUIRE(t.keys_locked() == 1);
  REQUIRE(t.waiters() == 1);
  REQUIRE_FALSE(t.holds(2, 2, kS));
}

TEST_CASE("txn locks: the table is empty after every transaction releases", "[txn_locks]") {
  // A deterministic random script per policy: transactions take locks on a few keys, abort
  // when told to die or wounded, and sometimes finish; the invariants hold at every step and
  // the table holds nothing once all are released.
  for (auto policy : kAllPolicies) {
    Script s(policy);
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&state](uint64_t n) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state % n;
    };
    constexpr uint64_t kTxns = 8;
    int granted = 0, waited = 0, died = 0, wounded = 0;
    for (int step = 0; step < 3000; ++step) {
      uint64_t txn = 1 + next(kTxns);
      if (s.table().waiting(txn) || next(8) == 0) {
        s.release(txn);  // a lock timeout, or the transaction finishes
        continue;
      }
      uint64_t key = next(5);
      LockMode mode = next(3) == 0 ? kX : kS;
      auto r = s.acquire(txn, key, mode);
      if (r.grant == Grant::kGranted) {
        ++granted;
        REQUIRE(s.table().holds(txn, key, mode));
      } else if (r.grant == Grant::kWaiting) {
        ++waited;
        REQUIRE(s.table().waiting(txn));
      } else {
        ++died;
        REQUIRE(policy == DeadlockPolicy::kWaitDie);
        REQUIRE_FALSE(s.table().waiting(txn));
        s.release(txn);
      }
      if (policy != DeadlockPolicy::kWoundWait) REQUIRE(r.wounded.empty());
      for (uint64_t w : r.wounded) {
        ++wounded;
        REQUIRE(w > txn);  // only younger transactions are wounded
        s.release(w);
      }
    }
    REQUIRE(granted > 0);
    REQUIRE(waited > 0);
    REQUIRE((died > 0) == (policy == DeadlockPolicy::kWaitDie));
    REQUIRE((wounded > 0) == (policy == DeadlockPolicy::kWoundWait));
    for (uint64_t t = 1; t <= kTxns; ++t)
      s.release(t);
    require_empty(s.table());
    for (uint64_t t = 1; t <= kTxns; ++t) {
      REQUIRE_FALSE(s.table().waiting(t));
      for (uint64_t key = 0; key < 5; ++key)
        REQUIRE_FALSE(s.table().holds(t, key, kS));
    }
  }
}
