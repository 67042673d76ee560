// dsim: the command-line interface.
#include <CLI/CLI.hpp>

#include <iostream>

#include "dsim/version.h"
#include "models/builtin.h"
#include "sim/app/commands.h"
#include "sim/app/study_commands.h"
#include "sim/core/assert.h"
#include "sim/core/registry.h"

namespace {

// The subcommands of single scenarios and models: run, report, diagram, validate, list,
// bench and cache.
class CoreCommands {
 public:
  explicit CoreCommands(CLI::App& app) {
    add_run(app);
    add_report(app);
    add_validate(app);
    add_list(app);
    add_bench(app);
    add_cache(app);
    add_diagram(app);
  }

  /// The exit code of the chosen command; nullopt when none of these was chosen.
  std::optional<int> run(const dsim::ModelRegistry& registry) {
    if (*run_) return dsim::cmd_run(run_args_, registry);
    if (*report_) return dsim::cmd_report(report_args_, registry);
    if (*validate_) return dsim::cmd_validate(validate_files_, validate_overrides_, registry);
    if (*list_) return dsim::cmd_list_models(registry, list_only_, list_markdown_);
    if (*phold_) return dsim::cmd_bench(bench_args_, registry);
    if (*replay_) return dsim::cmd_cache_replay(replay_args_);
    if (*diagram_) return dsim::cmd_diagram(diagram_args_, registry);
    return std::nullopt;
  }

 private:
  void add_run(CLI::App& app) {
    run_ = app.add_subcommand("run", "run a scenario and write its results");
    run_->add_option("file", run_args_.file, "scenario file (YAML)")->required();
    run_->add_option("--seed", run_args_.seed, "root seed (replaces the scenario's)");
    run_->add_option("--out", run_args_.out, "results directory (default runs/<scenario>-<seed>)");
    run_->add_option("--set", run_args_.overrides, "override a scenario key: key.path=value")
        ->take_all()
        ->allow_extra_args(false);
    run_->add_flag("--force", run_args_.force, dsim::kForceHelp);
    run_->add_flag("--quiet,-q", run_args_.quiet, "print nothing but errors");
    run_->add_flag("--json", run_args_.json, "print the summary as JSON");
    run_->add_flag("--check-determinism", run_args_.check_determinism,
                   "run twice in one process and fail if any output byte differs");
    run_->add_flag("--check-invariants", run_args_.check_invariants,
                   "check every model's invariants after each handler");
    run_->add_flag("--report", run_args_.report,
                   "also write report.html, the run's HTML report (docs/report.md)");
  }

  void add_report(CLI::App& app) {
    report_ = app.add_subcommand("report", "write the HTML report of a run or sweep directory");
    report_->add_option("dir", report_args_.dir, "the run (or sweep) directory")->required();
    report_->add_option("--out", report_args_.out, "the page to write (default DIR/report.html)");
  }

  void add_validate(CLI::App& app) {
    validate_ = app.add_subcommand("validate", "check scenario files without running them");
    validate_->add_option("files", validate_files_, "scenario files")->required();
    validate_->add_option("--set", validate_overrides_, "override a scenario key: key.path=value")
        ->allow_extra_args(false);
  }

  void add_list(CLI::App& app) {
    list_ = app.add_subcommand("list", "list what scenarios can use");
    list_->add_option("what", list_what_, "models")->required()->check(CLI::IsMember({"models"}));
    list_->add_option("name", list_only_, "show only this one");
    list_->add_flag("--markdown", list_markdown_,
                    "print each model's parameters as a Markdown table");
  }

  void add_bench(CLI::App& app) {
    CLI::App* bench = app.add_subcommand(
        "bench", "engine benchmarks: print events and simulated seconds (wall time on stderr)");
    bench->require_subcommand(1);
    phold_ = bench->add_subcommand(
        "phold",
        "PHOLD workloads through the full engine (model phold, tests/bench/peers/README.md)");
    phold_->add_option("--workload", bench_args_.workload, "timers or net")
        ->check(CLI::IsMember({"timers", "net"}))
        ->capture_default_str();
    phold_->add_option("--nodes", bench_args_.nodes, "nodes (hosts)")
        ->check(CLI::Range(1u, 50'000'000u))
        ->capture_default_str();
    phold_->add_option("--tokens", bench_args_.tokens, "tokens in all, started round robin")
        ->check(CLI::Range(uint64_t{0}, uint64_t{4'294'967'295}))
        ->capture_default_str();
    phold_->add_option("--end-s", bench_args_.end_s, "simulated seconds")->capture_default_str();
    phold_->add_option("--seed", bench_args_.seed, "root seed")->capture_default_str();
    phold_->add_flag("--print-scenario", bench_args_.print_scenario,
                     "print the scenario it runs (for dsim run) and stop");
  }

  void add_cache(CLI::App& app) {
    CLI::App* cache = app.add_subcommand("cache", "cache studies without a scenario");
    cache->require_subcommand(1);
    replay_ = cache->add_subcommand(
        "replay",
        "a request trace (time,key,size[,op] CSV) through one cache per eviction policy, with "
        "no network or service time: hit and byte hit ratios side by side");
    replay_->add_option("trace", replay_args_.trace, "the trace file (CSV)")->required();
    replay_
        ->add_option("--eviction", replay_args_.eviction, "policies, separated by commas, or all")
        ->capture_default_str();
    replay_->add_option("--capacity", replay_args_.capacity,
                        "the cache's size in bytes, e.g. 64MiB");
    replay_->add_option("--capacity-objects", replay_args_.capacity_objects,
                        "the cache's size in objects");
    replay_
        ->add_option("--warmup", replay_args_.warmup,
                     "requests replayed before the ratios are measured")
        ->capture_default_str();
    replay_->add_option("--seed", replay_args_.seed, "the stream of random eviction")
        ->capture_default_str();
    replay_->add_flag("--csv", replay_args_.csv, "print CSV instead of a table");
  }

  void add_diagram(CLI::App& app) {
    diagram_ = app.add_subcommand(
        "diagram",
        "draw a space-time diagram of a run's messages (diagram.svg), running its "
        "scenario.resolved.yaml again in memory (docs/message-diagram.md)");
    diagram_->add_option("run_dir", diagram_args_.run_dir, "a run directory (dsim run's --out)")
        ->required();
    diagram_->add_option("--window", diagram_args_.window,
                         "the send times drawn: FROM,TO, e.g. 9.9s,10.3s");
    diagram_->add_option("--around", diagram_args_.around,
                         "a window around an event of the run: failover[:N] (failovers.csv), "
                         "fault:ID (faults.csv) or counterexample[:N] (the operations of the "
                         "N-th key linearizability.txt finds not linearizable; its client "
                         "highlighted)");
    diagram_->add_option("--span", diagram_args_.span,
                         "with --around: the window's length, e.g. 200ms (default: the event "
                         "and a quarter of its length on each side)");
    diagram_->add_option("--client", diagram_args_.client,
                         "the node whose messages and operations are highlighted, e.g. "
                         "clients.0");
    diagram_->add_option("--max-messages", diagram_args_.max_messages,
                         "messages drawn at most (default 3000)");
    diagram_->add_option("--out", diagram_args_.out,
                         "the SVG file (default RUN_DIR/diagram.svg; never replaces a file "
                         "dsim did not write)");
  }

  dsim::RunArgs run_args_;
  dsim::ReportArgs report_args_;
  CLI::App* report_ = nullptr;
  dsim::DiagramArgs diagram_args_;
  CLI::App* diagram_ = nullptr;
  dsim::CacheReplayArgs replay_args_;
  CLI::App* replay_ = nullptr;
  std::vector<std::string> validate_files_, validate_overrides_;
  std::string list_what_, list_only_;
  bool list_markdown_ = false;
  dsim::BenchArgs bench_args_;
  CLI::App* run_ = nullptr;
  CLI::App* validate_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* phold_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  dsim::ModelRegistry registry;
  dsim::register_builtin_models(registry);

  CLI::App app{"dsim: a deterministic discrete-event simulator of distributed architectures"};
  app.set_version_flag("--version", std::string("dsim ") + dsim::kVersion);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 aborted by a limit, "
      "4 determinism check failed.");
  CoreCommands core(app);          // run, validate, list, bench, cache, diagram
  dsim::StudyCommands study(app);  // sweep, merge, analyze

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : dsim::kExitBadInput;
  }
  try {
    if (auto code = core.run(registry)) return *code;
    if (auto code = study.run(registry)) return *code;
  } catch (const dsim::InvariantBroken& e) {
    std::cerr << "dsim: internal error, a bug in dsim (please report it with the scenario and "
                 "seed): "
              << e.what() << "\n";
    return dsim::kExitInternalError;
  }
  return dsim::kExitBadInput;
}
