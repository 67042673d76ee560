// The models' sections of the HTML report (ModelFactory::report): each hook, fed a real
// run's directory the way `dsim report` feeds it (support/report_input.h), shows what the
// run's files hold, and gives no section for a directory without its files.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "sim/core/csv_table.h"
#include "support/report_input.h"
#include "support/scenarios.h"
#include "support/temp_dir.h"

using namespace dsim;
using dsim::testing::model_report;
using dsim::testing::report_input;

namespace {

/// Runs a scenario of scenarios/ with overrides and writes its files to `dir`.
void run_into(const std::string& scenario, std::vector<std::string> overrides,
              const test::TempDir& dir) {
  Diagnostics diag;
  LoadOptions options;
  options.overrides = std::move(overrides);
  const auto spec = load_scenario(std::string(DSIM_SOURCE_DIR) + "/scenarios/" + scenario, options,
                                  dsim::testing::builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  REQUIRE(out.refused.empty());
  dsim::testing::write_run_files(out, dir.path);
}

/// Runs scenario text and writes its files to `dir`.
void run_text_into(const std::string& yaml, const test::TempDir& dir) {
  dsim::testing::write_run_files(dsim::testing::run_text(yaml), dir.path);
}

const ReportSection* section(const std::vector<ReportSection>& sections, const std::string& title) {
  for (const auto& s : sections)
    if (s.title == title) return &s;
  return nullptr;
}

const ReportTable* table(const ReportSection& s, const std::string& title) {
  for (const auto& t : s.tables)
    if (t.title == title) return &t;
  return nullptr;
}

/// The rows of a run file whose `group` is `group`.
std::vector<std::vector<std::string>> file_rows(const test::TempDir& dir, const std::string& file,
                                                const std::string& group, CsvTable* header) {
  const auto text = dsim::testing::read_text(dir.path / file);
  REQUIRE(text);
  auto t = parse_csv_table(*text);
  REQUIRE(t);
  const auto g = t->column("group");
  REQUIRE(g);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : t->rows)
    if (r[*g] == group) rows.push_back(r);
  if (header) *header = *t;
  return rows;
}

size_t column_of(const ReportTable& t, const std::string& name) {
  const auto it = std::find(t.columns.begin(), t.columns.end(), name);
  REQUIRE(it != t.columns.end());
  return static_cast<size_t>(it - t.columns.begin());
}

}  // namespace

TEST_CASE("report: every model hook gives no section for a directory without its files",
          "[report]") {
  const test::TempDir dir("report_empty");
  for (const ModelFactory* f : dsim::testing::builtin_registry().all()) {
    if (!f->report) continue;
    INFO(f->name);
    CHECK(f->report(report_input(dir.path, {"g"})).empty());
    ReportInput nothing;  // no readers at all
    nothing.groups = {"g"};
    CHECK(f->report(nothing).empty());
  }
}

TEST_CASE("report: raft shows each failover against its crash and who led when", "[report]") {
  const test::TempDir dir("report_raft");
  run_into("raft/leader_crash.yaml", {"duration=15s"}, dir);
  const auto sections = model_report("raft", report_input(dir.path, {"replicas"}));

  CsvTable header;
  const auto failovers = file_rows(dir, "failovers.csv", "replicas", &header);
  REQUIRE(!failovers.empty());
  const ReportSection* f = section(sections, "Raft: failovers");
  REQUIRE(f);
  const ReportTable* t = table(*f, "Failovers");
  REQUIRE(t);
  REQUIRE(t->rows.size() == failovers.size());
  const size_t leaderless = *header.column("leaderless_ms");
  CHECK(t->rows[0][column_of(*t, "leaderless_ms")] == failovers[0][leaderless]);
  CHECK(t->rows[0][column_of(*t, "cause")] == "crash");
  // The scenario's one crash, of the leader, at 10 s.
  CHECK(t->rows[0][column_of(*t, "fault")].rfind("crash#1 ", 0) == 0);
  REQUIRE(f->figures.size() == 1);
  CHECK(f->figures[0].categories.size() == failovers.size());

  const auto leaders = file_rows(dir, "leaders.csv", "replicas", nullptr);
  const ReportSection* l = section(sections, "Raft: leaders");
  REQUIRE(l);
  REQUIRE(table(*l, "Terms"));
  CHECK(table(*l, "Terms")->rows.size() == leaders.size());
  REQUIRE(l->figures.size() == 1);
  CHECK(l->figures[0].kind == ReportFigure::Kind::step);
  CHECK(!l->figures[0].bands.empty());
  REQUIRE(l->figures[0].series.size() == 1);
  // The old leader's index, then the new one's, held to the end of the run.
  const auto& points = l->figures[0].series[0].points;
  REQUIRE(points.size() >= 2);
  CHECK(points.back().first == Approx(15.0));

  const ReportSection* cdf = section(sections, "Raft: leaderless time");
  REQUIRE(cdf);
  REQUIRE(cdf->figures.size() == 1);
  CHECK(cdf->figures[0].series[0].points.back().second == Approx(1.0));
}

TEST_CASE("report: kv_client shows a failed linearizability check with its counterexample",
          "[report]") {
  const test::TempDir dir("report_kv");
  run_into("kv/independent_replicas.yaml", {"duration=4s"}, dir);
  const auto sections = model_report("kv_client", report_input(dir.path, {"clients"}));
  const ReportSection* v = section(sections, "Consistency verdicts");
  REQUIRE(v);
  CHECK(v->text.find("not linearizable") != std::string::npos);
  const auto counterexample = dsim::testing::read_text(dir.path / "linearizability.txt");
  REQUIRE(counterexample);
  CHECK(v->preformatted == *counterexample);
  CHECK(v->preformatted.find("operations that no order explains") != std::string::npos);
  const ReportTable* lin = table(*v, "Linearizability");
  REQUIRE(lin);
  REQUIRE(lin->rows.size() == 1);
  CHECK(lin->rows[0][column_of(*lin, "linearizable")] == "no");

  const ReportSection* curves = section(sections, "Staleness curves");
  REQUIRE(curves);
  REQUIRE(!curves->figures.empty());
  CHECK(curves->figures[0].title == "t-visibility");
  for (const auto& [t, p] : curves->figures[0].series.at(0).points) {
    CHECK(p >= 0);
    CHECK(p <= 1);
  }
}

TEST_CASE("report: kv_client on a linearizable store shows no counterexample", "[report]") {
  const test::TempDir dir("report_kv_ok");
  run_into("raft/leader_crash.yaml", {"duration=15s"}, dir);
  const auto sections = model_report("kv_client", report_input(dir.path, {"clients"}));
  const ReportSection* v = section(sections, "Consistency verdicts");
  REQUIRE(v);
  CHECK(v->text == "Linearizability, key by key: linearizable.");
  CHECK(v->preformatted.empty());
}

TEST_CASE("report: gossip spread curves end at the informed count of spread.csv", "[report]") {
  const test::TempDir dir("report_gossip");
  run_text_into(R"(
name: report-gossip
seed: 4
duration: 40s
network: {latency: 2ms}
groups:
  - name: peers
    model: gossip
    count: 60
    params: {protocol: rumor, exchange: push, stop: feedback, loss: counter, k: 2, period: 1s,
             rumors: 5, first_rumor: 1s, rumor_every: 5s}
)",
                dir);
  const auto sections = model_report("gossip", report_input(dir.path, {"peers"}));
  REQUIRE(sections.size() == 1);
  const ReportSection& s = sections[0];
  REQUIRE(s.figures.size() == 1);
  const ReportFigure& f = s.figures[0];
  // Five rumors: the fastest, the median and the slowest are drawn.
  REQUIRE(f.series.size() == 3);
  CsvTable header;
  const auto spread = file_rows(dir, "spread.csv", "peers", &header);
  const size_t rumor = *header.column("rumor"), informed = *header.column("informed");
  for (const auto& series : f.series) {
    std::string last;
    for (const auto& row : spread)
      if ("rumor " + row[rumor] == series.name) last = row[informed];
    REQUIRE(!last.empty());
    CHECK(series.points.back().second == Approx(*CsvTable::number(last)));
  }
  const ReportTable* rumors = table(s, "Rumors");
  REQUIRE(rumors);
  CHECK(rumors->rows.size() == 5);
  const ReportTable* figures = table(s, "Rumor figures");
  REQUIRE(figures);
  CHECK(figures->rows.at(0).at(column_of(*figures, "rumors")) == "5");
}

TEST_CASE("report: swim shows the detection times of each crash", "[report]") {
  const test::TempDir dir("report_swim");
  run_text_into(R"(
name: report-swim
seed: 5
duration: 60s
network: {latency: 1ms}
groups:
  - name: members
    model: swim
    count: 20
    params: {period: 1s, ping_timeout: 200ms}
faults:
  - {at: 10s, crash: members.random, every: 20s, restart_after: 15s, until: 40s}
)",
                dir);
  const auto swim = model_report("swim", report_input(dir.path, {"members"}));
  REQUIRE(swim.size() == 1);
  const ReportTable* crashes = table(swim[0], "Crashes");
  REQUIRE(crashes);
  const auto rows = file_rows(dir, "detections.csv", "members", nullptr);
  REQUIRE(rows.size() == 2);  // at 10 s and 30 s
  CHECK(crashes->rows.size() == rows.size());
  REQUIRE(swim[0].figures.size() == 1);
  CHECK(swim[0].figures[0].categories.size() == 2);
  CHECK(swim[0].figures[0].series.size() == 3);  // SWIM suspects before it declares
  const ReportTable* figures = table(swim[0], "Detection figures");
  REQUIRE(figures);
  CHECK(figures->rows.at(0).at(column_of(*figures, "false positives")) == "0");
  CHECK_FALSE(table(swim[0], "Heals"));  // no partition, no heals.csv
}

TEST_CASE("report: heartbeat_gossip shows each crash of its own groups only", "[report]") {
  const test::TempDir dir("report_heartbeat");
  run_into("membership/swim_vs_heartbeat.yaml",
           {"duration=100s", "faults.0.until=95s", "faults.1.until=95s", "faults.2.until=95s"},
           dir);
  const auto hb = model_report("heartbeat_gossip", report_input(dir.path, {"timeout"}));
  REQUIRE(hb.size() == 1);
  REQUIRE(table(hb[0], "Crashes"));
  const auto rows = file_rows(dir, "detections.csv", "timeout", nullptr);
  REQUIRE(rows.size() == 2);  // at 30 s and 90 s
  CHECK(table(hb[0], "Crashes")->rows.size() == rows.size());
  // swim's groups share the file: its rows are kept beside heartbeat_gossip's.
  CHECK(file_rows(dir, "detections.csv", "swim", nullptr).size() == 2);
  const auto sw = model_report("swim", report_input(dir.path, {"swim"}));
  REQUIRE(sw.size() == 1);
  REQUIRE(table(sw[0], "Crashes"));
  CHECK(table(sw[0], "Crashes")->rows.size() == 2);
  REQUIRE(hb[0].figures.size() == 1);
  CHECK(hb[0].figures[0].series.size() == 2);  // no suspicion: first and all declared
  const ReportTable* figures = table(hb[0], "Detection figures");
  REQUIRE(figures);
  REQUIRE(figures->rows.size() == 1);
  CHECK(figures->rows[0][0] == "timeout");
}

TEST_CASE("report: the detection section shows the false declarations and each heal", "[report]") {
  const test::TempDir dir("report_heals");
  run_into("membership/partition_heal.yaml", {"duration=230s"}, dir);
  const auto sw = model_report("swim", report_input(dir.path, {"swim"}));
  REQUIRE(sw.size() == 1);
  const ReportTable* flapping = table(sw[0], "Flapping and healing");
  REQUIRE(flapping);
  REQUIRE(flapping->rows.size() == 1);
  CHECK(flapping->rows[0].at(column_of(*flapping, "heals")) == "2");
  CHECK(flapping->rows[0].at(column_of(*flapping, "false declarations")) != "0");
  const ReportTable* heals = table(sw[0], "Heals");
  REQUIRE(heals);
  CHECK(heals->rows.size() == file_rows(dir, "heals.csv", "swim", nullptr).size());
  CHECK(heals->rows.size() == 2);
  // heartbeat_gossip's rows share heals.csv with swim's; each section shows its own.
  const auto hb = model_report("heartbeat_gossip", report_input(dir.path, {"heartbeat"}));
  REQUIRE(hb.size() == 1);
  REQUIRE(table(hb[0], "Heals"));
  CHECK(table(hb[0], "Heals")->rows.size() == 2);
}

TEST_CASE("report: load_balancer shows the requests per backend", "[report]") {
  const test::TempDir dir("report_lb");
  run_into("load_balancer/dead_backend.yaml", {}, dir);
  const auto sections = model_report("load_balancer", report_input(dir.path, {"lb_hc"}));
  const ReportSection* s = section(sections, "Load balancer: backends");
  REQUIRE(s);
  REQUIRE(s->figures.size() == 1);
  const ReportFigure& f = s->figures[0];
  CHECK(f.kind == ReportFigure::Kind::bars);
  CsvTable header;
  const auto rows = file_rows(dir, "lb_backends.csv", "lb_hc", &header);
  REQUIRE(f.categories.size() == rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(f.categories[i] == rows[i][*header.column("backend")]);
    CHECK(f.series.at(0).points.at(i).second ==
          Approx(*CsvTable::number(rows[i][*header.column("requests")])));
  }
  REQUIRE(table(*s, "Balance and health"));
}

TEST_CASE("report: cache shows the hit ratio of each group over time", "[report]") {
  const test::TempDir dir("report_cache");
  run_into("cache/stampede.yaml", {"duration=6s"}, dir);
  const auto sections =
      model_report("cache", report_input(dir.path, {"cache_none", "cache_coalesce"}));
  REQUIRE(sections.size() == 1);
  REQUIRE(sections[0].figures.size() == 1);
  const ReportFigure& f = sections[0].figures[0];
  REQUIRE(f.series.size() == 2);
  CsvTable header;
  const auto rows = file_rows(dir, "cache_windows.csv", "cache_none", &header);
  REQUIRE(f.series[0].name == "cache_none");
  REQUIRE(f.series[0].points.size() == rows.size());
  CHECK(f.series[0].points.back().second ==
        Approx(*CsvTable::number(rows.back()[*header.column("hit_ratio")])));
  const ReportTable* t = table(sections[0], "Cache figures");
  REQUIRE(t);
  CHECK(t->rows.size() == 2);
}

TEST_CASE("report: rate limits show admitted and rejected per window", "[report]") {
  const test::TempDir dir("report_rate_limit");
  run_into("rate_limit/central_store_partition.yaml", {}, dir);
  const auto limiter = model_report("rate_limiter", report_input(dir.path, {"limits_open"}));
  REQUIRE(limiter.size() == 1);
  REQUIRE(limiter[0].figures.size() == 1);
  CsvTable header;
  const auto rows = file_rows(dir, "rate_limiter_rate_limit_windows.csv", "limits_open", &header);
  const auto& admitted = limiter[0].figures[0].series.at(0);
  CHECK(admitted.name == "admitted");
  REQUIRE(admitted.points.size() == rows.size());
  CHECK(admitted.points.back().second ==
        Approx(*CsvTable::number(rows.back()[*header.column("admitted")])));
  const auto lb = model_report("load_balancer", report_input(dir.path, {"lb_open"}));
  CHECK(section(lb, "load_balancer: rate limit"));
}

TEST_CASE("report: quorum and primary_backup and pb_monitor show their own figures", "[report]") {
  const test::TempDir q("report_quorum");
  run_into("quorum/partition_sloppy.yaml", {}, q);
  const auto quorum = model_report("quorum", report_input(q.path, {"store"}));
  REQUIRE(quorum.size() == 1);
  const ReportTable* coordination = table(quorum[0], "Coordination");
  REQUIRE(coordination);
  CHECK(coordination->rows.at(0).at(0) == "store");

  const test::TempDir pb("report_pb");
  run_into("primary_backup/async_failover.yaml", {}, pb);
  const auto monitor = model_report("pb_monitor", report_input(pb.path, {"monitors"}));
  REQUIRE(monitor.size() == 1);
  const ReportTable* failovers = table(monitor[0], "Failovers");
  REQUIRE(failovers);
  const auto count = report_input(pb.path, {}).figure("monitors", "", "failovers");
  REQUIRE(count);
  CHECK(*count >= 1);
  CHECK(failovers->rows.at(0).at(column_of(*failovers, "failovers")) ==
        std::to_string(static_cast<int>(*count)));
  const auto replicas = model_report("primary_backup", report_input(pb.path, {"replicas"}));
  REQUIRE(replicas.size() == 1);
  REQUIRE(table(replicas[0], "Replication"));
}

TEST_CASE("report: service and server show queue waits and workers", "[report]") {
  const test::TempDir dir("report_service");
  run_into("service/three_tiers.yaml", {"duration=3s"}, dir);
  const auto service = model_report("service", report_input(dir.path, {"app"}));
  REQUIRE(!service.empty());
  const ReportTable* pool = table(service[0], "Queues and workers");
  REQUIRE(pool);
  CHECK(pool->rows.at(0).at(0) == "app");
  const auto server = model_report("server", report_input(dir.path, {"db"}));
  REQUIRE(server.size() == 1);
  REQUIRE(table(server[0], "Queues and workers"));
}

TEST_CASE("report: raft lists at most 200 failovers and draws no bars for hundreds", "[report]") {
  const test::TempDir dir("report_raft_many");
  run_into("raft/failover.yaml", {"duration=400s"}, dir);
  const auto failovers = file_rows(dir, "failovers.csv", "replicas", nullptr);
  REQUIRE(failovers.size() > 200);
  const auto sections = model_report("raft", report_input(dir.path, {"replicas"}));
  const ReportSection* f = section(sections, "Raft: failovers");
  REQUIRE(f);
  CHECK(f->figures.empty());
  REQUIRE(table(*f, "Failovers"));
  CHECK(table(*f, "Failovers")->rows.size() == 200);
  CHECK(table(*f, "Failovers")->caption.find("failovers.csv has them all") != std::string::npos);
}
