// A node's durable store, as a model sees it (Context::disk()).
//
// It survives crashes: when the engine crashes a node it drops the model instance (all
// volatile state) and keeps the store; the restarted node's new model reads it back in
// on_start(). Reads are immediate and see every write made so far. Writes go to the
// disk's cache at once and reach the platter in FIFO order, each taking the disk's
// `write` latency; sync() makes everything written before it durable and takes the
// `fsync` latency after the writes ahead of it. Its completion is delivered to the model
// as on_disk(ctx, op, tag), like a timer. On a crash, writes not covered by a completed
// sync are lost (or, when the scenario says `lose_unsynced: false`, only those still in
// flight), and completions of the old incarnation are never delivered.
//
// The pattern of a protocol that must persist before it answers (Raft's current term,
// vote and log; see Raft 5.1 and Figure 2: "updated on stable storage before responding
// to RPCs"):
//
//   void on_message(Context& ctx, const Envelope& env) {
//     ...
//     ctx.disk().write("term", std::to_string(term_));
//     ctx.disk().write("vote", voted_for_);
//     const DiskOpId op = ctx.disk().sync(kReplyAfterSync);  // the tag says what for
//     waiting_[op] = reply;                                  // send once durable
//   }
//   void on_disk(Context& ctx, DiskOpId op, uint64_t tag) override {
//     ctx.send(waiting_[op].to, waiting_[op].msg);
//   }
//
// The store holds byte strings under string keys, ordered by key (for_each visits them
// in order, e.g. a log under "log/00000042"). Its size counts key + value bytes unless a
// write gives its own size. A full disk (capacity reached, or a `disk_full` fault) refuses
// writes: write() returns false and changes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dsim {

/// What a write is, for its cost: a scenario can give each kind its own write and sync
/// times (`disk.metadata`, `disk.log`, `disk.snapshot`); a kind it does not give costs
/// what `data` costs. Raft's term and vote are metadata, its entries log, its snapshots
/// snapshot.
enum class DiskWrite : uint8_t { kData, kMetadata, kLog, kSnapshot };
inline constexpr size_t kDiskWriteKinds = 4;

/// A pending disk operation (a sync); see DurableStore::sync().
struct DiskOpId {
  uint64_t seq = 0;  ///< 1, 2, ... per node, across restarts
  constexpr bool valid() const { return seq != 0; }
  constexpr auto operator<=>(const DiskOpId&) const = default;
};

class DurableStore {
 public:
  virtual ~DurableStore() = default;

  /// The value under `key`, or nullopt. The view is valid until the next write or erase.
  virtual std::optional<std::string_view> get(std::string_view key) const = 0;
  /// Calls fn(key, value) for every key starting with `prefix`, in key order.
  virtual void for_each(
      std::string_view prefix,
      const std::function<void(std::string_view, std::string_view)>& fn) const = 0;
  /// Sets `key` to `value`: visible at once, durable after a later sync completes.
  /// `bytes` is its size on disk (0: key + value). False, and nothing written, when the
  /// disk is full.
  virtual bool write(std::string_view key, std::string value, uint64_t bytes = 0,
                     DiskWrite kind = DiskWrite::kData) = 0;
  /// Removes `key` (a write of its absence; allowed on a full disk). False when there was
  /// no such key.
  virtual bool erase(std::string_view key) = 0;
  /// Makes every write made so far durable; Model::on_disk(ctx, op, tag) is called when
  /// it is. Syncs complete in the order they were requested. A sync takes the fsync time
  /// of each kind of write it covers that has its own costs, one after another (each kind
  /// its own file), or the data kind's when it covers only data writes or none.
  virtual DiskOpId sync(uint64_t tag = 0) = 0;
  /// Bytes stored (what get() sees).
  virtual uint64_t used_bytes() const = 0;
  /// True while writes are refused.
  virtual bool full() const = 0;
};

}  // namespace dsim
