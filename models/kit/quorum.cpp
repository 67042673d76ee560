#include "models/kit/quorum.h"

#include <algorithm>
#include <functional>

namespace dsim::kit {

uint64_t committed_index(std::span<const uint64_t> acked, uint32_t needed) {
  if (needed == 0 || acked.size() < needed) return 0;
  // Small sets (a replica group): a copy on the stack would do, but a vector keeps it
  // simple and the sizes are a handful.
  std::vector<uint64_t> sorted(acked.begin(), acked.end());
  std::nth_element(sorted.begin(), sorted.begin() + (needed - 1), sorted.end(), std::greater<>());
  return sorted[needed - 1];
}

bool VoteTally::record(NodeId voter, bool granted) {
  if (has_voted(voter)) return false;
  (granted ? granted_ : refused_).push_back(voter);
  return true;
}

bool VoteTally::has_voted(NodeId voter) const {
  return std::find(granted_.begin(), granted_.end(), voter) != granted_.end() ||
         std::find(refused_.begin(), refused_.end(), voter) != refused_.end();
}

}  // namespace dsim::kit
