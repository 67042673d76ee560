// dsim: the command-line interface.
#include <CLI/CLI.hpp>

#include <iostream>

#include "dsim/version.h"
#include "models/builtin.h"
#include "sim/app/commands.h"
#include "sim/app/study_commands.h"
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

  dsim::SweepCliArgs sweep_args;
  auto* sweep = app.add_subcommand(
      "sweep", "run a scenario over a grid of parameter values, with replications");
  sweep->add_option("file", sweep_args.file, "scenario file (YAML), with or without a sweep: block")
      ->required();
  sweep
      ->add_option("--grid", sweep_args.sweep.grid,
                   "sweep a key over values: key.path=v1,v2,... (one axis each)")
      ->allow_extra_args(false);
  sweep
      ->add_option("--zip", sweep_args.sweep.zip,
                   "key.path=v1,v2,...: every --zip advances together, as one axis")
      ->allow_extra_args(false);
  sweep->add_option("--set", sweep_args.sweep.overrides, "override a scenario key: key.path=value")
      ->allow_extra_args(false);
  sweep->add_option("--replications,-r", sweep_args.sweep.replications,
                    "runs per point, each with its own seed (default: the sweep block's, or 1)");
  sweep->add_option("--seed", sweep_args.sweep.seed, "root seed (replaces the scenario's)");
  sweep->add_option("--jobs,-j", sweep_args.jobs,
                    "threads (default: one per core; under MPI one per rank)");
  sweep->add_option("--out", sweep_args.out,
                    "results directory (default sweeps/<scenario>-<seed>)");
  sweep->add_flag("--keep-runs", sweep_args.keep_runs,
                  "also write every run's own directory under <out>/runs/");
  sweep->add_option("--shard", sweep_args.shard,
                    "run only shard i of n (0 <= i < n), for job arrays; combine with dsim merge");
  sweep->add_flag("--dry-run", sweep_args.dry_run, "list the points and seeds, run nothing");
  sweep->add_flag("--quiet,-q", sweep_args.quiet, "print nothing but errors");

  std::string merge_out;
  std::vector<std::string> merge_dirs;
  bool merge_quiet = false;
  auto* merge = app.add_subcommand("merge", "combine the shards of a sweep into its results");
  merge->add_option("shards", merge_dirs, "the shards' output directories")->required();
  merge->add_option("--out", merge_out, "results directory")->required();
  merge->add_flag("--quiet,-q", merge_quiet, "print nothing but errors");

  dsim::AnalyzeArgs an;
  auto* analyze = app.add_subcommand(
      "analyze", "queueing and availability theory, alone or next to a run's figures");
  analyze->require_subcommand(1);
  auto* an_run = analyze->add_subcommand("run", "theory next to the figures of a run directory");
  an_run->add_option("dir", an.run_dir, "a directory written by dsim run")->required();
  auto* an_mmc = analyze->add_subcommand("mmc", "M/M/c (Erlang C) and M/M/c/K figures");
  an_mmc->add_option("--arrival-rate", an.arrival_rate, "arrivals, e.g. 3000/s")->required();
  an_mmc->add_option("--service-mean", an.service_mean, "mean service time, e.g. 1ms")->required();
  an_mmc->add_option("--workers,-c", an.workers, "servers (c)")->required();
  an_mmc->add_option("--queue-capacity", an.queue_places,
                     "waiting places (K = c + this; default unbounded)");
  auto* an_av = analyze->add_subcommand("availability",
                                        "k-of-n availability of replicated nodes (a Markov chain)");
  an_av->add_option("--n", an.n, "nodes")->required();
  an_av->add_option("--k", an.k, "nodes needed up for the system to be up")->required();
  an_av->add_option("--mttf", an.mttf, "a node's mean time to failure, e.g. 30d")->required();
  an_av->add_option("--mttr", an.mttr, "a node's mean time to repair, e.g. 4h")->required();
  an_av->add_option("--crews", an.crews, "repair crews (default 0: every node repaired at once)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : dsim::kExitBadInput;
  }
  if (*run) return dsim::cmd_run(run_args, registry);
  if (*validate) return dsim::cmd_validate(validate_files, validate_overrides, registry);
  if (*list) return dsim::cmd_list_models(registry, list_only);
  if (*sweep) return dsim::cmd_sweep(sweep_args, registry);
  if (*merge) return dsim::cmd_merge(merge_out, merge_dirs, merge_quiet);
  if (*analyze) {
    an.what = *an_mmc ? "mmc" : *an_av ? "availability" : "run";
    return dsim::cmd_analyze(an, registry);
  }
  return dsim::kExitBadInput;
}
