#include "models/raft/log.h"
#include "sim/core/assert.h"
#include "sim/core/bytes.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace dsim::raft {

namespace {

constexpr std::string_view kHardState = "hs";
constexpr std::string_view kSnapshot = "snap";
constexpr std::string_view kLogPrefix = "log/";

std::string segment_key(uint64_t first) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "log/%020llu", static_cast<unsigned long long>(first));
  return buf;
}

// The bytes of a segment holding `entries`, and the size it is charged on disk for them.
std::pair<std::string, uint64_t> encode_segment(std::span<const Entry> entries) {
  std::string v;
  uint64_t bytes = 0;
  for (const auto& e : entries) {
    encode_entry(e, v);
    bytes += e.size_bytes();
  }
  return {std::move(v), bytes};
}

}  // namespace

std::optional<uint64_t> RaftLog::term_at(uint64_t i) const {
  if (i == base_) return base_term_;
  if (i < base_ || i > last_index()) return std::nullopt;
  return at(i).term;
}

void RaftLog::truncate_after(uint64_t i) {
  DSIM_ASSERT(i >= base_, "truncating the log below its base: ", i, " < ", base_);
  if (i >= last_index()) return;
  entries_.resize(i - base_);
}

void RaftLog::compact_to(uint64_t i) {
  DSIM_ASSERT(i >= base_ && i <= last_index(), "compacting the log to ", i, " outside ", base_,
              "..", last_index());
  if (i == base_) return;
  base_term_ = at(i).term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i - base_));
  base_ = i;
}

void RaftLog::reset(uint64_t index, uint64_t term) {
  entries_.clear();
  base_ = index;
  base_term_ = term;
}

uint64_t RaftLog::first_index_of_term_at(uint64_t i) const {
  const uint64_t t = at(i).term;
  while (i > base_ + 1 && at(i - 1).term == t)
    --i;
  return i;
}

uint64_t RaftLog::last_index_of_term(uint64_t t) const {
  // Terms never decrease along the log: binary search for the last entry with term <= t.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), t,
                             [](uint64_t term, const Entry& e) { return term < e.term; });
  if (it == entries_.begin()) return base_term_ == t ? base_ : 0;
  const uint64_t i = base_ + static_cast<uint64_t>(it - entries_.begin());
  return at(i).term == t ? i : 0;
}

std::vector<Entry> RaftLog::slice(uint64_t from, uint64_t to) const {
  DSIM_ASSERT(from > base_ && to <= last_index(), "a slice ", from, "..", to, " outside the log ",
              base_, "..", last_index());
  std::vector<Entry> out;
  if (from > to) return out;
  out.reserve(to - from + 1);
  for (uint64_t i = from; i <= to; ++i)
    out.push_back(at(i));
  return out;
}

Recovered LogStore::load(const DurableStore& disk) {
  Recovered r;
  segments_.clear();
  if (auto hs = disk.get(kHardState)) {
    size_t pos = 0;
    uint64_t term = 0, vote = 0;
    if (get_u64(*hs, pos, term) && get_u64(*hs, pos, vote)) {
      r.term = term;
      r.vote = static_cast<NodeId>(vote);
    } else {
      r.damaged = true;
    }
  }
  uint64_t base = 0, base_term = 0;
  if (auto snap = disk.get(kSnapshot)) {
    size_t pos = 0;
    uint64_t si = 0, st = 0, bi = 0, bt = 0;
    if (get_u64(*snap, pos, si) && get_u64(*snap, pos, st) && get_u64(*snap, pos, bi) &&
        get_u64(*snap, pos, bt) && bi <= si) {
      r.snapshot_index = si;
      r.snapshot_term = st;
      r.snapshot_data = std::string(snap->substr(pos));
      base = bi;
      base_term = bt;
    } else {
      r.damaged = true;
    }
  }
  r.log.reset(base, base_term);
  bool gap = false;
  disk.for_each(kLogPrefix, [&](std::string_view key, std::string_view value) {
    const uint64_t first =
        std::strtoull(std::string(key.substr(kLogPrefix.size())).c_str(), nullptr, 10);
    std::vector<Entry> entries;
    size_t pos = 0;
    while (pos < value.size()) {
      Entry e;
      if (!decode_entry(value, pos, e)) {
        r.damaged = true;
        break;
      }
      entries.push_back(std::move(e));
    }
    if (entries.empty()) return;
    segments_[first] = first + entries.size() - 1;
    if (gap) return;
    for (size_t k = 0; k < entries.size(); ++k) {
      const uint64_t i = first + k;
      if (i <= r.log.base_index()) continue;  // compacted
      if (i > r.log.last_index() + 1) {
        gap = true;  // a crash part-way through a truncation: keep the prefix
        return;
      }
      if (i <= r.log.last_index()) r.log.truncate_after(i - 1);
      r.log.append(std::move(entries[k]));
    }
  });
  return r;
}

bool LogStore::save_hard_state(DurableStore& disk, uint64_t term, NodeId vote) {
  std::string v;
  put_u64(v, term);
  put_u64(v, vote);
  return disk.write(kHardState, std::move(v), 0, DiskWrite::kMetadata);
}

bool LogStore::append(DurableStore& disk, uint64_t first, std::span<const Entry> entries) {
  if (entries.empty()) return true;
  auto [v, bytes] = encode_segment(entries);
  const std::string key = segment_key(first);
  if (!disk.write(key, std::move(v), bytes + key.size(), DiskWrite::kLog)) return false;
  segments_[first] = first + entries.size() - 1;
  return true;
}

uint64_t LogStore::truncate_from(DurableStore& disk, uint64_t from, const RaftLog& log) {
  // Erase the segments starting at or after the cut, newest first.
  while (!segments_.empty() && segments_.rbegin()->first >= from) {
    disk.erase(segment_key(segments_.rbegin()->first));
    segments_.erase(std::prev(segments_.end()));
  }
  if (segments_.empty()) return from - 1;
  auto it = std::prev(segments_.end());
  if (it->second < from) return from - 1;  // the cut is after every segment
  // The cut falls inside this segment: rewrite it (same key) with what precedes the cut.
  const uint64_t first = it->first;
  const uint64_t last = it->second;
  std::vector<Entry> keep;
  for (uint64_t i = std::max(first, log.base_index() + 1); i < from; ++i)
    keep.push_back(log.at(i));
  if (keep.empty()) {
    disk.erase(segment_key(first));
    segments_.erase(it);
    return from - 1;
  }
  auto [v, bytes] = encode_segment(keep);
  const uint64_t kept_first = std::max(first, log.base_index() + 1);
  if (kept_first != first) {
    // Entries below the base are compacted: the segment is rewritten from the base on.
    if (!disk.write(segment_key(kept_first), std::move(v), bytes + 24, DiskWrite::kLog))
      return last;
    disk.erase(segment_key(first));
    segments_.erase(it);
  } else if (!disk.write(segment_key(first), std::move(v), bytes + 24, DiskWrite::kLog)) {
    return last;
  } else {
    segments_.erase(it);
  }
  segments_[kept_first] = from - 1;
  return from - 1;
}

bool LogStore::save_snapshot(DurableStore& disk, uint64_t index, uint64_t term, uint64_t base_index,
                             uint64_t base_term, const std::string& state) {
  std::string v;
  v.reserve(32 + state.size());
  put_u64(v, index);
  put_u64(v, term);
  put_u64(v, base_index);
  put_u64(v, base_term);
  v += state;
  return disk.write(kSnapshot, std::move(v), 0, DiskWrite::kSnapshot);
}

void LogStore::compact(DurableStore& disk, uint64_t base) {
  while (!segments_.empty() && segments_.begin()->second <= base) {
    disk.erase(segment_key(segments_.begin()->first));
    segments_.erase(segments_.begin());
  }
}

void LogStore::clear_log(DurableStore& disk) {
  for (const auto& [first, last] : segments_)
    disk.erase(segment_key(first));
  segments_.clear();
}

}  // namespace dsim::raft
