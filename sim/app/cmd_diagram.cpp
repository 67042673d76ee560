// `dsim diagram RUN_DIR`: the space-time diagram of a window of a finished run. The same
// scenario and seed give the same run, so it runs the directory's scenario.resolved.yaml
// again in memory with the messages of the window recorded, writes no run directory, and
// draws diagram.svg (sim/report/message_diagram.h). The window is given, or found around
// an event the run directory lists: a failover (failovers.csv), a fault (faults.csv), or
// a counterexample of a failing linearizability verdict (linearizability.txt).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "sim/app/commands.h"
#include "sim/core/csv_table.h"
#include "sim/core/text_input.h"
#include "sim/core/units.h"
#include "sim/report/message_diagram.h"
#include "sim/run/output_dir.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

namespace dsim {

namespace {

namespace fs = std::filesystem;

// Bad input: the message, and exit code 2.
struct BadInput {
  std::string message;
};

Duration parse_time(const std::string& what, const std::string& text) {
  std::string error;
  const auto d = parse_duration(text, &error);
  if (!d) throw BadInput{what + " '" + text + "': " + error};
  return *d;
}

// A time range of the run: [from, to].
struct Range {
  SimTime from, to;
};

CsvTable read_table(const std::string& dir, const std::string& name, const std::string& why) {
  std::string error;
  const std::string path = dir + "/" + name;
  if (!fs::exists(path)) throw BadInput{"the run has no " + name + " (" + why + ")"};
  const auto text = read_text_file(path, kMaxResultFileBytes, &error);
  if (!text) throw BadInput{"cannot read '" + path + "': " + error};
  auto table = parse_csv_table(*text, &error);
  if (!table) throw BadInput{path + ": " + error};
  return std::move(*table);
}

std::optional<SimTime> seconds_cell(const CsvTable& t, const std::vector<std::string>& row,
                                    const char* column) {
  const auto c = t.column(column);
  if (!c) return std::nullopt;
  const auto v = CsvTable::number(row[*c]);
  if (!v || *v < 0) return std::nullopt;
  return SimTime::from_ns(static_cast<int64_t>(std::llround(*v * 1e9)));
}

// `failover[:N]`: the N-th failover of failovers.csv (from 1).
Range around_failover(const std::string& dir, const std::string& n_text) {
  uint64_t n = 1;
  if (!n_text.empty()) {
    if (n_text.find_first_not_of("0123456789") != std::string::npos || n_text.size() > 9 ||
        std::stoull(n_text) == 0)
      throw BadInput{"--around failover:" + n_text + ": expected failover:N with N = 1, 2, ..."};
    n = std::stoull(n_text);
  }
  const CsvTable t = read_table(dir, "failovers.csv", "failovers are measured in raft groups");
  if (n > t.rows.size()) {
    throw BadInput{"the run has no failover " + std::to_string(n) + ": failovers.csv lists " +
                   std::to_string(t.rows.size())};
  }
  const auto& row = t.rows[n - 1];
  const auto start = seconds_cell(t, row, "start_s");
  if (!start)
    throw BadInput{dir + "/failovers.csv: failover " + std::to_string(n) + " has no start_s"};
  return {*start, seconds_cell(t, row, "end_s").value_or(*start)};
}

// `fault:ID`: the fault numbered ID in faults.csv, from its start to its end.
Range around_fault(const std::string& dir, const std::string& id) {
  const CsvTable t = read_table(dir, "faults.csv", "it is written by every run");
  const auto fault = t.column("fault");
  const auto event = t.column("event");
  if (!fault || !event) throw BadInput{dir + "/faults.csv: expected columns fault and event"};
  std::optional<Range> r;
  std::vector<std::string> ids;  // in the order they start
  std::set<std::string> seen;
  for (const auto& row : t.rows) {
    if (seen.insert(row[*fault]).second) ids.push_back(row[*fault]);
    if (row[*fault] != id) continue;
    const auto at = seconds_cell(t, row, "time_s");
    if (!at) continue;
    if (!r) r = Range{*at, *at};
    r->to = std::max(r->to, *at);
  }
  if (!r) {
    std::string listed = ids.empty() ? "none" : std::to_string(ids.size()) + " (";
    for (size_t i = 0; i < ids.size() && i < 8; ++i)
      listed += (i ? ", " : "") + ids[i];
    if (!ids.empty()) listed += ids.size() > 8 ? ", ...)" : ")";
    throw BadInput{"the run has no fault " + id + ": faults.csv lists " + listed};
  }
  return *r;
}

// `counterexample[:N]`: the N-th key linearizability.txt finds not linearizable, from the
// first invocation to the last completion of the operations that no order explains; its
// last operation's client is highlighted unless --client says otherwise.
Range around_counterexample(const std::string& dir, const std::string& n_text,
                            std::string* client) {
  uint64_t n = 1;
  if (!n_text.empty()) {
    const bool digits =
        n_text.size() <= 9 && n_text.find_first_not_of("0123456789") == std::string::npos;
    n = digits ? std::stoul(n_text) : 0;
    if (n == 0)
      throw BadInput{"--around counterexample:" + n_text +
                     ": expected counterexample:N with N = 1, 2, ..."};
  }
  const std::string path = dir + "/linearizability.txt";
  if (!fs::exists(path))
    throw BadInput{"the run has no linearizability.txt (the verdict of key-value histories)"};
  std::string error;
  const auto text = read_text_file(path, kMaxResultFileBytes, &error);
  if (!text) throw BadInput{"cannot read '" + path + "': " + error};
  std::istringstream lines(*text);
  uint64_t found = 0, ops = 0;  // counterexamples seen; operations of the one asked for
  std::optional<Range> r;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("key ")) {
      if (r) break;  // the block asked for has ended
      if (line.find(": not linearizable") != std::string::npos && ++found == n) r = Range{};
      continue;
    }
    const size_t open = line.rfind('['), close = line.rfind(" s]");
    if (!r || !line.starts_with("    #") || open == std::string::npos || close == std::string::npos)
      continue;
    // "    #348 clients.3/s0 append key 45 9000000041 ok [1.730618477 s, 1.731395179 s]"
    const std::string span = line.substr(open + 1, close - open - 1);
    const size_t comma = span.find(" s, ");
    const auto from =
        comma == std::string::npos ? std::nullopt : CsvTable::number(span.substr(0, comma));
    const auto to =
        comma == std::string::npos ? std::nullopt : CsvTable::number(span.substr(comma + 4));
    if (!from || !to) throw BadInput{path + ": cannot read the times of '" + line + "'"};
    const SimTime a = SimTime::from_ns(std::llround(*from * 1e9));
    const SimTime b = SimTime::from_ns(std::llround(*to * 1e9));
    r->from = ops == 0 ? a : std::min(r->from, a);
    r->to = std::max(r->to, b);
    ++ops;
    const size_t name = line.find(' ', 5) + 1, slash = line.find('/', name);
    if (slash != std::string::npos) *client = line.substr(name, slash - name);
  }
  if (ops == 0)
    throw BadInput{"the run has no counterexample " + std::to_string(n) +
                   ": linearizability.txt lists " + std::to_string(found)};
  return *r;
}

// The window around an event: `span` long when given (a fifth of it before the event),
// else the event widened by a quarter of its length (at least 20 ms) on each side.
Range window_around(const DiagramArgs& args, const std::string& dir, const ScenarioSpec& spec,
                    std::string* client) {
  const std::string& ev = args.around;
  Range e;
  if (ev == "failover" || ev.starts_with("failover:")) {
    e = around_failover(dir, ev.size() > 8 ? ev.substr(9) : "");
  } else if (ev.starts_with("fault:") && ev.size() > 6) {
    e = around_fault(dir, ev.substr(6));
  } else if (ev == "counterexample" || ev.starts_with("counterexample:")) {
    e = around_counterexample(dir, ev.size() > 14 ? ev.substr(15) : "", client);
  } else {
    throw BadInput{"--around '" + ev +
                   "': expected failover, failover:N, fault:ID, counterexample or "
                   "counterexample:N"};
  }
  Range w;
  if (!args.span.empty()) {
    const Duration span = parse_time("--span", args.span);
    if (span <= Duration::zero()) throw BadInput{"--span must be above 0"};
    const Duration before = Duration::from_ns(span.ns() / 5);
    w.from = e.from.ns() > before.ns() ? e.from - before : SimTime::zero();
    w.to = w.from + span;
  } else {
    const Duration margin = std::max(Duration::from_ns((e.to - e.from).ns() / 4), ms(20));
    w.from = e.from.ns() > margin.ns() ? e.from - margin : SimTime::zero();
    w.to = e.to + margin;
  }
  const SimTime end = SimTime::zero() + spec.duration;
  if (w.to > end) w.to = end;
  return w;
}

Range choose_window(const DiagramArgs& args, const std::string& dir, const ScenarioSpec& spec,
                    std::string* client) {
  if (!args.window.empty() && !args.around.empty())
    throw BadInput{"give --window or --around, not both"};
  if (!args.span.empty() && args.around.empty()) throw BadInput{"--span goes with --around"};
  const SimTime end = SimTime::zero() + spec.duration;
  if (!args.around.empty()) return window_around(args, dir, spec, client);
  if (args.window.empty()) {
    if (spec.output.diagram) return {spec.output.diagram->from, spec.output.diagram->to};
    return {SimTime::zero(), end};
  }
  const size_t comma = args.window.find(',');
  if (comma == std::string::npos)
    throw BadInput{"--window '" + args.window + "': expected FROM,TO such as 9.9s,10.3s"};
  const Duration a = parse_time("--window FROM", args.window.substr(0, comma));
  const Duration b = parse_time("--window TO", args.window.substr(comma + 1));
  if (a >= b)
    throw BadInput{"--window: FROM (" + format_duration(a) + ") must be before TO (" +
                   format_duration(b) + ")"};
  if (SimTime::zero() + a >= end) {
    throw BadInput{"--window: FROM (" + format_duration(a) +
                   ") must be before the end of the run (duration " +
                   format_duration(spec.duration) + ")"};
  }
  return {SimTime::zero() + a, SimTime::zero() + b};
}

// `--client NODE`: a node of the scenario.
void check_client(const std::string& client, const ScenarioSpec& spec) {
  if (client.empty()) return;
  const size_t dot = client.rfind('.');
  const std::string group = dot == std::string::npos ? client : client.substr(0, dot);
  const std::string index = dot == std::string::npos ? "" : client.substr(dot + 1);
  for (const auto& g : spec.groups) {
    if (g.name != group) continue;
    if (!index.empty() && index.size() <= 9 &&
        index.find_first_not_of("0123456789") == std::string::npos && std::stoul(index) < g.count)
      return;
    throw BadInput{"--client '" + client + "' is not a node: group " + group + " has nodes " +
                   group + ".0 to " + group + "." + std::to_string(g.count - 1)};
  }
  throw BadInput{"--client '" + client + "': the scenario has no group '" + group + "'"};
}

// Writes `text` to `path` through a temporary sibling, so a failed write leaves what was
// there.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw BadInput{"cannot write '" + tmp + "'"};
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw BadInput{"cannot write '" + path + "': " + ec.message()};
}

int diagram(const DiagramArgs& args, const ModelRegistry& registry) {
  const std::string& dir = args.run_dir;
  if (!fs::is_regular_file(dir + "/scenario.resolved.yaml"))
    throw BadInput{dir + ": not a run directory (it has no scenario.resolved.yaml)"};
  Diagnostics diag;
  auto spec = load_scenario(dir + "/scenario.resolved.yaml", {}, registry, diag);
  if (!spec) {
    std::cerr << diag.render();
    throw BadInput{dir + ": its scenario.resolved.yaml does not load with this dsim"};
  }
  std::string event_client;  // the client an event names (a counterexample's)
  const Range w = choose_window(args, dir, *spec, &event_client);
  check_client(args.client, *spec);
  if (args.max_messages && *args.max_messages == 0)
    throw BadInput{"--max-messages must be at least 1"};
  const std::string out_path = args.out.empty() ? dir + "/diagram.svg" : args.out;
  if (fs::exists(fs::symlink_status(out_path)) && !written_by_dsim(out_path)) {
    throw BadInput{"'" + out_path +
                   "' is there and dsim did not write it: not replaced "
                   "(choose another --out)"};
  }
  // The scenario's own output.diagram gives what the command line does not.
  DiagramSpec d = spec->output.diagram.value_or(DiagramSpec{});
  d.from = w.from;
  d.to = w.to;
  if (!args.client.empty()) {
    d.client = args.client;
  } else if (!event_client.empty()) {
    d.client = event_client;
  }
  if (args.max_messages) d.max_messages = std::min(*args.max_messages, kMaxLoggedMessages);
  spec->output.diagram = d;
  spec->output.trace.reset();
  const RunOutput run = run_scenario(*spec);
  if (!run.refused.empty()) {
    std::cerr << dir << ": not run: " << run.refused << "\n";
    return kExitAborted;
  }
  const std::string svg = render_message_diagram(*run.diagram);
  write_file(out_path, svg);
  std::cout << out_path << ": " << std::min<size_t>(run.diagram->messages.size(), d.max_messages)
            << " messages from " << format_seconds(w.from) << " s to " << format_seconds(w.to)
            << " s\n";
  return kExitOk;
}

}  // namespace

int cmd_diagram(const DiagramArgs& args, const ModelRegistry& registry) {
  try {
    return diagram(args, registry);
  } catch (const BadInput& e) {
    std::cerr << "dsim diagram: " << e.message << "\n";
    return kExitBadInput;
  }
}

}  // namespace dsim
