// Messages hold their payload in place when it is small and on the heap otherwise; both
// must read back, copy and move the same.
#include <catch2/catch.hpp>

#include <array>
#include <memory>

#include "sim/core/message.h"

namespace {

struct Small {
  static constexpr std::string_view kName = "small";
  uint64_t a = 0;
};

struct Large {
  static constexpr std::string_view kName = "large";
  std::array<uint64_t, 12> words{};
  std::shared_ptr<const int> shared;
};

}  // namespace

TEST_CASE("message: small payloads in place, large ones on the heap, both read back") {
  static_assert(sizeof(Large) > dsim::Message::kInlineBytes);
  dsim::Message s = Small{42};
  REQUIRE(s.type()->inline_storage);
  REQUIRE(s.get<Small>() != nullptr);
  CHECK(s.get<Small>()->a == 42);
  CHECK(s.get<Large>() == nullptr);

  Large big;
  for (size_t i = 0; i < big.words.size(); ++i)
    big.words[i] = i * 7 + 1;
  big.shared = std::make_shared<const int>(5);
  dsim::Message m = big;
  REQUIRE_FALSE(m.type()->inline_storage);
  REQUIRE(m.get<Large>() != nullptr);
  CHECK(m.get<Large>()->words == big.words);
  CHECK(*m.get<Large>()->shared == 5);
  m.get_mut<Large>()->words[0] = 99;
  CHECK(m.get<Large>()->words[0] == 99);

  const dsim::Message copy = m;  // a deep copy
  m.get_mut<Large>()->words[1] = 100;
  CHECK(copy.get<Large>()->words[0] == 99);
  CHECK(copy.get<Large>()->words[1] == big.words[1]);

  dsim::Message moved = std::move(m);
  CHECK(m.empty());
  CHECK(moved.get<Large>()->words[1] == 100);
  CHECK(moved.size_bytes() == sizeof(Large));
}
