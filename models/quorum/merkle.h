// Merkle trees for anti-entropy between replicas.
//
// "Leaves = hashes of key-value pairs; internal nodes = hash of concatenated children;
// compare roots, recurse into the differing branch, exchange only the differing keys"
// (the Merkle tree section of the Modern System Design - Interview Prep Guide; Alex Xu's
// System Design Interview, "Design a Key-Value Store", likewise). Dynamo (4.7) keeps one tree per
// key range so that two replicas compare only the ranges they share; Cassandra's repair builds a
// tree per token range of a chosen depth (the Interview Prep Guide: "depth typically 15-20
// levels").
//
// Here the key space (64-bit ring positions) is cut into 2^range_bits equal ranges, each
// with its own tree of the given depth: a range's 2^depth leaves are equal slices of it,
// a leaf's hash combines the states of its keys in ring order, an inner node's the
// hashes of its two children, and an empty subtree hashes to 0. Trees are sparse (only
// non-empty nodes are stored), so a deep tree over few keys stays small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dsim::quorum {

/// Where positions fall: the range of a position, and its leaf within the range.
struct MerkleLayout {
  uint32_t range_bits = 4;  ///< 2^range_bits ranges
  uint32_t depth = 10;      ///< 2^depth leaves per range

  uint32_t ranges() const { return 1u << range_bits; }
  uint32_t range_of(uint64_t pos) const {
    return range_bits == 0 ? 0 : static_cast<uint32_t>(pos >> (64 - range_bits));
  }
  uint64_t leaf_of(uint64_t pos) const {
    const uint64_t within = range_bits == 0 ? pos : pos << range_bits;
    return depth == 0 ? 0 : within >> (64 - depth);
  }
};

class MerkleTree {
 public:
  struct Item {
    uint64_t leaf;
    uint64_t position;  ///< orders the items of a leaf
    uint64_t hash;      ///< the key and its state
  };

  MerkleTree() = default;
  MerkleTree(uint32_t depth, std::vector<Item> items);

  uint32_t depth() const { return depth_; }
  /// The hash of node `index` of `level` (0 = the root, depth = the leaves); 0 when empty.
  uint64_t hash(uint32_t level, uint64_t index) const;
  uint64_t root() const { return hash(0, 0); }

 private:
  uint32_t depth_ = 0;
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> levels_;  // (index, hash), sorted
};

}  // namespace dsim::quorum
