// The `dsim` subcommands. Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 the run
// was aborted by a limit, 4 the determinism check found a difference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dsim {

class ModelRegistry;

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitAborted = 3;
inline constexpr int kExitNondeterministic = 4;
/// A broken invariant (DSIM_ASSERT): a bug in dsim, not in the scenario.
inline constexpr int kExitInternalError = 70;

/// The help of --force (run, sweep, merge): what it may replace, and what it never does.
inline constexpr const char* kForceHelp =
    "write to --out even when something other than dsim's previous results is there: "
    "it is moved to <out>.old first, never deleted";

struct RunArgs {
  std::string file;
  std::optional<uint64_t> seed;
  std::string out;  ///< empty: runs/<scenario>-<seed>
  std::vector<std::string> overrides;
  bool quiet = false;
  bool json = false;
  bool check_determinism = false;
  bool check_invariants = false;
  bool force = false;   ///< write to --out whatever is there (moved aside, not deleted)
  bool report = false;  ///< also write report.html into the run directory
};

/// `dsim report`: the HTML report of a run directory.
struct ReportArgs {
  std::string dir;
  std::string out;  ///< empty: <dir>/report.html
};

/// `dsim bench phold`: the PHOLD workloads of the engine benchmark (see cmd_bench.cpp).
struct BenchArgs {
  std::string workload = "timers";  ///< timers | net
  uint32_t nodes = 100;
  uint64_t tokens = 1000;
  double end_s = 1;  ///< simulated seconds
  uint64_t seed = 1;
  bool print_scenario = false;  ///< print the scenario it would run, and stop
};

/// `dsim cache replay`: a request trace through one cache per eviction policy.
struct CacheReplayArgs {
  std::string trace;
  std::string eviction = "all";  ///< "all", or policy names separated by commas
  std::string capacity;          ///< a size; empty: no limit in bytes
  uint64_t capacity_objects = 0;
  uint64_t warmup = 0;  ///< rows replayed before measuring
  uint64_t seed = 1;    ///< random eviction's stream
  bool csv = false;
};

/// `dsim diagram`: the message diagram of a window of a run directory's run.
struct DiagramArgs {
  std::string run_dir;
  std::string window;  ///< "FROM,TO"; empty: --around, the scenario's output.diagram, or all
  std::string around;  ///< failover[:N] | fault:ID
  std::string span;    ///< with --around: the window's length
  std::string client;  ///< the node highlighted
  std::string out;     ///< empty: RUN_DIR/diagram.svg
  std::optional<uint64_t> max_messages;
};

int cmd_run(const RunArgs& args, const ModelRegistry& registry);
int cmd_report(const ReportArgs& args, const ModelRegistry& registry);
int cmd_diagram(const DiagramArgs& args, const ModelRegistry& registry);
int cmd_cache_replay(const CacheReplayArgs& args);
int cmd_bench(const BenchArgs& args, const ModelRegistry& registry);
/// The scenario `dsim bench phold` runs.
std::string phold_scenario(const BenchArgs& args);
int cmd_validate(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                 const ModelRegistry& registry);
int cmd_list_models(const ModelRegistry& registry, const std::string& only, bool markdown = false);

}  // namespace dsim
