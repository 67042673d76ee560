#include "sim/app/study_commands.h"

#include "sim/app/commands.h"

namespace dsim {

StudyCommands::StudyCommands(CLI::App& app) {
  sweep_cmd_ = app.add_subcommand(
      "sweep", "run a scenario over a grid of parameter values, with replications");
  sweep_cmd_
      ->add_option("file", sweep_.file, "scenario file (YAML), with or without a sweep: block")
      ->required();
  sweep_cmd_
      ->add_option("--grid", sweep_.sweep.grid,
                   "sweep a key over values: key.path=v1,v2,... (one axis each)")
      ->allow_extra_args(false);
  sweep_cmd_
      ->add_option("--zip", sweep_.sweep.zip,
                   "key.path=v1,v2,...: every --zip advances together, as one axis")
      ->allow_extra_args(false);
  sweep_cmd_->add_option("--set", sweep_.sweep.overrides, "override a scenario key: key.path=value")
      ->allow_extra_args(false);
  sweep_cmd_->add_option(
      "--replications,-r", sweep_.sweep.replications,
      "runs per point, each with its own seed (default: the sweep block's, or 1)");
  sweep_cmd_->add_option("--seed", sweep_.sweep.seed, "root seed (replaces the scenario's)");
  sweep_cmd_->add_option("--jobs,-j", sweep_.jobs,
                         "threads (default: one per core; under MPI one per rank)");
  sweep_cmd_->add_option("--out", sweep_.out,
                         "results directory (default sweeps/<scenario>-<seed>)");
  sweep_cmd_->add_flag("--keep-runs", sweep_.keep_runs,
                       "also write every run's own directory under <out>/runs/");
  sweep_cmd_->add_option(
      "--shard", sweep_.shard,
      "run only shard i of n (0 <= i < n), for job arrays; combine with dsim merge");
  sweep_cmd_->add_flag("--dry-run", sweep_.dry_run, "list the points and seeds, run nothing");
  sweep_cmd_->add_flag("--force", sweep_.force, kForceHelp);
  sweep_cmd_->add_flag("--quiet,-q", sweep_.quiet, "print nothing but errors");

  merge_cmd_ = app.add_subcommand("merge", "combine the shards of a sweep into its results");
  merge_cmd_->add_option("shards", merge_dirs_, "the shards' output directories")->required();
  merge_cmd_->add_option("--out", merge_out_, "results directory")->required();
  merge_cmd_->add_flag("--force", merge_force_, kForceHelp);
  merge_cmd_->add_flag("--quiet,-q", merge_quiet_, "print nothing but errors");

  analyze_cmd_ = app.add_subcommand(
      "analyze", "queueing and availability theory, alone or next to a run's figures");
  analyze_cmd_->require_subcommand(1);
  CLI::App* an_run =
      analyze_cmd_->add_subcommand("run", "theory next to the figures of a run directory");
  an_run->add_option("dir", analyze_.run_dir, "a directory written by dsim run")->required();
  mmc_cmd_ = analyze_cmd_->add_subcommand("mmc", "M/M/c (Erlang C) and M/M/c/K figures");
  mmc_cmd_->add_option("--arrival-rate", analyze_.arrival_rate, "arrivals, e.g. 3000/s")
      ->required();
  mmc_cmd_->add_option("--service-mean", analyze_.service_mean, "mean service time, e.g. 1ms")
      ->required();
  mmc_cmd_->add_option("--workers,-c", analyze_.workers, "servers (c)")->required();
  mmc_cmd_->add_option("--queue-capacity", analyze_.queue_places,
                       "waiting places (K = c + this; default unbounded)");
  availability_cmd_ = analyze_cmd_->add_subcommand(
      "availability", "k-of-n availability of replicated nodes (a Markov chain)");
  availability_cmd_->add_option("--n", analyze_.n, "nodes")->required();
  availability_cmd_->add_option("--k", analyze_.k, "nodes needed up for the system to be up")
      ->required();
  availability_cmd_->add_option("--mttf", analyze_.mttf, "a node's mean time to failure, e.g. 30d")
      ->required();
  availability_cmd_->add_option("--mttr", analyze_.mttr, "a node's mean time to repair, e.g. 4h")
      ->required();
  availability_cmd_->add_option("--crews", analyze_.crews,
                                "repair crews (default 0: every node repaired at once)");
}

std::optional<int> StudyCommands::run(const ModelRegistry& registry) {
  if (*sweep_cmd_) return cmd_sweep(sweep_, registry);
  if (*merge_cmd_) return cmd_merge(merge_out_, merge_dirs_, merge_force_, merge_quiet_);
  if (*analyze_cmd_) {
    analyze_.what = *mmc_cmd_ ? "mmc" : *availability_cmd_ ? "availability" : "run";
    return cmd_analyze(analyze_, registry);
  }
  return std::nullopt;
}

}  // namespace dsim
