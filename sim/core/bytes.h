#pragma once
// Fixed-width little-endian integers in byte strings: how models lay out what they write
// to their durable store, snapshots and byte-counted messages, so that the same bytes
// come back on every machine.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dsim {

/// Appends v as 8 little-endian bytes.
inline void put_u64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}

/// Reads 8 little-endian bytes at pos into v and advances pos; false (pos and v
/// unchanged) when fewer than 8 bytes are left.
inline bool get_u64(std::string_view in, size_t& pos, uint64_t& v) {
  if (pos > in.size() || in.size() - pos < 8) return false;
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x |= static_cast<uint64_t>(static_cast<unsigned char>(in[pos + static_cast<size_t>(i)]))
         << (8 * i);
  v = x;
  pos += 8;
  return true;
}

}  // namespace dsim
