// Messages hold their payload in place when it fits Message::kInlineBytes and behind a
// pointer otherwise; both must read back, copy and move the same.
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

struct Big {  // larger than the inline buffer, with a heap member of its own
  static constexpr std::string_view kName = "big";
  uint64_t words[10] = {};
  std::vector<int> items;
  uint32_t size_bytes() const { return 80 + 4 * static_cast<uint32_t>(items.size()); }
  std::string describe() const { return "big " + std::to_string(words[9]); }
};

}  // namespace

TEST_CASE("message: small payloads live inline, big ones behind a pointer") {
  static_assert(sizeof(Small) <= Message::kInlineBytes);
  static_assert(sizeof(Big) > Message::kInlineBytes);
  Message s = Small{7};
  REQUIRE(s.get<Small>());
  CHECK(s.get<Small>()->a == 7);
  CHECK(s.get<Big>() == nullptr);

  Big b;
  b.words[0] = 1;
  b.words[9] = 42;
  b.items = {1, 2, 3};
  Message m = b;
  REQUIRE(m.get<Big>());
  CHECK(m.get<Big>()->words[0] == 1);
  CHECK(m.get<Big>()->words[9] == 42);
  CHECK(m.get<Big>()->items == std::vector<int>{1, 2, 3});
  CHECK(m.size_bytes() == 92);
  CHECK(m.describe() == "big 42");
  m.get_mut<Big>()->items.push_back(4);
  CHECK(m.get<Big>()->items.size() == 4);

  const Message copy = m;  // a deep copy
  m.get_mut<Big>()->words[9] = 0;
  CHECK(copy.get<Big>()->words[9] == 42);
  CHECK(copy.get<Big>()->items.size() == 4);

  Message moved = std::move(m);
  CHECK(m.empty());  // NOLINT(bugprone-use-after-move): a moved-from message is empty
  REQUIRE(moved.get<Big>());
  CHECK(moved.get<Big>()->items.size() == 4);
}
