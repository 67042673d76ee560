// Failure-detection trials from the members' suspect, dead and alive marks against the
// crashes and restarts, in true time (detection.h).
#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

#include "models/kit/detection.h"
#include "sim/core/units.h"

namespace dsim::kit {

namespace {

struct Trial {
  uint32_t target = 0;
  SimTime crashed, restarted = SimTime::max();
  SimTime first_suspect = SimTime::max(), first_dead = SimTime::max(), all_dead = SimTime::max();
  std::vector<uint8_t> holders;  // observers holding it dead
  uint32_t holding = 0;
  bool open = true;
};

enum class Kind : uint8_t { kSuspect, kDead, kAlive, kRefute, kRejoin, kOther };

struct Replay {
  Replay(const AnalysisInput& input, size_t n)
      : in(input), live(n, 1), live_count(uint32_t(n)), incarnation(n, 0) {}

  const AnalysisInput& in;
  std::vector<uint8_t> live;
  uint32_t live_count;
  std::vector<uint32_t> incarnation;  // each member's own, as it last announced
  std::vector<Trial> trials;
  std::unordered_map<uint32_t, size_t> open;  // target -> trials[]; lookups only
  std::set<std::pair<uint32_t, uint32_t>> false_dead, false_suspect;  // (target, incarnation)
  int64_t false_positives = 0, false_suspicions = 0, refutations = 0;

  void check_all_dead(Trial& t, SimTime at) {
    // Every live member holds it dead (the target itself is down).
    if (t.all_dead == SimTime::max() && live_count > 0 && t.holding == live_count) t.all_dead = at;
  }

  void on_mark(Kind kind, uint32_t observer, uint32_t target, uint32_t inc, SimTime at) {
    if (target >= live.size()) return;
    if (kind == Kind::kRefute || kind == Kind::kRejoin) {
      refutations += kind == Kind::kRefute ? 1 : 0;
      incarnation[target] = std::max(incarnation[target], inc);
      return;
    }
    // About a live member's current incarnation (not one that died before a restart).
    const bool wrong = live[target] && inc >= incarnation[target];
    const auto it = open.find(target);
    Trial* t = it != open.end() ? &trials[it->second] : nullptr;
    if (kind == Kind::kSuspect) {
      if (t) t->first_suspect = std::min(t->first_suspect, at);
      if (wrong && false_suspect.insert({target, inc}).second) ++false_suspicions;
    } else if (kind == Kind::kDead) {
      if (t) {
        t->first_dead = std::min(t->first_dead, at);
        if (!t->holders[observer]) t->holders[observer] = 1, ++t->holding;
        check_all_dead(*t, at);
      }
      if (wrong && false_dead.insert({target, inc}).second) ++false_positives;
    } else if (kind == Kind::kAlive && t && t->holders[observer]) {
      t->holders[observer] = 0, --t->holding;
    }
  }

  void on_life(const NodeLifeEvent& e, uint32_t p) {
    const bool up = e.status != NodeStatus::kDown;
    if (up == bool(live[p])) return;
    live[p] = up ? 1 : 0;
    up ? ++live_count : --live_count;
    for (auto& [target, index] : open) {  // order does not reach the output
      Trial& t = trials[index];
      if (t.holders[p]) t.holders[p] = 0, --t.holding;  // a crash or restart forgets
      if (!up) check_all_dead(t, e.at);
    }
    if (up) {
      if (const auto it = open.find(p); it != open.end()) {
        trials[it->second].restarted = e.at;
        trials[it->second].open = false;
        open.erase(it);
      }
      return;
    }
    Trial t;
    t.target = p;
    t.crashed = e.at;
    t.holders.assign(live.size(), 0);
    open[p] = trials.size();
    trials.push_back(std::move(t));
    check_all_dead(trials.back(), e.at);
  }
};

Kind kind_of(const AnalysisInput& in, Symbol s, const DetectionMarks& names) {
  const std::string_view name = in.symbol_name(s);
  if (name == names.suspect) return Kind::kSuspect;
  if (name == names.dead) return Kind::kDead;
  if (name == names.alive) return Kind::kAlive;
  if (name == names.refute) return Kind::kRefute;
  if (name == names.rejoin) return Kind::kRejoin;
  return Kind::kOther;
}

std::string ms_since(SimTime at, SimTime from) {
  return at == SimTime::max() ? "" : format_fixed((at - from).to_seconds() * 1e3, 3);
}

struct Mean {
  double sum = 0, max = 0;
  int64_t n = 0;
  void add(double v) { sum += v, max = std::max(max, v), ++n; }
};

}  // namespace

AnalysisOutput detection_analysis(const AnalysisInput& in, const DetectionMarks& names) {
  AnalysisOutput out;
  std::string csv =
      "group,target,crashed_s,first_suspect_ms,first_dead_ms,all_dead_ms,restarted_s,measured\n";
  for (const auto& g : in.groups) {
    std::unordered_map<NodeId, uint32_t> position;  // lookups only
    for (uint32_t i = 0; i < g.nodes.size(); ++i)
      position.emplace(g.nodes[i], i);
    Replay r(in, g.nodes.size());
    size_t li = 0;
    auto life_until = [&](SimTime t, bool inclusive) {
      for (; li < in.life.size() && (in.life[li].at < t || (inclusive && in.life[li].at == t));
           ++li)
        if (const auto it = position.find(in.life[li].node); it != position.end())
          r.on_life(in.life[li], it->second);
    };
    for (const TimelineMark& m : in.marks) {
      life_until(m.at, false);
      const auto it = position.find(m.node);
      if (it == position.end()) continue;
      const Kind k = kind_of(in, m.kind, names);
      if (k != Kind::kOther)
        r.on_mark(k, it->second, static_cast<uint32_t>(m.a), static_cast<uint32_t>(m.b), m.at);
    }
    life_until(SimTime::max(), true);

    Mean suspect, dead, all;
    int64_t crashes = 0, detected = 0;
    for (const Trial& t : r.trials) {
      const bool measured = t.crashed >= in.warmup_end;
      csv += g.name + "," + in.node_name(g.nodes[t.target]) + "," +
             format_fixed(t.crashed.to_seconds(), 6) + "," + ms_since(t.first_suspect, t.crashed) +
             "," + ms_since(t.first_dead, t.crashed) + "," + ms_since(t.all_dead, t.crashed) + "," +
             (t.restarted == SimTime::max() ? "" : format_fixed(t.restarted.to_seconds(), 6)) +
             "," + (measured ? "1" : "0") + "\n";
      if (!measured) continue;
      ++crashes;
      auto ms = [&](SimTime at) { return (at - t.crashed).to_seconds() * 1e3; };
      if (t.first_suspect != SimTime::max()) suspect.add(ms(t.first_suspect));
      if (t.first_dead != SimTime::max()) ++detected, dead.add(ms(t.first_dead));
      if (t.all_dead != SimTime::max()) all.add(ms(t.all_dead));
    }
    auto row = [&](std::string_view metric, double v) {
      out.rows.push_back({g.name, "", std::string(metric), v});
    };
    row("crashes", double(crashes));
    row("crashes_detected", double(detected));
    const std::pair<const char*, const Mean*> timings[] = {
        {"first_suspect_ms", &suspect}, {"first_dead_ms", &dead}, {"all_dead_ms", &all}};
    for (const auto& [name, m] : timings) {
      if (m->n == 0 || (m == &suspect && names.suspect.empty())) continue;
      row(std::string(name) + "_mean", m->sum / double(m->n));
      row(std::string(name) + "_max", m->max);
    }
    const double hours = (in.end - in.warmup_end).to_seconds() / 3600.0;
    row("false_positives", double(r.false_positives));
    if (hours > 0) {
      row("false_positives_per_node_hour",
          double(r.false_positives) / (double(g.nodes.size()) * hours));
    }
    if (!names.suspect.empty()) row("false_suspicions", double(r.false_suspicions));
    if (!names.refute.empty()) row("refutations", double(r.refutations));
    out.text +=
        "  " + g.name + ": " + std::to_string(crashes) + " crashes, " + std::to_string(detected) +
        " detected" +
        (dead.n ? "; first declared dead after " + format_fixed(dead.sum / double(dead.n), 0) +
                      " ms on average"
                : "") +
        (all.n ? ", by every live member after " + format_fixed(all.sum / double(all.n), 0) + " ms"
               : "") +
        "; " + std::to_string(r.false_positives) + " false positives" +
        (names.refute.empty() ? "" : ", " + std::to_string(r.refutations) + " refutations") +
        " (detections.csv)\n";
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; later detections are missing\n";
    }
  }
  out.files.emplace_back("detections.csv", std::move(csv));
  return out;
}

}  // namespace dsim::kit
