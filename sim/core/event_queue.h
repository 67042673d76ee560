// The pending-event set: a min-heap on (time, sequence number). The sequence number is
// given when an event is scheduled, so events at the same time run in the order they
// were scheduled, never by address or hash.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "sim/core/time.h"

namespace dsim {

struct QueuedEvent {
  int64_t at;    ///< ns since the start
  uint64_t seq;  ///< scheduling order
  uint64_t ref;  ///< what to do: the engine's encoding of kind and index
};

class EventQueue {
 public:
  void push(SimTime at, uint64_t ref) {
    heap_.push_back({at.ns(), next_seq_++, ref});
    sift_up(heap_.size() - 1);
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  const QueuedEvent& top() const {
    assert(!heap_.empty());
    return heap_.front();
  }
  void pop() {
    assert(!heap_.empty());
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
  }
  uint64_t scheduled() const { return next_seq_; }

 private:
  static bool before(const QueuedEvent& a, const QueuedEvent& b) {
    return a.at != b.at ? a.at < b.at : a.seq < b.seq;
  }
  void sift_up(size_t i) {
    const QueuedEvent e = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!before(e, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  void sift_down(size_t i) {
    const QueuedEvent e = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], e)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = e;
  }

  std::vector<QueuedEvent> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace dsim
