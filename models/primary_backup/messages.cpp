#include "models/primary_backup/messages.h"

namespace dsim::pb {

namespace {
std::string pos_text(const LogPos& p) {
  return "(" + std::to_string(p.epoch) + "," + std::to_string(p.index) + ")";
}
}  // namespace

uint32_t Replicate::size_bytes() const {
  uint32_t n = 56;
  for (const auto& e : entries)
    n += e.wire_bytes();
  return n;
}

std::string Replicate::describe() const {
  std::string s = "shard " + std::to_string(shard) + " epoch " + std::to_string(epoch) + " after " +
                  pos_text(prev);
  if (entries.empty()) return s + " heartbeat";
  return s + " entries " + std::to_string(entries.front().index) + ".." +
         std::to_string(entries.back().index);
}

std::string ReplicateAck::describe() const {
  std::string s = "shard " + std::to_string(shard) + " received " + pos_text(received);
  if (refused) s += " refused (fenced at " + std::to_string(fenced) + ")";
  if (mismatch) s += " mismatch";
  if (recovering) s += " recovering";
  return s;
}

std::string Snapshot::describe() const {
  return "shard " + std::to_string(shard) + " snapshot at " + pos_text(pos) + ", " +
         std::to_string(bytes) + " bytes";
}

uint32_t Pong::size_bytes() const {
  uint32_t n = 40;
  for (const auto& s : shards)
    n += 24 + s.config.wire_bytes();
  return n;
}

std::string Fence::describe() const {
  return std::string(fence ? "fence" : "position query") + " shard " + std::to_string(shard) +
         " epoch " + std::to_string(epoch);
}

std::string FenceReply::describe() const {
  return "shard " + std::to_string(shard) + " epoch " + std::to_string(epoch) + " at " +
         pos_text(pos) + (valid ? "" : " (no valid copy)");
}

namespace {
const char* change_name(Change c) {
  switch (c) {
    case Change::kFailover:
      return "failover";
    case Change::kAddBackup:
      return "add backup";
    case Change::kRemoveBackup:
      return "remove backup";
  }
  return "?";
}
}  // namespace

std::string Prepare::describe() const {
  return std::string(change_name(change)) + " shard " + std::to_string(shard) + " ballot " +
         std::to_string(ballot) + " after epoch " + std::to_string(base.epoch);
}

std::string Accept::describe() const {
  return "shard " + std::to_string(shard) + " ballot " + std::to_string(ballot) + ": " +
         value.describe();
}

std::string ConfigUpdate::describe() const {
  return "shard " + std::to_string(shard) + " " + config.describe();
}

std::string IsrChange::describe() const {
  return std::string(add ? "add " : "remove ") + std::to_string(node) + " shard " +
         std::to_string(shard) + " (base epoch " + std::to_string(base) + ")";
}

}  // namespace dsim::pb
