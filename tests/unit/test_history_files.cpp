// history.csv and the Jepsen EDN export, line by line.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "models/builtin.h"
#include "models/kv/check/history_files.h"
#include "models/kv/history.h"
#include "sim/run/runner.h"
#include "support/history_builder.h"

using namespace dsim;
using namespace dsim::kv::check;
using dsim::testing::HistoryBuilder;
using O = HistoryOutcome;

namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] != '#' && l[0] != ';') out.push_back(l);
  return out;
}

const NodeNamer kNames = [](NodeId n) { return "clients." + std::to_string(n); };

// The first way `edn` breaks Jepsen's rules for a history, or "": indices count up from 0;
// times never go back; each process alternates an :invoke and its completion (:ok, :fail
// or :info, with the same :f), and a process whose operation ended :info is not used again.
std::string ill_formed(const std::string& edn) {
  static const std::regex kLine(
      R"(^\{:type :(invoke|ok|fail|info), :f (:\w+), .*:process (\d+), :time (\d+), :index (\d+),)");
  std::map<uint64_t, std::string> open;  // process -> the :f of its pending invocation
  std::set<uint64_t> crashed;
  int64_t last_time = -1;
  uint64_t index = 0;
  for (const std::string& l : lines(edn)) {
    std::smatch m;
    if (!std::regex_search(l, m, kLine)) return "unreadable line: " + l;
    const std::string type = m[1], f = m[2];
    const uint64_t process = std::stoull(m[3]);
    const int64_t time = std::stoll(m[4]);
    if (std::stoull(m[5]) != index++) return "index out of order: " + l;
    if (time < last_time) return "time goes back: " + l;
    last_time = time;
    if (crashed.count(process)) return "a process used after :info: " + l;
    if (type == "invoke") {
      if (open.count(process)) return "two invocations without a completion: " + l;
      open[process] = f;
      continue;
    }
    auto it = open.find(process);
    if (it == open.end()) return "a completion without its invocation: " + l;
    if (it->second != f) return "a completion of another :f: " + l;
    open.erase(it);
    if (type == "info") crashed.insert(process);
  }
  return "";
}

}  // namespace

TEST_CASE("history files: history.csv has one row per operation") {
  HistoryBuilder b;
  b.put(7, 10, 1000, 2000, O::kOk, 1, 2);
  b.cas(7, std::nullopt, 11, 1500, 2500, O::kFail);
  b.get(7, {10}, 3000, 4000);
  b.append(8, 5, 3000, -1);
  const auto l = lines(render_history_csv(b.build(), kNames, "# header\n"));
  REQUIRE(l.size() == 5);
  CHECK(l[0] ==
        "index,client,session,op,key,value,expected,read,outcome,invoke_ns,complete_ns,attempts,"
        "idempotency_key,final");
  CHECK(l[1] == "0,clients.1,2,put,7,10,,,ok,1000,2000,1,0,0");
  CHECK(l[2] == "1,clients.0,0,cas,7,11,absent,,fail,1500,2500,1,0,0");
  CHECK(l[3] == "2,clients.0,0,get,7,,,10,ok,3000,4000,1,0,0");
  CHECK(l[4] == "3,clients.0,0,append,8,5,,,unknown,3000,,1,0,0");
}

TEST_CASE("history files: EDN in Jepsen's format, registers as Knossos ops, lists as Elle txns") {
  HistoryBuilder b;
  b.put(7, 10, 1000, 2000, O::kOk, 1);
  b.cas(7, 10, 11, 2500, 2600, O::kFail, 1);
  b.get(7, {10}, 3000, 4000, O::kOk, 2);
  b.append(8, 5, 1500, 1800, O::kUnknown, 3);
  b.get(8, {5}, 5000, 6000, O::kOk, 1);
  const auto l = lines(render_history_edn(b.build(), kNames, ";; header\n"));
  REQUIRE(l.size() == 10);
  CHECK(l[0] ==
        "{:type :invoke, :f :write, :value [7 10], :process 0, :time 1000, :index 0, :client "
        "\"clients.1\", :session 0}");
  CHECK(l[1] ==
        "{:type :invoke, :f :txn, :value [[:append 8 5]], :process 1, :time 1500, :index 1, "
        ":client \"clients.3\", :session 0}");
  CHECK(l[2] ==
        "{:type :info, :f :txn, :value [[:append 8 5]], :process 1, :time 1800, :index 2, "
        ":client \"clients.3\", :session 0}");
  CHECK(l[3].starts_with("{:type :ok, :f :write, :value [7 10], :process 0, :time 2000"));
  // Process 0 is idle again and takes the cas; process 1 is retired after its :info.
  CHECK(l[4].starts_with("{:type :invoke, :f :cas, :value [7 [10 11]], :process 0, :time 2500"));
  CHECK(l[5].starts_with("{:type :fail, :f :cas, :value [7 [10 11]], :process 0"));
  CHECK(l[6].starts_with("{:type :invoke, :f :read, :value [7 nil], :process 0, :time 3000"));
  CHECK(l[7].starts_with("{:type :ok, :f :read, :value [7 10], :process 0, :time 4000"));
  CHECK(l[8].starts_with("{:type :invoke, :f :txn, :value [[:r 8 nil]], :process 0, :time 5000"));
  CHECK(l[9].starts_with("{:type :ok, :f :txn, :value [[:r 8 [5]]], :process 0, :time 6000"));
}

TEST_CASE("history files: one line per operation for counterexamples") {
  HistoryBuilder b;
  b.get(7, {10, 11}, 1'500'000'000, 1'500'250'000, O::kOk, 4, 1);
  CHECK(describe_op(b.build(), 0, kNames) ==
        "#0 clients.4/s1 get key 7 -> [10 11] ok [1.500000000 s, 1.500250000 s]");
}

namespace {

// Whether some group of the scenario records an operation history.
// Whether some group of the scenario records a key-value history (the one history.edn
// exports).
bool records_kv_history(const ScenarioSpec& spec) {
  for (const auto& g : spec.groups) {
    if (!g.factory || !g.config) continue;
    MetricDecls d;
    g.factory->declare(g.config.get(), d);
    for (const auto& h : d.histories())
      if (h == kv::kKvFamily.name) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("history files: every exported EDN history is well formed, its end included") {
  namespace fs = std::filesystem;
  ModelRegistry registry;
  register_builtin_models(registry);
  auto load = [&](const std::string& file, std::vector<std::string> overrides) {
    overrides.push_back("consistency.history_edn=true");
    Diagnostics diag;
    auto spec = load_scenario(file, {overrides, {}}, registry, diag);
    INFO(diag.render());
    REQUIRE(spec);
    return std::move(*spec);
  };
  auto edn_of = [](const ScenarioSpec& spec) {
    for (const auto& [name, content] : run_scenario(spec).files)
      if (name == "history.edn") return content;
    return std::string();
  };
  const std::string root = DSIM_SOURCE_DIR;
  // An operation invoked at the last instant, still in flight: its :info after its :invoke.
  const std::string short_run =
      edn_of(load(root + "/scenarios/kv/single_store.yaml", {"duration=0.05s", "warmup=0s"}));
  REQUIRE_FALSE(short_run.empty());
  CHECK(ill_formed(short_run).empty());
  INFO(ill_formed(short_run));
  // Every scenario with a key-value history but the benchmarks and the cache studies
  // (those without one are not run), each history cut at 8 MiB (a cut history's end is one
  // more case of a well-formed file) and without the linearizability search, which the
  // files do not need. The cache scenarios' histories are kv_client's, as kv/'s and
  // quorum/'s, only far larger (10^5 to 10^6 operations): under the sanitizers they alone
  // took eight minutes. The sanitizer build checks every DSIM_EDN_STRIDE-th of them in path
  // order (CMakePresets.json); this one checks all.
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root + "/scenarios")) {
    const auto folder = e.path().parent_path().filename();
    if (e.path().extension() == ".yaml" && folder != "bench" && folder != "cache")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<ScenarioSpec> specs;
  for (const auto& f : files) {
    ScenarioSpec spec =
        load(f.string(), {"consistency.history_memory=8MiB", "consistency.linearizability=false"});
    if (records_kv_history(spec)) specs.push_back(std::move(spec));
  }
  REQUIRE(specs.size() >= 20);
  const char* stride_env = std::getenv("DSIM_EDN_STRIDE");
  const size_t stride = stride_env ? static_cast<size_t>(std::max(1, std::atoi(stride_env))) : 1;
  for (size_t i = 0; i < specs.size(); i += stride) {
    const std::string edn = edn_of(specs[i]);
    INFO(specs[i].name << ": " << ill_formed(edn));
    CHECK_FALSE(edn.empty());
    CHECK(ill_formed(edn).empty());
  }
}
