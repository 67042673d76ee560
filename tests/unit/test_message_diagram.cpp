// The message diagram (diagram.svg): the renderer on a hand-made recording (arrows where
// the geometry puts their send and delivery, drops drawn as drops, the client's messages
// highlighted, the truncation said), the recording behind it (output.diagram keeps what
// the engine sent, and changes nothing else), and `dsim diagram` end to end on a Raft
// failover: the election's messages in the window, the same bytes twice, the same SVG as
// output.diagram with the same window, and bad requests refused with nothing written.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <sys/wait.h>

#include "sim/report/message_diagram.h"
#include "support/scenarios.h"

using namespace dsim;

namespace {

SimTime at_ms(int64_t ms_) {
  return SimTime::from_ns(ms_ * 1'000'000);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Three nodes, three messages: a delivered one, one of the client's, one dropped because
// its receiver crashed.
DiagramRecording hand_made() {
  DiagramRecording rec;
  rec.header = "# dsim test scenario=hand seed=1 schema_version=1";
  rec.title = "hand seed 1";
  rec.from = at_ms(1000);
  rec.to = at_ms(2000);
  rec.run_end = at_ms(5000);
  rec.node_names = {"replicas.0", "replicas.1", "clients.0"};
  rec.node_groups = {"replicas", "replicas", "clients"};
  rec.messages.push_back(
      {at_ms(1100), at_ms(1200), 0, 1, "append_entries", 64, "delivered", false});
  rec.messages.push_back({at_ms(1300), at_ms(1350), 2, 0, "kv_put", 40, "delivered", false});
  rec.messages.push_back({at_ms(1500), at_ms(1600), 1, 0, "request_vote", 32, "node_down", false});
  rec.node_events.push_back({at_ms(1550), 0, "crash"});
  rec.faults.push_back({1, "crash", at_ms(1550), at_ms(3000), false, "replicas.0", ""});
  rec.client = 2;
  rec.history_recorded = true;
  rec.client_ops.push_back({at_ms(1290), at_ms(1400), "put", true});
  return rec;
}

// The <g> element of the message of kind `kind` (its whole text).
std::string message_group(const std::string& svg, const std::string& kind) {
  const size_t at = svg.find("data-kind=\"" + kind + "\"");
  REQUIRE(at != std::string::npos);
  const size_t begin = svg.rfind("<g ", at);
  const size_t end = svg.find("</g>", at);
  return svg.substr(begin, end - begin);
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs dsim with `args`; returns its exit code, its stderr in *err.
int run_dsim(const std::string& args, std::string* err = nullptr) {
  const auto log = testing::scratch_path("diagram", "stderr.txt");
  const std::string cmd = std::string("cd '") + DSIM_SOURCE_DIR + "' && '" + DSIM_BINARY + "' " +
                          args + " >/dev/null 2>'" + log.string() + "'";
  const int status = std::system(cmd.c_str());
  if (err) *err = read(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string attribute(const std::string& svg, const std::string& name) {
  const std::regex re(name + "=\"([^\"]*)\"");
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, re));
  return m[1];
}

}  // namespace

TEST_CASE("diagram: arrows go from the send to the delivery", "[diagram]") {
  const DiagramRecording rec = hand_made();
  const DiagramGeometry g(rec);
  const std::string svg = render_message_diagram(rec);
  REQUIRE(g.lanes().size() == 3);
  CHECK(svg.find("class=\"message-diagram\"") != std::string::npos);
  CHECK(attribute(svg, "data-messages") == "3");
  CHECK(attribute(svg, "data-dropped") == "1");
  CHECK(attribute(svg, "data-not-drawn") == "0");
  // The window maps onto the plot, top to bottom.
  CHECK(g.y(rec.from) == Approx(DiagramGeometry::kTop));
  CHECK(g.y(rec.to) == Approx(g.plot_bottom()));
  CHECK(g.x(0) < g.x(1));
  const std::string ae = message_group(svg, "append_entries");
  CHECK(ae.find("x1=\"" + num(g.x(0)) + "\" y1=\"" + num(g.y(at_ms(1100))) + "\" x2=\"" +
                num(g.x(1)) + "\" y2=\"" + num(g.y(at_ms(1200))) + "\"") != std::string::npos);
  CHECK(ae.find("marker-end=\"url(#arrow)\"") != std::string::npos);
  CHECK(ae.find("drop-mark") == std::string::npos);
  // Every arrow has its details for a hover.
  CHECK(ae.find("<title>append_entries replicas.0 → replicas.1, 64 B, sent 1.100000 s, "
                "delivered 1.200000 s</title>") != std::string::npos);
}

TEST_CASE("diagram: a dropped message ends in a cross where it was dropped", "[diagram]") {
  const DiagramRecording rec = hand_made();
  const DiagramGeometry g(rec);
  const std::string svg = render_message_diagram(rec);
  const std::string vote = message_group(svg, "request_vote");
  CHECK(vote.find("class=\"msg drop\"") != std::string::npos);
  CHECK(vote.find("marker-end") == std::string::npos);
  const double xb = g.x(0), yb = g.y(at_ms(1600));
  CHECK(vote.find("x2=\"" + num(xb) + "\" y2=\"" + num(yb) + "\"") != std::string::npos);
  CHECK(vote.find("class=\"drop-mark\" d=\"M" + num(xb - 4) + "," + num(yb - 4)) !=
        std::string::npos);
  CHECK(vote.find("dropped (node_down) 1.600000 s") != std::string::npos);
  // The crashed node's line is dashed from the crash on, and the crash is marked.
  CHECK(svg.find("<line class=\"down\" x1=\"" + num(xb) + "\" y1=\"" + num(g.y(at_ms(1550)))) !=
        std::string::npos);
  CHECK(svg.find("data-what=\"crash\"") != std::string::npos);
  CHECK(svg.find("data-fault=\"1\"") != std::string::npos);
}

TEST_CASE("diagram: the client's messages and operations are highlighted", "[diagram]") {
  DiagramRecording rec = hand_made();
  std::string svg = render_message_diagram(rec);
  const std::string put = message_group(svg, "kv_put");
  CHECK(put.find("class=\"msg client\"") != std::string::npos);
  CHECK(put.find("stroke=\"#d6336c\"") != std::string::npos);
  CHECK(message_group(svg, "append_entries").find("#d6336c") == std::string::npos);
  CHECK(svg.find("<g class=\"op\"><title>put invoked 1.290000 s, completed 1.400000 s (ok)") !=
        std::string::npos);
  CHECK(attribute(svg, "data-client") == "clients.0");
  // Without a client, nothing is highlighted.
  rec.client.reset();
  svg = render_message_diagram(rec);
  CHECK(svg.find("stroke=\"#d6336c\"") == std::string::npos);
  CHECK(svg.find("class=\"msg client\"") == std::string::npos);
  CHECK(svg.find("class=\"op\"") == std::string::npos);
}

TEST_CASE("diagram: past max_messages the caption says what was left out", "[diagram]") {
  DiagramRecording rec = hand_made();
  rec.max_messages = 2;
  const std::string svg = render_message_diagram(rec);
  CHECK(attribute(svg, "data-messages") == "2");
  CHECK(attribute(svg, "data-not-drawn") == "1");
  CHECK(svg.find("data-kind=\"request_vote\"") == std::string::npos);
  CHECK(svg.find("1 more messages sent from 1.500000 s on are not drawn (max_messages 2): "
                 "choose a narrower window, e.g. --window 1.000000s,1.500000s") !=
        std::string::npos);
  // Those the recording could not keep count too.
  rec.not_drawn = 5;
  CHECK(attribute(render_message_diagram(rec), "data-not-drawn") == "6");
}

TEST_CASE("diagram: output.diagram records the window's messages and changes nothing else",
          "[diagram]") {
  const std::string base = R"(
name: diagram-ping
seed: 3
duration: 2s
network: {latency: 1ms, loss: 10%}
groups:
  - {name: web, model: server}
  - {name: clients, model: client, count: 2, params: {target: web, rate: 50/s}}
)";
  // With the trace on in both: trace.json comes from the same hooks and must not change.
  const std::string trace = "output: {trace: {window: [0.4s, 0.9s]}";
  const RunOutput plain = testing::run_text(base + trace + "}\n");
  const RunOutput drawn = testing::run_text(
      base + trace + ", diagram: {window: [0.5s, 1s], client: clients.1, max_messages: 100000}}\n");
  REQUIRE(drawn.diagram);
  const DiagramRecording& rec = *drawn.diagram;
  REQUIRE(!rec.messages.empty());
  uint64_t lost = 0;
  for (const DiagramMessage& m : rec.messages) {
    CHECK(m.sent >= rec.from);
    CHECK(m.sent <= rec.to);
    if (m.outcome == "delivered") CHECK(*m.ended > m.sent);
    lost += m.outcome == "loss" ? 1 : 0;
  }
  CHECK(lost > 0);
  REQUIRE(rec.client);
  CHECK(rec.node_names[*rec.client] == "clients.1");
  // Every other file is as without the diagram, trace.json included; messages.csv lists
  // the messages.
  CHECK(testing::run_file(plain, "trace.json").size() > 1000);
  for (const auto& [name, content] : plain.files) {
    if (name == "scenario.resolved.yaml") continue;
    CHECK(testing::run_file(drawn, name) == content);
  }
  const std::string& csv = testing::run_file(drawn, "messages.csv");
  CHECK(csv.find("sent_s,ended_s,from,to,kind,bytes,outcome,duplicate\n") != std::string::npos);
  size_t rows = 0;
  for (size_t at = csv.find("\n0."); at != std::string::npos; at = csv.find("\n0.", at + 1))
    ++rows;
  CHECK(rows == rec.messages.size());
}

TEST_CASE("diagram: dsim diagram around a raft failover", "[diagram]") {
  const auto dir = testing::scratch_path("diagram", "leader_crash");
  std::filesystem::remove_all(dir);
  REQUIRE(run_dsim("run scenarios/raft/leader_crash.yaml --quiet --out '" + dir.string() + "'") ==
          0);
  const auto svg_path = dir / "diagram.svg";
  REQUIRE(run_dsim("diagram '" + dir.string() + "' --around failover --client clients.0") == 0);
  const std::string svg = read(svg_path);
  CHECK(svg.find("data-kind=\"request_vote\"") != std::string::npos);
  CHECK(svg.find("data-kind=\"vote_reply\"") != std::string::npos);
  CHECK(svg.find("data-what=\"crash\"") != std::string::npos);
  CHECK(std::stoul(attribute(svg, "data-messages")) > 10);

  SECTION("the same command gives the same bytes") {
    REQUIRE(run_dsim("diagram '" + dir.string() + "' --around failover --client clients.0") == 0);
    CHECK(read(svg_path) == svg);
  }
  SECTION("output.diagram with the same window draws the same SVG") {
    const auto mine = dir / "window.svg";
    REQUIRE(run_dsim("diagram '" + dir.string() + "' --window 10.18s,10.195s --client clients.0 " +
                     "--out '" + mine.string() + "'") == 0);
    const auto dir2 = testing::scratch_path("diagram", "leader_crash_set");
    std::filesystem::remove_all(dir2);
    REQUIRE(run_dsim("run scenarios/raft/leader_crash.yaml --quiet --out '" + dir2.string() +
                     "' --set 'output.diagram={window: [10.18s, 10.195s], client: clients.0}'") ==
            0);
    const std::string drawn = read(dir2 / "diagram.svg");
    CHECK(drawn == read(mine));
    CHECK(drawn.find("data-kind=\"request_vote\"") != std::string::npos);
    CHECK(read(dir2 / "messages.csv").find(",request_vote,") != std::string::npos);
  }
  SECTION("an event the run does not have is bad input, and nothing is written") {
    std::filesystem::remove(svg_path);
    std::string err;
    CHECK(run_dsim("diagram '" + dir.string() + "' --around failover:3", &err) == 2);
    CHECK(err.find("the run has no failover 3: failovers.csv lists 1") != std::string::npos);
    CHECK(run_dsim("diagram '" + dir.string() + "' --around fault:9", &err) == 2);
    CHECK(err.find("the run has no fault 9: faults.csv lists 1 (1)") != std::string::npos);
    CHECK(run_dsim("diagram '" + dir.string() + "' --around election", &err) == 2);
    CHECK(err.find("expected failover, failover:N, fault:ID, counterexample or "
                   "counterexample:N") != std::string::npos);
    CHECK(run_dsim("diagram '" + dir.string() + "' --around counterexample", &err) == 2);
    CHECK(err.find("the run has no counterexample 1: linearizability.txt lists 0") !=
          std::string::npos);
    CHECK(run_dsim("diagram '" + dir.string() + "' --window 10s,9s", &err) == 2);
    CHECK(err.find("FROM (10s) must be before TO (9s)") != std::string::npos);
    CHECK(run_dsim("diagram '" + dir.string() + "' --around failover --client clients.10", &err) ==
          2);
    CHECK(err.find("'clients.10' is not a node: group clients has nodes clients.0 to "
                   "clients.9") != std::string::npos);
    CHECK(!std::filesystem::exists(svg_path));
    CHECK(run_dsim("diagram /nonexistent-run-dir --around failover", &err) == 2);
    CHECK(err.find("not a run directory") != std::string::npos);
  }
  SECTION("a file dsim did not write is never replaced") {
    const auto mine = dir / "mine.svg";
    std::ofstream(mine) << "<svg>my drawing</svg>";
    std::string err;
    CHECK(run_dsim("diagram '" + dir.string() + "' --around failover --out '" + mine.string() + "'",
                   &err) == 2);
    CHECK(err.find("dsim did not write it") != std::string::npos);
    CHECK(read(mine) == "<svg>my drawing</svg>");
  }
}

TEST_CASE("diagram: dsim diagram around a linearizability counterexample", "[diagram]") {
  // Asynchronous replication loses acknowledged appends at failover: keys whose histories
  // no order explains, each with the operations that show it.
  const auto dir = testing::scratch_path("diagram", "async_failover");
  std::filesystem::remove_all(dir);
  REQUIRE(run_dsim("run scenarios/primary_backup/async_failover.yaml --quiet --out '" +
                   dir.string() + "'") == 0);
  const std::string verdict = read(dir / "linearizability.txt");
  const size_t key = verdict.find(": not linearizable (");
  REQUIRE(key != std::string::npos);
  // The last operation of the first counterexample, and its client.
  const size_t block_end = verdict.find("\n\n", key);
  const size_t last = verdict.rfind("\n    #", block_end);
  const size_t name = verdict.find(' ', last + 6) + 1;
  const std::string client = verdict.substr(name, verdict.find('/', name) - name);
  const auto svg_path = dir / "diagram.svg";
  REQUIRE(run_dsim("diagram '" + dir.string() + "' --around counterexample") == 0);
  const std::string svg = read(svg_path);
  CHECK(std::stoul(attribute(svg, "data-messages")) > 0);
  CHECK(svg.find(client + " highlighted") != std::string::npos);
  std::string err;
  CHECK(run_dsim("diagram '" + dir.string() + "' --around counterexample:100000", &err) == 2);
  CHECK(err.find("the run has no counterexample 100000: linearizability.txt lists ") !=
        std::string::npos);
  CHECK(run_dsim("diagram '" + dir.string() + "' --around counterexample:x", &err) == 2);
  CHECK(err.find("expected counterexample:N") != std::string::npos);
}
