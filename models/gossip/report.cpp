// gossip's sections of the HTML report, from its analysis's files (analysis.cpp): per
// group, the spread curves of a few representative rumors (spread.csv: informed nodes
// after each period), every rumor's fate (rumors.csv) and the group's figures — residue,
// the delay to the last node, traffic per node and period.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "models/gossip/gossip.h"
#include "models/kit/report.h"

namespace dsim::gossip {

namespace {

// One rumor's curve: (period, informed) in file order.
using Curve = std::vector<std::pair<double, double>>;

// The curves of one group's rumors, by rumor id as written.
std::map<std::string, Curve> curves_of(const kit::GroupRows& spread, const std::string& group) {
  std::map<std::string, Curve> curves;
  for (size_t i = 0; i < spread.size(); ++i) {
    if (spread.cell(i, "group") != group) continue;
    const auto period = spread.number(i, "period"), informed = spread.number(i, "informed");
    if (period && informed) curves[spread.cell(i, "rumor")].emplace_back(*period, *informed);
  }
  return curves;
}

// At most three rumors that show the range: the fastest, the median and the slowest to
// finish (by the number of periods the curve lasts; ties by rumor id), each named once.
std::vector<std::string> representatives(const std::map<std::string, Curve>& curves) {
  std::vector<std::pair<size_t, std::string>> by_length;
  for (const auto& [id, c] : curves)
    by_length.emplace_back(c.size(), id);
  std::sort(by_length.begin(), by_length.end());
  std::vector<std::string> out;
  if (by_length.empty()) return out;
  for (size_t i : {size_t{0}, by_length.size() / 2, by_length.size() - 1}) {
    if (std::find(out.begin(), out.end(), by_length[i].second) == out.end())
      out.push_back(by_length[i].second);
  }
  return out;
}

ReportFigure spread_figure(const std::string& group, const std::map<std::string, Curve>& curves) {
  ReportFigure f;
  f.title = "Spread of rumors in " + group;
  const auto picked = representatives(curves);
  f.caption = "Live nodes that knew the rumor after each period since it started";
  f.caption += curves.size() > picked.size() ? " (the fastest, the median and the slowest of " +
                                                   std::to_string(curves.size()) + " rumors): "
                                             : ": ";
  f.caption +=
      "the S-shaped rise is epidemic spreading; a curve that flattens below the group size "
      "left a residue of nodes that never heard it.";
  f.x_label = "period since the rumor started";
  f.y_label = "informed nodes";
  for (const auto& id : picked)
    f.series.push_back({"rumor " + id, curves.at(id)});
  return f;
}

}  // namespace

std::vector<ReportSection> GossipNode::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  const auto spread = kit::group_rows(in, "spread.csv", in.groups);
  const auto rumors = kit::group_rows(in, "rumors.csv", in.groups);
  const auto figures = kit::figures_table(
      in, in.groups, "Rumor figures",
      "Over the rumors started after the warmup: how many reached every live node, the "
      "residue (the share of live nodes that never learned a rumor), the delay until the "
      "last node knew it, and the traffic it cost.",
      {{"rumors", "rumors"},
       {"rumors_reached_all", "reached all"},
       {"residue_mean", "residue mean", 4},
       {"residue_max", "residue max", 4},
       {"time_to_all_ms_mean", "to all, mean (ms)", 1},
       {"time_to_all_ms_max", "to all, max (ms)", 1},
       {"periods_to_all_max", "periods to all, max", 0},
       {"messages_per_node_per_period", "messages / node / period", 3}});
  if (spread.empty() && rumors.empty() && !figures) return out;
  ReportSection s;
  s.title = "Gossip: rumor spreading";
  for (const auto& g : in.groups) {
    const auto curves = curves_of(spread, g);
    if (!curves.empty()) s.figures.push_back(spread_figure(g, curves));
  }
  if (figures) s.tables.push_back(*figures);
  if (!rumors.empty())
    s.tables.push_back(kit::rows_table(
        rumors, "Rumors",
        "One row per rumor: where and when it started, how long until every live node knew "
        "it (empty: never), when it died out and the residue then.",
        {"group", "rumor", "origin", "started_s", "time_to_all_ms", "periods_to_all", "died_s",
         "residue", "measured"}));
  out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::gossip
