// The gossip analysis: from the nodes' `informed` and `cooled` marks and the crashes and
// restarts, in true time, each rumor's spread over the group's live nodes:
//   - spread.csv: after each period since the rumor started, how many live nodes knew it;
//   - rumors.csv: when it reached every live node (if it did), when it died out (rumor
//     mongering: no live node hot about it any more), and its residue (the share of live
//     nodes that never learned it, when it died or at the end of the run);
//   - summary rows over the rumors started after the warmup, and the traffic per node and
//     period the nodes reported when the run ended.
// A crash loses what the node knew; a restarted node is live and knows nothing.
#include <algorithm>
#include <unordered_map>

#include "models/gossip/gossip.h"
#include "sim/core/units.h"

namespace dsim::gossip {

namespace {

struct Point {
  SimTime at;
  uint32_t informed;
  uint32_t live;
};

struct Rumor {
  RumorId id = 0;
  NodeId origin = kNoNode;
  SimTime started;
  std::vector<uint8_t> knows;  // per node of the group (by position)
  std::vector<uint8_t> hot;
  uint32_t informed = 0;  // live nodes that know it
  uint32_t hot_count = 0;
  std::vector<Point> curve;  // each change of informed or live
  SimTime reached_all = SimTime::max();
  SimTime died = SimTime::max();
  double residue = -1;  // when it died, or reached all (0); -1: unfinished
};

struct GroupReplay {
  GroupReplay(const AnalysisInput& input, const GossipNode::Config& c) : in(input), config(c) {}

  const AnalysisInput& in;
  const GossipNode::Config& config;
  std::unordered_map<NodeId, uint32_t> position;
  std::vector<uint8_t> live;
  uint32_t live_count = 0;
  std::vector<Rumor> rumors;
  std::unordered_map<RumorId, size_t> index;  // rumor id -> rumors[] (lookups only)
  Symbol informed_kind, cooled_kind;
  bool has_informed = false, has_cooled = false;
  int64_t rounds = 0, messages = 0, bytes = 0;

  Rumor& rumor(RumorId id, NodeId node, SimTime at) {
    const auto [it, added] = index.try_emplace(id, rumors.size());
    if (added) {
      Rumor r;
      r.id = id;
      r.origin = node;
      r.started = at;
      r.knows.assign(live.size(), 0);
      r.hot.assign(live.size(), 0);
      rumors.push_back(std::move(r));
    }
    return rumors[it->second];
  }

  void settle(Rumor& r, SimTime at) {
    r.curve.push_back({at, r.informed, live_count});
    if (r.reached_all == SimTime::max() && live_count > 0 && r.informed == live_count) {
      r.reached_all = at;
      if (r.residue < 0) r.residue = 0;
    }
    const bool rumor_protocol = config.protocol == Protocol::kRumor;
    if (rumor_protocol && r.died == SimTime::max() && r.hot_count == 0) {
      r.died = at;
      if (r.residue < 0) r.residue = live_count ? 1.0 - double(r.informed) / live_count : 0.0;
    }
  }

  void on_mark(const TimelineMark& m, uint32_t p) {
    if (has_informed && m.kind == informed_kind) {
      Rumor& r = rumor(static_cast<RumorId>(m.a), m.node, m.at);
      if (!r.knows[p] && live[p]) {
        r.knows[p] = 1;
        ++r.informed;
        if (config.protocol == Protocol::kRumor) r.hot[p] = 1, ++r.hot_count;
        settle(r, m.at);
      }
    } else if (has_cooled && m.kind == cooled_kind) {
      const auto it = index.find(static_cast<RumorId>(m.a));
      if (it == index.end()) return;
      Rumor& r = rumors[it->second];
      if (r.hot[p]) r.hot[p] = 0, --r.hot_count, settle(r, m.at);
    } else if (in.symbol_name(m.kind) == kMarkTraffic) {
      rounds += m.a;
      messages += m.b;
    } else if (in.symbol_name(m.kind) == kMarkTrafficBytes) {
      bytes += m.a;
    }
  }

  void on_life(const NodeLifeEvent& e, uint32_t p) {
    const bool up = e.status != NodeStatus::kDown;
    if (up == bool(live[p])) return;
    live[p] = up ? 1 : 0;
    up ? ++live_count : --live_count;
    for (Rumor& r : rumors) {
      if (!up && r.knows[p]) r.knows[p] = 0, --r.informed;
      if (!up && r.hot[p]) r.hot[p] = 0, --r.hot_count;
      settle(r, e.at);
    }
  }

  void run(const AnalysisInput::Group& g) {
    for (uint32_t i = 0; i < g.nodes.size(); ++i)
      position.emplace(g.nodes[i], i);
    live.assign(g.nodes.size(), 1);
    live_count = static_cast<uint32_t>(g.nodes.size());
    // Marks and life events in true time; at one instant a node's marks come first (the
    // handler that made them ran before the crash of the same instant).
    size_t li = 0;
    for (const TimelineMark& m : in.marks) {
      for (; li < in.life.size() && in.life[li].at < m.at; ++li)
        if (const auto it = position.find(in.life[li].node); it != position.end())
          on_life(in.life[li], it->second);
      if (const auto it = position.find(m.node); it != position.end()) on_mark(m, it->second);
    }
    for (; li < in.life.size(); ++li)
      if (const auto it = position.find(in.life[li].node); it != position.end())
        on_life(in.life[li], it->second);
  }
};

Symbol find_symbol(const AnalysisInput& in, std::string_view name, bool* found) {
  // Symbols are small integers; the marks hold the ones models interned.
  for (const TimelineMark& m : in.marks) {
    if (in.symbol_name(m.kind) == name) {
      *found = true;
      return m.kind;
    }
  }
  *found = false;
  return Symbol{};
}

std::string rumor_name(RumorId id) {
  return std::to_string(id >> 32) + "." + std::to_string(id & 0xffffffffu);
}

void spread_rows(std::string& csv, const std::string& group, const Rumor& r, Duration period,
                 SimTime end) {
  // One row per period since the start, up to the period in which it reached everyone or
  // died, or the end of the run.
  const SimTime last = std::min({r.reached_all, r.died, end});
  size_t c = 0;
  for (int64_t k = 0;; ++k) {
    const SimTime t = r.started + period * k;
    if (t > end) break;
    while (c + 1 < r.curve.size() && r.curve[c + 1].at <= t)
      ++c;
    const Point& pt = r.curve[c];
    csv += group + "," + rumor_name(r.id) + "," + std::to_string(k) + "," +
           format_fixed((t - r.started).to_seconds(), 6) + "," + std::to_string(pt.informed) + "," +
           std::to_string(pt.live) + "," +
           format_fixed(pt.live ? double(pt.informed) / pt.live : 0.0, 6) + "\n";
    if (t >= last) break;
  }
}

}  // namespace

AnalysisOutput GossipNode::analyze(const AnalysisInput& in) {
  AnalysisOutput out;
  std::string spread_csv = "group,rumor,period,time_s,informed,live,share\n";
  std::string rumors_csv =
      "group,rumor,origin,started_s,time_to_all_ms,periods_to_all,died_s,residue,measured\n";
  for (const auto& g : in.groups) {
    const auto& config = *static_cast<const Config*>(g.config);
    GroupReplay replay(in, config);
    replay.informed_kind = find_symbol(in, kMarkInformed, &replay.has_informed);
    replay.cooled_kind = find_symbol(in, kMarkCooled, &replay.has_cooled);
    replay.run(g);
    std::vector<const Rumor*> ordered;
    for (const Rumor& r : replay.rumors)
      ordered.push_back(&r);
    std::sort(ordered.begin(), ordered.end(), [](const Rumor* a, const Rumor* b) {
      return a->started != b->started ? a->started < b->started : a->id < b->id;
    });
    double n = 0, reached = 0, finished = 0, residue_sum = 0, residue_max = 0;
    double time_sum = 0, time_max = 0;
    for (const Rumor* r : ordered) {
      const bool measured = r->started >= in.warmup_end;
      const bool all = r->reached_all != SimTime::max();
      const double ms = all ? (r->reached_all - r->started).to_seconds() * 1e3 : 0;
      const double periods =
          all ? (r->reached_all - r->started).to_seconds() / config.period.to_seconds() : 0;
      rumors_csv += g.name + "," + rumor_name(r->id) + "," + in.node_name(r->origin) + "," +
                    format_fixed(r->started.to_seconds(), 6) + "," +
                    (all ? format_fixed(ms, 3) : "") + "," + (all ? format_fixed(periods, 3) : "") +
                    "," + (r->died != SimTime::max() ? format_fixed(r->died.to_seconds(), 6) : "") +
                    "," + (r->residue >= 0 ? format_fixed(r->residue, 6) : "") + "," +
                    (measured ? "1" : "0") + "\n";
      spread_rows(spread_csv, g.name, *r, config.period, in.end);
      if (!measured) continue;
      ++n;
      if (all) ++reached, time_sum += ms, time_max = std::max(time_max, ms);
      if (r->residue >= 0) {
        ++finished;
        residue_sum += r->residue;
        residue_max = std::max(residue_max, r->residue);
      }
    }
    const double period_ms = config.period.to_seconds() * 1e3;
    auto row = [&](std::string_view metric, double v) {
      out.rows.push_back({g.name, "", std::string(metric), v});
    };
    row("rumors", n);
    row("rumors_reached_all", reached);
    if (finished > 0) {
      row("residue_mean", residue_sum / finished);
      row("residue_max", residue_max);
    }
    if (reached > 0) {
      row("time_to_all_ms_mean", time_sum / reached);
      row("time_to_all_ms_max", time_max);
      row("periods_to_all_mean", time_sum / reached / period_ms);
      row("periods_to_all_max", time_max / period_ms);
    }
    if (replay.rounds > 0) {
      row("messages_per_node_per_period", double(replay.messages) / double(replay.rounds));
      row("bytes_per_node_per_period", double(replay.bytes) / double(replay.rounds));
    }
    out.text +=
        "  " + g.name + ": " + std::to_string(int64_t(n)) + " rumors, " +
        std::to_string(int64_t(reached)) + " reached every live node" +
        (reached > 0 ? " in " + format_fixed(time_sum / reached / period_ms, 2) +
                           " periods on average (max " + format_fixed(time_max / period_ms, 2) + ")"
                     : "") +
        (finished > 0 ? "; residue " + format_fixed(residue_sum / finished, 4) : "") +
        (n - finished > 0
             ? "; " + std::to_string(int64_t(n - finished)) + " still spreading at the end"
             : "") +
        " (spread.csv, rumors.csv)\n";
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; later rumors are missing\n";
    }
  }
  out.files.emplace_back("spread.csv", std::move(spread_csv));
  out.files.emplace_back("rumors.csv", std::move(rumors_csv));
  return out;
}

}  // namespace dsim::gossip
