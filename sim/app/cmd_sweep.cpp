// `dsim sweep` and `dsim merge`.
#include <charconv>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>

#include "sim/app/commands.h"
#include "sim/app/progress.h"
#include "sim/app/study_commands.h"
#include "sim/app/sweep_progress.h"
#include "sim/core/registry.h"
#include "sim/sweep/cluster.h"
#include "sim/sweep/executor.h"
#include "sim/sweep/results.h"
#include "sim/sweep/sweep_dir.h"
#include "sim/sweep/terminal.h"

namespace dsim {

namespace {

constexpr unsigned kMaxJobs = 1024;

using sweep::RunRecord;
using sweep::SweepMeta;
using WallClock = std::chrono::steady_clock;  // dsim-lint: allow(wall-clock)

std::optional<std::pair<uint32_t, uint32_t>> parse_shard(const std::string& s) {
  const size_t slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  uint32_t i = 0, n = 0;
  auto a = std::from_chars(s.data(), s.data() + slash, i);
  auto b = std::from_chars(s.data() + slash + 1, s.data() + s.size(), n);
  if (a.ec != std::errc() || a.ptr != s.data() + slash || b.ec != std::errc() ||
      b.ptr != s.data() + s.size() || n == 0 || i >= n) {
    return std::nullopt;
  }
  return std::make_pair(i, n);
}

std::string count(size_t n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}
std::string run_count(size_t n) {
  return count(n, "run");
}

// "sweep <name> (seed <seed>): <p> points x <r> replications = <n> runs"
std::string headline(const std::string& name, uint64_t seed, size_t points, size_t replications,
                     size_t runs) {
  return "sweep " + name + " (seed " + std::to_string(seed) + "): " + count(points, "point") +
         " x " + count(replications, "replication") + " = " + run_count(runs);
}

// The terminal lines after a sweep or a merge.
void print_report(const SweepMeta& meta, const std::vector<RunRecord>& records,
                  const std::string& dir, const std::string& timing) {
  std::cout << headline(meta.name, meta.root_seed, meta.points, meta.replications, records.size())
            << timing << "\n\n";
  std::cout << sweep::render_sweep_summary(meta, records, dir);
  std::cout << "results in " << dir << "/\n";
}

// ---------------------------------------------------------------------------------------
// dsim sweep

// The shard (from --shard) and the MPI rank this process runs; nullopt when --shard is
// not i/n (said by the root).
std::optional<sweep::Partition> read_partition(const std::string& shard,
                                               const sweep::Cluster& cluster) {
  sweep::Partition part;
  if (!shard.empty()) {
    auto s = parse_shard(shard);
    if (!s) {
      if (cluster.root()) {
        std::cerr << "--shard " << shard
                  << ": expected i/n with 0 <= i < n (shards are numbered from 0, like "
                     "SLURM_ARRAY_TASK_ID with --array=0-<n-1>)\n";
      }
      return std::nullopt;
    }
    part.shard = s->first;
    part.shards = s->second;
  }
  part.rank = cluster.rank();
  part.ranks = cluster.size();
  return part;
}

// The runs of a shard: run i belongs to shard i mod n.
size_t shard_run_count(size_t runs, const sweep::Partition& part) {
  return runs > part.shard ? (runs - part.shard + part.shards - 1) / part.shards : 0;
}

// `dsim sweep --dry-run`: the points (the first kListedPoints of a large sweep) and the
// first seeds.
void print_dry_run(const sweep::SweepPlan& plan, const sweep::Partition& part) {
  constexpr size_t kListedPoints = 100;
  std::cout << headline(plan.name, plan.root_seed, plan.points(), plan.replications, plan.runs());
  if (part.shards > 1)
    std::cout << ", " << run_count(shard_run_count(plan.runs(), part)) << " in this shard";
  std::cout << "\n";
  for (size_t p = 0; p < plan.points() && p < kListedPoints; ++p)
    std::cout << "  point " << p << ": " << plan.point_label(p) << "\n";
  if (plan.points() > kListedPoints)
    std::cout << "  ... and " << count(plan.points() - kListedPoints, "more point") << "\n";
  if (!plan.every_point_checked) {
    std::cout << "  (checked: each value of each axis alone, and "
              << count(plan.points_checked, "point")
              << " spread over the grid; the others are checked as they run)\n";
  }
  std::cout << "  seeds:";
  for (uint32_t r = 0; r < plan.replications && r < 10; ++r)
    std::cout << " " << sweep::replication_seed(plan.root_seed, r);
  if (plan.replications > 10) std::cout << " ...";
  std::cout << "\n";
}

// sweeps/<scenario>-<seed>, and -shard<i>of<n> for a shard.
std::string default_dir(const sweep::SweepPlan& plan, const sweep::Partition& part) {
  std::string dir = "sweeps/" + plan.name + "-" + std::to_string(plan.root_seed);
  if (part.shards > 1) {
    dir += "-shard" + std::to_string(part.shard) + "of" + std::to_string(part.shards);
  }
  return dir;
}

// The root starts the results directory; every rank learns whether it could.
int start_dir(sweep::SweepDir& out, const sweep::Cluster& cluster) {
  std::string error;
  int ready = kExitOk;
  if (cluster.root() && !out.start(&error)) {
    std::cerr << "dsim: " << error << "\n";
    ready = kExitBadInput;
  }
  return cluster.broadcast(ready);
}

// --jobs, or by default one thread per core (one per rank under MPI).
unsigned thread_count(unsigned jobs, const sweep::Cluster& cluster) {
  if (jobs != 0) return jobs;
  return cluster.distributed() ? 1 : std::max(1u, std::thread::hardware_concurrency());
}

// Runs this process's share of the sweep and returns it as text to gather at the root:
// "!" and the error, or the problems' length, a newline, the problems
// (sweep::render_problems) and the records as runs.csv.
std::string run_share(const sweep::SweepPlan& plan, const SweepMeta& meta,
                      const ModelRegistry& registry, sweep::ExecuteOptions opts,
                      bool show_progress) {
  std::unique_ptr<SweepProgress> bar;
  if (show_progress && ProgressBar::wanted()) {
    bar = std::make_unique<SweepProgress>();
    opts.progress = [&bar](size_t done, size_t total) { bar->update(done, total); };
  }
  std::string error;
  auto result = sweep::execute(plan, registry, opts, &error);
  bar.reset();
  if (!result) return "!" + error;
  const std::string problems = sweep::render_problems(result->problems);
  return std::to_string(problems.size()) + "\n" + problems +
         sweep::render_runs_csv(meta, result->records);
}

// What the root gathered: every rank's records, in run order, and their problems.
struct Gathered {
  std::vector<RunRecord> records;
  std::vector<sweep::RunProblem> problems;
};

// One rank's share (see run_share) into `all`; false (said) when it cannot be read.
bool read_share(const std::string& share, const std::string& rank, Gathered& all) {
  const size_t eol = share.find('\n');
  size_t len = 0;
  std::optional<std::vector<sweep::RunProblem>> problems;
  if (eol != std::string::npos) {
    const auto [end, ec] = std::from_chars(share.data(), share.data() + eol, len);
    if (ec == std::errc() && end == share.data() + eol && len <= share.size() - eol - 1)
      problems = sweep::parse_problems(share.substr(eol + 1, len));
  }
  if (!problems) {
    std::cerr << "dsim: " << rank << ": garbled results\n";
    return false;
  }
  std::string error;
  auto parsed = sweep::parse_runs_csv(share.substr(eol + 1 + len), rank, &error);
  if (!parsed) {
    std::cerr << "dsim: " << error << "\n";
    return false;
  }
  for (auto& rec : parsed->records)
    all.records.push_back(std::move(rec));
  for (auto& p : *problems)
    all.problems.push_back(std::move(p));
  return true;
}

// At the root: every rank's runs, read back from their text, in run order. Says what went
// wrong and returns nullopt when a rank failed or runs are missing.
std::optional<Gathered> gathered_records(const std::vector<std::string>& gathered, bool distributed,
                                         size_t expected) {
  Gathered all;
  for (size_t r = 0; r < gathered.size(); ++r) {
    if (gathered[r].starts_with("!")) {
      std::cerr << "dsim: " << (distributed ? "rank " + std::to_string(r) + ": " : "")
                << gathered[r].substr(1) << "\n";
      return std::nullopt;
    }
    if (!read_share(gathered[r], "rank " + std::to_string(r), all)) return std::nullopt;
  }
  sweep::sort_records(all.records);
  std::sort(all.problems.begin(), all.problems.end(), [](const auto& a, const auto& b) {
    return std::tie(a.point, a.replication) < std::tie(b.point, b.replication);
  });
  if (all.records.size() + all.problems.size() != expected) {
    std::cerr << "dsim: gathered " << all.records.size() + all.problems.size() << " of " << expected
              << " runs\n";
    return std::nullopt;
  }
  return all;
}

// The runs that gave no results, said once per point (every replication of an invalid
// point fails alike); returns the exit code they call for (2 bad input, 3 a limit; 0: none).
int report_problems(const std::vector<sweep::RunProblem>& problems, const sweep::SweepPlan& plan) {
  int code = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    const auto& p = problems[i];
    code = code == kExitBadInput || p.exit_code == kExitBadInput ? kExitBadInput : kExitAborted;
    if (i > 0 && problems[i - 1].point == p.point && problems[i - 1].message == p.message) continue;
    std::cerr << "dsim sweep: point " << p.point << " (" << plan.point_label(p.point)
              << "), replication " << p.replication << ": "
              << (p.exit_code == kExitBadInput ? "invalid, not run:\n" : "not run: ") << p.message
              << (p.message.ends_with("\n") ? "" : "\n");
  }
  if (!problems.empty()) {
    std::cerr << "dsim sweep: " << run_count(problems.size())
              << " gave no results (missing from the files); the other runs' results are "
                 "written\n";
  }
  return code;
}

// runs.csv, sweep.yaml and (for a whole sweep) sweep.csv and checks.csv, committed together. When
// they cannot be written the partial directory is removed; when they cannot be moved into place it
// is kept, and the message says where.
bool write_results(sweep::SweepDir& out, const sweep::SweepPlan& plan, const SweepMeta& meta,
                   const std::vector<RunRecord>& all) {
  std::string error;
  bool ok = out.write("runs.csv", sweep::render_runs_csv(meta, all), &error) &&
            out.write("sweep.yaml", plan.render_yaml(), &error);
  if (meta.shards == 1) {
    for (const auto& [name, text] : sweep::summary_files(meta, all))
      ok = ok && out.write(name, text, &error);
  }
  if (!ok) out.abandon();
  if (ok) ok = out.commit(&error);
  if (!ok) std::cerr << "dsim: " << error << "\n";
  if (ok && !out.moved_aside().empty())
    std::cerr << "dsim: what was at --out is now in " << out.moved_aside() << "\n";
  return ok;
}

// " in 1.2 s on 1 process x 2 threads"
std::string timing_text(WallClock::time_point started, const sweep::Cluster& cluster,
                        unsigned jobs) {
  const double secs = std::chrono::duration<double>(WallClock::now() - started).count();
  char timing[160];
  std::snprintf(timing, sizeof timing, " in %.1f s on %u %s x %u %s", secs, cluster.size(),
                cluster.size() == 1 ? "process" : "ranks", jobs, jobs == 1 ? "thread" : "threads");
  return timing;
}

// The terminal lines after a sweep: the table, or one line for a shard.
void print_done(const SweepMeta& meta, const std::vector<RunRecord>& all, const std::string& dir,
                const std::string& timing) {
  if (meta.shards == 1) {
    print_report(meta, all, dir, timing);
    return;
  }
  std::cout << "shard " << meta.shard << "/" << meta.shards << " of sweep " << meta.name << ": "
            << run_count(all.size()) << timing << "\nresults in " << dir
            << "/ (combine the shards with dsim merge)\n";
}

// ---------------------------------------------------------------------------------------
// dsim merge

struct Shards {
  std::vector<sweep::RunsFile> files;
  std::string sweep_yaml;  // the first shard's
};

// Each shard's runs.csv and sweep.yaml; nullopt (said) when one cannot be read.
std::optional<Shards> read_shards(const std::vector<std::string>& dirs) {
  Shards shards;
  std::string error;
  for (const auto& d : dirs) {
    std::string text;
    const std::string path = d + "/runs.csv";
    if (!sweep::read_file(path, &text, &error)) {
      std::cerr << path << ": cannot read: " << error << " (is " << d
                << " the output of dsim sweep --shard?)\n";
      return std::nullopt;
    }
    auto f = sweep::parse_runs_csv(text, path, &error);
    if (!f) {
      std::cerr << error << "\n";
      return std::nullopt;
    }
    std::string yaml;
    if (!sweep::read_file(d + "/sweep.yaml", &yaml, &error)) {
      std::cerr << d << "/sweep.yaml: cannot read: " << error << "\n";
      return std::nullopt;
    }
    if (shards.files.empty()) shards.sweep_yaml = yaml;
    shards.files.push_back(std::move(*f));
  }
  return shards;
}

// The shards must be the parts of one sweep, each once.
bool one_sweep(const std::vector<sweep::RunsFile>& files, const std::vector<std::string>& dirs) {
  const SweepMeta& first = files.front().meta;
  std::vector<int> shard_seen(first.shards, 0);
  for (size_t i = 0; i < files.size(); ++i) {
    const SweepMeta& m = files[i].meta;
    if (m.hash != first.hash || m.name != first.name || m.root_seed != first.root_seed ||
        m.points != first.points || m.replications != first.replications ||
        m.columns != first.columns || m.shards != first.shards) {
      std::cerr << dirs[i] << ": not a shard of the same sweep as " << dirs[0]
                << " (scenario, options, seed or number of shards differ)\n";
      return false;
    }
    if (shard_seen[m.shard]++) {
      std::cerr << dirs[i] << ": shard " << m.shard << "/" << m.shards << " given twice\n";
      return false;
    }
  }
  for (uint32_t s = 0; s < first.shards; ++s) {
    if (!shard_seen[s]) {
      std::cerr << "dsim merge: shard " << s << "/" << first.shards << " is missing\n";
      return false;
    }
  }
  return true;
}

// The meta data of the whole sweep: the first shard's, with every shard's point values.
SweepMeta merged_meta(const std::vector<sweep::RunsFile>& files) {
  SweepMeta meta = files.front().meta;
  meta.shard = 0;
  meta.shards = 1;
  for (const auto& f : files) {
    for (size_t p = 0; p < meta.points; ++p) {
      if (meta.point_values[p].empty()) meta.point_values[p] = f.meta.point_values[p];
    }
  }
  return meta;
}

// Every shard's runs, in run order.
std::vector<RunRecord> merged_records(std::vector<sweep::RunsFile>& files) {
  std::vector<RunRecord> all;
  for (auto& f : files) {
    for (auto& rec : f.records)
      all.push_back(std::move(rec));
  }
  sweep::sort_records(all);
  return all;
}

// The merged sweep's files, and the shards' run directories if they kept them.
bool write_merged(const std::string& out_dir, const std::vector<std::string>& dirs,
                  const SweepMeta& meta, const std::vector<RunRecord>& all,
                  const std::string& sweep_yaml, bool force) {
  std::string error;
  sweep::SweepDir out(out_dir, force);
  if (!out.start(&error)) {
    std::cerr << "dsim merge: " << error << "\n";
    return false;
  }
  bool ok = out.write("runs.csv", sweep::render_runs_csv(meta, all), &error) &&
            out.write("sweep.yaml", sweep_yaml, &error);
  for (const auto& [name, text] : sweep::summary_files(meta, all))
    ok = ok && out.write(name, text, &error);
  for (const auto& d : dirs) {
    if (ok && std::filesystem::is_directory(d + "/runs"))
      ok = out.copy_in(d + "/runs", "runs", &error);
  }
  if (!ok) out.abandon();  // not written; a commit that fails keeps them, and says where
  if (ok) ok = out.commit(&error);
  if (!ok) std::cerr << "dsim merge: " << error << "\n";
  if (ok && !out.moved_aside().empty())
    std::cerr << "dsim merge: what was at --out is now in " << out.moved_aside() << "\n";
  return ok;
}

}  // namespace

int cmd_sweep(const SweepCliArgs& args, const ModelRegistry& registry) {
  sweep::Cluster cluster;
  if (sweep::Cluster::launched_by_mpi() && !sweep::Cluster::built_with_mpi()) {
    std::cerr << "dsim: started by an MPI launcher, but this dsim was built without MPI "
                 "(configure with -DDSIM_MPI=ON); every process would run the whole sweep\n";
    return kExitBadInput;
  }
  const bool talk = cluster.root();
  const auto started = WallClock::now();

  const auto part = read_partition(args.shard, cluster);
  if (!part) return kExitBadInput;
  if (args.jobs > kMaxJobs) {
    if (talk) std::cerr << "--jobs " << args.jobs << ": at most " << kMaxJobs << " threads\n";
    return kExitBadInput;
  }
  Diagnostics diag;
  auto plan = sweep::load_sweep(args.file, args.sweep, registry, diag);
  if (!plan) {
    if (talk) std::cerr << diag.render();
    return kExitBadInput;
  }
  if (args.dry_run) {
    if (talk) print_dry_run(*plan, *part);
    return kExitOk;
  }
  const SweepMeta meta = sweep::plan_meta(*plan, *part);
  const size_t shard_runs = shard_run_count(plan->runs(), *part);

  const std::string dir = args.out.empty() ? default_dir(*plan, *part) : args.out;
  sweep::SweepDir out(dir, args.force);
  if (const int ready = start_dir(out, cluster); ready != kExitOk) return ready;
  sweep::ExecuteOptions opts;
  opts.jobs = thread_count(args.jobs, cluster);
  opts.part = *part;
  if (args.keep_runs) opts.runs_dir = out.partial() + "/runs";
  // Every rank sends its runs to the root as runs.csv text; the root reads them all
  // back, so one process and many produce the same bytes.
  const auto gathered = cluster.gather(run_share(*plan, meta, registry, opts, talk && !args.quiet));
  if (!cluster.root()) return cluster.broadcast(kExitOk);

  const auto all = gathered_records(gathered, cluster.distributed(), shard_runs);
  if (!all) out.abandon();
  if (!all || !write_results(out, *plan, meta, all->records))
    return cluster.broadcast(kExitBadInput);
  if (!args.quiet) print_done(meta, all->records, dir, timing_text(started, cluster, opts.jobs));
  const int problems = report_problems(all->problems, *plan);
  return cluster.broadcast(problems ? problems : sweep::sweep_status(all->records));
}

int cmd_merge(const std::string& out_dir, const std::vector<std::string>& dirs, bool force,
              bool quiet) {
  auto shards = read_shards(dirs);
  if (!shards || !one_sweep(shards->files, dirs)) return kExitBadInput;
  const SweepMeta meta = merged_meta(shards->files);
  const std::vector<RunRecord> all = merged_records(shards->files);
  std::string error;
  if (!sweep::complete(meta, all, &error)) {
    std::cerr << "dsim merge: " << error << "\n";
    return kExitBadInput;
  }
  if (!write_merged(out_dir, dirs, meta, all, shards->sweep_yaml, force)) return kExitBadInput;
  if (!quiet)
    print_report(meta, all, out_dir, " (merged from " + std::to_string(dirs.size()) + " shards)");
  return sweep::sweep_status(all);
}

}  // namespace dsim
