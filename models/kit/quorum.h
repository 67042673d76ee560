// Quorum arithmetic in one place, after etcd raft's quorum/majority.go: how many of n
// voters make a majority, the largest index a quorum has acknowledged, and the state of
// an election. Raft's commit index, its read-lease rounds and primary-backup's commit
// bound all come from committed_index().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sim/core/ids.h"

namespace dsim::kit {

/// Votes needed out of n voters for a majority (n / 2 + 1; 1 of an empty set).
constexpr uint32_t majority(uint32_t n) {
  return n / 2 + 1;
}

/// The largest value that at least `needed` of `acked` reach: the needed-th largest
/// acknowledgement. 0 when fewer than `needed` values are given, or needed is 0.
uint64_t committed_index(std::span<const uint64_t> acked, uint32_t needed);

/// committed_index() with a majority of the voters (acked holds one value per voter).
inline uint64_t majority_index(std::span<const uint64_t> acked) {
  return committed_index(acked, majority(static_cast<uint32_t>(acked.size())));
}

enum class VoteResult : uint8_t {
  kPending,  ///< neither enough grants nor enough refusals yet
  kWon,      ///< `needed` voters granted
  kLost,     ///< so many refused that `needed` grants can no longer come
};

/// The outcome of a vote among `voters` where `needed` grants win.
constexpr VoteResult vote_result(uint32_t voters, uint32_t granted, uint32_t refused,
                                 uint32_t needed) {
  if (granted >= needed) return VoteResult::kWon;
  if (voters - refused < needed) return VoteResult::kLost;
  return VoteResult::kPending;
}

/// The votes of one election: each voter counts once, its first answer stands.
class VoteTally {
 public:
  VoteTally() = default;
  VoteTally(uint32_t voters, uint32_t needed) : voters_(voters), needed_(needed) {}

  /// Restarts the count for a new election.
  void reset(uint32_t voters, uint32_t needed) {
    voters_ = voters;
    needed_ = needed;
    granted_.clear();
    refused_.clear();
  }
  /// Records `voter`'s answer; false when it had already answered.
  bool record(NodeId voter, bool granted);
  bool has_voted(NodeId voter) const;
  uint32_t granted() const { return static_cast<uint32_t>(granted_.size()); }
  uint32_t refused() const { return static_cast<uint32_t>(refused_.size()); }
  VoteResult result() const { return vote_result(voters_, granted(), refused(), needed_); }
  /// The voters that granted, in the order they answered.
  const std::vector<NodeId>& grants() const { return granted_; }

 private:
  uint32_t voters_ = 0;
  uint32_t needed_ = 0;
  std::vector<NodeId> granted_;
  std::vector<NodeId> refused_;
};

}  // namespace dsim::kit
