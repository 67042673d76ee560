// `dsim sweep` and `dsim merge`.
#include <charconv>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "sim/app/commands.h"
#include "sim/app/progress.h"
#include "sim/app/study_commands.h"
#include "sim/app/sweep_progress.h"
#include "sim/core/registry.h"
#include "sim/sweep/cluster.h"
#include "sim/sweep/executor.h"
#include "sim/sweep/results.h"
#include "sim/sweep/sweep_dir.h"

namespace dsim {

namespace {

constexpr unsigned kMaxJobs = 1024;

using sweep::RunRecord;
using sweep::SweepMeta;

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

// The terminal lines after a sweep or a merge.
void print_report(const SweepMeta& meta, const std::vector<RunRecord>& records,
                  const std::string& dir, const std::string& timing) {
  size_t aborted = 0, failed_checks = 0;
  for (const auto& rec : records) {
    bool a = false, f = false;
    for (const auto& r : rec.rows) {
      a = a || (r.group == "run" && r.op.empty() && r.metric == "aborted" && r.value != 0);
      f = f || (r.group == "run" && r.op == "check" && r.value == 0);
    }
    aborted += a;
    failed_checks += f;
  }
  std::cout << "sweep " << meta.name << " (seed " << meta.root_seed
            << "): " << count(meta.points, "point") << " x "
            << count(meta.replications, "replication") << " = " << run_count(records.size())
            << timing << "\n\n";
  std::cout << sweep::render_sweep_table(meta, records);
  std::cout << "\n(mean ± half-width of the 95% confidence interval over the replications)\n";
  if (failed_checks) std::cout << run_count(failed_checks) << " failed a scenario check\n";
  if (aborted) std::cout << run_count(aborted) << " aborted by a limit\n";
  std::cout << "results in " << dir << "/\n";
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
  auto started = std::chrono::steady_clock::now();  // dsim-lint: allow(wall-clock)

  sweep::Partition part;
  if (!args.shard.empty()) {
    auto s = parse_shard(args.shard);
    if (!s) {
      if (talk) {
        std::cerr << "--shard " << args.shard
                  << ": expected i/n with 0 <= i < n (shards are numbered from 0, like "
                     "SLURM_ARRAY_TASK_ID with --array=0-<n-1>)\n";
      }
      return kExitBadInput;
    }
    part.shard = s->first;
    part.shards = s->second;
  }
  part.rank = cluster.rank();
  part.ranks = cluster.size();

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
  const SweepMeta meta = sweep::plan_meta(*plan, part);
  const auto shard_runs = sweep::assigned_runs(plan->runs(), {part.shard, part.shards, 0, 1});

  if (args.dry_run) {
    if (talk) {
      std::cout << "sweep " << plan->name << " (seed " << plan->root_seed
                << "): " << count(plan->points(), "point") << " x "
                << count(plan->replications, "replication") << " = " << run_count(plan->runs());
      if (part.shards > 1) std::cout << ", " << run_count(shard_runs.size()) << " in this shard";
      std::cout << "\n";
      for (size_t p = 0; p < plan->points(); ++p)
        std::cout << "  point " << p << ": " << plan->point_label(p) << "\n";
      std::cout << "  seeds:";
      for (uint32_t r = 0; r < plan->replications && r < 10; ++r)
        std::cout << " " << sweep::replication_seed(plan->root_seed, r);
      if (plan->replications > 10) std::cout << " ...";
      std::cout << "\n";
    }
    return kExitOk;
  }

  std::string dir = args.out;
  if (dir.empty()) {
    dir = "sweeps/" + plan->name + "-" + std::to_string(plan->root_seed);
    if (part.shards > 1) {
      dir += "-shard" + std::to_string(part.shard) + "of" + std::to_string(part.shards);
    }
  }
  sweep::SweepDir out(dir);
  std::string error;
  int ready = kExitOk;
  if (cluster.root() && !out.start(&error)) {
    std::cerr << "dsim: " << error << "\n";
    ready = kExitBadInput;
  }
  ready = cluster.broadcast(ready);
  if (ready != kExitOk) return ready;

  unsigned jobs = args.jobs;
  if (jobs == 0)
    jobs = cluster.distributed() ? 1 : std::max(1u, std::thread::hardware_concurrency());
  sweep::ExecuteOptions opts;
  opts.jobs = jobs;
  opts.part = part;
  if (args.keep_runs) opts.runs_dir = out.partial() + "/runs";
  std::unique_ptr<SweepProgress> bar;
  if (talk && !args.quiet && ProgressBar::wanted()) {
    bar = std::make_unique<SweepProgress>();
    opts.progress = [&bar](size_t done, size_t total) { bar->update(done, total); };
  }
  auto records = sweep::execute(*plan, registry, opts, &error);
  bar.reset();

  // Every rank sends its runs to the root as runs.csv text; the root reads them all
  // back, so one process and many produce the same bytes.
  const std::string payload = records ? sweep::render_runs_csv(meta, *records) : "!" + error;
  const auto gathered = cluster.gather(payload);
  int status = kExitOk;
  if (cluster.root()) {
    std::vector<RunRecord> all;
    for (size_t r = 0; r < gathered.size() && status == kExitOk; ++r) {
      if (gathered[r].starts_with("!")) {
        std::cerr << "dsim: " << (cluster.distributed() ? "rank " + std::to_string(r) + ": " : "")
                  << gathered[r].substr(1) << "\n";
        status = kExitBadInput;
        break;
      }
      auto parsed = sweep::parse_runs_csv(gathered[r], "rank " + std::to_string(r), &error);
      if (!parsed) {
        std::cerr << "dsim: " << error << "\n";
        status = kExitBadInput;
        break;
      }
      for (auto& rec : parsed->records)
        all.push_back(std::move(rec));
    }
    if (status == kExitOk) {
      sweep::sort_records(all);
      if (all.size() != shard_runs.size()) {
        std::cerr << "dsim: gathered " << all.size() << " of " << shard_runs.size() << " runs\n";
        status = kExitBadInput;
      }
    }
    if (status == kExitOk) {
      bool ok = out.write("runs.csv", sweep::render_runs_csv(meta, all), &error) &&
                out.write("sweep.yaml", plan->render_yaml(), &error);
      if (ok && part.shards == 1)
        ok = out.write("sweep.csv", sweep::render_sweep_csv(meta, all), &error);
      if (ok) ok = out.commit(&error);
      if (!ok) {
        std::cerr << "dsim: " << error << "\n";
        status = kExitBadInput;
      }
    }
    if (status != kExitOk) {
      out.abandon();
    } else {
      status = sweep::sweep_status(all);
      if (!args.quiet) {
        const double secs = std::chrono::duration<double>(
                                std::chrono::steady_clock::now() -  // dsim-lint: allow(wall-clock)
                                started)
                                .count();
        char timing[160];
        std::snprintf(timing, sizeof timing, " in %.1f s on %u %s x %u %s", secs, cluster.size(),
                      cluster.size() == 1 ? "process" : "ranks", jobs,
                      jobs == 1 ? "thread" : "threads");
        if (part.shards > 1) {
          std::cout << "shard " << part.shard << "/" << part.shards << " of sweep " << meta.name
                    << ": " << run_count(all.size()) << timing << "\nresults in " << dir
                    << "/ (combine the shards with dsim merge)\n";
        } else {
          print_report(meta, all, dir, timing);
        }
      }
    }
  }
  return cluster.broadcast(status);
}

int cmd_merge(const std::string& out_dir, const std::vector<std::string>& dirs, bool quiet) {
  std::vector<sweep::RunsFile> files;
  std::string sweep_yaml, error;
  for (const auto& d : dirs) {
    std::string text;
    const std::string path = d + "/runs.csv";
    if (!sweep::read_file(path, &text)) {
      std::cerr << path << ": cannot read (is " << d << " the output of dsim sweep --shard?)\n";
      return kExitBadInput;
    }
    auto f = sweep::parse_runs_csv(text, path, &error);
    if (!f) {
      std::cerr << error << "\n";
      return kExitBadInput;
    }
    std::string yaml;
    if (!sweep::read_file(d + "/sweep.yaml", &yaml)) {
      std::cerr << d << "/sweep.yaml: cannot read\n";
      return kExitBadInput;
    }
    if (files.empty()) sweep_yaml = yaml;
    files.push_back(std::move(*f));
  }
  // The shards must be the parts of one sweep, each once.
  const SweepMeta& first = files.front().meta;
  std::vector<int> shard_seen(first.shards, 0);
  for (size_t i = 0; i < files.size(); ++i) {
    const SweepMeta& m = files[i].meta;
    if (m.hash != first.hash || m.name != first.name || m.root_seed != first.root_seed ||
        m.points != first.points || m.replications != first.replications ||
        m.columns != first.columns || m.shards != first.shards) {
      std::cerr << dirs[i] << ": not a shard of the same sweep as " << dirs[0]
                << " (scenario, options, seed or number of shards differ)\n";
      return kExitBadInput;
    }
    if (shard_seen[m.shard]++) {
      std::cerr << dirs[i] << ": shard " << m.shard << "/" << m.shards << " given twice\n";
      return kExitBadInput;
    }
  }
  for (uint32_t s = 0; s < first.shards; ++s) {
    if (!shard_seen[s]) {
      std::cerr << "dsim merge: shard " << s << "/" << first.shards << " is missing\n";
      return kExitBadInput;
    }
  }
  SweepMeta meta = first;
  meta.shard = 0;
  meta.shards = 1;
  std::vector<RunRecord> all;
  for (auto& f : files) {
    for (size_t p = 0; p < meta.points; ++p) {
      if (meta.point_values[p].empty()) meta.point_values[p] = f.meta.point_values[p];
    }
    for (auto& rec : f.records)
      all.push_back(std::move(rec));
  }
  sweep::sort_records(all);
  if (!sweep::complete(meta, all, &error)) {
    std::cerr << "dsim merge: " << error << "\n";
    return kExitBadInput;
  }
  sweep::SweepDir out(out_dir);
  bool ok = out.start(&error) && out.write("runs.csv", sweep::render_runs_csv(meta, all), &error) &&
            out.write("sweep.csv", sweep::render_sweep_csv(meta, all), &error) &&
            out.write("sweep.yaml", sweep_yaml, &error);
  for (const auto& d : dirs) {
    if (ok && std::filesystem::is_directory(d + "/runs"))
      ok = out.copy_in(d + "/runs", "runs", &error);
  }
  if (ok) ok = out.commit(&error);
  if (!ok) {
    std::cerr << "dsim merge: " << error << "\n";
    out.abandon();
    return kExitBadInput;
  }
  if (!quiet)
    print_report(meta, all, out_dir, " (merged from " + std::to_string(dirs.size()) + " shards)");
  return sweep::sweep_status(all);
}

}  // namespace dsim
