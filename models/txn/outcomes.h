// The outcomes of the latest transactions a node decided or learned, kept to answer
// retried requests, queries and late messages; the oldest are forgotten first, so memory
// stays bounded by the capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace dsim::txn {

class Outcomes {
 public:
  explicit Outcomes(size_t capacity) : capacity_(capacity) {}

  /// Records that `txn` committed (or aborted); an outcome already known is kept.
  void remember(uint64_t txn, bool commit) {
    if (!committed_.emplace(txn, commit).second) return;
    order_.push_back(txn);
    while (order_.size() > capacity_) {
      committed_.erase(order_.front());
      order_.pop_front();
    }
  }
  /// Whether `txn` committed; nullopt when it is not (or no longer) known.
  std::optional<bool> find(uint64_t txn) const {
    const auto it = committed_.find(txn);
    if (it == committed_.end()) return std::nullopt;
    return it->second;
  }

 private:
  size_t capacity_;
  std::map<uint64_t, bool> committed_;
  std::deque<uint64_t> order_;  // in the order remembered
};

}  // namespace dsim::txn
