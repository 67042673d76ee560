// Small identifiers shared by the engine and the models.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>

namespace dsim {

/// A simulated node: a dense index, in the order groups are declared in the scenario.
using NodeId = uint32_t;
inline constexpr NodeId kNoNode = std::numeric_limits<uint32_t>::max();

/// An interned name (an operation type, a metric, a role): see Context::intern().
struct Symbol {
  uint32_t id = std::numeric_limits<uint32_t>::max();
  constexpr bool valid() const { return id != std::numeric_limits<uint32_t>::max(); }
  constexpr auto operator<=>(const Symbol&) const = default;
};

/// A pending timer; cancelling one that already fired (or was cancelled) does nothing.
struct TimerId {
  uint32_t slot = std::numeric_limits<uint32_t>::max();
  uint32_t generation = 0;
  constexpr bool valid() const { return slot != std::numeric_limits<uint32_t>::max(); }
  constexpr auto operator<=>(const TimerId&) const = default;
};

/// What a model attaches to a timer to know, when it fires, what it was for.
using TimerTag = uint64_t;

/// A client operation being measured: see Recorder::begin_op().
struct OpToken {
  uint64_t id = 0;
  constexpr bool valid() const { return id != 0; }
};

}  // namespace dsim
