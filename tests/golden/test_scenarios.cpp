// Every scenario in scenarios/ runs here: it must validate, state what it shows, run
// twice to identical bytes, not hit a limit, pass its own checks, and reproduce its
// golden summary and trace fingerprint (tests/golden/<path>.summary.csv / .fingerprint).
// After an intended change, refresh them with DSIM_UPDATE_GOLDEN=1 and review the diff.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/builtin.h"
#include "sim/run/runner.h"
#include "sim/scenario/check_resolve.h"

using namespace dsim;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> scenario_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(DSIM_SOURCE_DIR) / "scenarios")) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") {
      out.push_back(fs::relative(e.path(), DSIM_SOURCE_DIR).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string golden_stem(const std::string& scenario) {
  std::string s = scenario.substr(std::string("scenarios/").size());
  s = s.substr(0, s.size() - std::string(".yaml").size());
  for (char& c : s) {
    if (c == '/') c = '.';
  }
  return (fs::path(DSIM_SOURCE_DIR) / "tests" / "golden" / s).string();
}

const std::string& file_of(const RunOutput& out, const std::string& name) {
  for (const auto& [n, content] : out.files) {
    if (n == name) return content;
  }
  FAIL("no output file " << name);
  static const std::string kNone;
  return kNone;
}

// Every figure a run reported can be named by a check: its model declared it (MetricDecls),
// or it is an operation, history-checker or run figure the resolver knows.
void check_every_row_is_declared(const ScenarioSpec& spec, const RunOutput& out) {
  std::vector<CheckSpec> rows;
  for (const auto& r : out.summary) {
    CheckSpec c;
    c.text = r.group + "," + r.op + "," + r.metric;
    c.group = r.group;
    c.op = r.op;
    c.metric = r.metric;
    rows.push_back(std::move(c));
  }
  std::vector<std::string> undeclared;
  resolve_checks(spec, rows,
                 [&](const CheckSpec&, const std::string& why) { undeclared.push_back(why); });
  for (const auto& why : undeclared)
    FAIL_CHECK("a summary row no check could name: " << why);
}

}  // namespace

TEST_CASE("scenarios: each validates, is deterministic, passes its checks and matches golden") {
  ModelRegistry registry;
  register_builtin_models(registry);
  const bool update = std::getenv("DSIM_UPDATE_GOLDEN") != nullptr;
  const auto files = scenario_files();
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    DYNAMIC_SECTION(file) {
      Diagnostics diag;
      auto spec = load_scenario((fs::path(DSIM_SOURCE_DIR) / file).string(), {}, registry, diag);
      INFO(diag.render());
      REQUIRE(spec);
      CHECK_FALSE(spec->description.empty());
      RunOptions invariants;
      invariants.check_invariants = true;
      const RunOutput a = run_scenario(*spec, invariants);
      const RunOutput b = run_scenario(*spec);
      REQUIRE(a.files.size() == b.files.size());
      for (size_t i = 0; i < a.files.size(); ++i) {
        INFO("file " << a.files[i].first);
        CHECK(a.files[i].second == b.files[i].second);
      }
      CHECK(a.stats.fingerprint == b.stats.fingerprint);
      CHECK_FALSE(aborted(a.stats.reason));
      for (const auto& c : a.checks) {
        INFO("check " << c.check->text << " = " << (c.value ? std::to_string(*c.value) : "n/a"));
        CHECK(c.passed);
      }
      check_every_row_is_declared(*spec, a);
      const std::string stem = golden_stem(file);
      const std::string summary = file_of(a, "summary.csv");
      char fp[32];
      std::snprintf(fp, sizeof fp, "%016llx\n",
                    static_cast<unsigned long long>(a.stats.fingerprint));
      if (update) {
        fs::create_directories(fs::path(stem).parent_path());
        std::ofstream(stem + ".summary.csv", std::ios::binary) << summary;
        std::ofstream(stem + ".fingerprint", std::ios::binary) << fp;
      }
      INFO("golden files " << stem
                           << ".*; refresh with DSIM_UPDATE_GOLDEN=1 after an intended change");
      REQUIRE(fs::exists(stem + ".summary.csv"));
      CHECK(read_file(stem + ".fingerprint") == fp);
      CHECK(read_file(stem + ".summary.csv") == summary);
    }
  }
}
