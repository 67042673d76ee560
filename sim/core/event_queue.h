// The pending-event set, ordered by (time, sequence number): events at the same time
// come out in the order they were scheduled, never by address or hash.
//
// It is a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan 1990) on digits of kDigitBits
// bits, i.e. a multi-level bucket structure (Denardo and Fox 1979). A discrete-event
// simulator can use one because its keys are monotone: nothing is scheduled before the
// event being handled. With `last_` the time of the last popped event, bucket
// (level, digit) holds the events whose time agrees with `last_` on every digit above
// `level` and has `digit` at `level`; a separate run holds the events at exactly
// `last_`. A pop takes from that run; when it is empty, the lowest non-empty bucket
// (two bit scans) is searched for its earliest event, which becomes `last_`, and the
// bucket's events are spread over the levels below. An event thus moves down at most
// 64 / kDigitBits times over its life, each move a sequential append: the structure
// stays cache-friendly at millions of pending events, where a binary heap misses the
// cache on every level. tests/bench/bench_event_queue.cpp measures it against binary
// and 4-ary heaps, a pairing heap, a calendar queue and other digit widths, at 10^2 to
// 10^6 pending events: ~10 ns an event behind the 4-ary heap and the calendar queue at
// 10^2 and 10^3, ahead of every heap from 10^4 on, >10x the binary heap at 10^6. 6-bit
// digits beat 4-bit ones in 5 of 6 interleaved runs with PHOLD's increments (callgrind:
// ~5% fewer instructions, ~10% more L1 misses) but lost some with many ties or a bimodal
// spread: close; 1- and 2-bit digits were slower.
//
// Buckets are chains of fixed-size blocks from one pool, so memory follows the number
// of pending events (not each bucket's past peak), and a block emptied by a
// redistribution is reused, still in cache, by the buckets it fills.
//
// The sequence order needs no stored sequence number. Every bucket is kept in
// scheduling order: a push appends the newest event, and a redistribution walks one
// bucket in order into buckets that are all empty (it only happens when every lower
// bucket is), so each keeps the order. Events at equal times therefore leave first in,
// first out. tests/unit/test_event_queue.cpp checks the order against a reference.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/core/assert.h"
#include "sim/core/time.h"

namespace dsim {

struct QueuedEvent {
  int64_t at;    ///< ns since the start
  uint64_t ref;  ///< what to do: the engine's encoding of kind and index
};

template <int kDigitBits>
class BasicEventQueue {
  static_assert(kDigitBits >= 1 && kDigitBits <= 6, "a level's digits must fit a 64-bit mask");
  static constexpr int kLevels = (64 + kDigitBits - 1) / kDigitBits;
  static constexpr int kRadix = 1 << kDigitBits;

 public:
  BasicEventQueue() = default;
  BasicEventQueue(const BasicEventQueue&) = delete;
  BasicEventQueue& operator=(const BasicEventQueue&) = delete;

  /// Schedules `ref` at `at`, which must not be earlier than the last popped event.
  void push(SimTime at, uint64_t ref) {
    const uint64_t k = key(at.ns());
    DSIM_ASSERT(k >= last_, "an event scheduled before the last one popped");
    place({at.ns(), ref}, k);
    ++size_;
    ++scheduled_;
    min_valid_ = false;
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  /// The earliest event (the first scheduled among equals). Does not advance `last_`, so
  /// after top() anything not before the last popped event may still be pushed.
  const QueuedEvent& top() const {
    DSIM_ASSERT(size_ != 0);
    if (now_.head) return now_.head->events[now_pos_];
    find_min();
    return min_block_->events[min_pos_];
  }
  void pop() {
    DSIM_ASSERT(size_ != 0);
    if (!now_.head) refill();
    --size_;
    Block* b = now_.head;
    if (++now_pos_ < b->count) return;
    // The head block is used up: either it is the last (the run is empty) or it is full
    // and the run goes on in the next one.
    now_.head = b == now_.tail ? nullptr : b->next;
    if (!now_.head) now_.tail = nullptr;
    now_pos_ = 0;
    release(b);
  }
  /// Events scheduled since construction.
  uint64_t scheduled() const { return scheduled_; }

 private:
  static constexpr uint32_t kBlockEvents = 32;  // 512 bytes of events
  static constexpr size_t kSlabBlocks = 128;    // blocks per allocation (64 KiB)
  struct Block {
    QueuedEvent events[kBlockEvents];
    Block* next;     // the bucket's next block, or the next free one
    uint32_t count;  // events stored
  };
  struct Chain {  // a bucket: blocks from head to tail, appended at the tail
    Block* head = nullptr;
    Block* tail = nullptr;
  };

  // Order-preserving map of signed nanoseconds onto unsigned keys.
  static uint64_t key(int64_t at) { return static_cast<uint64_t>(at) ^ (uint64_t{1} << 63); }

  // A fresh slab of free blocks (out of line: it runs once per kSlabBlocks blocks).
  [[gnu::noinline]] Block* grow() {
    slabs_.push_back(std::make_unique<Block[]>(kSlabBlocks));
    Block* slab = slabs_.back().get();
    for (size_t i = kSlabBlocks; i-- > 0;)
      release(&slab[i]);
    return free_;
  }
  void release(Block* b) {
    b->next = free_;
    free_ = b;
  }
  void append(Chain& c, const QueuedEvent& e) {
    Block* t = c.tail;
    if (!t || t->count == kBlockEvents) {
      Block* b = free_ ? free_ : grow();
      free_ = b->next;
      b->count = 0;
      b->next = nullptr;
      (t ? t->next : c.head) = b;
      c.tail = t = b;
    }
    t->events[t->count++] = e;
  }
  void place(const QueuedEvent& e, uint64_t k) {
    const uint64_t x = k ^ last_;
    if (x == 0) {
      append(now_, e);
      return;
    }
    const int level = (63 - std::countl_zero(x)) / kDigitBits;
    const auto digit = static_cast<int>((k >> (level * kDigitBits)) & (kRadix - 1));
    append(buckets_[level * kRadix + digit], e);
    digit_mask_[level] |= uint64_t{1} << digit;
    level_mask_ |= uint64_t{1} << level;
  }
  // Locates the earliest event of the lowest non-empty bucket (the run at `last_` being
  // empty): the first of the smallest time, since the bucket is in scheduling order.
  void find_min() const {
    if (min_valid_) return;
    DSIM_ASSERT(level_mask_ != 0);
    const int level = std::countr_zero(level_mask_);
    min_bucket_ = level * kRadix + std::countr_zero(digit_mask_[level]);
    min_block_ = buckets_[min_bucket_].head;
    min_pos_ = 0;
    int64_t best = min_block_->events[0].at;
    for (const Block* b = min_block_; b; b = b->next) {
      for (uint32_t i = 0; i < b->count; ++i) {
        if (b->events[i].at < best) {
          best = b->events[i].at;
          min_block_ = b;
          min_pos_ = i;
        }
      }
    }
    min_valid_ = true;
  }
  // The run at `last_` is empty: makes the earliest event the new `last_` and spreads its
  // bucket over the levels below (which are all empty).
  void refill() {
    find_min();
    const int bucket = min_bucket_;
    const int level = bucket / kRadix;
    last_ = key(min_block_->events[min_pos_].at);
    digit_mask_[level] &= ~(uint64_t{1} << (bucket % kRadix));
    if (digit_mask_[level] == 0) level_mask_ &= ~(uint64_t{1} << level);
    Block* b = buckets_[bucket].head;
    buckets_[bucket] = Chain{};
    now_pos_ = 0;
    while (b) {
      for (uint32_t i = 0; i < b->count; ++i)
        place(b->events[i], key(b->events[i].at));
      Block* next = b->next;
      release(b);
      b = next;
    }
    min_valid_ = false;
  }

  Chain now_;  // the events at exactly `last_`, from now_pos_ in the head block on
  uint32_t now_pos_ = 0;
  std::array<Chain, kLevels * kRadix> buckets_{};
  std::array<uint64_t, kLevels> digit_mask_{};  // per level: which digits hold events
  uint64_t level_mask_ = 0;                     // which levels hold events
  uint64_t last_ = 0;                           // key of the last popped event
  size_t size_ = 0;
  uint64_t scheduled_ = 0;
  std::vector<std::unique_ptr<Block[]>> slabs_;  // the block pool
  Block* free_ = nullptr;                        // free blocks, linked by `next`
  mutable bool min_valid_ = false;               // cache of find_min(), until the next push or pop
  mutable int min_bucket_ = 0;
  mutable const Block* min_block_ = nullptr;
  mutable uint32_t min_pos_ = 0;
};

/// The engine's queue: 6-bit digits (11 levels of 64 buckets).
using EventQueue = BasicEventQueue<6>;

}  // namespace dsim
