// The HTML report (sim/report): round ticks, escaping and empty charts in the SVG renderer;
// end to end on real runs, the sections, charts that hold data, fault bands, identical
// bytes, no external reference; `dsim report` and `dsim run --report` from the command
// line, and the bad inputs they refuse without writing anything.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "sim/report/architecture_diagram.h"
#include "sim/report/html.h"
#include "sim/report/run_report.h"
#include "sim/report/svg_chart.h"
#include "sim/report/sweep_report.h"
#include "sim/run/output_dir.h"
#include "support/scenarios.h"

using namespace dsim;
using namespace dsim::report;
namespace fs = std::filesystem;

namespace {

// A fresh path (nothing there) in this process's scratch directory.
fs::path scratch(const std::string& name) {
  const fs::path p = dsim::testing::scratch_path("html_report", name);
  fs::remove_all(p);
  return p;
}

// Runs a scenario file of the repository with overrides and writes its directory.
fs::path run_into(const std::string& scenario, const std::vector<std::string>& overrides,
                  const std::string& name) {
  Diagnostics diag;
  LoadOptions opts;
  opts.overrides = overrides;
  auto spec = load_scenario(std::string(DSIM_SOURCE_DIR) + "/" + scenario, opts,
                            dsim::testing::builtin_registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  const fs::path dir = scratch(name);
  std::string err;
  REQUIRE(write_run_directory(dir.string(), out.files, &err));
  return dir;
}

std::string render(const fs::path& dir) {
  std::string err;
  auto html = render_run_report(directory_files(dir.string()), dir.string(),
                                dsim::testing::builtin_registry(), &err);
  INFO(err);
  REQUIRE(html);
  return *html;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the dsim binary; returns its exit code and what it printed (stdout and stderr).
std::pair<int, std::string> dsim_cli(const std::string& args) {
  const std::string cmd = std::string(DSIM_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Every chart's data-points, in page order.
std::vector<long> chart_points(const std::string& html) {
  std::vector<long> out;
  const std::regex re("<figure class=\"chart\"[^>]* data-points=\"([0-9]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back(std::stol((*it)[1]));
  return out;
}

// What would make a browser fetch something: a source, a link, a style import or url().
void require_self_contained(const std::string& html) {
  for (const char* bad : {"src=", "href=\"http", "href='http", "url(http", "@import", "<script",
                          "<link", "xlink:href=\"http"}) {
    INFO(bad);
    CHECK(html.find(bad) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("report: linear ticks are round 1-2-5 steps covering the range", "[report]") {
  CHECK(nice_ticks(0, 97) == std::vector<double>{0, 20, 40, 60, 80, 100});
  CHECK(nice_ticks(3, 7) == std::vector<double>{3, 4, 5, 6, 7});
  CHECK(nice_ticks(0.13, 0.92) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1});
  const auto tenths = nice_ticks(0.1, 0.55);
  REQUIRE(tenths.size() == 6);
  CHECK(tenths.front() == 0.1);
  CHECK(tenths[2] == 0.3);  // exactly, not 0.30000000000000004
  CHECK(tenths.back() == 0.6);
  CHECK(nice_ticks(-42, 0) == std::vector<double>{-50, -40, -30, -20, -10, 0});
  CHECK(nice_ticks(1200, 17000) ==
        std::vector<double>{0, 5000, 10000, 15000, 20000});  // steps of 5 * 10^3
  // One value: a range around it, from zero when it is not negative.
  CHECK(nice_ticks(0, 0).front() == 0);
  CHECK(nice_ticks(0, 0).back() > 0);
  CHECK(nice_ticks(5, 5).front() <= 5);
  CHECK(nice_ticks(5, 5).back() >= 5);
}

TEST_CASE("report: log ticks are decades covering the range", "[report]") {
  CHECK(decade_ticks(0.7, 420) == std::vector<double>{0.1, 1, 10, 100, 1000});
  CHECK(decade_ticks(2, 3) == std::vector<double>{1, 10});
  const auto wide = decade_ticks(1e-3, 1e12);  // 15 decades: every second one
  CHECK(wide.front() == Approx(1e-3));
  CHECK(wide.back() >= 1e12);
  CHECK(wide.size() <= 9);
}

TEST_CASE("report: a call that skips a column goes over the boxes between", "[report]") {
  const std::string svg = render_architecture({{"clients", "client", 2, {"web", "db"}},
                                               {"web", "service", 1, {"cache"}},
                                               {"cache", "cache", 1, {"db"}},
                                               {"db", "kv_store", 1, {}}});
  CHECK(svg.find("data-calls=\"4\"") != std::string::npos);
  // clients -> db skips two columns: its path runs along the margin above the boxes (y 7).
  const std::regex over("<path d=\"M[^\"]*C[^\"]* 7\\.0H[^\"]*\"[^>]*><title>clients calls db<");
  CHECK(std::regex_search(svg, over));
  const std::regex direct("<path d=\"M[0-9. ]*C[0-9. ]*\"[^>]*><title>web calls cache<");
  CHECK(std::regex_search(svg, direct));
}

TEST_CASE("report: text is escaped in HTML and SVG", "[report]") {
  CHECK(escape("<a href='x'>\"b\" & c</a>") ==
        "&lt;a href=&#39;x&#39;&gt;&quot;b&quot; &amp; c&lt;/a&gt;");
  ReportFigure f;
  f.title = "p99 <ms> & \"more\"";
  f.series.push_back({"<script>alert(1)</script>", {{0, 1}, {1, 2}}});
  f.bands.push_back({0.2, 0.5, "crash#1 <x>"});
  const std::string svg = render_chart(f);
  CHECK(svg.find("<script>") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(svg.find("p99 &lt;ms&gt; &amp; &quot;more&quot;") != std::string::npos);
  CHECK(svg.find("crash#1 &lt;x&gt;") != std::string::npos);
  CHECK(svg.find("data-series=\"1\" data-points=\"2\" data-bands=\"1\"") != std::string::npos);
}

TEST_CASE("report: a chart without data says so instead of drawing empty axes", "[report]") {
  ReportFigure f;
  f.title = "nothing";
  f.series.push_back({"a", {}});
  std::string html = render_chart(f);
  CHECK(html.find("data-points=\"0\"") != std::string::npos);
  CHECK(html.find("No data") != std::string::npos);
  CHECK(html.find("<svg") == std::string::npos);
  // On a log axis, zero and negative values cannot be drawn.
  f.log_x = true;
  f.series[0].points = {{0, 1}, {-1, 2}};
  html = render_chart(f);
  CHECK(html.find("data-points=\"0\"") != std::string::npos);
  CHECK(html.find("no point can be drawn") != std::string::npos);
}

TEST_CASE("report: long series are down-sampled keeping their extremes", "[report]") {
  std::vector<std::pair<double, double>> p;
  for (int i = 0; i < 100000; ++i)
    p.emplace_back(i, i == 51234 ? 1000.0 : (i == 7777 ? -1000.0 : i % 7));
  const auto d = downsample(p, 1000);
  CHECK(d.size() <= 1000);
  CHECK(d.front() == p.front());
  CHECK(d.back() == p.back());
  CHECK(std::count(d.begin(), d.end(), p[51234]) == 1);
  CHECK(std::count(d.begin(), d.end(), p[7777]) == 1);
  CHECK(std::is_sorted(d.begin(), d.end()));  // x order kept
  CHECK(downsample(p, 1000) == d);            // deterministic
  const std::vector<std::pair<double, double>> few = {{0, 1}, {1, 2}};
  CHECK(downsample(few, 1000) == few);
}

TEST_CASE("report: the quickstart's report has every section and charts with data", "[report]") {
  const fs::path dir =
      run_into("scenarios/quickstart.yaml", {"duration=4s", "warmup=1s"}, "quickstart");
  const std::string html = render(dir);
  CHECK(html.starts_with("<!-- # dsim "));
  for (const char* id :
       {"scenario", "summary", "latency", "over-time", "faults", "load-per-node", "the-run"}) {
    INFO(id);
    CHECK(html.find(std::string("<section id=\"") + id + "\">") != std::string::npos);
  }
  CHECK(html.find("id=\"messages\"") == std::string::npos);  // no diagram.svg
  // The architecture: two groups, the clients calling the web tier.
  CHECK(html.find("class=\"architecture\" data-groups=\"2\" data-calls=\"1\"") !=
        std::string::npos);
  CHECK(html.find("clients calls web") != std::string::npos);
  // Checks with their verdicts.
  CHECK(html.find("latency_ms_p99 &lt; 50") != std::string::npos);
  const auto points = chart_points(html);
  CHECK(points.size() >= 8);
  for (long n : points)
    CHECK(n > 0);
  require_self_contained(html);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  // The same files give the same bytes.
  CHECK(render(dir) == html);

  // A message diagram in the directory: its own section, the SVG inline without its XML
  // prolog and namespace (implied in HTML).
  std::ofstream(dir / "diagram.svg", std::ios::binary)
      << "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
         "class=\"msgs\"><text>ping</text></svg>\n";
  const std::string with_diagram = render(dir);
  CHECK(with_diagram.find("<section id=\"messages\">") != std::string::npos);
  CHECK(with_diagram.find("<svg class=\"msgs\"><text>ping</text></svg>") != std::string::npos);
  CHECK(with_diagram.find("http://") == std::string::npos);
  CHECK(with_diagram.find("<?xml") == std::string::npos);
}

TEST_CASE("report: faults are bands on every time series", "[report]") {
  const fs::path dir =
      run_into("scenarios/raft/leader_crash.yaml", {"duration=16s", "warmup=1s"}, "raft");
  const std::string html = render(dir);
  // Four time-series charts and Raft's leader over time, each with the crash as a band
  // labelled kind#id.
  const auto points = chart_points(html);
  CHECK(std::count_if(points.begin(), points.end(), [](long n) { return n > 0; }) >= 8);
  size_t bands = 0;
  for (size_t at = 0; (at = html.find("data-bands=\"1\"", at)) != std::string::npos; ++at)
    ++bands;
  CHECK(bands == 5);
  CHECK(html.find(">crash#1</text>") != std::string::npos);
  CHECK(html.find("<td class=\"text\">crash</td>") != std::string::npos);  // the faults table
  // Same scenario and seed, another directory: the same page but for nothing.
  const fs::path again =
      run_into("scenarios/raft/leader_crash.yaml", {"duration=16s", "warmup=1s"}, "raft2");
  std::string other = render(again);
  const std::string a = dir.string(), b = again.string();
  for (size_t at; (at = other.find(b)) != std::string::npos;)
    other.replace(at, b.size(), a);
  CHECK(other == html);
}

TEST_CASE("report: a directory that is not a run, or a malformed file, is refused", "[report]") {
  const ModelRegistry& reg = dsim::testing::builtin_registry();
  std::string err;
  const fs::path empty = scratch("empty");
  fs::create_directories(empty);
  CHECK_FALSE(render_run_report(directory_files(empty.string()), empty.string(), reg, &err));
  CHECK_THAT(err, Catch::Contains("not a run directory"));

  const fs::path dir =
      run_into("scenarios/quickstart.yaml", {"duration=2s", "warmup=0s"}, "malformed");
  {
    std::ofstream f(dir / "latency.csv", std::ios::app);
    f << "clients,read,1,2\n";  // a cell short
  }
  err.clear();
  CHECK_FALSE(render_run_report(directory_files(dir.string()), dir.string(), reg, &err));
  CHECK_THAT(err, Catch::Contains("latency.csv: line ") && Catch::Contains("4 cells"));
}

TEST_CASE("report: report.html is dsim's own file in a run directory", "[report]") {
  const fs::path dir = run_into("scenarios/quickstart.yaml", {"duration=2s", "warmup=0s"}, "owned");
  std::ofstream(dir / "report.html", std::ios::binary) << render(dir);
  CHECK(written_by_dsim((dir / "report.html").string()));
  CHECK_FALSE(refuse_output_dir(dir.string(), OutputKind::kRun, false));
  // A page of the user's is not.
  std::ofstream(dir / "notes.html") << "<!-- my notes -->\n<p>hi</p>\n";
  CHECK_FALSE(written_by_dsim((dir / "notes.html").string()));
  CHECK(refuse_output_dir(dir.string(), OutputKind::kRun, false));
}

TEST_CASE("report: dsim report and dsim run --report from the command line", "[report]") {
  const fs::path dir = scratch("cli");
  const std::string scenario = std::string(DSIM_SOURCE_DIR) + "/scenarios/quickstart.yaml";
  auto [code, out] = dsim_cli("run " + scenario +
                              " --set duration=2s --set warmup=0s --report --out " + dir.string());
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("report: " + dir.string() + "/report.html"));
  const std::string page = read(dir / "report.html");
  CHECK(page.find("<section id=\"latency\">") != std::string::npos);
  // Rendered again from the directory: the same bytes; the path printed.
  std::tie(code, out) = dsim_cli("report " + dir.string());
  CHECK(code == 0);
  CHECK(out == dir.string() + "/report.html\n");
  CHECK(read(dir / "report.html") == page);
  // The run directory with its report is still dsim's to replace.
  std::tie(code, out) =
      dsim_cli("run " + scenario + " --set duration=2s --set warmup=0s -q --out " + dir.string());
  CHECK(code == 0);
  CHECK(out.empty());

  // --out over a file dsim did not write: refused, the file untouched.
  const fs::path mine = scratch("mine.html");
  std::ofstream(mine) << "<p>mine</p>\n";
  std::tie(code, out) = dsim_cli("report " + dir.string() + " --out " + mine.string());
  CHECK(code == 2);
  CHECK_THAT(out, Catch::Contains(mine.string()) && Catch::Contains("did not write"));
  CHECK(read(mine) == "<p>mine</p>\n");

  // --out over one of the run's other files: refused too.
  const std::string summary = read(dir / "summary.csv");
  std::tie(code, out) =
      dsim_cli("report " + dir.string() + " --out " + (dir / "summary.csv").string());
  CHECK(code == 2);
  CHECK_THAT(out, Catch::Contains("not a report"));
  CHECK(read(dir / "summary.csv") == summary);

  // Not a run directory: exit 2, nothing written.
  const fs::path empty = scratch("not_a_run");
  fs::create_directories(empty);
  std::tie(code, out) = dsim_cli("report " + empty.string());
  CHECK(code == 2);
  CHECK_THAT(out, Catch::Contains("not a run directory"));
  CHECK(fs::is_empty(empty));

  // A malformed CSV: exit 2, naming the file and line; the old report stays as it was.
  std::ofstream(dir / "nodes.csv", std::ios::app) << "\"unclosed\n";
  const std::string before = read(dir / "report.html");
  std::tie(code, out) = dsim_cli("report " + dir.string());
  CHECK(code == 2);
  CHECK_THAT(out, Catch::Contains("nodes.csv: line "));
  CHECK(read(dir / "report.html") == before);
}

TEST_CASE("report: a sweep's report draws its figures against the swept values", "[report]") {
  const fs::path dir = scratch("sweep");
  auto [code, out] = dsim_cli("sweep " + std::string(DSIM_SOURCE_DIR) +
                              "/tests/sweep/tiny_sweep.yaml -q -j 1 --out " + dir.string());
  INFO(out);
  REQUIRE(code == 1);  // one worker cannot keep up at the highest rate: a check fails
  std::tie(code, out) = dsim_cli("report " + dir.string());
  REQUIRE(code == 0);
  const std::string html = read(dir / "report.html");
  CHECK(html.starts_with("<!-- # dsim "));
  // Four figures of the end users against the rate, one per worker count, each with the
  // mean, the interval and the worst run.
  const auto points = chart_points(html);
  CHECK(points.size() == 4 * 3);
  for (long n : points)
    CHECK(n >= 3 * 3);  // a worst replication that completed nothing has no latency
  for (const char* title : {"<h3>availability of all/all, workers=1</h3>",
                            "<h3>latency_ms_p99 of all/all, workers=4</h3>", ">rate (/s)</text>"})
    CHECK(html.find(title) != std::string::npos);
  CHECK(html.find("data-series=\"4\"") != std::string::npos);
  CHECK(html.find("95% CI low") != std::string::npos);
  // Per point and check: passes and a failing point marked.
  CHECK(html.find("<tr class=\"fail\">") != std::string::npos);
  CHECK(html.find("<tr class=\"pass\">") != std::string::npos);
  CHECK(html.find("dsim run sweep.yaml --seed ") != std::string::npos);
  require_self_contained(html);
  // The sweep's directory with its report is still dsim's to replace.
  CHECK_FALSE(refuse_output_dir(dir.string(), OutputKind::kSweep, false));
}

namespace {

// A sweep.csv of the given swept keys and points, each point with an availability of 1.
std::string sweep_csv(const std::vector<std::string>& keys,
                      const std::vector<std::vector<std::string>>& points) {
  std::string csv = "# dsim 0.1.0 seed=1 sweep=made\npoint,";
  for (const auto& k : keys)
    csv += k + ",";
  csv += "group,op,metric,n,mean,ci95_lo,ci95_hi,worst,worst_replication\n";
  for (size_t p = 0; p < points.size(); ++p) {
    csv += std::to_string(p) + ",";
    for (const auto& v : points[p])
      csv += v + ",";
    csv += "all,all,availability,3,1,1,1,1,0\n";
  }
  return csv;
}

}  // namespace

TEST_CASE("report: a sweep of several keys is drawn against one with a curve per other",
          "[report]") {
  std::string error;
  SECTION("a key zipped with the x axis draws no curves of its own") {
    std::vector<std::vector<std::string>> points;
    for (const char* timeout : {"100ms", "200ms"})
      for (int i = 1; i <= 3; ++i)
        points.push_back({timeout, std::to_string(5 * i) + "/s", std::to_string(i) + "s"});
    const auto html = render_sweep_report(
        memory_files({{"sweep.csv", sweep_csv({"a.timeout", "a.rate", "a.window"}, points)}}),
        "made", &error);
    REQUIRE(html);
    // rate and window advance together, with more values than timeout: the later one is the
    // x axis, rate follows from it, and each timeout is a curve of 3 points.
    CHECK(html->find(">window (s)</text>") != std::string::npos);
    CHECK(html->find("<h3>availability of all/all, timeout=100ms</h3>") != std::string::npos);
    const auto n = chart_points(*html);
    CHECK(n.size() == 2 + 3);  // the metrics sweep.csv lacks are one figure without data
    CHECK(std::count(n.begin(), n.end(), 3 * 4) == 2);
  }
  SECTION("a key of words is an axis of names") {
    const auto html = render_sweep_report(
        memory_files({{"sweep.csv", sweep_csv({"a.service"}, {{"\"exponential(mean=1ms)\""},
                                                              {"\"uniform(1ms 3ms)\""}})}}),
        "made", &error);
    REQUIRE(html);
    CHECK(html->find(">uniform(1ms 3ms)</text>") != std::string::npos);
    CHECK(html->find(">service</text>") != std::string::npos);
  }
  SECTION("up to six curves each get their own figures") {
    std::vector<std::vector<std::string>> points;
    for (int p = 1; p <= 7; ++p)
      for (int r : {1, 2})
        points.push_back({std::to_string(p) + "s", std::to_string(r)});
    const auto html = render_sweep_report(
        memory_files({{"sweep.csv", sweep_csv({"a.pause", "a.rate"}, points)}}), "made", &error);
    REQUIRE(html);
    // pause has the most values: the x axis; each rate is a figure of 7 points per series.
    CHECK(html->find(">pause (s)</text>") != std::string::npos);
    CHECK(html->find("<h3>availability of all/all, rate=2</h3>") != std::string::npos);
    const auto n = chart_points(*html);
    CHECK(n.size() == 2 + 3);  // the metrics sweep.csv lacks are one figure without data
    CHECK(std::count(n.begin(), n.end(), 7 * 4) == 2);
  }
  SECTION("past six curves one figure per metric holds every mean") {
    std::vector<std::vector<std::string>> points;
    for (int w = 1; w <= 9; ++w)
      for (int r = 1; r <= 7; ++r)
        points.push_back({std::to_string(w), std::to_string(r)});
    const auto html = render_sweep_report(
        memory_files({{"sweep.csv", sweep_csv({"a.workers", "a.rate"}, points)}}), "made", &error);
    REQUIRE(html);
    const auto n = chart_points(*html);
    CHECK(n.size() == 4);
    CHECK(std::count(n.begin(), n.end(), 9 * 7) == 1);
    CHECK(html->find("data-series=\"7\"") != std::string::npos);
    CHECK(html->find("rate=7") != std::string::npos);
  }
}

TEST_CASE("report: a model's report hook gets its groups and the run's files", "[report]") {
  // The built-in models, the server's with a report hook of the test's.
  const ModelRegistry& builtin = dsim::testing::builtin_registry();
  std::vector<std::string> groups;
  bool absent_is_nullopt = false, read_bad = false;
  ModelRegistry reg;
  for (const ModelFactory* f : builtin.all()) {
    ModelFactory copy = *f;
    if (copy.name == "server") {
      copy.report = [&](const ReportInput& in) {
        groups = in.groups;
        absent_is_nullopt = !in.table("no_such.csv");
        if (read_bad) in.table("bad.csv");
        ReportSection s;
        s.title = "Web tier";
        const auto nodes = in.table("nodes.csv");
        s.text = nodes ? std::to_string(nodes->rows.size()) + " nodes in the run" : "";
        ReportFigure served;
        served.title = "Requests served";
        served.kind = ReportFigure::Kind::bars;
        served.categories = {"web"};
        served.series = {{"served", {{0, in.figure("web", "", "served").value_or(-1)}}}};
        served.bands = in.fault_bands;
        s.figures.push_back(std::move(served));
        return std::vector<ReportSection>{s};
      };
    }
    reg.add(std::move(copy));
  }
  for (const auto& family : builtin.families())
    reg.add_family(family);

  const fs::path dir =
      run_into("scenarios/quickstart.yaml", {"duration=2s", "warmup=0s"}, "model_hook");
  std::string err;
  const auto html = render_run_report(directory_files(dir.string()), dir.string(), reg, &err);
  INFO(err);
  REQUIRE(html);
  CHECK(groups == std::vector<std::string>{"web"});
  CHECK(absent_is_nullopt);
  CHECK(html->find("<section id=\"web-tier\">") != std::string::npos);
  CHECK(html->find("23 nodes in the run") != std::string::npos);
  CHECK(html->find("data-kind=\"bars\" data-series=\"1\" data-points=\"1\"") != std::string::npos);

  // A malformed file a hook reads fails the report, naming the file and line.
  std::ofstream(dir / "bad.csv") << "a,b\n\"unclosed\n";
  read_bad = true;
  CHECK_FALSE(render_run_report(directory_files(dir.string()), dir.string(), reg, &err));
  CHECK_THAT(err, Catch::Contains("bad.csv: line 2"));
}

TEST_CASE("report: with many nodes the load is drawn per group", "[report]") {
  const fs::path dir = run_into(
      "scenarios/quickstart.yaml",
      {"duration=1s", "warmup=0s", "groups.clients.count=200", "groups.clients.params.rate=5/s"},
      "many_nodes");
  const std::string html = render(dir);
  // 203 nodes: per group, the mean and the busiest node, received and sent.
  const size_t at = html.find("<section id=\"load-per-node\">");
  REQUIRE(at != std::string::npos);
  const std::string load = html.substr(at, html.find("</section>", at) - at);
  CHECK(load.find("Messages per node, by group") != std::string::npos);
  CHECK(load.find("data-series=\"4\" data-points=\"8\"") != std::string::npos);
  CHECK(load.find("received, busiest node") != std::string::npos);
  CHECK(load.find(">clients.0<") == std::string::npos);  // no bar per node
}

TEST_CASE("report: a cycle-driven run's report names its engine and draws the spread", "[report]") {
  const fs::path dir = run_into("scenarios/scale/gossip_million.yaml",
                                {"groups.0.count=2000", "duration=15.5s"}, "cycles");
  CHECK_FALSE(fs::exists(dir / "latency.csv"));  // a cycle run writes no event files
  const std::string html = render(dir);
  CHECK(html.find("<dt>engine</dt><dd>cycles (turns in a random order") != std::string::npos);
  CHECK(html.find("<section id=\"gossip") != std::string::npos);
  const auto points = chart_points(html);
  CHECK(std::any_of(points.begin(), points.end(), [](long n) { return n >= 5; }));
  CHECK(render(dir) == html);
}
