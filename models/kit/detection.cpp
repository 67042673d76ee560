// Failure-detection trials from the members' suspect, dead and alive marks against the
// crashes and restarts, in true time (detection.h).
#include <algorithm>
#include <map>
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

// A join or a leave: from it until every other live member holds the member in the group
// (a join) or left (a leave).
struct Change {
  uint32_t target = 0;
  bool join = false;
  SimTime at, known = SimTime::max();
  std::vector<uint8_t> holders;  // observers that hold it a member (join) or left (leave)
  uint32_t holding = 0;
  bool declared_dead = false;  // a leave: some member declared it dead
};

enum class Kind : uint8_t { kSuspect, kDead, kAlive, kRefute, kRejoin, kLeft, kLeave, kOther };

// Who holds whom suspected or dead among the live members, as sparse (observer, target)
// entries (a member alive in a view has none): the false declarations, the false episodes
// that ended (flaps) and when the views agree again after a heal.
struct Views {
  enum Held : uint8_t { kNone, kSuspected, kDeclared };
  struct Entry {
    Held held = kNone;
    uint32_t incarnation = 0;
  };
  struct Heal {
    SimTime at, converged = SimTime::max();
  };

  Views(size_t n, SimTime warmup)
      : warmup_end(warmup), dead_by(n, 0), down_by(n, 0), false_episode(n, 0) {}

  SimTime warmup_end;
  std::map<std::pair<uint32_t, uint32_t>, Entry> entries;  // (observer, target); live observers
  std::vector<uint32_t> dead_by, down_by;  // per target: live observers holding it dead / not alive
  std::vector<uint8_t> false_episode;      // held dead since a false declaration
  uint64_t wrong = 0;  // entries about live targets: the views disagree with the truth
  int64_t false_declarations = 0, flaps = 0;
  std::vector<Heal> heals;
  size_t unconverged = 0;  // heals[unconverged..]: not converged yet

  void converge(SimTime at) {
    if (wrong != 0) return;
    for (; unconverged < heals.size(); ++unconverged)
      heals[unconverged].converged = at;
  }

  void heal(SimTime at) {
    heals.push_back({at});
    converge(at);
  }

  // Target `t`'s entry in one live observer's view went from `from` to `to`.
  void change(uint32_t t, Held from, Held to, bool live, SimTime at) {
    if (from == to) return;
    if (from == kNone) {
      ++down_by[t];
      wrong += live ? 1 : 0;
    }
    if (to == kNone) {
      --down_by[t];
      wrong -= live ? 1 : 0;
    }
    if (to == kDeclared) ++dead_by[t];
    if (from == kDeclared && --dead_by[t] == 0) {
      // A false episode ended with the target alive: a flap.
      if (live && false_episode[t] && at >= warmup_end) ++flaps;
      false_episode[t] = 0;
    }
    converge(at);
  }

  // A suspect, dead or alive mark of live observer `o` about `t`; `live`: `t` is up or
  // paused; `current`: the mark is about its current incarnation.
  void on_mark(Kind kind, uint32_t o, uint32_t t, uint32_t inc, bool live, bool current,
               SimTime at) {
    const Held to = kind == Kind::kSuspect ? kSuspected : kind == Kind::kDead ? kDeclared : kNone;
    const auto it = entries.find({o, t});
    const Entry before = it != entries.end() ? it->second : Entry{};
    const bool declares =
        to == kDeclared && (before.held != kDeclared || before.incarnation != inc);
    if (declares && live && current) {
      false_declarations += at >= warmup_end ? 1 : 0;
      false_episode[t] = 1;
    }
    if (to == kNone) {
      if (it != entries.end()) entries.erase(it);
    } else {
      entries[{o, t}] = Entry{to, inc};
    }
    change(t, before.held, to, live, at);
  }

  // Member `p` crashed (`up` false: its view is forgotten) or restarted; `live`: after it.
  void on_life(uint32_t p, bool up, const std::vector<uint8_t>& live, SimTime at) {
    if (up) {
      wrong += down_by[p];  // held suspected or dead while alive again
      return;
    }
    wrong -= down_by[p];
    false_episode[p] = 0;  // held dead, rightly now
    auto it = entries.lower_bound({p, 0});
    while (it != entries.end() && it->first.first == p) {
      const uint32_t t = it->first.second;
      const Held held = it->second.held;
      it = entries.erase(it);
      change(t, held, kNone, live[t] != 0, at);
    }
    converge(at);
  }
};

struct Replay {
  Replay(const AnalysisInput& input, size_t n)
      : in(input),
        live(n, 1),
        live_count(uint32_t(n)),
        incarnation(n, 0),
        joiner(n, 0),
        views(n, input.warmup_end) {}

  const AnalysisInput& in;
  std::vector<uint8_t> live;
  uint32_t live_count;
  std::vector<uint32_t> incarnation;  // each member's own, as it last announced
  std::vector<uint8_t> joiner;        // outside the group at time 0: a fresh view holds it so
  std::vector<Trial> trials;
  std::unordered_map<uint32_t, size_t> open;  // target -> trials[]; lookups only
  std::vector<Change> changes;
  std::unordered_map<uint32_t, size_t> changing;  // target -> changes[]; lookups only
  std::set<std::pair<uint32_t, uint32_t>> false_dead, false_suspect;  // (target, incarnation)
  int64_t false_positives = 0, false_suspicions = 0, refutations = 0;
  Views views;

  void check_all_dead(Trial& t, SimTime at) {
    // Every live member holds it dead (the target itself is down).
    if (t.all_dead == SimTime::max() && live_count > 0 && t.holding == live_count) t.all_dead = at;
  }

  // Every other live member holds the change.
  void check_known(Change& c, SimTime at) const {
    const uint32_t others = live_count - (live[c.target] ? 1 : 0);
    if (c.known == SimTime::max() && c.holding == others) c.known = at;
  }

  static void hold(Change& c, uint32_t observer, bool holds) {
    if (holds == bool(c.holders[observer])) return;
    c.holders[observer] = holds ? 1 : 0;
    holds ? ++c.holding : --c.holding;
  }

  // A leave is already held by those that never learned of the member's join.
  void open_change(uint32_t target, bool join, SimTime at) {
    Change c;
    c.target = target;
    c.join = join;
    c.at = at;
    c.holders.assign(live.size(), 0);
    if (const auto it = changing.find(target); !join && it != changing.end()) {
      const Change& joined = changes[it->second];
      for (uint32_t o = 0; o < live.size(); ++o)
        hold(c, o, joined.join && live[o] && o != target && !joined.holders[o]);
    }
    changing[target] = changes.size();
    changes.push_back(std::move(c));
    check_known(changes.back(), at);
  }

  // What an observer's mark about a joining or leaving member says of the change.
  void on_change_mark(Kind kind, uint32_t observer, uint32_t target, SimTime at) {
    const auto it = changing.find(target);
    if (it == changing.end() || !live[observer] || observer == target) return;
    Change& c = changes[it->second];
    if (!c.join && kind == Kind::kDead) c.declared_dead = true;
    hold(c, observer, c.join ? kind != Kind::kLeft : kind == Kind::kLeft);
    check_known(c, at);
  }

  void on_mark(Kind kind, uint32_t observer, uint32_t target, uint32_t inc, SimTime at) {
    if (target >= live.size()) return;
    if (kind == Kind::kLeave) {
      if (observer == target) open_change(target, false, at);
      return;
    }
    if (kind != Kind::kRefute && kind != Kind::kRejoin) on_change_mark(kind, observer, target, at);
    if (kind == Kind::kLeft) {  // right about a member that left; wrong about a live one
      if (live[observer]) views.on_mark(Kind::kAlive, observer, target, inc, false, false, at);
      return;
    }
    if (kind == Kind::kRefute || kind == Kind::kRejoin) {
      refutations += kind == Kind::kRefute ? 1 : 0;
      incarnation[target] = std::max(incarnation[target], inc);
      return;
    }
    // About a live member's current incarnation (not one that died before a restart).
    const bool wrong = live[target] && inc >= incarnation[target];
    if (live[observer]) views.on_mark(kind, observer, target, inc, live[target] != 0, wrong, at);
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
    views.on_life(p, up, live, e.at);
    for (auto& [target, index] : open) {  // order does not reach the output
      Trial& t = trials[index];
      if (t.holders[p]) t.holders[p] = 0, --t.holding;  // a crash or restart forgets
      if (!up) check_all_dead(t, e.at);
    }
    if (e.cause == LifeCause::kAbsent) joiner[p] = 1;
    if (up) changing.erase(p);                // back: an open leave of it is over
    for (auto& [target, index] : changing) {  // order does not reach the output
      // A crash or restart forgets: a fresh view holds the group's first members, not those
      // that joined later.
      Change& c = changes[index];
      const bool holds = up && p != target && (c.join ? !joiner[target] : bool(joiner[target]));
      hold(c, p, holds);
      check_known(c, e.at);
    }
    if (up && e.cause == LifeCause::kJoin) open_change(p, true, e.at);
    // A join, a leave, absent from the start: no crash, and no crash of it is open (a
    // crashed node neither leaves nor joins).
    if (e.graceful()) return;
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
  if (name == names.left) return Kind::kLeft;
  if (name == names.leave) return Kind::kLeave;
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

// True when the cut separates some of `nodes` from others of them.
bool splits(const Cut& cut, const std::vector<NodeId>& nodes) {
  for (NodeId n : nodes) {
    if (cut.mask_of(n) != cut.mask_of(nodes.front())) return true;
  }
  return false;
}

// The ends of the partitions that separated members of the group, in time order.
std::vector<SimTime> heals_of(const AnalysisInput& in, const std::vector<NodeId>& nodes) {
  std::vector<uint64_t> splitting;  // partitions that did
  std::vector<SimTime> out;
  for (const FaultEvent& f : in.faults) {
    if (f.kind != "partition" || nodes.empty()) continue;
    if (f.phase == FaultPhase::kStart && f.cut && splits(*f.cut, nodes)) splitting.push_back(f.id);
    if (f.phase == FaultPhase::kEnd &&
        std::find(splitting.begin(), splitting.end(), f.id) != splitting.end())
      out.push_back(f.at);
  }
  return out;
}

// The group's marks, crashes, restarts and heals, in time order (at one instant: the marks,
// then the crashes and restarts, then the heals).
void replay(const AnalysisInput& in, const AnalysisInput::Group& g, const DetectionMarks& names,
            Replay& r) {
  std::unordered_map<NodeId, uint32_t> position;  // lookups only
  for (uint32_t i = 0; i < g.nodes.size(); ++i)
    position.emplace(g.nodes[i], i);
  const std::vector<SimTime> heals = heals_of(in, g.nodes);
  size_t li = 0, hi = 0;
  auto until = [&](SimTime t, bool inclusive) {
    auto before = [&](SimTime at) { return at < t || (inclusive && at == t); };
    for (; li < in.life.size() && before(in.life[li].at); ++li) {
      for (; hi < heals.size() && heals[hi] < in.life[li].at; ++hi)
        r.views.heal(heals[hi]);
      if (const auto it = position.find(in.life[li].node); it != position.end())
        r.on_life(in.life[li], it->second);
    }
    for (; hi < heals.size() && before(heals[hi]); ++hi)
      r.views.heal(heals[hi]);
  };
  for (const TimelineMark& m : in.marks) {
    until(m.at, false);
    const auto it = position.find(m.node);
    if (it == position.end()) continue;
    const Kind k = kind_of(in, m.kind, names);
    if (k != Kind::kOther)
      r.on_mark(k, it->second, static_cast<uint32_t>(m.a), static_cast<uint32_t>(m.b), m.at);
  }
  until(SimTime::max(), true);
}

// One row of detections.csv per trial; the summary of the measured ones.
struct Trials {
  Mean suspect, dead, all;
  int64_t crashes = 0, detected = 0;
};

Trials trial_rows(const AnalysisInput& in, const AnalysisInput::Group& g, const Replay& r,
                  std::string& csv) {
  Trials s;
  for (const Trial& t : r.trials) {
    const bool measured = t.crashed >= in.warmup_end;
    csv += g.name + "," + in.node_name(g.nodes[t.target]) + "," +
           format_fixed(t.crashed.to_seconds(), 6) + "," + ms_since(t.first_suspect, t.crashed) +
           "," + ms_since(t.first_dead, t.crashed) + "," + ms_since(t.all_dead, t.crashed) + "," +
           (t.restarted == SimTime::max() ? "" : format_fixed(t.restarted.to_seconds(), 6)) + "," +
           (measured ? "1" : "0") + "\n";
    if (!measured) continue;
    ++s.crashes;
    auto ms = [&](SimTime at) { return (at - t.crashed).to_seconds() * 1e3; };
    if (t.first_suspect != SimTime::max()) s.suspect.add(ms(t.first_suspect));
    if (t.first_dead != SimTime::max()) ++s.detected, s.dead.add(ms(t.first_dead));
    if (t.all_dead != SimTime::max()) s.all.add(ms(t.all_dead));
  }
  return s;
}

// One row of heals.csv per heal; the summary of the measured ones.
struct Heals {
  Mean converge;
  int64_t heals = 0;
};

Heals heal_rows(const AnalysisInput& in, const AnalysisInput::Group& g, const Replay& r,
                std::string& csv) {
  Heals s;
  for (const Views::Heal& h : r.views.heals) {
    const bool measured = h.at >= in.warmup_end;
    csv += g.name + "," + format_fixed(h.at.to_seconds(), 6) + "," + ms_since(h.converged, h.at) +
           "," + (measured ? "1" : "0") + "\n";
    if (!measured) continue;
    ++s.heals;
    if (h.converged != SimTime::max()) s.converge.add((h.converged - h.at).to_seconds() * 1e3);
  }
  return s;
}

// One row of members.csv per join and leave; the summary of the measured ones.
struct Changes {
  Mean join, leave;
  int64_t joins = 0, leaves = 0, declared_dead = 0;
};

Changes change_rows(const AnalysisInput& in, const AnalysisInput::Group& g, const Replay& r,
                    std::string& csv) {
  Changes s;
  for (const Change& c : r.changes) {
    const bool measured = c.at >= in.warmup_end;
    csv += g.name + "," + in.node_name(g.nodes[c.target]) + "," + (c.join ? "join" : "leave") +
           "," + format_fixed(c.at.to_seconds(), 6) + "," + ms_since(c.known, c.at) + "," +
           (c.declared_dead ? "1" : "0") + "," + (measured ? "1" : "0") + "\n";
    if (!measured) continue;
    (c.join ? s.joins : s.leaves) += 1;
    s.declared_dead += c.declared_dead ? 1 : 0;
    if (c.known != SimTime::max())
      (c.join ? s.join : s.leave).add((c.known - c.at).to_seconds() * 1e3);
  }
  return s;
}

std::string change_text(const std::string& group, const Changes& c) {
  auto part = [](int64_t n, const Mean& m, const char* what) {
    return std::to_string(n) + " " + what + ", " + std::to_string(m.n) +
           " known to every live member" +
           (m.n ? " after " + format_fixed(m.sum / double(m.n), 0) + " ms on average" : "");
  };
  return "  " + group + ": " + part(c.joins, c.join, "joins") + "; " +
         part(c.leaves, c.leave, "leaves") + ", " + std::to_string(c.declared_dead) +
         " declared dead instead (members.csv)\n";
}

std::string summary_text(const std::string& group, const Trials& t, const Replay& r,
                         const DetectionMarks& names) {
  auto mean = [](const Mean& m) { return format_fixed(m.sum / double(m.n), 0); };
  return "  " + group + ": " + std::to_string(t.crashes) + " crashes, " +
         std::to_string(t.detected) + " detected" +
         (t.dead.n ? "; first declared dead after " + mean(t.dead) + " ms on average" : "") +
         (t.all.n ? ", by every live member after " + mean(t.all) + " ms" : "") + "; " +
         std::to_string(r.false_positives) + " false positives" +
         (names.refute.empty() ? "" : ", " + std::to_string(r.refutations) + " refutations") +
         " (detections.csv)\n";
}

std::string heal_text(const std::string& group, const Heals& h) {
  return "  " + group + ": " + std::to_string(h.heals) + " partitions healed, " +
         std::to_string(h.converge.n) + " with every live view agreeing again" +
         (h.converge.n ? ", after " + format_fixed(h.converge.sum / double(h.converge.n), 0) +
                             " ms on average"
                       : "") +
         " (heals.csv)\n";
}

}  // namespace

AnalysisOutput detection_analysis(const AnalysisInput& in, const DetectionMarks& names) {
  AnalysisOutput out;
  std::string csv =
      "group,target,crashed_s,first_suspect_ms,first_dead_ms,all_dead_ms,restarted_s,measured\n";
  std::string heals_csv = "group,healed_s,converged_ms,measured\n";
  std::string members_csv = "group,member,change,at_s,known_ms,declared_dead,measured\n";
  bool any_heal = false, any_change = false;
  const double hours = (in.end - in.warmup_end).to_seconds() / 3600.0;
  for (const auto& g : in.groups) {
    Replay r(in, g.nodes.size());
    replay(in, g, names, r);
    const Trials t = trial_rows(in, g, r, csv);
    const Heals h = heal_rows(in, g, r, heals_csv);
    const Changes c = change_rows(in, g, r, members_csv);
    any_heal = any_heal || !r.views.heals.empty();
    any_change = any_change || !r.changes.empty();
    auto row = [&](std::string_view metric, double v) {
      out.rows.push_back({g.name, "", std::string(metric), v});
    };
    row("crashes", double(t.crashes));
    row("crashes_detected", double(t.detected));
    const std::pair<const char*, const Mean*> timings[] = {
        {"first_suspect_ms", &t.suspect}, {"first_dead_ms", &t.dead}, {"all_dead_ms", &t.all}};
    for (const auto& [name, m] : timings) {
      if (m->n == 0 || (m == &t.suspect && names.suspect.empty())) continue;
      row(std::string(name) + "_mean", m->sum / double(m->n));
      row(std::string(name) + "_max", m->max);
    }
    const double members = double(g.nodes.size());
    row("false_positives", double(r.false_positives));
    if (hours > 0)
      row("false_positives_per_node_hour", double(r.false_positives) / (members * hours));
    if (!names.suspect.empty()) row("false_suspicions", double(r.false_suspicions));
    if (!names.refute.empty()) row("refutations", double(r.refutations));
    row("false_declarations", double(r.views.false_declarations));
    if (hours > 0) {
      row("false_declarations_per_node_hour",
          double(r.views.false_declarations) / (members * hours));
    }
    row("flaps", double(r.views.flaps));
    if (h.heals > 0) {
      row("heals", double(h.heals));
      row("heals_converged", double(h.converge.n));
      if (h.converge.n > 0) {
        row("heal_converge_ms_mean", h.converge.sum / double(h.converge.n));
        row("heal_converge_ms_max", h.converge.max);
      }
    }
    if (c.joins + c.leaves > 0) {
      row("joins", double(c.joins));
      row("joins_known", double(c.join.n));
      row("leaves", double(c.leaves));
      row("leaves_known", double(c.leave.n));
      row("leaves_declared_dead", double(c.declared_dead));
      const std::pair<const char*, const Mean*> known[] = {{"join_known_ms", &c.join},
                                                           {"leave_known_ms", &c.leave}};
      for (const auto& [name, m] : known) {
        if (m->n == 0) continue;
        row(std::string(name) + "_mean", m->sum / double(m->n));
        row(std::string(name) + "_max", m->max);
      }
    }
    out.text += summary_text(g.name, t, r, names);
    if (h.heals > 0) out.text += heal_text(g.name, h);
    if (c.joins + c.leaves > 0) out.text += change_text(g.name, c);
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; later detections are missing\n";
    }
  }
  out.files.emplace_back("detections.csv", std::move(csv));
  if (any_heal) out.files.emplace_back("heals.csv", std::move(heals_csv));
  if (any_change) out.files.emplace_back("members.csv", std::move(members_csv));
  return out;
}

}  // namespace dsim::kit
