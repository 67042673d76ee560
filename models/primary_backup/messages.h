// The messages of the primary-backup model. Each leg has its own kind, so a scenario's
// `network.message_delay` can give each an extra delay (a measured leg replayed):
//
//   client  -> replica   kv_request        (the key-value contract, models/kv/contract.h)
//   replica -> client    kv_response
//   primary -> backup    pb_replicate      log entries, or an empty heartbeat
//   backup  -> primary   pb_replicate_ack  what it received (or why it refuses)
//   primary -> backup    pb_snapshot       the whole shard, to resynchronise a backup
//   monitor -> replica   pb_ping           failure-detector heartbeat
//   replica -> monitor   pb_pong           alive, with each shard's role and position
//   monitor -> backup    pb_fence          failover: fence (epoch) and ask the position
//   backup  -> monitor   pb_fence_reply
//   monitor -> monitor   pb_prepare, pb_promise, pb_accept, pb_accepted: a configuration
//                        change is chosen by a majority of the monitors (Paxos)
//   monitor -> all       pb_config         a shard's new configuration
//   primary -> monitor   pb_isr_change     add a caught-up backup / remove a lagging one
//   primary -> monitor   pb_serving        the new primary acknowledged its first write
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/kv/contract.h"
#include "models/kv/state_machine.h"
#include "models/primary_backup/layout.h"

namespace dsim::pb {

/// One write in a shard's log, as the primary took it.
struct Entry {
  uint64_t index = 0;
  uint64_t epoch = 0;
  int64_t stamp = 0;    ///< the primary's hybrid clock when it took the write, in ns
  kv::KvRequest write;  ///< as the client sent it (op, key, value, idempotency key, ...)
  uint32_t wire_bytes() const { return 24 + write.size_bytes(); }
};

struct Replicate {
  static constexpr std::string_view kName = "pb_replicate";
  uint32_t shard = 0;
  uint64_t epoch = 0;   ///< the sender's configuration epoch
  LogPos prev;          ///< the entry before the first one sent
  uint64_t commit = 0;  ///< the primary's commit index
  int64_t closed = 0;   ///< every entry stamped <= this is in this message or before it
  std::vector<Entry> entries;
  uint32_t size_bytes() const;
  std::string describe() const;
};

struct ReplicateAck {
  static constexpr std::string_view kName = "pb_replicate_ack";
  uint32_t shard = 0;
  LogPos received;          ///< the backup's last entry
  int64_t closed = 0;       ///< the backup's applied closed stamp (what its reads cover)
  bool mismatch = false;    ///< the message did not continue its log: resend from `received`
  bool recovering = false;  ///< it has no valid copy: send a snapshot
  bool refused = false;     ///< fencing: the sender's epoch is older than the backup's
  uint64_t fenced = 0;      ///< (refused) the epoch the backup is fenced at
  ShardConfig config;       ///< (refused) the newest configuration the backup knows
  uint32_t size_bytes() const { return 48 + config.wire_bytes(); }
  std::string describe() const;
};

struct Snapshot {
  static constexpr std::string_view kName = "pb_snapshot";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  LogPos pos;  ///< the state includes every entry up to here
  uint64_t commit = 0;
  int64_t closed = 0;
  EpochHistory history;
  std::shared_ptr<const kv::KvStateMachine> state;  ///< immutable once sent
  uint32_t bytes = 0;
  uint32_t size_bytes() const { return 48 + bytes; }
  std::string describe() const;
};

struct Ping {
  static constexpr std::string_view kName = "pb_ping";
  uint64_t seq = 0;
  uint32_t size_bytes() const { return 16; }
};

/// One shard as a replica reports it to a monitor.
struct ShardStatus {
  uint32_t shard = 0;
  Role role = Role::kBackup;
  LogPos pos;
  ShardConfig config;  ///< the newest configuration the replica knows
};

struct Pong {
  static constexpr std::string_view kName = "pb_pong";
  uint64_t seq = 0;
  Layout layout;
  std::vector<ShardStatus> shards;  ///< the shards the replica holds
  uint32_t size_bytes() const;
};

struct Fence {
  static constexpr std::string_view kName = "pb_fence";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  bool fence = true;  ///< false (fencing: none): only ask for the position
  uint32_t size_bytes() const { return 24; }
  std::string describe() const;
};

struct FenceReply {
  static constexpr std::string_view kName = "pb_fence_reply";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  LogPos pos;
  bool valid = true;  ///< false: it holds no valid copy (recovering)
  uint32_t size_bytes() const { return 40; }
  std::string describe() const;
};

/// Why a configuration changes.
enum class Change : uint8_t { kFailover, kAddBackup, kRemoveBackup };

// Each configuration change is one instance of single-decree Paxos among the monitors:
// which configuration follows the chosen one of epoch `base`. Ballots are the epochs.

/// Phase 1: promise to ignore lower ballots for this shard; tell me what you accepted.
struct Prepare {
  static constexpr std::string_view kName = "pb_prepare";
  uint32_t shard = 0;
  uint64_t ballot = 0;
  ShardConfig base;  ///< the chosen configuration the change starts from
  Change change = Change::kFailover;
  uint32_t subject = kNoIndex;  ///< failover: the suspected primary
  uint32_t size_bytes() const { return 32 + base.wire_bytes(); }
  std::string describe() const;
};

struct Promise {
  static constexpr std::string_view kName = "pb_promise";
  uint32_t shard = 0;
  uint64_t ballot = 0;
  bool ok = false;
  uint64_t promised = 0;         ///< the acceptor's promise for the shard
  ShardConfig decided;           ///< (refused) a newer chosen configuration the acceptor knows
  uint64_t accepted_ballot = 0;  ///< 0: nothing accepted after `base`
  ShardConfig accepted;
  uint32_t size_bytes() const { return 40 + decided.wire_bytes() + accepted.wire_bytes(); }
};

/// Phase 2: accept this configuration as the one following `base`.
struct Accept {
  static constexpr std::string_view kName = "pb_accept";
  uint32_t shard = 0;
  uint64_t ballot = 0;
  ShardConfig base;   ///< the chosen configuration the value follows
  ShardConfig value;  ///< its epoch: the ballot it was first proposed under
  uint32_t size_bytes() const { return 16 + base.wire_bytes() + value.wire_bytes(); }
  std::string describe() const;
};

struct Accepted {
  static constexpr std::string_view kName = "pb_accepted";
  uint32_t shard = 0;
  uint64_t ballot = 0;
  bool ok = false;
  uint64_t promised = 0;
  uint32_t size_bytes() const { return 24; }
};

struct ConfigUpdate {
  static constexpr std::string_view kName = "pb_config";
  uint32_t shard = 0;
  ShardConfig config;
  uint32_t size_bytes() const { return 8 + config.wire_bytes(); }
  std::string describe() const;
};

struct IsrChange {
  static constexpr std::string_view kName = "pb_isr_change";
  uint32_t shard = 0;
  uint64_t base = 0;  ///< the configuration epoch the primary asks to change
  uint32_t node = kNoIndex;
  bool add = false;
  uint32_t size_bytes() const { return 24; }
  std::string describe() const;
};

struct Serving {
  static constexpr std::string_view kName = "pb_serving";
  uint32_t shard = 0;
  uint64_t epoch = 0;
  uint32_t size_bytes() const { return 16; }
};

}  // namespace dsim::pb
