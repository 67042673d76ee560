// dsim: the command-line interface.
#include <CLI/CLI.hpp>

#include <iostream>

#include "dsim/version.h"
#include "models/builtin.h"
#include "sim/app/commands.h"
#include "sim/app/study_commands.h"
#include "sim/core/assert.h"
#include "sim/core/registry.h"

int main(int argc, char** argv) {
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);

  CLI::App app{"dsim: a deterministic discrete-event simulator of distributed architectures"};
  app.set_version_flag("--version", std::string("dsim ") + dsim::kVersion);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 aborted by a limit, "
      "4 determinism check failed.");

  dsim::RunArgs run_args;
  auto* run = app.add_subcommand("run", "run a scenario and write its results");
  run->add_option("file", run_args.file, "scenario file (YAML)")->required();
  run->add_option("--seed", run_args.seed, "root seed (replaces the scenario's)");
  run->add_option("--out", run_args.out, "results directory (default runs/<scenario>-<seed>)");
  run->add_option("--set", run_args.overrides, "override a scenario key: key.path=value")
      ->take_all()
      ->allow_extra_args(false);
  run->add_flag("--quiet,-q", run_args.quiet, "print nothing but errors");
  run->add_flag("--json", run_args.json, "print the summary as JSON");
  run->add_flag("--check-determinism", run_args.check_determinism,
                "run twice in one process and fail if any output byte differs");
  run->add_flag("--check-invariants", run_args.check_invariants,
                "check every model's invariants after each handler");

  std::vector<std::string> validate_files, validate_overrides;
  auto* validate = app.add_subcommand("validate", "check scenario files without running them");
  validate->add_option("files", validate_files, "scenario files")->required();
  validate->add_option("--set", validate_overrides, "override a scenario key: key.path=value")
      ->allow_extra_args(false);

  std::string list_what, list_only;
  auto* list = app.add_subcommand("list", "list what scenarios can use");
  list->add_option("what", list_what, "models")->required()->check(CLI::IsMember({"models"}));
  list->add_option("name", list_only, "show only this one");

  dsim::BenchArgs bench_args;
  auto* bench = app.add_subcommand(
      "bench", "engine benchmarks: print events and simulated seconds (wall time on stderr)");
  bench->require_subcommand(1);
  auto* phold = bench->add_subcommand(
      "phold", "PHOLD workloads through the full engine (model phold, ../shared/bench/README.md)");
  phold->add_option("--workload", bench_args.workload, "timers or net")
      ->check(CLI::IsMember({"timers", "net"}))
      ->capture_default_str();
  phold->add_option("--nodes", bench_args.nodes, "nodes (hosts)")
      ->check(CLI::Range(1u, 50'000'000u))
      ->capture_default_str();
  phold->add_option("--tokens", bench_args.tokens, "tokens in all, started round robin")
      ->check(CLI::Range(uint64_t{0}, uint64_t{4'294'967'295}))
      ->capture_default_str();
  phold->add_option("--end-s", bench_args.end_s, "simulated seconds")->capture_default_str();
  phold->add_option("--seed", bench_args.seed, "root seed")->capture_default_str();
  phold->add_flag("--print-scenario", bench_args.print_scenario,
                  "print the scenario it runs (for dsim run) and stop");

  dsim::StudyCommands study(app);  // sweep, merge, analyze

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : dsim::kExitBadInput;
  }
  try {
    if (*run) return dsim::cmd_run(run_args, registry);
    if (*validate) return dsim::cmd_validate(validate_files, validate_overrides, registry);
    if (*list) return dsim::cmd_list_models(registry, list_only);
    if (*phold) return dsim::cmd_bench(bench_args, registry);
    if (auto code = study.run(registry)) return *code;
  } catch (const dsim::InvariantBroken& e) {
    std::cerr << "dsim: internal error, a bug in dsim (please report it with the scenario and "
                 "seed): "
              << e.what() << "\n";
    return dsim::kExitInternalError;
  }
  return dsim::kExitBadInput;
}
