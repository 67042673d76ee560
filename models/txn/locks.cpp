#include "models/txn/locks.h"

#include <algorithm>

#include "sim/core/assert.h"

namespace dsim::txn {

namespace {

bool conflicts(LockMode a, LockMode b) {
  return a == LockMode::kExclusive || b == LockMode::kExclusive;
}

}  // namespace

bool Priority::older_than(const Priority& o) const {
  if (ts != o.ts) return ts < o.ts;
  return txn < o.txn;
}

LockTable::LockTable(DeadlockPolicy policy) : policy_(policy) {}

LockTable::Request LockTable::acquire(uint64_t txn, Priority prio, uint64_t key, LockMode mode) {
  DSIM_ASSERT(!waiting(txn), "txn ", txn, " asks for key ", key, " while it waits for key ",
              waiting_.at(txn));
  Request out;
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    keys_[key].holders[txn] = Holder{mode, prio};
    held_[txn].insert(key);
    return out;
  }
  KeyState& k = it->second;
  auto mine = k.holders.find(txn);
  const bool conversion = mine != k.holders.end();
  if (conversion && (mine->second.mode == LockMode::kExclusive || mode == LockMode::kShared)) {
    return out;  // already held, in this mode or a stronger one
  }

  std::vector<const std::pair<const uint64_t, Holder>*> in_the_way;  // ascending txn ids
  for (const auto& h : k.holders) {
    if (h.first != txn && conflicts(mode, h.second.mode)) in_the_way.push_back(&h);
  }
  // A conversion waits only for the other holders (it goes to the front of the queue); a
  // new request also waits for anyone queued before it.
  if (in_the_way.empty() && (conversion || k.queue.empty())) {
    if (conversion) {
      mine->second = Holder{mode, prio};
    } else {
      k.holders[txn] = Holder{mode, prio};
      held_[txn].insert(key);
    }
    return out;
  }

  // The policies compare the requester with the conflicting holders only (file comment).
  switch (policy_) {
    case DeadlockPolicy::kTimeout:
      break;
    case DeadlockPolicy::kWaitDie:
      // Rosenkrantz et al.: wait only for younger transactions, else die.
      for (const auto* h : in_the_way) {
        if (!prio.older_than(h->second.prio)) {
          out.grant = Grant::kDie;
          return out;
        }
      }
      break;
    case DeadlockPolicy::kWoundWait:
      // Rosenkrantz et al.: wound younger holders, wait for older ones. A prepared holder
      // is not woundable: the requester waits for it.
      for (const auto* h : in_the_way) {
        if (prio.older_than(h->second.prio) && !unwoundable_.contains(h->first)) {
          out.wounded.push_back(h->first);
        }
      }
      break;
  }

  Waiter w{txn, mode, prio};
  if (conversion) {
    // Behind the conversions already waiting, ahead of every new request.
    auto pos = std::find_if(k.queue.begin(), k.queue.end(),
                            [&k](const Waiter& q) { return !k.holders.contains(q.txn); });
    k.queue.insert(pos, w);
  } else {
    k.queue.push_back(w);
  }
  waiting_[txn] = key;
  out.grant = Grant::kWaiting;
  return out;
}

bool LockTable::grantable(const KeyState& k, const Waiter& w) {
  for (const auto& [holder, h] : k.holders) {
    if (holder != w.txn && conflicts(w.mode, h.mode)) return false;
  }
  return true;
}

void LockTable::grant_from_head(uint64_t key, KeyState& k,
                                std::vector<std::pair<uint64_t, uint64_t>>& granted) {
  size_t n = 0;
  while (n < k.queue.size() && grantable(k, k.queue[n])) {
    const Waiter& w = k.queue[n];
    k.holders[w.txn] = Holder{w.mode, w.prio};  // a conversion overwrites its shared lock
    held_[w.txn].insert(key);
    waiting_.erase(w.txn);
    granted.emplace_back(w.txn, key);
    ++n;
  }
  k.queue.erase(k.queue.begin(), k.queue.begin() + static_cast<std::ptrdiff_t>(n));
}

std::vector<std::pair<uint64_t, uint64_t>> LockTable::release_all(uint64_t txn) {
  std::set<uint64_t> touched;
  if (auto h = held_.find(txn); h != held_.end()) {
    for (uint64_t key : h->second) {
      keys_.at(key).holders.erase(txn);
      touched.insert(key);
    }
    held_.erase(h);
  }
  if (auto w = waiting_.find(txn); w != waiting_.end()) {
    auto& queue = keys_.at(w->second).queue;
    std::erase_if(queue, [txn](const Waiter& q) { return q.txn == txn; });
    touched.insert(w->second);
    waiting_.erase(w);
  }
  unwoundable_.erase(txn);

  std::vector<std::pair<uint64_t, uint64_t>> granted;
  for (uint64_t key : touched) {
    auto it = keys_.find(key);
    grant_from_head(key, it->second, granted);
    if (it->second.holders.empty()) {
      // Nothing is incompatible with no holders: the queue emptied too.
      DSIM_ASSERT(it->second.queue.empty(), "key ", key, " keeps waiters but no holder");
      keys_.erase(it);
    }
  }
  return granted;
}

void LockTable::set_woundable(uint64_t txn, bool woundable) {
  if (woundable) {
    unwoundable_.erase(txn);
  } else {
    unwoundable_.insert(txn);
  }
}

bool LockTable::holds(uint64_t txn, uint64_t key, LockMode mode) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return false;
  auto h = it->second.holders.find(txn);
  if (h == it->second.holders.end()) return false;
  return mode == LockMode::kShared || h->second.mode == LockMode::kExclusive;
}

bool LockTable::waiting(uint64_t txn) const {
  return waiting_.contains(txn);
}

size_t LockTable::keys_locked() const {
  return keys_.size();
}

size_t LockTable::waiters() const {
  return waiting_.size();
}

void LockTable::check_invariants() const {
  size_t held_pairs = 0;
  size_t queued = 0;
  for (const auto& [key, k] : keys_) {
    DSIM_ASSERT(!k.holders.empty(), "key ", key, " is kept without a holder");
    size_t exclusive = 0;
    for (const auto& [txn, h] : k.holders) {
      if (h.mode == LockMode::kExclusive) ++exclusive;
      auto idx = held_.find(txn);
      DSIM_ASSERT(idx != held_.end() && idx->second.contains(key), "txn ", txn, " holds key ", key,
                  " but the index does not say so");
    }
    held_pairs += k.holders.size();
    DSIM_ASSERT(exclusive == 0 || k.holders.size() == 1, "key ", key, " has ", k.holders.size(),
                " holders, ", exclusive, " of them exclusive");
    DSIM_ASSERT(k.queue.empty() || !grantable(k, k.queue.front()), "txn ", k.queue.front().txn,
                " waits needlessly at the head of key ", key);
    bool past_conversions = false;
    for (const Waiter& w : k.queue) {
      auto idx = waiting_.find(w.txn);
      DSIM_ASSERT(idx != waiting_.end() && idx->second == key, "txn ", w.txn, " is queued on key ",
                  key, " but the index does not say so");
      auto h = k.holders.find(w.txn);
      if (h == k.holders.end()) {
        past_conversions = true;
        continue;
      }
      DSIM_ASSERT(!past_conversions, "txn ", w.txn, "'s conversion on key ", key,
                  " is queued behind a new request");
      DSIM_ASSERT(h->second.mode == LockMode::kShared && w.mode == LockMode::kExclusive, "txn ",
                  w.txn, " waits for a mode on key ", key, " it already holds");
    }
    queued += k.queue.size();
  }
  size_t indexed = 0;
  for (const auto& [txn, keys] : held_) {
    DSIM_ASSERT(!keys.empty(), "txn ", txn, " is indexed with no key held");
    indexed += keys.size();
  }
  DSIM_ASSERT(indexed == held_pairs, "the held index has ", indexed, " locks, the keys ",
              held_pairs);
  // Each waiter matched its own entry above, so equal counts leave no stale or double entry.
  DSIM_ASSERT(queued == waiting_.size(), "the waiting index has ", waiting_.size(),
              " entries, the queues ", queued);
}

}  // namespace dsim::txn
