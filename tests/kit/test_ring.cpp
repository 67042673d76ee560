// The consistent-hashing ring the quorum store, the hash balancers and (next) caches and
// sharded stores share: preference lists, weights, and the keys a join moves.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "models/kit/ring.h"

using namespace dsim;
using namespace dsim::kit;

TEST_CASE("ring: preference lists are N distinct nodes clockwise from the key") {
  std::vector<Ring::Member> members;
  for (uint32_t i = 0; i < 5; ++i)
    members.push_back({i, 1.0});
  const Ring ring(members, 50, 7);
  CHECK(ring.token_count() == 250);
  CHECK(ring.members() == std::vector<uint32_t>{0, 1, 2, 3, 4});
  for (uint64_t key = 0; key < 200; ++key) {
    const uint64_t pos = key_position(key, 7);
    const auto list = ring.walk(pos, 3);
    REQUIRE(list.size() == 3);
    CHECK(std::set<uint32_t>(list.begin(), list.end()).size() == 3);
    CHECK(list[0] == ring.owner(pos));
    // The first token strictly after the key's position is the owner's.
    const auto& t = ring.tokens();
    auto it = std::upper_bound(t.begin(), t.end(), std::make_pair(pos, UINT32_MAX));
    CHECK((it == t.end() ? t.front() : *it).second == list[0]);
    // Walking further extends the same list.
    const auto five = ring.walk(pos, 5);
    CHECK(std::equal(list.begin(), list.end(), five.begin()));
  }
  CHECK(ring.walk(0, 9).size() == 5);  // never more than the members
  CHECK(Ring().walk(0, 3).empty());
}

TEST_CASE("ring: tokens follow the weights, so shares do too") {
  const Ring ring({{0, 1.0}, {1, 1.0}, {2, 2.0}}, 200, 3);
  CHECK(ring.token_count() == 800);
  double total = 0;
  std::map<uint32_t, double> share;
  for (const auto& [m, s] : ring.shares()) {
    share[m] = s;
    total += s;
  }
  CHECK(total == Approx(1.0));
  // A node of weight 2 holds half the ring on average: Beta(400, 400), sd 0.018.
  CHECK(share[2] == Approx(0.5).margin(5 * 0.018));
  CHECK(share[0] == Approx(0.25).margin(5 * 0.016));
}

TEST_CASE("ring: a join changes only the keys of the ranges the new node takes") {
  std::vector<Ring::Member> four, five;
  for (uint32_t i = 0; i < 4; ++i)
    four.push_back({i, 1.0});
  five = four;
  five.push_back({4, 1.0});
  const Ring a(four, 100, 1), b(five, 100, 1);
  // With N = 1 the changed share is exactly the newcomer's share.
  double newcomer = 0;
  for (const auto& [m, s] : b.shares())
    if (m == 4) newcomer = s;
  CHECK(a.changed_fraction(b, 1) == Approx(newcomer).epsilon(1e-9));
  CHECK(a.changed_fraction(a, 3) == 0);
  // Every key whose owner changed moved to the newcomer.
  for (uint64_t key = 0; key < 2000; ++key) {
    const uint64_t pos = key_position(key, 1);
    if (a.owner(pos) != b.owner(pos)) CHECK(b.owner(pos) == 4);
  }
}
