// The vocabulary of the primary-backup model shared by its replicas and its monitors:
// the modes, how keys map to shards and shards to nodes, log positions, epoch histories
// and shard configurations.
//
// Shards. A key belongs to one of `shards` shards. The system-design books shard by hash:
// Redis Cluster's hash slots, "CRC16(key) % 16384" (Alex Xu, System Design Interview
// volume 2, "Real-time Gaming Leaderboard"), or consistent hashing. With a fixed set of shards the
// two differ only in how slots are dealt, so `hash_slots` is the default: slot = CRC16/XMODEM of
// the key's decimal text mod 16384 (Redis hashes the key's bytes with that CRC), and the 16384
// slots are cut into `shards` contiguous ranges. `modulo` (key mod shards) makes the mapping
// obvious in small examples.
//
// Placement. Shard s lives on `backups` + 1 nodes of the replica group: nodes
// s, s+1, ..., s+backups (mod the group's size); the first is its initial primary, the
// others its initial backups ("1 primary + 2 replicas" per shard, the Interview Prep Guide's
// example). With more shards than nodes every node is the primary of some shards and a backup of
// others.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/kit/hash_slots.h"
#include "sim/core/ids.h"

namespace dsim::pb {

inline constexpr uint32_t kNoIndex = std::numeric_limits<uint32_t>::max();
inline constexpr uint32_t kSlotCount = kit::kHashSlotCount;

enum class Replication : uint8_t { kAsync, kSemiSync, kSync };
enum class Fencing : uint8_t { kNone, kEpoch };
enum class Sharding : uint8_t { kHashSlots, kModulo };
enum class ReadFrom : uint8_t { kPrimary, kAny, kBackups };
enum class SessionReads : uint8_t { kNone, kWindow, kToken };

std::string_view replication_name(Replication r);
std::string_view fencing_name(Fencing f);

/// CRC16/XMODEM, the checksum Redis Cluster hashes keys with (models/kit/hash_slots.h).
using kit::crc16_xmodem;

/// What every replica of a group shares, and tells its monitors.
struct Layout {
  uint32_t nodes = 1;    ///< replica group size
  uint32_t shards = 1;   ///< number of shards
  uint32_t backups = 0;  ///< backups per shard (so backups + 1 copies)
  Sharding sharding = Sharding::kHashSlots;
  Replication replication = Replication::kAsync;
  Fencing fencing = Fencing::kEpoch;
  uint32_t min_in_sync = 0;  ///< the in-sync set never shrinks below this

  uint32_t shard_of(uint64_t key) const;
  /// The j-th node (0 = initial primary) of shard s's placement, as an index in the group.
  uint32_t placement(uint32_t shard, uint32_t j) const { return (shard + j) % nodes; }
  /// True when node `index` holds a copy of `shard`.
  bool holds(uint32_t index, uint32_t shard) const {
    return ((index + nodes - shard % nodes) % nodes) <= backups;
  }
  /// Acknowledgements a primary waits for before answering a write, with `backups` backups
  /// to wait on: all of them (sync), one (semi-sync), none (async).
  uint32_t acks_needed(uint32_t waiting_on) const;
  /// Fenced in-sync backups a failover must hear from so that every acknowledged write is
  /// on one of them: r - acks + 1 of r in-sync backups, at least 1 and at most r.
  uint32_t fence_quorum(uint32_t in_sync) const;
};

/// A position in a shard's log: the epoch its last entry was written in, and its index.
/// Compared lexicographically: Raft's "more up-to-date" rule (Raft 5.4.1).
struct LogPos {
  uint64_t epoch = 0;
  uint64_t index = 0;
  constexpr auto operator<=>(const LogPos&) const = default;
};

/// Where each epoch's entries begin in a log: (epoch, first index), in log order.
struct EpochStart {
  uint64_t epoch = 0;
  uint64_t first = 0;
};
using EpochHistory = std::vector<EpochStart>;

/// The epoch of entry `index` in a log with history `h` (0 for index 0 or none).
uint64_t epoch_at(const EpochHistory& h, uint64_t index);
/// Records that entry `index` has epoch `epoch` (appended in order).
void note_entry(EpochHistory& h, uint64_t epoch, uint64_t index);
/// The last index two logs (histories and last indexes) hold in common: entries with the
/// same (epoch, index) are the same entry, since an epoch has one primary.
uint64_t common_prefix(const EpochHistory& a, uint64_t last_a, const EpochHistory& b,
                       uint64_t last_b);
/// Drops what the history says about entries after `last`.
void truncate_history(EpochHistory& h, uint64_t last);

/// A shard's configuration, decided by the monitors: its epoch (unique to this
/// configuration), primary and in-sync backups (indexes in the replica group).
struct ShardConfig {
  uint64_t epoch = 0;  ///< 0: unknown
  uint32_t primary = kNoIndex;
  std::vector<uint32_t> in_sync;  ///< sorted

  bool in_sync_has(uint32_t i) const {
    return std::binary_search(in_sync.begin(), in_sync.end(), i);
  }
  uint32_t wire_bytes() const { return 16 + 4 * static_cast<uint32_t>(in_sync.size()); }
  std::string describe() const;
  /// "epoch primary a,b,c": the text the monitors persist.
  std::string serialize() const;
  static bool parse(std::string_view text, ShardConfig& out);
  bool operator==(const ShardConfig&) const = default;
};

/// Shard s's configuration before any change (epoch 1): the first node of its placement
/// is primary, the others are its in-sync backups. Replicas start from it, and monitors
/// learn it with the layout.
ShardConfig initial_config(const Layout& layout, uint32_t shard);

/// The index of `node` in a group's nodes (sorted, as the engine lists them); kNoIndex
/// when it is not one of them.
uint32_t index_in(std::span<const NodeId> group, NodeId node);

/// A shard's role on one node.
enum class Role : uint8_t {
  kPrimary,
  kBackup,
  kRecovering,  ///< restarted (state lost) or resyncing: not a valid copy yet
  kDeposed,     ///< was primary, learned a newer epoch, does not yet know the new primary
};
std::string_view role_name(Role r);

}  // namespace dsim::pb
