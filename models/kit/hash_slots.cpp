#include "models/kit/hash_slots.h"

#include <charconv>

namespace dsim::kit {

uint16_t crc16_xmodem(std::string_view bytes) {
  uint16_t crc = 0;
  for (char ch : bytes) {
    crc ^= static_cast<uint16_t>(static_cast<uint8_t>(ch) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

uint32_t hash_slot(uint64_t key) {
  char text[24];
  const auto res = std::to_chars(text, text + sizeof(text), key);
  return crc16_xmodem(std::string_view(text, static_cast<size_t>(res.ptr - text))) % kHashSlotCount;
}

}  // namespace dsim::kit
