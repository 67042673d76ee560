// A consistent-hashing ring: the quorum store's preference lists, the balancers' hash
// policies and, next, caches and sharded stores place keys on it.
//
// Keys and nodes hash onto one circular space; a key belongs to the first node found
// clockwise from it (Alex Xu, System Design Interview, "Design Consistent Hashing"). Each node
// appears at many points, its virtual nodes (tokens), which evens out the load; a node's token
// count is `vnodes` x its weight, so a node with twice the capacity gets twice the tokens
// ("2x RAM -> 2x virtual nodes", as the Modern System Design - Interview Prep Guide puts it). The
// preference list of a key is the first N distinct nodes clockwise from it (Dynamo 4.3); walking on
// past them gives the stand-ins a sloppy quorum uses. Adding a node moves only the keys of the
// ranges it takes over: about 1/(n+1) of them (hash mod n would move n/(n+1)).
//
// The space is 64 bits wide (Xu's chapter uses SHA-1's 160 bits: the width only
// matters for collisions, and 2^64 positions make them negligible). Positions come from
// splitmix64, seeded by `seed`, so rings are identical on every node and run, and a test
// can draw independent rings by changing the seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dsim::kit {

/// Where a key lies on the ring.
uint64_t key_position(uint64_t key, uint64_t seed);

class Ring {
 public:
  struct Member {
    uint32_t index = 0;   ///< the node's index in its group
    double weight = 1.0;  ///< tokens = max(1, round(vnodes * weight))
  };

  Ring() = default;
  Ring(const std::vector<Member>& members, uint32_t vnodes, uint64_t seed);

  bool empty() const { return tokens_.empty(); }
  size_t token_count() const { return tokens_.size(); }
  /// Distinct members, in index order.
  const std::vector<uint32_t>& members() const { return members_; }
  bool has_member(uint32_t index) const;
  /// (position, member) sorted by position.
  const std::vector<std::pair<uint64_t, uint32_t>>& tokens() const { return tokens_; }

  /// The first `n` distinct members clockwise from `pos` (all of them if there are fewer):
  /// for n = N, the preference list; beyond N, the stand-ins in ring order.
  std::vector<uint32_t> walk(uint64_t pos, size_t n) const;
  /// The member a position belongs to (the first clockwise).
  uint32_t owner(uint64_t pos) const;
  /// The share of the ring (exactly, by arc length) whose first-n preference list differs
  /// between this ring and `other`.
  double changed_fraction(const Ring& other, size_t n) const;
  /// The share of the ring each member owns as the first node, by member index.
  std::vector<std::pair<uint32_t, double>> shares() const;

 private:
  size_t first_after(uint64_t pos) const;

  std::vector<std::pair<uint64_t, uint32_t>> tokens_;
  std::vector<uint32_t> members_;
};

}  // namespace dsim::kit
