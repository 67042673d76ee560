// Redis Cluster's hash slots (models/kit/hash_slots.h): the CRC, a key's slot, and how
// contiguous ranges of slots are dealt to shards.
#include <catch2/catch.hpp>

#include <vector>

#include "models/kit/hash_slots.h"

using namespace dsim::kit;

TEST_CASE("hash slots: CRC16/XMODEM and the slot of a key's decimal text, as Redis has them") {
  CHECK(crc16_xmodem("123456789") == 0x31C3);  // the CRC16/XMODEM check value
  CHECK(crc16_xmodem("") == 0);
  CHECK(hash_slot(123) == crc16_xmodem("123") % kHashSlotCount);
  CHECK(hash_slot(123) == 5970);  // Redis: CLUSTER KEYSLOT 123
  CHECK(hash_slot(0) == 13907);
  CHECK(hash_slot(UINT64_MAX) == 5255);
}

TEST_CASE("hash slots: shards own contiguous, even ranges of slots") {
  CHECK(slot_shard(0, 1) == 0);
  CHECK(slot_shard(16383, 1) == 0);
  CHECK(slot_shard(8191, 2) == 0);
  CHECK(slot_shard(8192, 2) == 1);
  std::vector<int> owned(3);
  uint32_t last = 0;
  bool contiguous = true;  // the owner never goes back
  for (uint32_t slot = 0; slot < kHashSlotCount; ++slot) {
    const uint32_t s = slot_shard(slot, 3);
    REQUIRE(s < 3);
    contiguous = contiguous && s >= last;
    last = s;
    ++owned[s];
  }
  CHECK(contiguous);
  CHECK(owned[0] == 5462);
  CHECK(owned[1] == 5461);
  CHECK(owned[2] == 5461);
}
