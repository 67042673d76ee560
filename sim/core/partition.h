// Network partitions as "cuts": which (sender, receiver) pairs may not talk.
//
// A symmetric cut gives each listed node a set of sides (a 64-bit mask); two nodes can
// talk when their sides intersect. Nodes not listed take `others` (by default every
// side: they reach everyone). This one form covers Jepsen's shapes:
//   - explicit groups [[a, b], [c, d, e]]: side k for the k-th group;
//   - isolate a node: it has side 1, everybody else side 2;
//   - halves (majority / minority): two groups;
//   - bridge: two halves, and one node in both;
//   - majorities ring: n nodes on a ring, each reaching those within distance k; side c
//     is the window {c, ..., c+k}, and two nodes share a window iff they are within k.
// A one-way cut drops messages from `from` to `to` only (bit 0: sender side, bit 1:
// receiver side).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/ids.h"

namespace dsim {

struct Cut {
  enum class Kind : uint8_t { kSymmetric, kOneWay };
  Kind kind = Kind::kSymmetric;
  std::vector<std::pair<NodeId, uint64_t>> masks;  ///< sorted by node
  uint64_t others = ~uint64_t{0};                  ///< mask of nodes not listed

  uint64_t mask_of(NodeId n) const {
    auto it = std::lower_bound(masks.begin(), masks.end(), std::pair<NodeId, uint64_t>{n, 0},
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    return it != masks.end() && it->first == n ? it->second : others;
  }
  /// True when this cut drops a message from `from` to `to`.
  bool blocks(NodeId from, NodeId to) const {
    if (from == to) return false;
    const uint64_t a = mask_of(from), b = mask_of(to);
    if (kind == Kind::kSymmetric) return (a & b) == 0;
    return (a & 1) != 0 && (b & 2) != 0;
  }
};

/// At most this many groups in one partition (and nodes in a majorities ring).
inline constexpr size_t kMaxCutSides = 64;

/// Groups [[a, b], [c]]: nodes in different groups cannot talk; unlisted nodes reach all.
/// A node listed in two groups is in both (a bridge).
Cut cut_groups(const std::vector<std::vector<NodeId>>& groups);
/// `isolated` cannot talk with anyone outside it (including unlisted nodes).
Cut cut_isolate(const std::vector<NodeId>& isolated);
/// Each node of `ring` (in ring order) reaches the nodes within ring distance k, where
/// k = ceil((m - 1) / 2) for the majority m = n/2 + 1: every node sees a majority, and no
/// two nodes see the same one. Unlisted nodes reach all.
Cut cut_majorities_ring(const std::vector<NodeId>& ring);
/// Messages from `from` to `to` are dropped; the reverse direction is not.
/// `to_everyone_else`: `to` is every node not in `from`.
Cut cut_one_way(const std::vector<NodeId>& from, const std::vector<NodeId>& to,
                bool to_everyone_else = false);

}  // namespace dsim
