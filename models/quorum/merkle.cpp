#include "models/quorum/merkle.h"

#include <algorithm>
#include <tuple>

#include "sim/core/rng.h"

namespace dsim::quorum {

MerkleTree::MerkleTree(uint32_t depth, std::vector<Item> items) : depth_(depth) {
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.leaf, a.position, a.hash) < std::tie(b.leaf, b.position, b.hash);
  });
  levels_.resize(depth + 1);
  auto& leaves = levels_[depth];
  for (const Item& it : items) {
    if (leaves.empty() || leaves.back().first != it.leaf)
      leaves.emplace_back(it.leaf, 0x6c656166ULL);
    leaves.back().second = mix64(leaves.back().second ^ mix64(it.position ^ mix64(it.hash)));
  }
  for (uint32_t l = depth; l > 0; --l) {
    auto& up = levels_[l - 1];
    const auto& down = levels_[l];
    for (size_t i = 0; i < down.size(); ++i) {
      const uint64_t parent = down[i].first >> 1;
      uint64_t left = 0, right = 0;
      ((down[i].first & 1) ? right : left) = down[i].second;
      if (i + 1 < down.size() && (down[i + 1].first >> 1) == parent) {
        right = down[++i].second;
      }
      up.emplace_back(parent, mix64(mix64(left ^ 0x6e6f6465ULL) ^ right));
    }
  }
}

uint64_t MerkleTree::hash(uint32_t level, uint64_t index) const {
  if (level >= levels_.size()) return 0;
  const auto& v = levels_[level];
  auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(index, uint64_t{0}));
  return it != v.end() && it->first == index ? it->second : 0;
}

}  // namespace dsim::quorum
