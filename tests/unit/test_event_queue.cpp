// The event queue's contract: events come out by time, and events at the same time in
// the order they were scheduled. Checked for the engine's queue (a radix heap) and for
// every candidate the benchmarks compare it with (other digit widths included), against
// a reference ordered set; then the engine's queue against stable sorts of what was
// pushed, with pushes numbered by the test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
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

namespace {

struct Item {
  int64_t at;
  uint64_t seq;
  uint64_t ref;
};

// The engine's queue stores no sequence number (event_queue.h says why the order holds
// without one), so these tests number the pushes themselves: `seq` is an event's place in
// push order, found from its ref (unique in each test).
class SeqQueue {
 public:
  void push(SimTime at, uint64_t ref) {
    seq_of_[ref] = next_++;
    q_.push(at, ref);
  }
  bool empty() const { return q_.empty(); }
  size_t size() const { return q_.size(); }
  uint64_t scheduled() const { return q_.scheduled(); }
  Item top() const {
    const QueuedEvent& e = q_.top();
    return {e.at, seq_of_.at(e.ref), e.ref};
  }
  void pop() { q_.pop(); }

 private:
  EventQueue q_;
  std::map<uint64_t, uint64_t> seq_of_;
  uint64_t next_ = 0;
};

// Pops everything, returning the (at, seq, ref) sequence.
std::vector<Item> drain(SeqQueue& q) {
  std::vector<Item> out;
  while (!q.empty()) {
    out.push_back(q.top());
    q.pop();
  }
  return out;
}

}  // namespace

TEST_CASE("event queue: empty and sizes", "[event_queue]") {
  SeqQueue q;
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
  SeqQueue q;
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
  SeqQueue q;
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
  SeqQueue q;
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
    SeqQueue q;
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
        const Item e = q.top();
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
  SeqQueue q;
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
