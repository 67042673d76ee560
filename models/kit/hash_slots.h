// Redis Cluster's hash slots, shared by the models that shard keys as Redis does (the
// primary-backup store's shards, the cache's shards of replicas).
//
// A key's slot is CRC16(key) mod 16384, with the CRC16/XMODEM variant (polynomial 0x1021,
// initial value 0) over the key's bytes; dsim's keys are integers, so the bytes hashed are
// the key's decimal text. The 16384 slots are cut into contiguous, even ranges, shard i
// owning slots [i·16384/n, (i+1)·16384/n), as `redis-cli --cluster create` assigns them.
#pragma once

#include <cstdint>
#include <string_view>

namespace dsim::kit {

inline constexpr uint32_t kHashSlotCount = 16384;

/// CRC16/XMODEM (polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes
/// keys with.
uint16_t crc16_xmodem(std::string_view bytes);

/// The slot of `key`: CRC16/XMODEM of its decimal text, mod 16384.
uint32_t hash_slot(uint64_t key);

/// The shard, of `shards` cut from the slots in contiguous ranges, that owns `slot`.
inline uint32_t slot_shard(uint32_t slot, uint32_t shards) {
  return shards <= 1
             ? 0
             : static_cast<uint32_t>((static_cast<uint64_t>(slot) * shards) / kHashSlotCount);
}

}  // namespace dsim::kit
