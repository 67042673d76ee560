// The run's events in the Trace Event Format (Chrome's JSON trace format, which Perfetto's
// UI opens): handler runs as slices on one thread per node (one process per group),
// messages as flow arrows from the sender's slice to the receiver's, dropped messages,
// node crashes and pauses as instants, faults as spans on a "faults" process.
//
// The engine calls it (only when output.trace or output.diagram is set) as things happen,
// in true time order; it records what falls in its window, up to its event budget, as JSON
// text. Every record is at the engine's current time, so the events come out in time
// order, and the same run gives the same bytes. The same calls also feed a MessageLog
// (message_log.h) when one is attached, the structured records behind the message
// diagram; either can be on without the other.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/ids.h"
#include "sim/core/message_log.h"
#include "sim/core/time.h"
#include "sim/core/timeline.h"

namespace dsim {

struct TraceConfig {
  SimTime from;                     ///< first time recorded
  SimTime to = SimTime::max();      ///< last time recorded
  uint64_t max_events = 1'000'000;  ///< events recorded at most (metadata not counted)
};

class EventTrace {
 public:
  /// Handler slices last this long (the simulated handler takes no time): enough for the
  /// UI to draw them and bind the message arrows to them.
  static constexpr int64_t kSliceNs = 1;

  enum class Handler : uint8_t { kStart, kMessage, kTimer, kDisk, kLeave };

  /// `node_group` and `node_name` give each node's group and name (nodes are numbered
  /// from 0). `config` nullopt: no JSON is written (a message log alone).
  EventTrace(std::optional<TraceConfig> config, std::vector<uint32_t> node_group,
             std::vector<std::string> node_name);

  /// Also keep the messages sent within `config`'s window as records.
  void record_messages(const MessageLogConfig& config);
  /// The message records, or null when none are kept.
  const MessageLog* messages() const { return messages_.get(); }

  bool in_window(SimTime now) const { return now >= config_.from && now <= config_.to; }

  /// A handler begins on `node`: `name` is the message kind (messages), empty otherwise.
  void handler(SimTime now, NodeId node, Handler kind, std::string_view name, NodeId from = kNoNode,
               uint32_t bytes = 0, uint64_t tag = 0);
  /// A message leaves `from` for `to`: returns its flow id, or 0 when it is not recorded
  /// (outside the window, past the budget), in which case neither is its arrival. The id
  /// holds the JSON arrow's number and the message record's (kRecordShift).
  uint64_t send(SimTime now, NodeId from, NodeId to, std::string_view kind, uint32_t bytes,
                bool duplicate = false);
  /// The message of flow `flow` (0: not recorded) reaches `to`: call after handler(), so the
  /// arrow ends in the handler's slice.
  void arrive(SimTime now, uint64_t flow, NodeId to, std::string_view kind);
  /// A message is dropped: on `at_node`'s thread (the sender's when it never left, the
  /// receiver's otherwise).
  void drop(SimTime now, uint64_t flow, NodeId at_node, NodeId from, NodeId to,
            std::string_view kind, std::string_view cause);
  /// A message is dropped as it is sent, before it has a flow (a partition): on the
  /// sender's thread.
  void refuse(SimTime now, NodeId from, NodeId to, std::string_view kind, uint32_t bytes,
              std::string_view cause);
  /// A node crashed, restarted, paused or resumed.
  void life(SimTime now, NodeId node, std::string_view what);
  void fault(const FaultEvent& e);
  /// The run ended at `now`: faults still open are closed there. No record after this.
  void close(SimTime now);

  /// A flow id's high bits number its message record, the low ones its JSON arrow.
  static constexpr int kRecordShift = 40;

  uint64_t events() const { return events_; }
  bool truncated() const { return truncated_; }
  SimTime truncated_at() const { return truncated_at_; }
  /// Messages whose departure is recorded and whose arrival or drop is not (in flight at
  /// the end of the window or of the run, or past the budget).
  uint64_t unfinished_flows() const { return open_flows_; }
  const TraceConfig& config() const { return config_; }

  /// The whole file: `head` (JSON members, each ending with ",\n") first, then the names
  /// of the groups and of the nodes that appear, the events, and what the trace holds.
  std::string render(const std::string& head, const std::vector<std::string>& group_names) const;

 private:
  // Starts an event of phase `ph` at `now` on `node`'s thread (or pid/tid given), or
  // returns false when it is not recorded.
  bool begin(SimTime now, char ph, uint32_t pid, uint64_t tid);
  bool begin_node(SimTime now, char ph, NodeId node);
  void end_event() { body_ += "},\n"; }

  TraceConfig config_;
  bool json_ = true;  // write the JSON events
  std::unique_ptr<MessageLog> messages_;
  std::vector<uint32_t> node_group_;
  std::vector<std::string> node_name_;  // JSON strings, quoted
  const std::string& name_of(NodeId node) const;
  std::vector<bool> seen_;  // per node: has an event (named in the metadata)
  uint32_t fault_pid_ = 0;
  std::string body_;
  uint64_t events_ = 0;
  uint64_t next_flow_ = 1;
  uint64_t open_flows_ = 0;
  std::map<uint64_t, std::string> open_faults_;  // id -> name
  bool truncated_ = false;
  bool closed_ = false;
  bool any_fault_ = false;
  SimTime truncated_at_;
  SimTime end_;
};

}  // namespace dsim
