// The messages of a window of the run as structured records, for a space-time (message)
// diagram and messages.csv: when each message left, from whom to whom, its kind and size,
// and when it was delivered or dropped and why.
//
// The event trace (event_trace.h) feeds it from the engine's trace hooks, so the engine
// has one set of hooks for trace.json and for this. It records the messages sent within
// its window, up to its budget (those past it are counted, not kept), and follows each
// recorded message to its end, even after the window closes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/ids.h"
#include "sim/core/time.h"

namespace dsim {

struct MessageLogConfig {
  SimTime from;                     ///< first send time recorded
  SimTime to = SimTime::max();      ///< last send time recorded
  uint64_t max_messages = 100'000;  ///< messages kept at most
};

/// The most messages a log may keep: its record numbers share a flow id with the trace.
inline constexpr uint64_t kMaxLoggedMessages = 1'000'000;

/// How a recorded message ended.
enum class MessageFate : uint8_t {
  kInFlight,  ///< neither delivered nor dropped when the run ended
  kDelivered,
  kDropped,
};

struct MessageRecord {
  SimTime sent;
  SimTime ended;  ///< delivery or drop; meaningless while in flight
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint32_t bytes = 0;
  uint32_t kind = 0;  ///< index in MessageLog::kinds()
  MessageFate fate = MessageFate::kInFlight;
  bool duplicate = false;  ///< a copy the network made as it was sent
  std::string_view cause;  ///< a drop's cause: partition, loss, queue_overflow, node_down
};

class MessageLog {
 public:
  explicit MessageLog(MessageLogConfig config);

  /// A message leaves `from` for `to`: returns its record number (1, 2, ...), or 0 when it
  /// is not recorded (sent outside the window, or past the budget: then counted).
  uint32_t send(SimTime now, NodeId from, NodeId to, std::string_view kind, uint32_t bytes,
                bool duplicate);
  void deliver(SimTime now, uint32_t record);
  /// Record 0 (not recorded): nothing.
  void drop(SimTime now, uint32_t record, std::string_view cause);
  /// A message dropped as it was sent, before it had a record (a partition at the send).
  void refuse(SimTime now, NodeId from, NodeId to, std::string_view kind, uint32_t bytes,
              std::string_view cause);

  const MessageLogConfig& config() const { return config_; }
  const std::vector<MessageRecord>& records() const { return records_; }
  const std::vector<std::string>& kinds() const { return kinds_; }
  /// Messages sent within the window but not kept (past the budget), and the first one's
  /// send time.
  uint64_t not_kept() const { return not_kept_; }
  SimTime first_not_kept() const { return first_not_kept_; }

 private:
  uint32_t kind_index(std::string_view kind);

  MessageLogConfig config_;
  std::vector<MessageRecord> records_;
  std::vector<std::string> kinds_;
  std::map<std::string, uint32_t, std::less<>> kind_ids_;
  uint64_t not_kept_ = 0;
  SimTime first_not_kept_;
};

}  // namespace dsim
