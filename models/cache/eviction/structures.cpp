// The shared pieces of the eviction policies that are not inline: the key index's
// deletion and growth, and the capacity shares.
#include "models/cache/eviction/structures.h"

#include <algorithm>
#include <cmath>

namespace dsim::cache::detail {

void KeyIndex::erase(ObjectKey key) {
  uint64_t i = mix64(key) & mask_;
  while (true) {
    if (values_[i] == kNil) return;
    if (keys_[i] == key) break;
    i = (i + 1) & mask_;
  }
  // Backward shift: pull later entries of the probe run into the hole when their home
  // slot is not cyclically within (hole, slot].
  for (uint64_t j = (i + 1) & mask_; values_[j] != kNil; j = (j + 1) & mask_) {
    const uint64_t home = mix64(keys_[j]) & mask_;
    const bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
    if (!movable) continue;
    keys_[i] = keys_[j];
    values_[i] = values_[j];
    i = j;
  }
  values_[i] = kNil;
  --size_;
}

void KeyIndex::grow() {
  std::vector<ObjectKey> keys = std::move(keys_);
  std::vector<uint32_t> values = std::move(values_);
  mask_ = mask_ * 2 + 1;
  keys_.assign(mask_ + 1, 0);
  values_.assign(mask_ + 1, kNil);
  size_ = 0;
  for (size_t s = 0; s < keys.size(); ++s)
    if (values[s] != kNil) insert(keys[s], values[s]);
}

namespace {
uint64_t part_of(uint64_t limit, double fraction) {
  if (limit == 0) return 0;
  const auto v = static_cast<uint64_t>(std::llround(static_cast<double>(limit) * fraction));
  return std::max<uint64_t>(v, 1);
}
}  // namespace

Capacity Capacity::share(double fraction) const {
  return Capacity{part_of(bytes, fraction), part_of(objects, fraction)};
}

Capacity Capacity::minus(const Capacity& part) const {
  auto rest = [](uint64_t limit, uint64_t taken) -> uint64_t {
    if (limit == 0) return 0;
    return limit > taken ? limit - taken : 1;
  };
  return Capacity{rest(bytes, part.bytes), rest(objects, part.objects)};
}

}  // namespace dsim::cache::detail
