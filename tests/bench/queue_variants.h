// The other candidates for the pending-event set, with EventQueue's interface, kept so
// the choice of sim/core/event_queue.h (a radix heap on 6-bit digits; other digit
// widths are BasicEventQueue<bits>) can be measured again
// (bench_event_queue.cpp) and so each is checked against the same order contract
// (tests/unit/test_event_queue.cpp): events by time, then by scheduling order.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/core/event_queue.h"
#include "sim/core/time.h"

namespace dsim::queues {

/// An event with its scheduling number, for the structures that compare it.
struct SeqEvent {
  int64_t at;
  uint64_t seq;
  uint64_t ref;
  bool operator<(const SeqEvent& o) const { return at != o.at ? at < o.at : seq < o.seq; }
};

/// An implicit D-ary min-heap in one array (D = 2: the binary heap dsim started with).
template <int D>
class DaryHeap {
 public:
  void push(SimTime at, uint64_t ref) {
    heap_.push_back({at.ns(), seq_++, ref});
    size_t i = heap_.size() - 1;
    const SeqEvent e = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / D;
      if (!(e < heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  QueuedEvent top() const { return {heap_.front().at, heap_.front().ref}; }
  void pop() {
    const SeqEvent e = heap_.back();
    heap_.pop_back();
    const size_t n = heap_.size();
    if (n == 0) return;
    size_t i = 0;
    for (;;) {
      const size_t first = D * i + 1;
      if (first >= n) break;
      size_t best = first;
      const size_t last = std::min(first + D, n);
      for (size_t c = first + 1; c < last; ++c) {
        if (heap_[c] < heap_[best]) best = c;
      }
      if (!(heap_[best] < e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

 private:
  std::vector<SeqEvent> heap_;
  uint64_t seq_ = 0;
};

/// A pairing heap (Fredman, Sedgewick, Sleator, Tarjan 1986) with two-pass merging; the
/// nodes live in one pooled array, linked by index.
class PairingHeap {
 public:
  void push(SimTime at, uint64_t ref) {
    uint32_t n;
    if (!free_.empty()) {
      n = free_.back();
      free_.pop_back();
    } else {
      n = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    nodes_[n] = Node{{at.ns(), seq_++, ref}, kNil, kNil};
    root_ = root_ == kNil ? n : meld(root_, n);
    ++size_;
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  QueuedEvent top() const { return {nodes_[root_].e.at, nodes_[root_].e.ref}; }
  void pop() {
    const uint32_t old = root_;
    free_.push_back(old);
    --size_;
    // Pass one: meld the children in pairs, left to right; pass two: right to left.
    pairs_.clear();
    uint32_t c = nodes_[old].child;
    while (c != kNil) {
      const uint32_t a = c;
      const uint32_t b = nodes_[a].sibling;
      if (b == kNil) {
        nodes_[a].sibling = kNil;
        pairs_.push_back(a);
        break;
      }
      c = nodes_[b].sibling;
      nodes_[a].sibling = nodes_[b].sibling = kNil;
      pairs_.push_back(meld(a, b));
    }
    uint32_t r = kNil;
    for (size_t i = pairs_.size(); i-- > 0;)
      r = r == kNil ? pairs_[i] : meld(pairs_[i], r);
    root_ = r;
  }

 private:
  static constexpr uint32_t kNil = std::numeric_limits<uint32_t>::max();
  struct Node {
    SeqEvent e;
    uint32_t child;
    uint32_t sibling;
  };
  uint32_t meld(uint32_t a, uint32_t b) {
    if (nodes_[b].e < nodes_[a].e) std::swap(a, b);
    nodes_[b].sibling = nodes_[a].child;
    nodes_[a].child = b;
    return a;
  }

  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> pairs_;
  uint32_t root_ = kNil;
  size_t size_ = 0;
  uint64_t seq_ = 0;
};

/// A calendar queue (Brown 1988): buckets of one "day" width each, a "year" of
/// `buckets` days, resized (and the width re-estimated from the earliest events)
/// whenever the size doubles or halves. Each bucket is sorted, latest first.
class CalendarQueue {
 public:
  CalendarQueue() { rebuild(2, 1'000'000); }

  void push(SimTime at, uint64_t ref) {
    insert({at.ns(), seq_++, ref});
    if (++size_ > 2 * days_.size()) resize(days_.size() * 2);
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  QueuedEvent top() const {
    locate();
    const SeqEvent& e = days_[found_].back();
    return {e.at, e.ref};
  }
  void pop() {
    locate();
    const SeqEvent e = days_[found_].back();
    days_[found_].pop_back();
    current_ = found_;
    day_end_ = day_end(e.at);
    last_ = e.at;
    located_ = false;
    if (--size_ < days_.size() / 2 && days_.size() > 2) resize(days_.size() / 2);
  }

 private:
  size_t day_of(int64_t at) const {
    return static_cast<size_t>(static_cast<uint64_t>(at / width_) & (days_.size() - 1));
  }
  // The end of the day holding `at` (saturated at the end of time).
  int64_t day_end(int64_t at) const {
    const int64_t start = at - at % width_;
    return start > std::numeric_limits<int64_t>::max() - width_
               ? std::numeric_limits<int64_t>::max()
               : start + width_;
  }
  void insert(const SeqEvent& e) {
    auto& d = days_[day_of(e.at)];
    // Latest first: the new event goes before every event it precedes.
    auto it = std::upper_bound(d.begin(), d.end(), e,
                               [](const SeqEvent& a, const SeqEvent& b) { return b < a; });
    d.insert(it, e);
    located_ = false;
  }
  // Finds the bucket holding the earliest event: scan one year from the current day,
  // taking an event that falls within the day being looked at; failing that, search
  // every bucket directly.
  void locate() const {
    if (located_) return;
    size_t day = current_;
    int64_t end = day_end_;
    for (size_t n = 0; n < days_.size(); ++n) {
      const auto& d = days_[day];
      if (!d.empty() && d.back().at < end) {
        found_ = day;
        located_ = true;
        return;
      }
      day = (day + 1) & (days_.size() - 1);
      end = end > std::numeric_limits<int64_t>::max() - width_ ? end : end + width_;
    }
    const SeqEvent* best = nullptr;
    for (size_t i = 0; i < days_.size(); ++i) {
      if (!days_[i].empty() && (!best || days_[i].back() < *best)) {
        best = &days_[i].back();
        found_ = i;
      }
    }
    located_ = true;
  }
  void resize(size_t days) {
    std::vector<SeqEvent> all;
    all.reserve(size_);
    for (auto& d : days_)
      all.insert(all.end(), d.begin(), d.end());
    // Width: three times the mean gap between the earliest events (Brown's rule).
    int64_t width = width_;
    const size_t k = std::min<size_t>(all.size(), 25);
    if (k >= 2) {
      std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k - 1), all.end());
      std::sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
      const int64_t span = all[k - 1].at - all[0].at;
      const int64_t gap = span / static_cast<int64_t>(k - 1);
      width = std::clamp<int64_t>(gap, 1, std::numeric_limits<int64_t>::max() / 3) * 3;
    }
    rebuild(days, width);
    for (const auto& e : all)
      insert(e);
  }
  void rebuild(size_t days, int64_t width) {
    days_.assign(days, {});
    width_ = width;
    current_ = day_of(last_);
    day_end_ = day_end(last_);
    located_ = false;
  }

  std::vector<std::vector<SeqEvent>> days_;
  int64_t width_ = 1;
  size_t current_ = 0;
  int64_t day_end_ = 0;
  int64_t last_ = 0;
  size_t size_ = 0;
  uint64_t seq_ = 0;
  mutable bool located_ = false;
  mutable size_t found_ = 0;
};

}  // namespace dsim::queues
