// saga_client's analysis after a run: the fate of every saga its groups began, from the
// marks of the clients (`saga_begin`), the services (`saga_do`, `saga_undo`: a step's or a
// compensation's transaction made durable; `saga_refused`: a step refused because its
// compensation came first) and whoever ended the saga (`saga_completed` with the number of
// steps, `saga_compensated` and `saga_abandoned` with the step that failed).
//
// The verdicts:
//   incomplete     completed, yet a step is missing or was compensated
//   uncompensated  compensated, yet a step it did was not compensated
//   late_steps     a step done after its own compensation, or after the saga had ended
//                  compensated
//   conflicting    the saga ended two different ways
// and the counts: completed, compensated, abandoned (a compensation given up: the steps it
// left are listed, not judged), pending_at_end (started, no end yet: `saga_started` from an
// orchestrator, or a step's mark), not_started (its request reached no one) and
// residue_at_end (steps done and not compensated of the pending and abandoned ones).
// saga_states.csv has one row per saga.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "models/kit/samples.h"
#include "models/saga/client.h"

namespace dsim::saga {

namespace {

using kit::nearest_rank;
using kit::three_decimals;

constexpr uint32_t kNoGroup = 0xffffffffu;

struct Fate {
  uint32_t group = kNoGroup;
  SimTime began, ended;
  int ends = 0;  // bit per SagaEnd seen
  SagaEnd end = SagaEnd::kCompleted;
  int64_t figure = 0;                       // completed: steps; else the failed step
  std::map<int64_t, SimTime> done, undone;  // by step: the latest
  int64_t late = 0, refused = 0;
  bool started = false;  // an orchestrator logged it, or a step ran or was refused
};

struct Verdicts {
  int64_t checked = 0, completed = 0, compensated = 0, abandoned = 0, incomplete = 0,
          uncompensated = 0, late_steps = 0, conflicting = 0, pending = 0, residue = 0, refused = 0,
          not_started = 0;
  std::vector<double> duration_ms;
  std::string examples;
  void example(uint64_t saga, const char* what) {
    if (std::count(examples.begin(), examples.end(), ',') >= 3) return;
    examples += (examples.empty() ? "" : ", ") + std::to_string(saga) + " " + what;
  }
};

std::map<uint64_t, Fate> read_fates(const AnalysisInput& in) {
  std::vector<uint32_t> group_of(in.node_count, kNoGroup);
  for (uint32_t g = 0; g < in.groups.size(); ++g)
    for (NodeId n : in.groups[g].nodes)
      group_of[n] = g;
  std::map<uint64_t, Fate> fates;
  for (const TimelineMark& m : in.marks) {
    const std::string_view kind = in.symbol_name(m.kind);
    if (kind.substr(0, 5) != "saga_") continue;
    const auto id = static_cast<uint64_t>(m.a);
    if (kind == "saga_begin") {
      if (m.node < group_of.size() && group_of[m.node] != kNoGroup) {
        fates[id].group = group_of[m.node];
        fates[id].began = m.at;
      }
      continue;
    }
    const auto it = fates.find(id);
    if (it == fates.end()) continue;  // another client model's saga
    Fate& f = it->second;
    f.started = true;
    if (kind == "saga_do") {
      if (f.undone.count(m.b) || (f.ends & (1 << static_cast<int>(SagaEnd::kCompensated))))
        ++f.late;
      f.done[m.b] = m.at;
    } else if (kind == "saga_undo") {
      f.undone[m.b] = m.at;
    } else if (kind == "saga_refused") {
      ++f.refused;
    } else if (kind == "saga_completed" || kind == "saga_compensated" || kind == "saga_abandoned") {
      const SagaEnd end = kind == "saga_completed"     ? SagaEnd::kCompleted
                          : kind == "saga_compensated" ? SagaEnd::kCompensated
                                                       : SagaEnd::kAbandoned;
      if (f.ends == 0) {
        f.end = end;
        f.figure = m.b;
        f.ended = m.at;
      }
      f.ends |= 1 << static_cast<int>(end);
    }
  }
  return fates;
}

void judge(uint64_t saga, const Fate& f, Verdicts& v) {
  ++v.checked;
  v.refused += f.refused;
  if (f.late > 0) {
    v.late_steps += f.late;
    v.example(saga, "step after its compensation");
  }
  int64_t left = 0;  // steps done and not compensated
  for (const auto& [step, at] : f.done) {
    const auto undo = f.undone.find(step);
    left += undo == f.undone.end() || undo->second < at ? 1 : 0;
  }
  if (f.ends == 0) {
    if (f.started) {
      ++v.pending;
    } else {
      ++v.not_started;
    }
    v.residue += left;
    return;
  }
  if ((f.ends & (f.ends - 1)) != 0) {
    ++v.conflicting;
    v.example(saga, "ended two ways");
  }
  v.duration_ms.push_back(static_cast<double>((f.ended - f.began).ns()) / 1e6);
  if (f.end == SagaEnd::kCompleted) {
    ++v.completed;
    bool all = f.undone.empty();
    for (int64_t s = 0; s < f.figure; ++s)
      all = all && f.done.count(s);
    if (!all) {
      ++v.incomplete;
      v.example(saga, "completed without every step");
    }
  } else if (f.end == SagaEnd::kCompensated) {
    ++v.compensated;
    if (left > 0) {
      ++v.uncompensated;
      v.example(saga, "compensated with a step left done");
    }
  } else {
    ++v.abandoned;
    v.residue += left;
  }
}

}  // namespace

AnalysisOutput SagaClient::analyze(const AnalysisInput& in) {
  const std::map<uint64_t, Fate> fates = read_fates(in);
  std::vector<Verdicts> verdicts(in.groups.size());
  std::string csv = "group,saga,began_s,ended_s,end,failed_step,steps_done,steps_compensated\n";
  for (const auto& [saga, f] : fates) {
    judge(saga, f, verdicts[f.group]);
    const bool ended = f.ends != 0;
    csv += in.groups[f.group].name + ',' + std::to_string(saga) + ',' +
           three_decimals(f.began.to_seconds()) + ',' +
           (ended ? three_decimals(f.ended.to_seconds()) : "") + ',' +
           (ended ? std::string(saga_end_name(f.end)) : "pending") + ',' +
           (ended && f.end != SagaEnd::kCompleted ? std::to_string(f.figure) : "") + ',' +
           std::to_string(f.done.size()) + ',' + std::to_string(f.undone.size()) + '\n';
  }
  AnalysisOutput out;
  for (uint32_t g = 0; g < in.groups.size(); ++g) {
    const std::string& name = in.groups[g].name;
    const Verdicts& v = verdicts[g];
    const std::pair<const char*, int64_t> figures[] = {
        {"sagas_checked", v.checked},         {"sagas_completed", v.completed},
        {"sagas_compensated", v.compensated}, {"sagas_abandoned", v.abandoned},
        {"incomplete", v.incomplete},         {"uncompensated", v.uncompensated},
        {"late_steps", v.late_steps},         {"conflicting_ends", v.conflicting},
        {"pending_at_end", v.pending},        {"residue_at_end", v.residue},
        {"refused_late", v.refused},          {"not_started", v.not_started}};
    for (const auto& [metric, value] : figures)
      out.rows.push_back({name, "", metric, static_cast<double>(value)});
    out.rows.push_back({name, "", "saga_ms_p50", nearest_rank(v.duration_ms, 0.5)});
    out.rows.push_back({name, "", "saga_ms_p99", nearest_rank(v.duration_ms, 0.99)});
    const int64_t wrong = v.incomplete + v.uncompensated + v.late_steps + v.conflicting;
    out.text += name + " sagas: " + std::to_string(v.completed) + " completed, " +
                std::to_string(v.compensated) + " compensated, " + std::to_string(v.abandoned) +
                " abandoned, " + std::to_string(v.pending) + " pending at the end (" +
                std::to_string(v.not_started) + " never started); " +
                (wrong == 0 ? std::string("every ended saga all done or all undone")
                            : std::to_string(wrong) + " wrong (e.g. " + v.examples + ")") +
                (in.marks_truncated ? " (the mark store filled up: later sagas are missing)" : "") +
                '\n';
  }
  out.files.emplace_back("saga_states.csv", std::move(csv));
  return out;
}

}  // namespace dsim::saga
