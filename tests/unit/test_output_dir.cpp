// What an output directory may replace (sim/run/output_dir.h): dsim recognises every file
// a run writes as its own (the CSV and YAML headers, summary.json, history.edn), and
// nothing else; what is not its own is refused, or with --force moved aside intact.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "sim/run/output_dir.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"
#include "support/scenarios.h"

using namespace dsim;
namespace fs = std::filesystem;

namespace {

const ModelRegistry& registry() {
  return dsim::testing::builtin_registry();
}

// A fresh path (nothing there) in this process's scratch directory.
fs::path scratch(const std::string& name) {
  const fs::path p = dsim::testing::scratch_path("output_dir", name);
  fs::remove_all(p);
  return p;
}

}  // namespace

TEST_CASE("output dir: every file of a key-value run is recognised as dsim's") {
  Diagnostics diag;
  LoadOptions opts;
  opts.overrides = {"duration=3s", "warmup=0s", "consistency.history_edn=true",
                    "groups.registers.params.stop=1s", "groups.lists.params.stop=1s"};
  auto spec =
      load_scenario(DSIM_SOURCE_DIR "/scenarios/kv/single_store.yaml", opts, registry(), diag);
  INFO(diag.render());
  REQUIRE(spec);
  const RunOutput out = run_scenario(*spec);
  bool edn = false, json = false;
  for (const auto& [name, content] : out.files) {
    edn = edn || name == "history.edn";
    json = json || name == "summary.json";
  }
  REQUIRE(edn);
  REQUIRE(json);
  const fs::path dir = scratch("kv");
  std::string err;
  REQUIRE(write_run_directory(dir.string(), out.files, &err));
  CHECK_FALSE(refuse_output_dir(dir.string(), OutputKind::kRun, false));
  CHECK_THAT(*refuse_output_dir(dir.string(), OutputKind::kSweep, false),
             Catch::Contains("the results of a dsim run, not of a sweep"));
  CHECK_FALSE(refuse_output_dir(dir.string(), OutputKind::kSweep, true));

  // A file of the user's among them (its first line looks like dsim's, but is not a
  // header dsim writes): refused; with --force the directory is moved aside whole.
  std::ofstream(dir / "notes.csv") << "# dsim is great\n";
  CHECK_THAT(*refuse_output_dir(dir.string(), OutputKind::kRun, false),
             Catch::Contains("also notes.csv, which dsim did not write") &&
                 Catch::Contains("pass --force"));
  CHECK_FALSE(refuse_output_dir(dir.string(), OutputKind::kRun, true));
  std::string moved;
  CHECK(write_run_directory(dir.string(), out.files, &err, true, &moved));
  CHECK(moved == dir.string() + ".old");
  CHECK_FALSE(fs::exists(dir / "notes.csv"));
  CHECK(fs::exists(fs::path(moved) / "notes.csv"));
  // Its own previous results alone are replaced, nothing moved aside.
  CHECK(write_run_directory(dir.string(), out.files, &err, false, &moved));
  CHECK(moved.empty());
  CHECK_FALSE(fs::exists(dir.string() + ".old.2"));
}

namespace {

std::string content_of(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("output dir: what dsim did not write is refused, and moved aside only with --force") {
  const fs::path dir = scratch("foreign");
  fs::remove_all(dir.string() + ".old");
  fs::create_directories(dir / "sub");
  // A file that merely looks like a summary: the header is not dsim's.
  std::ofstream(dir / "summary.csv") << "group,op,metric,value\n";
  const auto why = refuse_output_dir(dir.string(), OutputKind::kRun, false);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("holds sub/, summary.csv, which dsim did not write") &&
                       Catch::Contains("moved to " + dir.string() + ".old first, not deleted"));
  std::string err, moved;
  CHECK_FALSE(write_run_directory(dir.string(), {{"summary.csv", "# dsim x\n"}}, &err));
  CHECK_THAT(err, Catch::Contains("the results are kept in"));
  CHECK(content_of(dir / "summary.csv") == "group,op,metric,value\n");
  CHECK(write_run_directory(dir.string(), {{"summary.csv", "# dsim x\n"}}, &err, true, &moved));
  CHECK(moved == dir.string() + ".old");
  CHECK(content_of(dir / "summary.csv") == "# dsim x\n");
  CHECK(content_of(fs::path(moved) / "summary.csv") == "group,op,metric,value\n");

  const fs::path file = scratch("a_file");
  fs::remove_all(file.string() + ".old");
  std::ofstream(file) << "x";
  CHECK_THAT(*refuse_output_dir(file.string(), OutputKind::kRun, false),
             Catch::Contains("a file is there"));
  CHECK_FALSE(write_run_directory(file.string(), {{"summary.csv", "# dsim x\n"}}, &err));
  CHECK(content_of(file) == "x");
  CHECK(write_run_directory(file.string(), {{"summary.csv", "# dsim x\n"}}, &err, true, &moved));
  CHECK(content_of(file.string() + ".old") == "x");
  // Nothing there, or an empty directory: fine.
  CHECK_FALSE(refuse_output_dir(scratch("absent").string(), OutputKind::kRun, false));
  const fs::path empty = scratch("empty");
  fs::create_directories(empty);
  CHECK_FALSE(refuse_output_dir(empty.string(), OutputKind::kSweep, false));
}

TEST_CASE("output dir: the current directory is never replaced, even with --force") {
  CHECK_THAT(*refuse_output_dir(".", OutputKind::kRun, true),
             Catch::Contains("the current directory or one above it"));
  CHECK_THAT(*refuse_output_dir("..", OutputKind::kSweep, true),
             Catch::Contains("the current directory or one above it"));
}
