// Raft's log entries and RPCs (Raft paper Figure 2 and Figure 13; Ongaro's thesis
// chapters 3, 5 and 6), as dsim messages. Requests and their replies are one-way messages
// each: the network may lose, delay, duplicate or reorder any of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/kv/contract.h"
#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim::raft {

enum class EntryKind : uint8_t {
  kNoop,     ///< appended by a new leader (Raft 8, thesis 6.4): commits its term
  kCommand,  ///< a client write (put, cas, append)
  kRead,     ///< a client get, when reads go through the log (read_mode: log)
};

/// One log entry. Its index is its position in the log.
struct Entry {
  uint64_t term = 0;
  /// The proposing leader's wall clock: the state machine's clock for this entry (the
  /// idempotency table's TTL), the same on every replica.
  SimTime time;
  EntryKind kind = EntryKind::kNoop;
  kv::KvRequest cmd;  ///< kCommand, kRead

  /// Size on the wire and on disk: term and time, plus the request.
  uint32_t size_bytes() const { return 16 + (kind == EntryKind::kNoop ? 0 : cmd.size_bytes()); }
  /// Same term and same command: two entries that are the same entry.
  bool same_as(const Entry& o) const;
  /// A 64-bit digest of (term, kind, command), for comparing logs cheaply.
  uint64_t digest() const;
};

/// A run of consecutive entries carried by one AppendEntries (shared between the
/// followers it goes to: no copy per follower).
using EntryBatch = std::shared_ptr<const std::vector<Entry>>;

/// RequestVote (Raft 5.2, 5.4.1), and its pre-vote form (thesis 9.6): a pre-vote asks
/// "would you vote for me in term `term`?" without anyone changing term.
struct RequestVote {
  static constexpr std::string_view kName = "request_vote";
  uint64_t term = 0;  ///< the candidate's term (pre-vote: the term it would campaign in)
  uint64_t last_log_index = 0;
  uint64_t last_log_term = 0;
  bool pre_vote = false;

  uint32_t size_bytes() const { return 40; }
  std::string describe() const;
};

struct VoteReply {
  static constexpr std::string_view kName = "vote_reply";
  uint64_t term = 0;  ///< granted: the request's term; refused: the voter's term
  bool granted = false;
  bool pre_vote = false;

  uint32_t size_bytes() const { return 24; }
  std::string describe() const;
};

/// AppendEntries (Raft 5.3): entries (none for a heartbeat) to go after prev_log_index.
/// `round` numbers the leader's heartbeat rounds: a reply echoes it, which is how the
/// leader learns a majority still follows it after a given moment (ReadIndex, leases,
/// check-quorum; thesis 6.4).
struct AppendEntries {
  static constexpr std::string_view kName = "append_entries";
  uint64_t term = 0;
  uint64_t prev_log_index = 0;
  uint64_t prev_log_term = 0;
  uint64_t leader_commit = 0;
  uint64_t round = 0;
  EntryBatch entries;  ///< null: none

  size_t count() const { return entries ? entries->size() : 0; }
  uint32_t size_bytes() const;
  std::string describe() const;
};

/// The reply to AppendEntries. On success, `match_index` is the last index the follower
/// now holds in agreement with the leader (prev + entries), durably. On a rejection, the
/// fast back-off hints (Raft 5.3, the paragraph on rejected AppendEntries; thesis 5.3):
/// `conflict_term` is the term of the follower's entry at prev_log_index (0 when its log
/// is too short) and `conflict_index` the first index it holds of that term (or its last
/// index + 1).
struct AppendReply {
  static constexpr std::string_view kName = "append_reply";
  uint64_t term = 0;
  uint64_t match_index = 0;
  uint64_t rejected_prev = 0;  ///< the prev_log_index of the request it rejects
  uint64_t conflict_index = 0;
  uint64_t conflict_term = 0;
  uint64_t round = 0;
  bool success = false;

  uint32_t size_bytes() const { return 48; }
  std::string describe() const;
};

/// InstallSnapshot (Raft 7, Figure 13): a chunk of the leader's snapshot, which holds the
/// state machine as of last_included_index. The chunks share the snapshot's bytes.
struct InstallSnapshot {
  static constexpr std::string_view kName = "install_snapshot";
  uint64_t term = 0;
  uint64_t last_included_index = 0;
  uint64_t last_included_term = 0;
  uint64_t offset = 0;  ///< where this chunk goes in the snapshot
  uint32_t length = 0;  ///< bytes in this chunk
  bool done = false;    ///< the last chunk
  uint64_t round = 0;
  std::shared_ptr<const std::string> data;  ///< the whole snapshot; this chunk is a slice

  uint32_t size_bytes() const { return 56 + length; }
  std::string describe() const;
};

/// The reply to a chunk: `next_offset` is how much of the snapshot the follower holds.
struct SnapshotReply {
  static constexpr std::string_view kName = "snapshot_reply";
  uint64_t term = 0;
  uint64_t last_included_index = 0;
  uint64_t next_offset = 0;
  uint64_t round = 0;
  bool done = false;  ///< installed (or already had it): match is last_included_index

  uint32_t size_bytes() const { return 40; }
  std::string describe() const;
};

// --- encodings (disk) ---

/// Appends the binary form of `e` to `out`.
void encode_entry(const Entry& e, std::string& out);
/// Reads one entry at `pos` of `in`, advancing pos; false when the bytes are malformed.
bool decode_entry(std::string_view in, size_t& pos, Entry& e);

}  // namespace dsim::raft
