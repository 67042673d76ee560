// A cheap witness that a key's operations are not linearizable, for when the search runs
// out of budget: a successful read r, and a write w that had taken effect before r began
// — w itself succeeded and completed before r was invoked, or a read that completed before
// r was invoked reflects w — yet r does not reflect w though w is newer than r's base (the
// write r's value starts from; staleness.h gives the definitions). No order explains it:
// w is linearized before r began, after r's base, so r must see w. This is a stale read
// when w succeeded, and a non-monotonic pair of reads when an earlier read saw w (a read
// that started after another finished returned a shorter list, say).
//
// This is a proof on its own: w is linearized after r's base (base completed before w
// began) and before r (it had taken effect before r began), and with lists and registers
// alike a read must then reflect w — a later put would have replaced the base as the head
// of r's value. The caller also runs the exact search on the witness with the writes of
// every value its reads return (each read explainable on its own within the set): if that
// search finds an order after all, the witness is dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "models/kv/history.h"

namespace dsim::kv::check {

struct Witness {
  /// The argument, in invoke order: the read, what showed the write had taken effect (the
  /// write itself or an earlier read), the write, and the read's base if it has one.
  std::vector<uint32_t> core;
  /// The core with the writes of every value its reads return, in invoke order.
  std::vector<uint32_t> closure;
};

/// A witness among `ops` (one key's history indices) that they are not linearizable, or
/// nothing when this cheap scan finds none (which proves nothing).
std::optional<Witness> find_witness(const KvHistory& h, std::span<const uint32_t> ops);

}  // namespace dsim::kv::check
