// What a run may take from the machine: resident memory (`limits.memory`) and wall-clock
// time (`limits.wall`). These read /proc and the wall clock, so they live here, outside
// the engine and the models: the engine only asks a watcher whether to go on, and a run
// that no limit stops is the same, byte for byte, with or without them.
//
// Memory is guarded twice: before the engine is built, by an estimate from the scenario
// (a lower bound: a run cannot need less), and while it is built, its nodes started and
// its events run, by the process's resident memory, sampled every few milliseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "sim/core/engine.h"
#include "sim/scenario/scenario.h"

namespace dsim {

/// Bytes for people: "812 MiB", "1.5 GiB".
std::string human_bytes(uint64_t bytes);

/// The machine's memory: MemTotal (/proc/meminfo), or the cgroup's memory.max when lower;
/// 0 when neither can be read.
uint64_t machine_memory_bytes();
/// The process's resident memory (/proc/self/statm); 0 when it cannot be read.
uint64_t resident_memory_bytes();

/// The memory budget of a run: limits.memory when the scenario sets it (0: none), else
/// half of the machine's memory.
uint64_t memory_budget(const LimitsSpec& limits);
/// "limits.memory (2 GiB)" or "limits.memory (default: half of the machine's 24 GiB)".
std::string describe_memory_budget(const LimitsSpec& limits);

/// The memory a scenario needs at the least, from what every run of it holds: each node
/// (the engine's state for it, outputs included, and its model object, whose size each
/// model type gives: ModelFactory::model_bytes) and each event its nodes schedule when
/// they start (closed-loop `users` per client node, phold `tokens` per group).
struct MemoryEstimate {
  uint64_t bytes = 0;
  /// "10000000 nodes x 272 B + their models (10000000 phold x 48 B) + 1000000 events
  /// scheduled at start x 48 B + 8 MiB for the process"
  std::string breakdown;
};
MemoryEstimate estimate_memory(const ScenarioSpec& spec);

/// Why the scenario cannot run within its memory budget, or nullopt when it may.
std::optional<std::string> refuse_by_estimate(const ScenarioSpec& spec);

/// Watches a run (Engine::watch): stops it when the process's resident memory passes the
/// budget or the wall-clock time passes limits.wall. Cheap to call often: it reads the
/// clock on every call and the resident memory at most every few milliseconds.
class ResourceGuard {
 public:
  explicit ResourceGuard(const LimitsSpec& limits);  ///< the wall clock starts now
  std::optional<StopReason> poll();
  /// What stopped the run, for people (empty while nothing did).
  const std::string& message() const { return message_; }

 private:
  using Clock = std::chrono::steady_clock;  // dsim-lint: allow(wall-clock)
  LimitsSpec limits_;
  uint64_t budget_;
  Clock::time_point started_;
  Clock::time_point next_sample_;
  std::string message_;
};

}  // namespace dsim
