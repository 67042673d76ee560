// What a message diagram shows of a run (output.diagram, `dsim diagram`), taken from the
// engine after the run: the messages of the window (core/message_log.h), the nodes'
// crashes, restarts, pauses and resumes, the faults, and one client's operations. Plain
// values, so the diagram is drawn without the engine (sim/report/message_diagram.h), and
// tests can write one by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/engine.h"
#include "sim/scenario/scenario.h"

namespace dsim {

struct DiagramMessage {
  SimTime sent;
  std::optional<SimTime> ended;  ///< delivery or drop; nullopt: in flight when the run ended
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  std::string kind;
  uint32_t bytes = 0;
  /// "delivered", "in_flight", or a drop's cause ("partition", "loss", "queue_overflow",
  /// "node_down").
  std::string outcome;
  bool duplicate = false;  ///< a copy the network made
  bool dropped() const { return outcome != "delivered" && outcome != "in_flight"; }
};

struct DiagramNodeEvent {
  SimTime at;
  NodeId node = kNoNode;
  std::string what;  ///< crash, restart, pause, resume
};

struct DiagramFault {
  uint64_t id = 0;
  std::string kind;
  SimTime start;
  std::optional<SimTime> end;  ///< nullopt: an instant, or still on when the run ended
  bool instant = false;
  std::string targets;
  std::string detail;
};

struct DiagramOp {
  SimTime invoke;
  std::optional<SimTime> complete;  ///< nullopt: in flight when the run ended
  std::string op;                   ///< get, put, ...
  bool served = false;              ///< counted a success by the client
};

struct DiagramRecording {
  std::string header;  ///< dsim's header line (file_header), without its newline
  std::string title;   ///< the scenario and seed
  SimTime from;        ///< the window: messages sent within it are drawn
  SimTime to;
  SimTime run_end;
  std::vector<std::string> node_names;   ///< every node of the run, by id
  std::vector<std::string> node_groups;  ///< each node's group
  std::vector<DiagramMessage> messages;  ///< in send order
  uint64_t max_messages = DiagramSpec::kDefaultMaxMessages;
  /// Messages sent within the window past max_messages (not drawn), and the first one's
  /// send time.
  uint64_t not_drawn = 0;
  SimTime first_not_drawn;
  std::vector<DiagramNodeEvent> node_events;  ///< every one up to the window's end, in order
  std::vector<DiagramFault> faults;           ///< those that overlap the window
  std::optional<NodeId> client;               ///< the highlighted node
  bool history_recorded = false;              ///< the run recorded operation histories
  std::vector<DiagramOp> client_ops;          ///< the client's operations overlapping the window
};

/// The diagram's record of a run that kept its messages (EngineConfig::messages).
DiagramRecording record_diagram(const ScenarioSpec& spec, const DiagramSpec& diagram,
                                const Engine& engine, SimTime run_end);

/// messages.csv: one row per message of the recording.
std::string render_messages_csv(const ScenarioSpec& spec, const DiagramRecording& rec);

}  // namespace dsim
