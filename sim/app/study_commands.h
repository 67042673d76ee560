// The subcommands of parameter studies: `dsim sweep`, `dsim merge` and `dsim analyze`.
#pragma once

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
};

int cmd_sweep(const SweepCliArgs& args, const ModelRegistry& registry);
int cmd_merge(const std::string& out, const std::vector<std::string>& shard_dirs, bool quiet);

}  // namespace dsim
