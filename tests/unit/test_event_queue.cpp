// The pending-event set: (time, sequence) order, ties in push order, against a reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "sim/core/event_queue.h"
#include "sim/core/rng.h"

using namespace dsim;

namespace {

struct Item {
  int64_t at;
  uint64_t seq;
  uint64_t ref;
};

// Pops everything, returning the (at, seq, ref) sequence.
std::vector<Item> drain(EventQueue& q) {
  std::vector<Item> out;
  while (!q.empty()) {
    const QueuedEvent& e = q.top();
    out.push_back({e.at, e.seq, e.ref});
    q.pop();
  }
  return out;
}

}  // namespace

TEST_CASE("event queue: empty and sizes", "[event_queue]") {
  EventQueue q;
  CHECK(q.empty());
  CHECK(q.size() == 0);
  CHECK(q.scheduled() == 0);
  q.push(SimTime::zero() + ms(5), 1);
  q.push(SimTime::zero() + ms(1), 2);
  CHECK_FALSE(q.empty());
  CHECK(q.size() == 2);
  CHECK(q.scheduled() == 2);
  q.pop();
  CHECK(q.size() == 1);
  CHECK(q.scheduled() == 2);  // counts pushes, not pending events
  q.pop();
  CHECK(q.empty());
}

TEST_CASE("event queue: pops in time order", "[event_queue]") {
  EventQueue q;
  const int64_t times[] = {50, 10, 40, 20, 30, 0, 60};
  for (int64_t t : times)
    q.push(SimTime::from_ns(t), static_cast<uint64_t>(t) + 1000);
  const auto out = drain(q);
  REQUIRE(out.size() == 7);
  for (size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i].at == static_cast<int64_t>(i) * 10);
    CHECK(out[i].ref == static_cast<uint64_t>(out[i].at) + 1000);
  }
}

TEST_CASE("event queue: ties at equal time pop in push order", "[event_queue]") {
  EventQueue q;
  for (uint64_t i = 0; i < 100; ++i)
    q.push(SimTime::from_ns(7), i);
  // Interleave an earlier and a later time to disturb the heap.
  q.push(SimTime::from_ns(3), 1000);
  q.push(SimTime::from_ns(9), 1001);
  for (uint64_t i = 100; i < 200; ++i)
    q.push(SimTime::from_ns(7), i);
  const auto out = drain(q);
  REQUIRE(out.size() == 202);
  CHECK(out.front().ref == 1000);
  CHECK(out.back().ref == 1001);
  for (size_t i = 1; i + 1 < out.size(); ++i) {
    CHECK(out[i].at == 7);
    CHECK(out[i].ref == i - 1);
  }
  // Sequence numbers are given in push order: 0..99, then 100 and 101, then 102...
  CHECK(out.front().seq == 100);
  CHECK(out.back().seq == 101);
  CHECK(out[1].seq == 0);
  CHECK(out[101].seq == 102);
}

TEST_CASE("event queue: matches a stable sort by time", "[event_queue]") {
  // Push everything, then pop: the order must be std::stable_sort of the pushed items by
  // time (a stable sort keeps push order among equal times).
  Rng rng(41, stream_id("test-event-queue", 0));
  EventQueue q;
  std::vector<Item> pushed;
  for (uint64_t i = 0; i < 20'000; ++i) {
    const auto at = static_cast<int64_t>(rng.below(500));  // many ties
    q.push(SimTime::from_ns(at), i);
    pushed.push_back({at, i, i});
  }
  std::stable_sort(pushed.begin(), pushed.end(),
                   [](const Item& a, const Item& b) { return a.at < b.at; });
  const auto out = drain(q);
  REQUIRE(out.size() == pushed.size());
  bool same = true;
  for (size_t i = 0; i < out.size(); ++i)
    same = same && out[i].at == pushed[i].at && out[i].ref == pushed[i].ref &&
           out[i].seq == pushed[i].seq;
  CHECK(same);
}

TEST_CASE("event queue: interleaved pushes and pops match the reference", "[event_queue]") {
  // The reference keeps the pending items in stable-sorted order: a new item goes after
  // every pending item with time <= its own, which is where std::stable_sort by time
  // would put it. Pushes are at or after the last popped time, as in the engine.
  for (uint64_t seed : {1, 2, 3}) {
    Rng rng(seed, stream_id("test-event-queue", seed));
    EventQueue q;
    std::vector<Item> ref;
    uint64_t next = 0;
    int64_t now = 0;
    size_t mismatches = 0, pops = 0;
    for (int step = 0; step < 20'000; ++step) {
      const bool push = ref.empty() || rng.below(100) < (step < 10'000 ? 60u : 40u);
      if (push) {
        const int64_t at = now + static_cast<int64_t>(rng.below(rng.bernoulli(0.3) ? 3 : 1000));
        const Item item{at, next, next * 7 + 1};
        ++next;
        q.push(SimTime::from_ns(at), item.ref);
        const auto pos = std::upper_bound(ref.begin(), ref.end(), at,
                                          [](int64_t t, const Item& e) { return t < e.at; });
        ref.insert(pos, item);
      } else {
        if (q.empty()) {
          ++mismatches;
          break;
        }
        const QueuedEvent& e = q.top();
        const Item& want = ref.front();
        if (e.at != want.at || e.seq != want.seq || e.ref != want.ref) ++mismatches;
        if (e.at < now) ++mismatches;  // time never goes backwards
        now = e.at;
        q.pop();
        ref.erase(ref.begin());
        ++pops;
      }
      if (q.size() != ref.size()) ++mismatches;
    }
    // Drain the rest against a stable sort of what is left.
    std::stable_sort(ref.begin(), ref.end(),
                     [](const Item& a, const Item& b) { return a.at < b.at; });
    const auto rest = drain(q);
    REQUIRE(rest.size() == ref.size());
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i].at != ref[i].at || rest[i].seq != ref[i].seq || rest[i].ref != ref[i].ref)
        ++mismatches;
    }
    INFO("seed " << seed << ": " << pops << " pops");
    CHECK(pops > 5'000);
    CHECK(mismatches == 0);
    CHECK(q.scheduled() == next);
  }
}

TEST_CASE("event queue: extreme times", "[event_queue]") {
  EventQueue q;
  q.push(SimTime::max(), 1);
  q.push(SimTime::zero(), 2);
  q.push(SimTime::from_ns(-5), 3);
  q.push(SimTime::max(), 4);
  const auto out = drain(q);
  REQUIRE(out.size() == 4);
  CHECK(out[0].ref == 3);
  CHECK(out[1].ref == 2);
  CHECK(out[2].ref == 1);
  CHECK(out[3].ref == 4);
}
