#include "models/primary_backup/layout.h"

#include <charconv>

namespace dsim::pb {

std::string_view replication_name(Replication r) {
  switch (r) {
    case Replication::kAsync:
      return "async";
    case Replication::kSemiSync:
      return "semi_sync";
    case Replication::kSync:
      return "sync";
  }
  return "?";
}

std::string_view fencing_name(Fencing f) {
  return f == Fencing::kEpoch ? "epoch" : "none";
}

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kPrimary:
      return "primary";
    case Role::kBackup:
      return "backup";
    case Role::kRecovering:
      return "recovering";
    case Role::kDeposed:
      return "deposed";
  }
  return "?";
}

uint32_t Layout::shard_of(uint64_t key) const {
  if (shards <= 1) return 0;
  if (sharding == Sharding::kModulo) return static_cast<uint32_t>(key % shards);
  // Contiguous slot ranges: shard i has slots [i * 16384 / shards, (i + 1) * 16384 / shards).
  return kit::slot_shard(kit::hash_slot(key), shards);
}

uint32_t Layout::acks_needed(uint32_t waiting_on) const {
  switch (replication) {
    case Replication::kSync:
      return waiting_on;
    case Replication::kSemiSync:
      return std::min<uint32_t>(1, waiting_on);
    case Replication::kAsync:
      return 0;
  }
  return 0;
}

uint32_t Layout::fence_quorum(uint32_t in_sync) const {
  if (in_sync == 0) return 0;
  const uint32_t acks = acks_needed(in_sync);
  return std::clamp<uint32_t>(in_sync - acks + 1, 1, in_sync);
}

uint64_t epoch_at(const EpochHistory& h, uint64_t index) {
  if (index == 0) return 0;
  uint64_t e = 0;
  for (const auto& s : h) {
    if (s.first > index) break;
    e = s.epoch;
  }
  return e;
}

void note_entry(EpochHistory& h, uint64_t epoch, uint64_t index) {
  if (h.empty() || h.back().epoch != epoch) h.push_back({epoch, index});
}

uint64_t common_prefix(const EpochHistory& a, uint64_t last_a, const EpochHistory& b,
                       uint64_t last_b) {
  const uint64_t last = std::min(last_a, last_b);
  // Epochs are constant between the breakpoints of either history, so comparing at every
  // breakpoint finds the first index where the logs differ.
  std::vector<uint64_t> points;
  for (const auto& s : a)
    points.push_back(s.first);
  for (const auto& s : b)
    points.push_back(s.first);
  std::sort(points.begin(), points.end());
  for (uint64_t p : points) {
    if (p == 0 || p > last) continue;
    if (epoch_at(a, p) != epoch_at(b, p)) return p - 1;
  }
  return last;
}

void truncate_history(EpochHistory& h, uint64_t last) {
  while (!h.empty() && h.back().first > last)
    h.pop_back();
}

ShardConfig initial_config(const Layout& layout, uint32_t shard) {
  ShardConfig c;
  c.epoch = 1;
  c.primary = layout.placement(shard, 0);
  for (uint32_t j = 1; j <= layout.backups; ++j)
    c.in_sync.push_back(layout.placement(shard, j));
  std::sort(c.in_sync.begin(), c.in_sync.end());
  return c;
}

uint32_t index_in(std::span<const NodeId> group, NodeId node) {
  const auto it = std::lower_bound(group.begin(), group.end(), node);
  return it != group.end() && *it == node ? static_cast<uint32_t>(it - group.begin()) : kNoIndex;
}

std::string ShardConfig::describe() const {
  std::string s = "epoch " + std::to_string(epoch) + " primary ";
  s += primary == kNoIndex ? "?" : std::to_string(primary);
  s += " in-sync [";
  for (size_t i = 0; i < in_sync.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(in_sync[i]);
  }
  return s + "]";
}

std::string ShardConfig::serialize() const {
  std::string s = std::to_string(epoch) + " " +
                  (primary == kNoIndex ? std::string("-") : std::to_string(primary)) + " ";
  for (size_t i = 0; i < in_sync.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(in_sync[i]);
  }
  return s;
}

bool ShardConfig::parse(std::string_view text, ShardConfig& out) {
  ShardConfig c;
  const size_t sp1 = text.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const size_t sp2 = text.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  const std::string_view e = text.substr(0, sp1);
  const std::string_view p = text.substr(sp1 + 1, sp2 - sp1 - 1);
  if (std::from_chars(e.data(), e.data() + e.size(), c.epoch).ec != std::errc()) return false;
  if (p != "-" && std::from_chars(p.data(), p.data() + p.size(), c.primary).ec != std::errc())
    return false;
  std::string_view rest = text.substr(sp2 + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    uint32_t v = 0;
    if (std::from_chars(item.data(), item.data() + item.size(), v).ec != std::errc()) return false;
    c.in_sync.push_back(v);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  out = std::move(c);
  return true;
}

}  // namespace dsim::pb
