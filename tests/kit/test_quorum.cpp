// Quorum arithmetic (after etcd raft's quorum/majority.go): majorities, the committed
// index as the k-th largest acknowledgement, election outcomes.
#include <catch2/catch.hpp>

#include "models/kit/quorum.h"

using namespace dsim;
using namespace dsim::kit;

TEST_CASE("quorum: majorities") {
  CHECK(majority(0) == 1);
  CHECK(majority(1) == 1);
  CHECK(majority(2) == 2);
  CHECK(majority(3) == 2);
  CHECK(majority(4) == 3);
  CHECK(majority(5) == 3);
}

TEST_CASE("quorum: the committed index is the largest a quorum reached") {
  // etcd's cases: one voter; three with a laggard; ties.
  CHECK(majority_index(std::vector<uint64_t>{7}) == 7);
  CHECK(majority_index(std::vector<uint64_t>{5, 2, 9}) == 5);
  CHECK(majority_index(std::vector<uint64_t>{9, 9, 1, 1}) == 1);  // 3 of 4 needed
  CHECK(majority_index(std::vector<uint64_t>{9, 9, 9, 1}) == 9);
  CHECK(majority_index(std::vector<uint64_t>{4, 8, 6, 2, 10}) == 6);
  // Any quorum size: 1 of 3 is the largest, 3 of 3 the smallest.
  const std::vector<uint64_t> acked{4, 12, 8};
  CHECK(committed_index(acked, 1) == 12);
  CHECK(committed_index(acked, 2) == 8);
  CHECK(committed_index(acked, 3) == 4);
  CHECK(committed_index(acked, 4) == 0);  // fewer acknowledgements than needed
  CHECK(committed_index(acked, 0) == 0);
  CHECK(committed_index({}, 1) == 0);
}

TEST_CASE("quorum: an election is won, lost or still open") {
  CHECK(vote_result(5, 3, 0, 3) == VoteResult::kWon);
  CHECK(vote_result(5, 2, 2, 3) == VoteResult::kPending);  // the last voter decides
  CHECK(vote_result(5, 2, 3, 3) == VoteResult::kLost);
  CHECK(vote_result(4, 2, 2, 3) == VoteResult::kLost);

  VoteTally t(3, 2);
  CHECK(t.result() == VoteResult::kPending);
  CHECK(t.record(10, true));
  CHECK_FALSE(t.record(10, true));   // a duplicate counts once
  CHECK_FALSE(t.record(10, false));  // and the first answer stands
  CHECK(t.granted() == 1);
  CHECK(t.record(11, false));
  CHECK(t.result() == VoteResult::kPending);
  CHECK(t.record(12, true));
  CHECK(t.result() == VoteResult::kWon);
  CHECK(t.grants() == std::vector<NodeId>{10, 12});
  t.reset(3, 2);
  CHECK(t.granted() == 0);
  CHECK_FALSE(t.has_voted(10));
}
