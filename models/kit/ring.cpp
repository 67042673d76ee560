#include "models/kit/ring.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "sim/core/rng.h"

namespace dsim::kit {

uint64_t key_position(uint64_t key, uint64_t seed) {
  return mix64(mix64(key) ^ mix64(seed ^ 0x6b6579ULL));
}

Ring::Ring(const std::vector<Member>& members, uint32_t vnodes, uint64_t seed) {
  for (const auto& m : members) {
    const auto count = static_cast<uint32_t>(
        std::max<double>(1.0, std::llround(static_cast<double>(vnodes) * m.weight)));
    for (uint32_t i = 0; i < count; ++i) {
      const uint64_t pos =
          mix64(mix64(seed ^ 0x746f6b656eULL) ^ mix64((static_cast<uint64_t>(m.index) << 32) | i));
      tokens_.emplace_back(pos, m.index);
    }
    members_.push_back(m.index);
  }
  std::sort(tokens_.begin(), tokens_.end());
  std::sort(members_.begin(), members_.end());
  members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
}

bool Ring::has_member(uint32_t index) const {
  return std::binary_search(members_.begin(), members_.end(), index);
}

size_t Ring::first_after(uint64_t pos) const {
  // The first token strictly after the key: Dynamo's "first node with a position larger
  // than the item's position" (and the bisect_right of the Interview Prep Guide's ring).
  auto it = std::upper_bound(tokens_.begin(), tokens_.end(),
                             std::make_pair(pos, std::numeric_limits<uint32_t>::max()));
  const auto i = static_cast<size_t>(it - tokens_.begin());
  return i == tokens_.size() ? 0 : i;
}

std::vector<uint32_t> Ring::walk(uint64_t pos, size_t n) const {
  std::vector<uint32_t> out;
  if (tokens_.empty() || n == 0) return out;
  n = std::min(n, members_.size());
  size_t i = first_after(pos);
  for (size_t step = 0; step < tokens_.size() && out.size() < n; ++step) {
    const uint32_t m = tokens_[i].second;
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    i = i + 1 == tokens_.size() ? 0 : i + 1;
  }
  return out;
}

uint32_t Ring::owner(uint64_t pos) const {
  return tokens_.empty() ? 0 : tokens_[first_after(pos)].second;
}

double Ring::changed_fraction(const Ring& other, size_t n) const {
  std::vector<uint64_t> cuts;
  for (const auto& t : tokens_)
    cuts.push_back(t.first);
  for (const auto& t : other.tokens_)
    cuts.push_back(t.first);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  if (cuts.empty()) return 0;
  // Between consecutive cuts every key has the same preference list on both rings.
  long double changed = 0;
  for (size_t j = 0; j < cuts.size(); ++j) {
    const uint64_t lo = cuts[j];
    const uint64_t hi = j + 1 < cuts.size() ? cuts[j + 1] : cuts[0];
    const uint64_t len = hi - lo;  // wraps around for the last arc
    if (walk(lo, n) != other.walk(lo, n)) {
      changed += static_cast<long double>(len == 0 ? 0 : len);
    }
  }
  if (cuts.size() == 1) return walk(cuts[0], n) != other.walk(cuts[0], n) ? 1.0 : 0.0;
  return static_cast<double>(changed / 18446744073709551616.0L);
}

std::vector<std::pair<uint32_t, double>> Ring::shares() const {
  std::map<uint32_t, long double> arc;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const uint64_t prev = tokens_[i == 0 ? tokens_.size() - 1 : i - 1].first;
    const uint64_t len = tokens_[i].first - prev;  // the arc ending at this token
    arc[tokens_[i].second] +=
        tokens_.size() == 1 ? 18446744073709551616.0L : static_cast<long double>(len);
  }
  std::vector<std::pair<uint32_t, double>> out;
  for (const auto& [m, a] : arc)
    out.emplace_back(m, static_cast<double>(a / 18446744073709551616.0L));
  return out;
}

}  // namespace dsim::kit
