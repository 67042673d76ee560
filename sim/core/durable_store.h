// The engine's side of a node's durable store (disk.h): the data, the device's timing
// (a FIFO of writes and syncs, each taking a drawn latency, multiplied while the node or
// its disk is slow) and what a crash keeps.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "sim/core/disk.h"
#include "sim/core/distribution.h"
#include "sim/core/ids.h"
#include "sim/core/rng.h"
#include "sim/core/time.h"

namespace dsim {

struct DiskSpec {
  /// Device time of one write (plus its size over `bandwidth`).
  Distribution write = Distribution::constant(20e3).with_dim(Distribution::Dim::kTime);
  /// Device time of one sync, after the writes ahead of it.
  Distribution fsync = Distribution::constant(1e6).with_dim(Distribution::Dim::kTime);
  /// The costs of a kind of write (DiskWrite) that has its own.
  struct KindCost {
    Distribution write;
    Distribution fsync;
  };
  /// By DiskWrite; none: the kind costs what data costs (`write`, `fsync`). Index 0 (data)
  /// is always none.
  std::array<std::optional<KindCost>, kDiskWriteKinds> kinds;
  double bandwidth_bytes_per_s = 0;  ///< 0: unlimited
  uint64_t capacity_bytes = 0;       ///< 0: unlimited
  /// On a crash, lose writes no completed sync covered (true), or only those still in
  /// flight on the device (false: completed writes survive, as with a battery-backed cache).
  bool lose_unsynced = true;
};

/// Told when a sync has been scheduled to complete at a true time.
class DiskScheduler {
 public:
  virtual ~DiskScheduler() = default;
  virtual void schedule_disk(NodeId node, SimTime at) = 0;
};

class NodeDisk final : public DurableStore {
 public:
  /// `now` is the true time of the caller (the engine's clock); `spec` outlives the disk.
  NodeDisk(const DiskSpec* spec, Rng rng, NodeId node, DiskScheduler* scheduler,
           const SimTime* now);

  // --- DurableStore ---
  std::optional<std::string_view> get(std::string_view key) const override;
  void for_each(std::string_view prefix,
                const std::function<void(std::string_view, std::string_view)>& fn) const override;
  bool write(std::string_view key, std::string value, uint64_t bytes = 0,
             DiskWrite kind = DiskWrite::kData) override;
  bool erase(std::string_view key) override;
  DiskOpId sync(uint64_t tag = 0) override;
  uint64_t used_bytes() const override { return used_; }
  bool full() const override;

  // --- the engine's side ---
  struct Completion {
    DiskOpId op;
    uint64_t tag;
  };
  /// Completes the oldest pending sync (its time has come): the writes ahead of it become
  /// durable. Returns nullopt when none is pending (a stale event).
  std::optional<Completion> complete_sync();
  /// The node crashed at the current time: drop what was not durable and every pending
  /// operation.
  void crash();
  /// Multiplies the device time of operations issued from now on.
  void set_node_slowdown(double f) { node_factor_ = f; }
  void set_fault_slowdown(double f) { fault_factor_ = f; }
  double fault_slowdown() const { return fault_factor_; }
  void set_full_fault(bool full) { full_fault_ = full; }
  bool full_fault() const { return full_fault_; }
  /// Bumped by each crash; completions scheduled before it are stale.
  uint32_t epoch() const { return epoch_; }

  struct Counters {
    uint64_t writes = 0;
    uint64_t bytes_written = 0;
    uint64_t syncs = 0;
    uint64_t refused = 0;      ///< writes refused: disk full
    uint64_t lost_writes = 0;  ///< writes a crash undid
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Entry {
    std::string value;
    uint64_t bytes;
  };
  struct Op {
    enum class Kind : uint8_t { kWrite, kErase, kSync } kind;
    std::string key;
    std::string value;
    uint64_t bytes = 0;
    SimTime done;
    uint64_t seq = 0;  // syncs: the DiskOpId
    uint64_t tag = 0;
  };
  SimTime occupy(Duration d);  // the device is busy for d after what is ahead
  double factor() const { return node_factor_ * fault_factor_; }
  static void apply(std::map<std::string, Entry, std::less<>>& to, const Op& op);
  void apply_completed_writes();  // lose_unsynced == false: writes done by now are durable

  // The write and fsync times of a kind of write.
  const Distribution& write_time(DiskWrite kind) const;
  // The device time of a sync covering the kinds written since the last one.
  Duration sync_time();

  const DiskSpec* spec_;
  Rng rng_;
  uint8_t unsynced_kinds_ = 0;  // bit per DiskWrite with its own costs, written since a sync
  NodeId node_;
  DiskScheduler* scheduler_;
  const SimTime* now_;
  std::map<std::string, Entry, std::less<>> current_;  // what reads see
  std::map<std::string, Entry, std::less<>> durable_;  // what a crash keeps
  std::deque<Op> device_ops_;
  uint64_t used_ = 0;
  SimTime free_at_;
  uint64_t next_seq_ = 1;
  uint32_t epoch_ = 0;
  double node_factor_ = 1;
  double fault_factor_ = 1;
  bool full_fault_ = false;
  Counters counters_;
};

}  // namespace dsim
