// The report section of the failure-detection trials (detection.h): per crash, how long
// until a member first suspected it, first declared it dead, and every live member held it
// dead (detections.csv), the false positives of each group (summary.csv), the false
// declarations and flaps, and how long the views took to agree after each heal (heals.csv).
#include <string>
#include <vector>

#include "models/kit/detection.h"
#include "models/kit/report.h"
#include "sim/core/units.h"

namespace dsim::kit {

namespace {

// One group's detection times per crash, as bars: up to three per crash.
ReportFigure detection_figure(const GroupRows& rows, const std::string& group) {
  ReportFigure f;
  f.title = "Detection times in " + group;
  f.caption =
      "For each crash, the time until a member first suspected it, first declared it dead, "
      "and every live member held it dead: the last is when the group agreed.";
  f.kind = ReportFigure::Kind::bars;
  f.x_label = "crash (member, time)";
  f.y_label = "time since the crash (ms)";
  ReportSeries suspect{"first suspicion", {}}, dead{"first declared dead", {}},
      all{"all declared dead", {}};
  bool any_suspect = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows.cell(i, "group") != group) continue;
    const auto x = static_cast<double>(f.categories.size());
    f.categories.push_back(rows.cell(i, "target") + " " +
                           format_fixed(rows.number(i, "crashed_s").value_or(0), 1) + " s");
    const auto s = rows.number(i, "first_suspect_ms");
    any_suspect = any_suspect || s.has_value();
    suspect.points.emplace_back(x, s.value_or(0));
    dead.points.emplace_back(x, rows.number(i, "first_dead_ms").value_or(0));
    all.points.emplace_back(x, rows.number(i, "all_dead_ms").value_or(0));
  }
  if (any_suspect) f.series.push_back(std::move(suspect));
  f.series.push_back(std::move(dead));
  f.series.push_back(std::move(all));
  return f;
}

}  // namespace

std::vector<ReportSection> detection_report(const ReportInput& in, std::string_view model) {
  std::vector<ReportSection> out;
  const auto rows = group_rows(in, "detections.csv", in.groups);
  const auto figures = figures_table(
      in, in.groups, "Detection figures",
      "Crashes after the warmup and those detected, the mean and worst times to the first "
      "declaration and to agreement, and false positives: members declared dead while up.",
      {{"crashes", "crashes"},
       {"crashes_detected", "detected"},
       {"first_suspect_ms_mean", "first suspicion, mean (ms)", 1},
       {"first_dead_ms_mean", "first dead, mean (ms)", 1},
       {"first_dead_ms_max", "first dead, max (ms)", 1},
       {"all_dead_ms_mean", "all dead, mean (ms)", 1},
       {"all_dead_ms_max", "all dead, max (ms)", 1},
       {"false_positives", "false positives"},
       {"false_positives_per_node_hour", "false positives / node hour", 4},
       {"false_suspicions", "false suspicions"},
       {"refutations", "refutations"}});
  const auto flapping = figures_table(
      in, in.groups, "Flapping and healing",
      "Every false declaration of death after the warmup (re-declarations of a member that "
      "refuted included), the false episodes that ended (flaps), and the partitions that "
      "healed: how many, how many after which every live member again held every live member "
      "alive, and how long that took.",
      {{"false_declarations", "false declarations"},
       {"false_declarations_per_node_hour", "false declarations / node hour", 4},
       {"flaps", "flaps"},
       {"heals", "heals"},
       {"heals_converged", "views agreed"},
       {"heal_converge_ms_mean", "agreed after, mean (ms)", 1},
       {"heal_converge_ms_max", "agreed after, max (ms)", 1}});
  const auto heals = group_rows(in, "heals.csv", in.groups);
  if (rows.empty() && !figures && !flapping) return out;
  ReportSection s;
  s.title = std::string(model) + ": failure detection";
  s.text =
      "Each crash of a member is a trial, from the crash to its restart (or the end of the "
      "run); empty times in the table were not reached in it.";
  constexpr size_t kMostBars = 60;
  for (const auto& g : in.groups) {
    const ReportFigure f = detection_figure(rows, g);
    if (!f.categories.empty() && f.categories.size() <= kMostBars) s.figures.push_back(f);
  }
  if (figures) s.tables.push_back(*figures);
  if (flapping) s.tables.push_back(*flapping);
  if (!heals.empty()) {
    s.tables.push_back(rows_table(heals, "Heals",
                                  "One row per end of a partition that separated members of the "
                                  "group, with the time until the views agreed again (empty: "
                                  "never).",
                                  {"group", "healed_s", "converged_ms", "measured"}));
  }
  if (!rows.empty())
    s.tables.push_back(rows_table(rows, "Crashes",
                                  "One row per crash of a member, with its detection times.",
                                  {"group", "target", "crashed_s", "first_suspect_ms",
                                   "first_dead_ms", "all_dead_ms", "restarted_s", "measured"}));
  out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::kit
