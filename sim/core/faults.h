// Faults: what can go wrong, whom it hits, and when. The scenario layer turns the YAML
// `faults:` timeline and `nemesis:` list into these specs; install_faults() schedules
// them on an engine as control actions. Every start and end is recorded in the engine's
// fault log (faults.csv, the time-series markers, the summary) and traced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/distribution.h"
#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim {

class Engine;

/// Whom a fault hits: the union of its terms, resolved when the fault starts.
struct TargetSpec {
  struct Term {
    enum class Kind : uint8_t {
      kNode,      ///< one node: replicas.2
      kGroup,     ///< every node of a group: replicas
      kAll,       ///< every node of the run: all
      kRandom,    ///< one node, at random (of the group, or of the run): replicas.random
      kSample,    ///< `count` nodes, or a `share` of them, at random: replicas.random(10%)
      kMinority,  ///< a random minority of the group: (n-1)/2 nodes
      kMajority,  ///< a random majority of the group: n/2+1 nodes
      kRole,      ///< the nodes whose model reports this role: replicas.leader
      kRegion,    ///< the nodes placed in a region: region:eu-west
    };
    Kind kind = Kind::kNode;
    uint32_t group = 0xffffffffu;  ///< 0xffffffff: the whole run (bare random/role)
    NodeId node = kNoNode;
    uint32_t region = 0;
    uint32_t count = 0;  ///< kSample: how many nodes (0: `share` of the scope)
    double share = 0;    ///< kSample: the fraction of the scope, rounded, at least one node
    std::string role;
  };
  std::vector<Term> terms;
  std::string text;  ///< as written
};

enum class FaultKind : uint8_t {
  kPartition,
  kHeal,
  kCrash,
  kRestart,
  kPause,
  kResume,
  kSlow,
  kDiskSlow,
  kDiskFull,
  kClock,
  kDegrade,
  kLeave,
  kJoin,
};
inline constexpr FaultKind kLastFaultKind = FaultKind::kJoin;
std::string_view fault_kind_name(FaultKind k);

struct PartitionSpec {
  enum class Shape : uint8_t { kGroups, kIsolate, kHalves, kRing, kBridge, kOneWay };
  Shape shape = Shape::kGroups;
  std::vector<TargetSpec> groups;  ///< kGroups
  TargetSpec nodes;                ///< isolate / halves / ring / bridge; one-way: senders
  TargetSpec to;                   ///< one-way: receivers
  bool to_rest = false;            ///< one-way: receivers are every other node
};

/// A timeline fault that happens again and again: at `at`, `at + every`, `at + 2 every`,
/// ... (each occurrence delayed by its own draw of `jitter`), for every base time before
/// `until`. Each occurrence is a fault of its own (its own id, targets resolved anew).
struct RepeatSpec {
  Duration every;
  std::optional<Distribution> jitter;  ///< added to each occurrence's base time (>= 0)
  SimTime until;                       ///< no occurrence has a base time at or after it
};

struct FaultSpec {
  FaultKind kind = FaultKind::kCrash;
  SimTime at;                        ///< timeline only
  std::optional<Duration> lasts;     ///< `for` (restart_after): reverted after it
  std::optional<RepeatSpec> repeat;  ///< timeline only: `every`, `jitter`, `until`
  TargetSpec target;                 ///< every kind but partition and heal
  PartitionSpec partition;
  double factor = 1;                      ///< slow, disk_slow
  std::optional<Distribution> step;       ///< clock: jump of the wall clock (signed)
  std::optional<Distribution> drift_ppm;  ///< clock: new oscillator drift
  double loss = 0, duplicate = 0;         ///< degrade
  std::optional<Distribution> delay;      ///< degrade
  bool outbound = true, inbound = true;   ///< degrade: direction
  std::string text;                       ///< a one-line description for the log
};

/// A random fault generator for one fault kind: healthy for a draw of `interval`, then
/// the fault for a draw of `duration`, and again, between `start` and `stop`.
struct NemesisSpec {
  FaultSpec fault;
  Distribution interval;
  Distribution duration;
  SimTime start;
  SimTime stop;
};

/// Schedules the timeline and the nemeses on `engine` (before it runs). Random choices
/// of timeline fault i come from stream ("fault", i), those of nemesis i from stream
/// ("nemesis", i): adding a fault never shifts another's draws. A repeating fault draws
/// its jitters from stream ("fault_repeat", i), so its occurrence times do not depend on
/// what its targets resolved to.
void install_faults(Engine& engine, const std::vector<FaultSpec>& timeline,
                    const std::vector<NemesisSpec>& nemeses, uint64_t seed);

}  // namespace dsim
