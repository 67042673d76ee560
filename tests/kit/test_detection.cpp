// The failure-detection analysis (detection.h) on made-up marks: false declarations count
// every declaration, flaps count the false episodes that ended, a heal's convergence runs
// from the heal to the clearing of the last live member held suspected or dead, and joins and
// leaves are no crashes: each is known once every other live member holds it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/kit/detection.h"

using namespace dsim;
using namespace dsim::kit;

namespace {

constexpr Symbol kSuspect{0}, kDead{1}, kAlive{2}, kRefute{3}, kRejoin{4}, kLeft{5}, kLeave{6};

SimTime at(int64_t millis) {
  return SimTime::zero() + ms(millis);
}

struct Run {
  std::vector<TimelineMark> marks;
  std::vector<NodeLifeEvent> life;
  std::vector<FaultEvent> faults;
  SimTime warmup_end, end;
  uint32_t members = 0;

  AnalysisOutput analyze() const {
    AnalysisInput in;
    AnalysisInput::Group g;
    g.name = "g";
    for (NodeId n = 0; n < members; ++n)
      g.nodes.push_back(n);
    in.groups.push_back(g);
    in.marks = marks;
    in.life = life;
    in.faults = faults;
    in.warmup_end = warmup_end;
    in.end = end;
    in.node_count = members;
    in.symbol_name = [](Symbol s) {
      constexpr std::string_view names[] = {"s", "d", "a", "r", "j", "l", "v"};
      return s.id < 7 ? names[s.id] : std::string_view("other");
    };
    in.node_name = [](NodeId n) { return "g." + std::to_string(n); };
    return detection_analysis(in, DetectionMarks{"s", "d", "a", "r", "j", "l", "v"});
  }

  // A partition of `sides` (each a list of nodes) from `from` to `to` milliseconds.
  void partition(uint64_t id, int64_t from, int64_t to,
                 const std::vector<std::vector<NodeId>>& sides) {
    Cut cut;
    std::vector<NodeId> nodes;
    for (size_t s = 0; s < sides.size(); ++s) {
      for (NodeId n : sides[s])
        cut.masks.emplace_back(n, uint64_t{1} << s), nodes.push_back(n);
    }
    std::sort(cut.masks.begin(), cut.masks.end());
    std::sort(nodes.begin(), nodes.end());
    FaultEvent start{at(from), FaultPhase::kStart,
                     id,       "partition",
                     "",       "",
                     nodes,    std::make_shared<const Cut>(cut),
                     false,    {}};
    faults.push_back(start);
    faults.push_back({at(to), FaultPhase::kEnd, id, "partition", "", "", {}, {}, false, {}});
  }
};

std::map<std::string, double> rows_of(const AnalysisOutput& out) {
  std::map<std::string, double> rows;
  for (const auto& r : out.rows)
    rows[r.metric] = r.value;
  return rows;
}

std::string file_of(const AnalysisOutput& out, const std::string& name) {
  for (const auto& [file, content] : out.files) {
    if (file == name) return content;
  }
  return "<none>";
}

}  // namespace

TEST_CASE(
    "detection analysis: every false declaration counts and each ended false episode is a flap") {
  Run run;
  run.members = 3;
  run.warmup_end = at(5000);
  run.end = at(5000 + 3600 * 1000);  // one measured hour
  run.marks = {
      // Before the warmup: a false positive, neither a false declaration nor a flap.
      {at(1000), 2, kDead, 0, 0},
      {at(2000), 2, kAlive, 0, 0},
      // 0 declares 1 dead; 1 refutes; cleared: one episode ended, a flap.
      {at(10000), 0, kDead, 1, 0},
      {at(10500), 1, kRefute, 1, 1},
      {at(11000), 0, kAlive, 1, 1},
      // Declared dead again at its new incarnation, by 0 and by 2; 0 repeats itself.
      {at(20000), 0, kDead, 1, 1},
      {at(20500), 2, kDead, 1, 1},
      {at(21000), 0, kDead, 1, 1},
      // 2 crashed at 40 s (its view forgotten), then 0 clears 1: the second flap.
      {at(45000), 0, kDead, 2, 0},  // 2 is down: rightly
      {at(60000), 0, kAlive, 1, 1},
      // 1 declares 0 dead falsely; 0 then crashes and restarts: no flap when cleared.
      {at(70000), 1, kDead, 0, 0},
      {at(90000), 0, kRejoin, 0, 1},
      {at(95000), 1, kAlive, 0, 1},
  };
  run.life = {{at(40000), 2, NodeStatus::kDown},
              {at(80000), 0, NodeStatus::kDown},
              {at(90000), 0, NodeStatus::kUp}};
  const auto rows = rows_of(run.analyze());
  CHECK(rows.at("false_declarations") == 4);
  CHECK(rows.at("false_declarations_per_node_hour") == Approx(4.0 / 3.0));
  CHECK(rows.at("flaps") == 2);
  // Once per member and incarnation, the pre-warmup one included: (0, 0), (1, 0), (1, 1).
  CHECK(rows.at("false_positives") == 3);
  CHECK(rows.count("heals") == 0);
}

TEST_CASE("detection analysis: a heal converges at the last clearing of a live member") {
  Run run;
  run.members = 4;
  run.end = at(100000);
  run.partition(1, 10000, 30000, {{0, 1}, {2, 3}});
  run.partition(2, 40000, 45000, {{9}, {10}});  // other nodes: not this group's heal
  run.partition(3, 50000, 60000, {{0, 1}, {2, 3}});
  run.marks =
      {
          {at(15000), 0, kSuspect, 2, 0},
          {at(16000), 2, kSuspect, 0, 0},
          {at(20000), 0, kDead, 2, 0},
          {at(21000), 3, kDead, 1, 0},
          {at(31500), 0, kDead, 3, 0},  // 3 crashed at 31 s: rightly held dead
          {at(32000), 0, kAlive, 2, 0},
          {at(33000), 2, kAlive, 0, 0},  // the last live member cleared: 3 s after the heal
          {at(55000), 2, kDead, 1, 0},   // never cleared
      };
  run.life = {{at(31000), 3, NodeStatus::kDown}};  // forgets that it held 1 dead
  const AnalysisOutput out = run.analyze();
  const auto rows = rows_of(out);
  CHECK(rows.at("heals") == 2);
  CHECK(rows.at("heals_converged") == 1);
  CHECK(rows.at("heal_converge_ms_mean") == Approx(3000));
  CHECK(rows.at("heal_converge_ms_max") == Approx(3000));
  // 0 held 2 dead until 32 s; 3 held 1 dead until it crashed; 2 still holds 1 dead.
  CHECK(rows.at("flaps") == 2);
  CHECK(file_of(out, "heals.csv") ==
        "group,healed_s,converged_ms,measured\ng,30.000000,3000.000,1\ng,60.000000,,1\n");
}

TEST_CASE("detection analysis: views that agree at the heal converge at once") {
  Run run;
  run.members = 2;
  run.end = at(20000);
  run.partition(1, 1000, 5000, {{0}, {1}});
  run.marks = {{at(2000), 0, kSuspect, 1, 0}, {at(4000), 0, kAlive, 1, 0}};
  const AnalysisOutput out = run.analyze();
  const auto rows = rows_of(out);
  CHECK(rows.at("heals_converged") == 1);
  CHECK(rows.at("heal_converge_ms_max") == 0);
  CHECK(rows.at("flaps") == 0);  // suspected, never declared dead
  CHECK(rows.at("false_declarations") == 0);
}

TEST_CASE(
    "detection analysis: joins and leaves are known once every other live member holds them") {
  Run run;
  run.members = 4;
  run.end = at(100000);
  // 3 is outside the group at the start and joins at 20 s; 0 learns of it at 21 s, 1 at
  // 22 s, 2 (which crashes at 21.5 s and is not waited for) never.
  run.life = {{at(0), 3, NodeStatus::kDown, LifeCause::kAbsent},
              {at(20000), 3, NodeStatus::kUp, LifeCause::kJoin},
              {at(21500), 2, NodeStatus::kDown},
              {at(40000), 2, NodeStatus::kUp},
              {at(52000), 1, NodeStatus::kDown, LifeCause::kLeave}};
  run.marks = {
      {at(21000), 0, kAlive, 3, 1},
      {at(22000), 1, kAlive, 3, 1},
      // 1 leaves at 50 s (and stops at 52 s): 3 holds it left at once, 0 declares it dead
      // first, then hears of the leave at 53 s; 2 at 54 s.
      {at(50000), 1, kLeave, 1, 0},
      {at(50500), 3, kLeft, 1, 0},
      {at(51000), 0, kDead, 1, 0},
      {at(53000), 0, kLeft, 1, 0},
      {at(54000), 2, kLeft, 1, 0},
  };
  const AnalysisOutput out = run.analyze();
  const auto rows = rows_of(out);
  CHECK(rows.at("crashes") == 1);  // 2's crash; not the absence, the join or the leave
  CHECK(rows.at("joins") == 1);
  CHECK(rows.at("joins_known") == 1);
  CHECK(rows.at("join_known_ms_mean") == Approx(2000));
  CHECK(rows.at("leaves") == 1);
  CHECK(rows.at("leaves_known") == 1);
  CHECK(rows.at("leave_known_ms_max") == Approx(4000));
  CHECK(rows.at("leaves_declared_dead") == 1);
  // Declared dead while it lingered, alive: a false declaration, not one after it left.
  CHECK(rows.at("false_declarations") == 1);
  CHECK(file_of(out, "members.csv") ==
        "group,member,change,at_s,known_ms,declared_dead,measured\n"
        "g,g.3,join,20.000000,2000.000,0,1\n"
        "g,g.1,leave,50.000000,4000.000,1,1\n");
}
