#include "sim/core/partition.h"

#include <cstddef>

namespace dsim {

namespace {

void add(std::vector<std::pair<NodeId, uint64_t>>& masks, NodeId n, uint64_t bits) {
  masks.emplace_back(n, bits);
}

// Sorts by node and merges the masks of a node listed more than once.
void normalise(Cut& c) {
  std::sort(c.masks.begin(), c.masks.end());
  std::vector<std::pair<NodeId, uint64_t>> merged;
  for (const auto& [n, m] : c.masks) {
    if (!merged.empty() && merged.back().first == n) {
      merged.back().second |= m;
    } else {
      merged.emplace_back(n, m);
    }
  }
  c.masks = std::move(merged);
}

}  // namespace

Cut cut_groups(const std::vector<std::vector<NodeId>>& groups) {
  Cut c;
  // The scenario layer allows at most kMaxCutSides groups; extra ones would join the last.
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeId n : groups[g])
      add(c.masks, n, uint64_t{1} << std::min(g, kMaxCutSides - 1));
  }
  normalise(c);
  return c;
}

Cut cut_isolate(const std::vector<NodeId>& isolated) {
  Cut c;
  for (NodeId n : isolated)
    add(c.masks, n, 1);
  c.others = 2;
  normalise(c);
  return c;
}

Cut cut_majorities_ring(const std::vector<NodeId>& all) {
  // The scenario layer allows at most kMaxCutSides nodes in a ring; beyond, the ring is
  // made of the first ones and the others keep reaching everyone.
  const std::vector<NodeId> ring(
      all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), kMaxCutSides)));
  const size_t n = ring.size();
  Cut c;
  if (n == 0) return c;
  const size_t majority = n / 2 + 1;
  const size_t k = majority / 2;  // == ceil((majority - 1) / 2)
  // Window w covers ring positions w, w+1, ..., w+k (mod n); position i is in windows
  // i-k, ..., i. Two positions share a window iff their ring distance is at most k.
  for (size_t i = 0; i < n; ++i) {
    uint64_t m = 0;
    for (size_t j = 0; j <= k; ++j)
      m |= uint64_t{1} << ((i + n - j) % n);
    add(c.masks, ring[i], m);
  }
  normalise(c);
  return c;
}

Cut cut_one_way(const std::vector<NodeId>& from, const std::vector<NodeId>& to,
                bool to_everyone_else) {
  Cut c;
  c.kind = Cut::Kind::kOneWay;
  for (NodeId n : from)
    add(c.masks, n, 1);
  if (to_everyone_else) {
    c.others = 2;
  } else {
    c.others = 0;
    for (NodeId n : to)
      add(c.masks, n, 2);
  }
  normalise(c);
  return c;
}

}  // namespace dsim
