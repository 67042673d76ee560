// A space-time (Lamport) diagram of a run's messages, drawn as one self-contained SVG
// (diagram.svg): a vertical line per node, grouped and labelled by group, time flowing
// down; each message an arrow from its send (the sender's line at the send time) to its
// delivery (the receiver's line at the delivery time), labelled with its kind where there
// is room; dropped messages end in a cross where they were dropped; crashes, restarts and
// pauses marked on the nodes' lines (a down node's line dashed and grey); faults as bands
// across the diagram; and one client's messages and operations highlighted.
//
// A pure function of a DiagramRecording (sim/run/diagram_recording.h): the same recording
// gives the same bytes. The root element says what it holds (`data-messages`, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/run/diagram_recording.h"

namespace dsim {

/// Where the diagram puts nodes and times: render_message_diagram() draws with it, and
/// tests check the drawing against it.
class DiagramGeometry {
 public:
  static constexpr double kLeft = 120;        ///< the time axis's room
  static constexpr double kTop = 100;         ///< the title, groups and node names
  static constexpr double kPlotHeight = 900;  ///< the window, top to bottom
  static constexpr double kRight = 230;       ///< the faults' labels
  static constexpr double kBottom = 110;      ///< the legend and the caption

  explicit DiagramGeometry(const DiagramRecording& rec);

  /// The nodes drawn (those that sent, received, changed state or are the client), in id
  /// order, so each group's nodes stand together.
  const std::vector<NodeId>& lanes() const { return lanes_; }
  /// The x of `node`'s line; negative when it has none.
  double x(NodeId node) const;
  /// The y of time `t` (above the plot before the window, below it after).
  double y(SimTime t) const;
  double plot_bottom() const { return kTop + kPlotHeight; }
  double lane_spacing() const { return spacing_; }
  double width() const;
  double height() const { return plot_bottom() + kBottom; }
  /// Messages drawn: the first max_messages of the recording.
  size_t drawn() const { return drawn_; }

 private:
  SimTime from_, to_;
  std::vector<NodeId> lanes_;
  std::vector<int64_t> lane_of_;  // per node: its lane, or -1
  double spacing_ = 100;
  size_t drawn_ = 0;
};

/// The SVG of the recording's window.
std::string render_message_diagram(const DiagramRecording& rec);

}  // namespace dsim
