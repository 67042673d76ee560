#include "sim/core/durable_store.h"

#include <algorithm>
#include <cmath>

namespace dsim {

namespace {

Duration scale(Duration d, double f) {
  if (f == 1.0) return d;
  const double x = static_cast<double>(d.ns()) * f;
  return Duration::from_ns(x >= 9.0e18 ? int64_t{9'000'000'000'000'000'000} : std::llround(x));
}

}  // namespace

NodeDisk::NodeDisk(const DiskSpec* spec, Rng rng, NodeId node, DiskScheduler* scheduler,
                   const SimTime* now)
    : spec_(spec), rng_(rng), node_(node), scheduler_(scheduler), now_(now) {}

std::optional<std::string_view> NodeDisk::get(std::string_view key) const {
  auto it = current_.find(key);
  if (it == current_.end()) return std::nullopt;
  return std::string_view(it->second.value);
}

void NodeDisk::for_each(std::string_view prefix,
                        const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (auto it = current_.lower_bound(prefix); it != current_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    fn(it->first, it->second.value);
  }
}

bool NodeDisk::full() const {
  return full_fault_ || (spec_->capacity_bytes > 0 && used_ >= spec_->capacity_bytes);
}

SimTime NodeDisk::occupy(Duration d) {
  const SimTime start = std::max(*now_, free_at_);
  free_at_ = saturating_add(start, d);
  return free_at_;
}

void NodeDisk::apply(std::map<std::string, Entry, std::less<>>& to, const Op& op) {
  if (op.kind == Op::Kind::kWrite) {
    to[op.key] = Entry{op.value, op.bytes};
  } else if (op.kind == Op::Kind::kErase) {
    to.erase(op.key);
  }
}

void NodeDisk::apply_completed_writes() {
  if (spec_->lose_unsynced) return;
  while (!device_ops_.empty() && device_ops_.front().kind != Op::Kind::kSync &&
         device_ops_.front().done <= *now_) {
    apply(durable_, device_ops_.front());
    device_ops_.pop_front();
  }
}

const Distribution& NodeDisk::write_time(DiskWrite kind) const {
  const auto& own = spec_->kinds[static_cast<size_t>(kind)];
  return own ? own->write : spec_->write;
}

Duration NodeDisk::sync_time() {
  const uint8_t kinds = unsynced_kinds_;
  unsynced_kinds_ = 0;
  if (kinds == 0) return spec_->fsync.sample_duration(rng_);
  Duration total = Duration::zero();
  for (size_t k = 0; k < kDiskWriteKinds; ++k) {
    if (!(kinds & (1u << k))) continue;
    const auto& own = spec_->kinds[k];
    total += (own ? own->fsync : spec_->fsync).sample_duration(rng_);
  }
  return total;
}

bool NodeDisk::write(std::string_view key, std::string value, uint64_t bytes, DiskWrite kind) {
  if (bytes == 0) bytes = key.size() + value.size();
  auto it = current_.find(key);
  const uint64_t old = it == current_.end() ? 0 : it->second.bytes;
  if (full_fault_ || (spec_->capacity_bytes > 0 && used_ - old + bytes > spec_->capacity_bytes)) {
    ++counters_.refused;
    return false;
  }
  apply_completed_writes();
  Duration d = write_time(kind).sample_duration(rng_);
  // Data writes, and kinds without costs of their own, share the data sync.
  const size_t k = static_cast<size_t>(kind);
  unsynced_kinds_ |= static_cast<uint8_t>(1u << (spec_->kinds[k] ? k : 0));
  if (spec_->bandwidth_bytes_per_s > 0) {
    d += Duration::from_ns(
        std::llround(std::ceil(static_cast<double>(bytes) * 1e9 / spec_->bandwidth_bytes_per_s)));
  }
  Op op{Op::Kind::kWrite, std::string(key), value, bytes, occupy(scale(d, factor())), 0, 0};
  used_ = used_ - old + bytes;
  if (it == current_.end()) {
    current_.emplace(std::string(key), Entry{std::move(value), bytes});
  } else {
    it->second = Entry{std::move(value), bytes};
  }
  device_ops_.push_back(std::move(op));
  ++counters_.writes;
  counters_.bytes_written += bytes;
  return true;
}

bool NodeDisk::erase(std::string_view key) {
  auto it = current_.find(key);
  if (it == current_.end()) return false;
  apply_completed_writes();
  used_ -= it->second.bytes;
  current_.erase(it);
  // Removing a key is a small metadata write.
  device_ops_.push_back(Op{Op::Kind::kErase,
                           std::string(key),
                           {},
                           0,
                           occupy(scale(spec_->write.sample_duration(rng_), factor())),
                           0,
                           0});
  return true;
}

DiskOpId NodeDisk::sync(uint64_t tag) {
  apply_completed_writes();
  const DiskOpId id{next_seq_++};
  const SimTime done = occupy(scale(sync_time(), factor()));
  device_ops_.push_back(Op{Op::Kind::kSync, {}, {}, 0, done, id.seq, tag});
  ++counters_.syncs;
  if (scheduler_) scheduler_->schedule_disk(node_, done);
  return id;
}

std::optional<NodeDisk::Completion> NodeDisk::complete_sync() {
  while (!device_ops_.empty()) {
    Op op = std::move(device_ops_.front());
    device_ops_.pop_front();
    if (op.kind == Op::Kind::kSync) return Completion{DiskOpId{op.seq}, op.tag};
    apply(durable_, op);
  }
  return std::nullopt;
}

void NodeDisk::crash() {
  for (const auto& op : device_ops_) {
    if (op.kind == Op::Kind::kSync) continue;
    if (!spec_->lose_unsynced && op.done <= *now_) {
      apply(durable_, op);
    } else {
      ++counters_.lost_writes;
    }
  }
  device_ops_.clear();
  unsynced_kinds_ = 0;
  current_ = durable_;
  used_ = 0;
  for (const auto& [k, e] : current_)
    used_ += e.bytes;
  free_at_ = *now_;
  ++epoch_;
}

}  // namespace dsim
