// Messages hold their payload in place when it is small, on the heap otherwise; both must
// read back the same through get(), survive copies and moves, and report their size.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sim/core/message.h"

using namespace dsim;

namespace {

struct Small {
  static constexpr std::string_view kName = "small";
  uint64_t a = 0;
};

struct Large {
  static constexpr std::string_view kName = "large";
  uint64_t a = 0;
  uint64_t pad[12] = {};
  std::vector<uint64_t> v;
  uint32_t size_bytes() const { return 100 + static_cast<uint32_t>(v.size() * 8); }
};
static_assert(sizeof(Large) > Message::kInlineBytes);

}  // namespace

TEST_CASE("message: small payloads live in place, large ones on the heap, both read back") {
  Message s = Small{7};
  REQUIRE(s.get<Small>());
  CHECK(s.get<Small>()->a == 7);
  CHECK(s.get<Large>() == nullptr);
  CHECK(s.type()->inline_storage);

  Message l = Large{42, {}, {1, 2, 3}};
  CHECK_FALSE(l.type()->inline_storage);
  REQUIRE(l.get<Large>());
  CHECK(l.get<Large>()->a == 42);
  CHECK(l.get<Large>()->v == std::vector<uint64_t>{1, 2, 3});
  CHECK(l.size_bytes() == 124);
  l.get_mut<Large>()->a = 43;

  Message copy = l;  // a deep copy
  Message moved = std::move(l);
  REQUIRE(copy.get<Large>());
  REQUIRE(moved.get<Large>());
  CHECK(copy.get<Large>()->a == 43);
  CHECK(moved.get<Large>()->v.size() == 3);
  CHECK(copy.get<Large>() != moved.get<Large>());
}
