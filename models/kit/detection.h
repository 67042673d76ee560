// Failure-detection trials, for the models whose members decide who is dead (swim,
// heartbeat_gossip): a post-run analysis of the marks each member records when it
// suspects, declares dead or clears another member (a: the target's index in the group,
// b: the incarnation), against the crashes and restarts, in true time:
//   - each crash of a member opens a trial, closed by its restart or the end of the run:
//     when some member first suspected it, first declared it dead, and when every live
//     member held it dead at once (detections.csv);
//   - a member declared dead at its current incarnation while it was up (or paused:
//     alive, only slow) is a false positive, once per member and incarnation;
//   - every declaration of death of a live member at its current incarnation after the
//     warmup, by each observer (re-declarations after a refutation included; repeating one
//     the observer holds adds nothing), is a false declaration;
//   - a flap: a false episode that ended after the warmup, a live member held dead by some
//     live observer since a false declaration, then by none (not when it crashed instead);
//   - each end of a partition whose cut separated members of the group is a heal: from it
//     to the first moment no live observer holds a live member suspected or dead
//     (heals.csv; empty when that never came);
//   - a leave (the leaver's leave mark) and a join (a member entering the group after time 0)
//     are no crashes: from a leave to the moment every live member holds the leaver left,
//     and from a join to the moment every other live member holds the newcomer a member
//     (members.csv); a leaver some member declared dead instead counts in
//     leaves_declared_dead;
//   - summary rows per group: crashes, crashes_detected, first_suspect_ms_*,
//     first_dead_ms_*, all_dead_ms_*, false_positives, false_positives_per_node_hour, and,
//     when the model has suspicions and refutations, false_suspicions and refutations;
//     false_declarations, false_declarations_per_node_hour, flaps; after heals: heals,
//     heals_converged, heal_converge_ms_mean and _max; after joins and leaves: joins,
//     joins_known, join_known_ms_mean and _max, leaves, leaves_known, leave_known_ms_mean
//     and _max, leaves_declared_dead.
// A crashed member forgets its view; a restarted one starts with everyone alive (but those
// joining later, held outside the group until it hears of them). The views
// are kept as sparse (observer, target) entries of the members held suspected or dead.
#pragma once

#include <string_view>
#include <vector>

#include "sim/core/report_figure.h"
#include "sim/core/timeline.h"

namespace dsim::kit {

/// The names of a model's marks; an empty name: the model records no such mark.
struct DetectionMarks {
  std::string_view suspect;
  std::string_view dead;
  std::string_view alive;   ///< a suspicion or death cleared
  std::string_view refute;  ///< a = self, b = its new incarnation
  std::string_view rejoin;  ///< a restart or join: a = self, b = its new incarnation
  std::string_view left;    ///< holds the member left (a leave that reached it)
  std::string_view leave;   ///< a member leaves: a = self, b = its incarnation
};

AnalysisOutput detection_analysis(const AnalysisInput& in, const DetectionMarks& names);

/// The figures detection_analysis gives every group besides its crash trials and false
/// positives, for the models to declare.
inline constexpr std::string_view kFlapAndHealFigures[] = {"false_declarations",
                                                           "false_declarations_per_node_hour",
                                                           "flaps",
                                                           "heals",
                                                           "heals_converged",
                                                           "heal_converge_ms_mean",
                                                           "heal_converge_ms_max"};

/// The figures of joins and leaves, for the models that have them to declare.
inline constexpr std::string_view kJoinAndLeaveFigures[] = {
    "joins",        "joins_known",         "join_known_ms_mean", "join_known_ms_max",   "leaves",
    "leaves_known", "leave_known_ms_mean", "leave_known_ms_max", "leaves_declared_dead"};

/// The report section of the model's groups (detection_report.cpp): per crash, the times to
/// the first suspicion, the first declaration and agreement (detections.csv), the false
/// positives, false declarations, flaps and heals (heals.csv); none when the run has neither.
std::vector<ReportSection> detection_report(const ReportInput& in, std::string_view model);

}  // namespace dsim::kit
