#include "sim/report/message_diagram.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string_view>

#include "sim/report/html.h"

namespace dsim {

namespace {

constexpr const char* kMessageColor = "#3a6ea5";
constexpr const char* kClientColor = "#d6336c";
constexpr const char* kDropColor = "#c0392b";
constexpr const char* kUpColor = "#555555";
constexpr const char* kDownColor = "#bbbbbb";
constexpr const char* kPausedColor = "#e69c24";
constexpr const char* kFaultColor = "#f0a030";
// Above this many messages, arrows carry no labels: they would only cover each other.
constexpr size_t kMaxLabelled = 600;

// A coordinate: one decimal, the same bytes everywhere.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A time in seconds with `decimals` digits after the point (0 to 9), exact.
std::string fixed_seconds(SimTime t, int decimals) {
  const int64_t ns = t.ns();
  int64_t scale = 1;
  for (int i = decimals; i < 9; ++i)
    scale *= 10;
  const int64_t units = ns / scale;  // in 10^-decimals s
  int64_t pow10 = 1;
  for (int i = 0; i < decimals; ++i)
    pow10 *= 10;
  std::string out = std::to_string(units / pow10);
  if (decimals > 0) {
    std::string frac = std::to_string(units % pow10);
    out += "." + std::string(static_cast<size_t>(decimals) - frac.size(), '0') + frac;
  }
  return out;
}

// The tick step of an axis over `span_ns`: 1, 2 or 5 times a power of ten, about ten ticks.
int64_t tick_step(int64_t span_ns) {
  int64_t step = 1;
  for (;;) {
    for (const int64_t m : {1, 2, 5}) {
      if (span_ns / (step * m) <= 10) return step * m;
    }
    step *= 10;
  }
}

// The decimals a step needs in seconds.
int step_decimals(int64_t step_ns) {
  int decimals = 9;
  while (decimals > 0 && step_ns % 10 == 0) {
    step_ns /= 10;
    --decimals;
  }
  return decimals;
}

std::string full_seconds(SimTime t) {
  return fixed_seconds(t, 6) + " s";
}

// A node's state over the window: up, down or paused from each time on.
struct LaneState {
  SimTime at;
  char state;  // 'u', 'd', 'p'
};

std::vector<LaneState> lane_states(const DiagramRecording& rec, NodeId node) {
  char state = 'u';
  std::vector<LaneState> out;
  for (const DiagramNodeEvent& e : rec.node_events) {
    if (e.node != node) continue;
    const char next = e.what == "crash" ? 'd' : e.what == "pause" ? 'p' : 'u';
    if (e.at <= rec.from) {
      state = next;
    } else {
      out.push_back({e.at, next});
    }
  }
  out.insert(out.begin(), {rec.from, state});
  return out;
}

}  // namespace

DiagramGeometry::DiagramGeometry(const DiagramRecording& rec) : from_(rec.from), to_(rec.to) {
  drawn_ = std::min<size_t>(rec.messages.size(), rec.max_messages);
  std::set<NodeId> used;
  for (size_t i = 0; i < drawn_; ++i) {
    used.insert(rec.messages[i].from);
    used.insert(rec.messages[i].to);
  }
  for (const DiagramNodeEvent& e : rec.node_events) {
    if (e.at >= rec.from) used.insert(e.node);
  }
  if (rec.client) used.insert(*rec.client);
  lane_of_.assign(rec.node_names.size(), -1);
  for (const NodeId n : used) {
    if (n >= rec.node_names.size()) continue;
    lane_of_[n] = static_cast<int64_t>(lanes_.size());
    lanes_.push_back(n);
  }
  spacing_ =
      std::clamp(1100.0 / static_cast<double>(std::max<size_t>(lanes_.size(), 1)), 72.0, 150.0);
}

double DiagramGeometry::x(NodeId node) const {
  if (node >= lane_of_.size() || lane_of_[node] < 0) return -1;
  return kLeft + spacing_ * (static_cast<double>(lane_of_[node]) + 0.5);
}

double DiagramGeometry::y(SimTime t) const {
  const double span = static_cast<double>(std::max<int64_t>((to_ - from_).ns(), 1));
  return kTop + static_cast<double>((t - from_).ns()) / span * kPlotHeight;
}

double DiagramGeometry::width() const {
  return kLeft + spacing_ * static_cast<double>(std::max<size_t>(lanes_.size(), 1)) + kRight;
}

namespace {

// Draws one recording: each part of the picture in its own method, appended to out_.
class Drawing {
 public:
  explicit Drawing(const DiagramRecording& rec) : rec_(rec), g_(rec) {}

  std::string render() {
    count();
    open();
    axis();
    faults();
    lanes();
    client_ops();
    messages();
    legend();
    caption();
    out_ += "</svg>\n";
    return std::move(out_);
  }

 private:
  double right() const { return g_.width() - DiagramGeometry::kRight; }
  bool is_client(NodeId n) const { return rec_.client && *rec_.client == n; }

  void count() {
    for (size_t i = 0; i < g_.drawn(); ++i) {
      const DiagramMessage& m = rec_.messages[i];
      dropped_ += m.dropped() ? 1 : 0;
      in_flight_ += m.outcome == "in_flight" ? 1 : 0;
    }
    left_out_ = rec_.messages.size() - g_.drawn() + rec_.not_drawn;
  }

  void open() {
    // dsim's header line first (output_dir.h knows the file as dsim's by it); a comment
    // may not hold "--".
    std::string header = rec_.header.empty() ? "# dsim message diagram" : rec_.header;
    for (size_t at = header.find("--"); at != std::string::npos; at = header.find("--"))
      header.replace(at, 2, "- -");
    out_ += "<!-- " + header + " -->\n";
    out_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"message-diagram\" width=\"" +
            num(g_.width()) + "\" height=\"" + num(g_.height()) + "\" viewBox=\"0 0 " +
            num(g_.width()) + " " + num(g_.height()) + "\" data-messages=\"" +
            std::to_string(g_.drawn()) + "\" data-dropped=\"" + std::to_string(dropped_) +
            "\" data-not-drawn=\"" + std::to_string(left_out_) + "\" data-nodes=\"" +
            std::to_string(g_.lanes().size()) + "\" data-from-s=\"" + full_seconds(rec_.from) +
            "\" data-to-s=\"" + full_seconds(rec_.to) + "\"" +
            (rec_.client ? " data-client=\"" + report::escape(rec_.node_names[*rec_.client]) + "\""
                         : "") +
            ">\n";
    out_ +=
        "<style>text{font-family:sans-serif;font-size:11px;fill:#222}"
        ".small{font-size:9px}.title{font-size:15px;font-weight:bold}"
        ".group{font-size:12px;font-weight:bold}"
        ".label{font-size:9px;paint-order:stroke;stroke:#fff;stroke-width:3px}</style>\n";
    for (const auto& [id, color] :
         {std::pair{"arrow", kMessageColor}, {"arrow-client", kClientColor}}) {
      out_ += std::string("<defs><marker id=\"") + id +
              "\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
              "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
              "fill=\"" +
              color + "\"/></marker></defs>\n";
    }
    out_ += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    std::string title = "Messages of " + rec_.title + ", " + full_seconds(rec_.from) + " to " +
                        full_seconds(rec_.to);
    if (rec_.client) title += "; client " + rec_.node_names[*rec_.client] + " highlighted";
    out_ += "<text class=\"title\" x=\"12\" y=\"22\">" + report::escape(title) + "</text>\n";
  }

  void axis() {
    const int64_t step = tick_step(std::max<int64_t>((rec_.to - rec_.from).ns(), 1));
    const int decimals = step_decimals(step);
    const double x0 = DiagramGeometry::kLeft - 8;
    out_ += "<g class=\"axis\"><line x1=\"" + num(x0) + "\" y1=\"" + num(g_.y(rec_.from)) +
            "\" x2=\"" + num(x0) + "\" y2=\"" + num(g_.plot_bottom()) + "\" stroke=\"#444\"/>\n";
    int64_t first = (rec_.from.ns() + step - 1) / step * step;
    for (int64_t t = first; t <= rec_.to.ns(); t += step) {
      const double y = g_.y(SimTime::from_ns(t));
      out_ += "<line x1=\"" + num(x0 - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(right()) +
              "\" y2=\"" + num(y) + "\" stroke=\"#eeeeee\"/>";
      out_ += "<text x=\"" + num(x0 - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
              fixed_seconds(SimTime::from_ns(t), decimals) + " s</text>\n";
    }
    out_ += "<text x=\"12\" y=\"" + num(DiagramGeometry::kTop - 8) +
            "\" class=\"small\">time (true) ↓</text></g>\n";
  }

  void faults() {
    double last_label = -1e9;
    for (const DiagramFault& f : rec_.faults) {
      const SimTime a = std::max(f.start, rec_.from);
      const std::string name = f.kind + "#" + std::to_string(f.id);
      const std::string what = name + " " + f.targets + (f.detail.empty() ? "" : " " + f.detail);
      const std::string title =
          what + ": " + full_seconds(f.start) +
          (f.instant ? "" : " to " + (f.end ? full_seconds(*f.end) : "the end"));
      const double y0 = g_.y(a);
      out_ += "<g class=\"fault\" data-fault=\"" + std::to_string(f.id) + "\"><title>" +
              report::escape(title) + "</title>";
      if (f.instant) {
        out_ += "<line x1=\"" + num(DiagramGeometry::kLeft) + "\" y1=\"" + num(y0) + "\" x2=\"" +
                num(right()) + "\" y2=\"" + num(y0) + "\" stroke=\"" + kFaultColor +
                "\" stroke-dasharray=\"6 3\"/>";
      } else {
        const SimTime b = std::min(f.end.value_or(rec_.run_end), rec_.to);
        out_ += "<rect x=\"" + num(DiagramGeometry::kLeft) + "\" y=\"" + num(y0) + "\" width=\"" +
                num(right() - DiagramGeometry::kLeft) + "\" height=\"" +
                num(std::max(1.0, g_.y(b) - y0)) + "\" fill=\"" + kFaultColor +
                "\" fill-opacity=\"0.13\" stroke=\"" + kFaultColor + "\" stroke-opacity=\"0.5\"/>";
      }
      const double ly = std::max(y0 + 11, last_label + 12);
      last_label = ly;
      out_ += "<text x=\"" + num(right() + 6) + "\" y=\"" + num(ly) + "\" fill=\"#a05a00\">" +
              report::escape(what.size() > 40 ? what.substr(0, 38) + "…" : what) + "</text></g>\n";
    }
  }

  void lanes() {
    const auto& lanes = g_.lanes();
    // Group headings over each run of one group's lanes.
    for (size_t i = 0; i < lanes.size();) {
      size_t j = i;
      while (j < lanes.size() && rec_.node_groups[lanes[j]] == rec_.node_groups[lanes[i]])
        ++j;
      const double a = g_.x(lanes[i]) - g_.lane_spacing() / 2 + 4;
      const double b = g_.x(lanes[j - 1]) + g_.lane_spacing() / 2 - 4;
      out_ += "<g class=\"group-heading\"><line x1=\"" + num(a) + "\" y1=\"54\" x2=\"" + num(b) +
              "\" y2=\"54\" stroke=\"#888\"/><text class=\"group\" x=\"" + num((a + b) / 2) +
              "\" y=\"48\" text-anchor=\"middle\">" + report::escape(rec_.node_groups[lanes[i]]) +
              "</text></g>\n";
      i = j;
    }
    for (const NodeId n : lanes)
      lane(n);
  }

  void lane(NodeId n) {
    const double x = g_.x(n);
    out_ += "<g class=\"node\" data-node=\"" + report::escape(rec_.node_names[n]) + "\">";
    out_ +=
        "<text x=\"" + num(x) + "\" y=\"74\" text-anchor=\"middle\"" +
        (is_client(n) ? std::string(" fill=\"") + kClientColor + "\" font-weight=\"bold\"" : "") +
        ">" + report::escape(rec_.node_names[n]) + "</text>";
    const std::vector<LaneState> states = lane_states(rec_, n);
    for (size_t i = 0; i < states.size(); ++i) {
      const SimTime a = states[i].at;
      const SimTime b = i + 1 < states.size() ? states[i + 1].at : rec_.to;
      if (a > rec_.to) break;
      const char s = states[i].state;
      const char* color = s == 'u' ? kUpColor : s == 'd' ? kDownColor : kPausedColor;
      out_ += "<line class=\"" +
              std::string(s == 'u'   ? "up"
                          : s == 'd' ? "down"
                                     : "paused") +
              "\" x1=\"" + num(x) + "\" y1=\"" + num(g_.y(a)) + "\" x2=\"" + num(x) + "\" y2=\"" +
              num(g_.y(std::min(b, rec_.to))) + "\" stroke=\"" + color + "\" stroke-width=\"" +
              (s == 'p' ? "3" : "1.3") + "\"" + (s == 'u' ? "" : " stroke-dasharray=\"5 4\"") +
              "/>";
    }
    for (const DiagramNodeEvent& e : rec_.node_events) {
      if (e.node != n || e.at < rec_.from || e.at > rec_.to) continue;
      const double y = g_.y(e.at);
      const char* color = e.what == "crash"   ? kDropColor
                          : e.what == "pause" ? kPausedColor
                                              : "#2e8b57";
      out_ += "<g class=\"life\" data-what=\"" + e.what + "\"><title>" +
              report::escape(rec_.node_names[n] + " " + e.what + " at " + full_seconds(e.at)) +
              "</title><rect x=\"" + num(x - 7) + "\" y=\"" + num(y - 2) +
              "\" width=\"14\" height=\"4\" fill=\"" + color + "\"/><text x=\"" + num(x + 9) +
              "\" y=\"" + num(y + 3) + "\" class=\"small\" fill=\"" + color + "\">" + e.what +
              "</text></g>";
    }
    out_ += "</g>\n";
  }

  // The client's operations as spans left of its line, each in the first of a few tracks
  // free at its invoke (a client may have several operations at once).
  void client_ops() {
    if (!rec_.client) return;
    constexpr size_t kTracks = 4;
    const double x = g_.x(*rec_.client);
    std::vector<SimTime> track_end(kTracks, SimTime::zero());
    for (const DiagramOp& op : rec_.client_ops) {
      const SimTime a = std::max(op.invoke, rec_.from);
      const SimTime b = std::min(op.complete.value_or(rec_.to), rec_.to);
      size_t track = 0;
      while (track + 1 < kTracks && track_end[track] > a)
        ++track;
      track_end[track] = std::max(track_end[track], b);
      const double y0 = g_.y(a), y1 = std::max(g_.y(b), y0 + 2);
      const double left = x - 9 - 6 * static_cast<double>(track);
      const std::string title = op.op + " invoked " + full_seconds(op.invoke) + ", " +
                                (op.complete ? "completed " + full_seconds(*op.complete) +
                                                   (op.served ? " (ok)" : " (not served)")
                                             : std::string("in flight at the end"));
      out_ += "<g class=\"op\"><title>" + report::escape(title) + "</title><rect x=\"" + num(left) +
              "\" y=\"" + num(y0) + "\" width=\"4\" height=\"" + num(y1 - y0) + "\" fill=\"" +
              (op.served ? kClientColor : "#999999") + "\" fill-opacity=\"0.45\" stroke=\"" +
              (op.served ? kClientColor : "#777777") + "\" stroke-width=\"0.6\"/>";
      if (y1 - y0 >= 14 && track == 0) {
        out_ += "<text class=\"small\" x=\"" + num(left - 2) + "\" y=\"" + num(y0 + 9) +
                "\" text-anchor=\"end\" fill=\"" + kClientColor + "\">" + report::escape(op.op) +
                "</text>";
      }
      out_ += "</g>\n";
    }
  }

  // Whether a label fits where nothing else is written: cells of 20 x 10 px.
  bool claim(double x0, double y0, double x1, double y1) {
    const auto cell = [](double v, double size) {
      return static_cast<int64_t>(std::floor(v / size));
    };
    std::vector<std::pair<int64_t, int64_t>> cells;
    for (int64_t cx = cell(x0, 20); cx <= cell(x1, 20); ++cx) {
      for (int64_t cy = cell(y0, 10); cy <= cell(y1, 10); ++cy) {
        if (labels_.count({cx, cy})) return false;
        cells.emplace_back(cx, cy);
      }
    }
    labels_.insert(cells.begin(), cells.end());
    return true;
  }

  void label(const DiagramMessage& m, double x1, double y1, double x2, double y2,
             const char* color) {
    const double dx = x2 - x1, dy = y2 - y1;
    const double length = std::sqrt(dx * dx + dy * dy);
    const double need = 5.5 * static_cast<double>(m.kind.size()) + 14;
    if (length < need) return;
    const double mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    double angle = std::atan2(dy, dx) * 180 / M_PI;
    if (angle > 90) angle -= 180;
    if (angle < -90) angle += 180;
    const double half_w = need / 2 * std::abs(std::cos(angle * M_PI / 180)) + 5;
    const double half_h = need / 2 * std::abs(std::sin(angle * M_PI / 180)) + 5;
    if (!claim(mx - half_w, my - half_h, mx + half_w, my + half_h)) return;
    out_ += "<text class=\"label\" x=\"" + num(mx) + "\" y=\"" + num(my - 2) +
            "\" text-anchor=\"middle\" fill=\"" + color + "\" transform=\"rotate(" + num(angle) +
            " " + num(mx) + " " + num(my) + ")\">" + report::escape(m.kind) + "</text>";
  }

  void message(const DiagramMessage& m, bool labelled) {
    const double xa = g_.x(m.from), ya = g_.y(m.sent);
    double xb = g_.x(m.to);
    double yb = m.ended ? g_.y(*m.ended) : g_.plot_bottom();
    const bool client = is_client(m.from) || is_client(m.to);
    const char* color = client ? kClientColor : kMessageColor;
    const bool dropped = m.dropped();
    if (dropped && m.ended && *m.ended == m.sent) {
      // Dropped as it left: a short stub towards the receiver.
      xb = m.from == m.to ? xa + 20 : xa + 0.25 * (xb - xa);
      yb = ya + 6;
    } else if (dropped && m.outcome != "node_down" && m.outcome != "partition") {
      xb = xa + 0.6 * (xb - xa);  // lost on the way
    }
    // Past the window's end: cut at the bottom edge.
    bool cut = false;
    if (yb > g_.plot_bottom() && yb > ya) {
      const double f = (g_.plot_bottom() - ya) / (yb - ya);
      xb = xa + f * (xb - xa);
      yb = g_.plot_bottom();
      cut = true;
    }
    const std::string cls = std::string("msg") + (client ? " client" : "") +
                            (dropped ? " drop" : "") + (cut ? " cut" : "");
    std::string title = m.kind + " " + rec_.node_names[m.from] + " → " + rec_.node_names[m.to] +
                        ", " + std::to_string(m.bytes) + " B, sent " + full_seconds(m.sent);
    if (m.outcome == "delivered") {
      title += ", delivered " + full_seconds(*m.ended);
    } else if (dropped) {
      title += ", dropped (" + m.outcome + ") " + full_seconds(*m.ended);
    } else {
      title += ", in flight at the end of the run";
    }
    if (m.duplicate) title += " (a copy the network made)";
    out_ += "<g class=\"" + cls + "\" data-kind=\"" + report::escape(m.kind) + "\"><title>" +
            report::escape(title) + "</title>";
    const std::string common =
        "\" stroke=\"" + std::string(dropped ? "#999999" : color) + "\" stroke-width=\"" +
        (client ? "1.6" : "1") + "\" fill=\"none\"" +
        (m.duplicate || m.outcome == "in_flight" ? " stroke-dasharray=\"6 3\"" : "") +
        (dropped || cut ? ""
         : client       ? " marker-end=\"url(#arrow-client)\""
                        : " marker-end=\"url(#arrow)\"");
    if (m.from == m.to && !dropped) {
      const double yend = std::max(yb, ya + 8);
      out_ += "<path d=\"M" + num(xa) + "," + num(ya) + " C" + num(xa + 26) + "," + num(ya) + " " +
              num(xa + 26) + "," + num(yend) + " " + num(xa) + "," + num(yend) + common + "/>";
    } else {
      out_ += "<line x1=\"" + num(xa) + "\" y1=\"" + num(ya) + "\" x2=\"" + num(xb) + "\" y2=\"" +
              num(yb) + common + "/>";
    }
    if (dropped) {
      out_ += "<path class=\"drop-mark\" d=\"M" + num(xb - 4) + "," + num(yb - 4) + " L" +
              num(xb + 4) + "," + num(yb + 4) + " M" + num(xb - 4) + "," + num(yb + 4) + " L" +
              num(xb + 4) + "," + num(yb - 4) + "\" stroke=\"" + kDropColor +
              "\" stroke-width=\"2\"/>";
    }
    if (labelled && m.from != m.to) label(m, xa, ya, xb, yb, dropped ? "#777777" : color);
    out_ += "</g>\n";
  }

  void messages() {
    const bool labelled = g_.drawn() <= kMaxLabelled;
    // The client's messages last, so they are drawn over the others.
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < g_.drawn(); ++i) {
        const DiagramMessage& m = rec_.messages[i];
        const bool client = is_client(m.from) || is_client(m.to);
        if (client == (pass == 1)) message(m, labelled);
      }
    }
  }

  void legend() {
    double x = DiagramGeometry::kLeft;
    const double y = g_.plot_bottom() + 28;
    auto item = [&](const std::string& shape, const std::string& text) {
      out_ += shape + "<text x=\"" + num(x + 34) + "\" y=\"" + num(y + 4) + "\">" +
              report::escape(text) + "</text>";
      x += 44 + 6.2 * static_cast<double>(text.size());
    };
    auto line = [&](const char* color, const std::string& extra) {
      return "<line x1=\"" + num(x) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x + 28) + "\" y2=\"" +
             num(y) + "\" stroke=\"" + color + "\"" + extra + "/>";
    };
    out_ += "<g class=\"legend\">";
    item(line(kMessageColor, " marker-end=\"url(#arrow)\""), "message");
    if (rec_.client) item(line(kClientColor, " marker-end=\"url(#arrow-client)\""), "the client's");
    item(line("#999999", "") + "<path d=\"M" + num(x + 24) + "," + num(y - 4) + " L" + num(x + 32) +
             "," + num(y + 4) + " M" + num(x + 24) + "," + num(y + 4) + " L" + num(x + 32) + "," +
             num(y - 4) + "\" stroke=\"" + kDropColor + "\" stroke-width=\"2\"/>",
         "dropped");
    if (rec_.client) {
      item("<rect x=\"" + num(x + 12) + "\" y=\"" + num(y - 7) +
               "\" width=\"4\" height=\"14\" fill=\"" + kClientColor + "\" fill-opacity=\"0.45\"/>",
           "its operations");
    }
    item(line(kDownColor, " stroke-dasharray=\"5 4\""), "node down");
    item(line(kPausedColor, " stroke-width=\"3\" stroke-dasharray=\"5 4\""), "paused");
    item("<rect x=\"" + num(x) + "\" y=\"" + num(y - 6) + "\" width=\"28\" height=\"12\" fill=\"" +
             kFaultColor + "\" fill-opacity=\"0.2\"/>",
         "fault");
    out_ += "</g>\n";
  }

  void caption() {
    const double y = g_.plot_bottom() + 58;
    std::string text = std::to_string(g_.drawn()) + " messages drawn (sent " +
                       full_seconds(rec_.from) + " to " + full_seconds(rec_.to) + "), " +
                       std::to_string(dropped_) + " dropped, " + std::to_string(in_flight_) +
                       " in flight when the run ended. Hover over an arrow for its details.";
    out_ += "<text class=\"caption\" x=\"12\" y=\"" + num(y) + "\">" + report::escape(text) +
            "</text>\n";
    std::string more;
    if (left_out_ > 0) {
      const SimTime first =
          g_.drawn() < rec_.messages.size() ? rec_.messages[g_.drawn()].sent : rec_.first_not_drawn;
      more = std::to_string(left_out_) + " more messages sent from " + full_seconds(first) +
             " on are not drawn (max_messages " + std::to_string(rec_.max_messages) +
             "): choose a narrower window, e.g. --window " + fixed_seconds(rec_.from, 6) + "s," +
             fixed_seconds(first, 6) + "s";
    } else if (rec_.client && !rec_.history_recorded) {
      more = rec_.node_names[*rec_.client] +
             "'s operations are not shown: the run recorded no history (kv_client groups do)";
    }
    if (!more.empty()) {
      out_ += "<text class=\"caption note\" x=\"12\" y=\"" + num(y + 18) + "\" fill=\"" +
              kDropColor + "\">" + report::escape(more) + "</text>\n";
    }
  }

  const DiagramRecording& rec_;
  DiagramGeometry g_;
  std::string out_;
  uint64_t dropped_ = 0, in_flight_ = 0, left_out_ = 0;
  std::set<std::pair<int64_t, int64_t>> labels_;
};

}  // namespace

std::string render_message_diagram(const DiagramRecording& rec) {
  return Drawing(rec).render();
}

}  // namespace dsim
