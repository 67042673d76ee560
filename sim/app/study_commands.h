// The subcommands of parameter studies: `dsim sweep`, `dsim merge` and `dsim analyze`.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/sweep/plan.h"

namespace dsim {

class ModelRegistry;

struct SweepCliArgs {
  std::string file;
  sweep::SweepArgs sweep;
  unsigned jobs = 0;  ///< 0: one per core (one per rank under MPI)
  std::string out;    ///< empty: sweeps/<scenario>-<seed>
  std::string shard;  ///< "i/n" or empty
  bool keep_runs = false;
  bool quiet = false;
  bool dry_run = false;
  bool force = false;  ///< write to --out whatever is there (moved aside, not deleted)
};

struct AnalyzeArgs {
  std::string what;  ///< "mmc", "availability" or "run"
  std::string run_dir;
  // mmc
  std::string arrival_rate, service_mean;
  int workers = 1;
  std::optional<int64_t> queue_places;
  // availability
  int k = 1, n = 1, crews = 0;
  std::string mttf, mttr;
};

int cmd_sweep(const SweepCliArgs& args, const ModelRegistry& registry);
int cmd_merge(const std::string& out, const std::vector<std::string>& shard_dirs, bool force,
              bool quiet);
int cmd_analyze(const AnalyzeArgs& args, const ModelRegistry& registry);

/// Adds `sweep`, `merge` and `analyze` to the command line and runs the one chosen.
class StudyCommands {
 public:
  explicit StudyCommands(CLI::App& app);
  /// The exit code of the chosen command; nullopt when none of these was chosen.
  std::optional<int> run(const ModelRegistry& registry);

 private:
  SweepCliArgs sweep_;
  std::string merge_out_;
  std::vector<std::string> merge_dirs_;
  bool merge_quiet_ = false;
  bool merge_force_ = false;
  AnalyzeArgs analyze_;
  CLI::App* sweep_cmd_ = nullptr;
  CLI::App* merge_cmd_ = nullptr;
  CLI::App* analyze_cmd_ = nullptr;
  CLI::App* mmc_cmd_ = nullptr;
  CLI::App* availability_cmd_ = nullptr;
};

}  // namespace dsim
