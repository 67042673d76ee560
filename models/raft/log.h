// Raft's replicated log in memory, and its layout on the node's durable store.
//
// The log holds entries base_index+1 .. last_index; the entries up to base_index have been
// compacted into a snapshot (Raft 7), and base_term is the term of entry base_index (what
// AppendEntries' consistency check needs for the first entry kept).
//
// On disk (DurableStore, disk.h), the layout of a write-ahead log:
//   "hs"                 hard state: current term and vote (Raft Figure 2, "persistent
//                        state on all servers")
//   "snap"               the latest snapshot: its last included index and term, the log's
//                        base index and term, then the state machine's bytes
//   "log/<first index>"  a segment: consecutive entries, as one AppendEntries (or one batch
//                        of client writes) brought them; one disk write each
// Truncating the log erases the segments after the cut and rewrites the one it falls in
// (erasures first, so a crash part-way leaves a prefix of the old log); compaction erases
// segments wholly at or below the base. Loading accepts consecutive entries from the
// base on and stops at a gap.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/raft/messages.h"
#include "sim/core/disk.h"

namespace dsim::raft {

class RaftLog {
 public:
  uint64_t base_index() const { return base_; }
  uint64_t base_term() const { return base_term_; }
  uint64_t last_index() const { return base_ + entries_.size(); }
  uint64_t last_term() const { return entries_.empty() ? base_term_ : entries_.back().term; }
  size_t size() const { return entries_.size(); }
  /// True when entry i is held (base < i <= last).
  bool has(uint64_t i) const { return i > base_ && i <= last_index(); }
  /// The term of entry i: known for base_index .. last_index (0 for index 0); nullopt
  /// when compacted away or beyond the end.
  std::optional<uint64_t> term_at(uint64_t i) const;
  const Entry& at(uint64_t i) const { return entries_[i - base_ - 1]; }

  void append(Entry e) { entries_.push_back(std::move(e)); }
  /// Keeps entries up to i (i >= base).
  void truncate_after(uint64_t i);
  /// Drops entries up to i (base <= i <= last): they are in a snapshot now.
  void compact_to(uint64_t i);
  /// Drops everything: the log starts after (index, term) (an installed snapshot).
  void reset(uint64_t index, uint64_t term);

  /// The first index of the run of entries with the term of entry i, scanning back from i
  /// (not below base + 1): the fast back-off hint (Raft 5.3).
  uint64_t first_index_of_term_at(uint64_t i) const;
  /// The last index holding an entry of term t, or 0 when the log has none.
  uint64_t last_index_of_term(uint64_t t) const;
  /// Entries from .. to (inclusive), both held.
  std::vector<Entry> slice(uint64_t from, uint64_t to) const;

  /// Raft 5.4.1: a log ending at (last_index, last_term) is at least as up-to-date as
  /// this one: a later last term, or the same last term and at least as long.
  bool candidate_up_to_date(uint64_t last_index, uint64_t last_term) const {
    return last_term > this->last_term() ||
           (last_term == this->last_term() && last_index >= this->last_index());
  }

 private:
  std::deque<Entry> entries_;
  uint64_t base_ = 0;
  uint64_t base_term_ = 0;
};

/// What a node finds on its disk when it starts.
struct Recovered {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t snapshot_index = 0;
  uint64_t snapshot_term = 0;
  std::string snapshot_data;  ///< empty: no snapshot
  RaftLog log;
  bool damaged = false;  ///< something could not be decoded (and was ignored)
};

/// The node's log and state on its durable store (layout above).
class LogStore {
 public:
  /// Reads everything back (and learns the segments).
  Recovered load(const DurableStore& disk);
  /// Writes the hard state. False: the disk is full (nothing written).
  bool save_hard_state(DurableStore& disk, uint64_t term, NodeId vote);
  /// Writes entries first.. as one segment. False: the disk is full.
  bool append(DurableStore& disk, uint64_t first, std::span<const Entry> entries);
  /// Removes entries from `from` on; `log` is the log before the cut (for the segment
  /// rewritten). Returns the last index the disk now holds: from - 1, or more when the
  /// segment the cut falls in could not be rewritten (a full disk): it is then kept whole
  /// (the segments after it are gone), so the disk holds a prefix of the old log.
  uint64_t truncate_from(DurableStore& disk, uint64_t from, const RaftLog& log);
  /// Writes a snapshot and the log's new base. False: the disk is full.
  bool save_snapshot(DurableStore& disk, uint64_t index, uint64_t term, uint64_t base_index,
                     uint64_t base_term, const std::string& state);
  /// Erases the segments wholly at or below `base`.
  void compact(DurableStore& disk, uint64_t base);
  /// Erases every segment (an installed snapshot replaced the log).
  void clear_log(DurableStore& disk);
  size_t segments() const { return segments_.size(); }

 private:
  std::map<uint64_t, uint64_t> segments_;  // first index -> last index
};

}  // namespace dsim::raft
