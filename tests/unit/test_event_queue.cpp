// The event queue's contract: events come out by time, and events at the same time in
// the order they were scheduled. Checked for the engine's queue (a radix heap) and for
// every candidate the benchmarks compare it with (other digit widths included), against
// a reference ordered set.
#include <catch2/catch.hpp>

#include <limits>
#include <set>
#include <utility>
#include <vector>

#include "bench/queue_variants.h"
#include "sim/core/event_queue.h"
#include "sim/core/rng.h"

using namespace dsim;

TEMPLATE_TEST_CASE("event queue: equal times come out in scheduling order", "", EventQueue,
                   queues::DaryHeap<2>, queues::DaryHeap<4>, queues::PairingHeap,
                   queues::CalendarQueue, BasicEventQueue<1>, BasicEventQueue<2>,
                   BasicEventQueue<4>) {
  TestType q;
  for (uint64_t i = 0; i < 1000; ++i)
    q.push(SimTime::from_ns(5), i);
  q.push(SimTime::from_ns(3), 1000);
  REQUIRE(q.size() == 1001);
  CHECK(q.top().ref == 1000);
  CHECK(q.top().at == 3);
  q.pop();
  for (uint64_t i = 0; i < 1000; ++i) {
    REQUIRE(q.top().at == 5);
    REQUIRE(q.top().ref == i);
    q.pop();
    // Events scheduled while equal ones are pending come after them.
    if (i % 3 == 0) q.push(SimTime::from_ns(5), 2000 + i);
  }
  for (uint64_t i = 0; i < 1000; i += 3) {
    REQUIRE(q.top().ref == 2000 + i);
    q.pop();
  }
  CHECK(q.empty());
}

TEMPLATE_TEST_CASE("event queue: random schedules match a reference order", "", EventQueue,
                   queues::DaryHeap<2>, queues::DaryHeap<4>, queues::PairingHeap,
                   queues::CalendarQueue, BasicEventQueue<1>, BasicEventQueue<2>,
                   BasicEventQueue<4>) {
  // Time spans from nothing (ties) to the end of time, pushes and pops interleaved the
  // way an engine does: nothing is scheduled before the event last popped.
  const int64_t spans[] = {0, 3, 1'000, 1'000'000, 1'000'000'000};
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed, 0);
    TestType q;
    std::set<std::pair<int64_t, uint64_t>> ref;  // (time, scheduling order)
    int64_t now = 0;
    uint64_t next = 0;
    auto push = [&](int64_t at) {
      q.push(SimTime::from_ns(at), next);
      ref.insert({at, next});
      ++next;
    };
    for (int step = 0; step < 20'000; ++step) {
      const bool grow = ref.size() < 50 || rng.below(100) < 48;
      if (grow || ref.empty()) {
        const int64_t span = spans[rng.below(5)];
        const int64_t at =
            rng.below(1000) == 0
                ? std::numeric_limits<int64_t>::max()
                : now + static_cast<int64_t>(rng.below64(static_cast<uint64_t>(span) + 1));
        push(at);
        continue;
      }
      INFO("seed " << seed << " step " << step);
      REQUIRE(q.size() == ref.size());
      const QueuedEvent e = q.top();
      REQUIRE(e.at == ref.begin()->first);
      REQUIRE(e.ref == ref.begin()->second);
      q.pop();
      ref.erase(ref.begin());
      now = e.at;
    }
    while (!ref.empty()) {
      REQUIRE(q.top().ref == ref.begin()->second);
      q.pop();
      ref.erase(ref.begin());
    }
    CHECK(q.empty());
  }
}

TEMPLATE_TEST_CASE("event queue: a large pending set keeps the order", "", EventQueue,
                   queues::DaryHeap<2>, queues::DaryHeap<4>, queues::PairingHeap,
                   queues::CalendarQueue, BasicEventQueue<1>, BasicEventQueue<2>,
                   BasicEventQueue<4>) {
  // 50000 events pending, replaced one by one as in the hold model, with increments
  // that often tie: buckets and runs of equal times span many blocks.
  Rng rng(11, 0);
  TestType q;
  std::set<std::pair<int64_t, uint64_t>> ref;
  uint64_t next = 0;
  auto push = [&](int64_t at) {
    q.push(SimTime::from_ns(at), next);
    ref.insert({at, next});
    ++next;
  };
  for (int i = 0; i < 50'000; ++i)
    push(1000 * static_cast<int64_t>(rng.below(100)));
  for (int step = 0; step < 200'000; ++step) {
    const QueuedEvent e = q.top();
    REQUIRE(e.at == ref.begin()->first);
    REQUIRE(e.ref == ref.begin()->second);
    q.pop();
    ref.erase(ref.begin());
    push(e.at + (rng.below(2) ? 0 : 1000 * static_cast<int64_t>(rng.below(100))));
  }
  while (!ref.empty()) {
    REQUIRE(q.top().ref == ref.begin()->second);
    q.pop();
    ref.erase(ref.begin());
  }
  CHECK(q.empty());
}

TEMPLATE_TEST_CASE("event queue: looking at the top does not stop earlier pushes", "", EventQueue,
                   queues::DaryHeap<2>, queues::DaryHeap<4>, queues::PairingHeap,
                   queues::CalendarQueue, BasicEventQueue<1>, BasicEventQueue<2>,
                   BasicEventQueue<4>) {
  // The engine looks at the top, sees it is past the end of the run, and then lets the
  // models schedule at the end time (on_stop): that must still order correctly.
  TestType q;
  q.push(SimTime::from_ns(10), 0);
  q.pop();
  q.push(SimTime::from_ns(1'000'000), 1);
  q.push(SimTime::from_ns(2'000'000), 2);
  CHECK(q.top().ref == 1);
  q.push(SimTime::from_ns(10), 3);  // == the last popped time
  q.push(SimTime::from_ns(500), 4);
  CHECK(q.top().ref == 3);
  q.pop();
  CHECK(q.top().ref == 4);
  q.pop();
  CHECK(q.top().ref == 1);
  q.pop();
  CHECK(q.top().ref == 2);
}

TEST_CASE("event queue: counts what was scheduled") {
  EventQueue q;
  CHECK(q.empty());
  for (int i = 0; i < 5; ++i)
    q.push(SimTime::from_ns(i), 0);
  q.pop();
  q.pop();
  CHECK(q.size() == 3);
  CHECK(q.scheduled() == 5);
}
