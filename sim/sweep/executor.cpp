#include "sim/sweep/executor.h"

#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include "sim/core/rng.h"
#include "sim/run/output_dir.h"

namespace dsim::sweep {

std::vector<size_t> assigned_runs(size_t total_runs, const Partition& part) {
  std::vector<size_t> runs;
  size_t k = 0;
  for (size_t i = part.shard; i < total_runs; i += part.shards, ++k) {
    if (k % part.ranks == part.rank) runs.push_back(i);
  }
  return runs;
}

std::string run_dir_name(const SweepPlan& plan, size_t point, uint32_t replication) {
  const int pw = static_cast<int>(std::to_string(plan.points() - 1).size());
  const int rw = static_cast<int>(std::to_string(plan.replications - 1).size());
  char buf[64];
  std::snprintf(buf, sizeof buf, "p%0*zu-r%0*u", pw, point, rw, replication);
  return buf;
}

SweepMeta plan_meta(const SweepPlan& plan, const Partition& part) {
  SweepMeta m;
  m.name = plan.name;
  m.root_seed = plan.root_seed;
  m.points = plan.points();
  m.replications = plan.replications;
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(stable_hash(plan.render_yaml())));
  m.hash = hash;
  m.columns = plan.columns();
  for (size_t p = 0; p < m.points; ++p)
    m.point_values.push_back(plan.point_values(p));
  m.shard = part.shard;
  m.shards = part.shards;
  return m;
}

namespace {

// One run's outcome: a record, a problem, or an error that stops the sweep.
struct RunOutcome {
  std::optional<RunRecord> record;
  std::optional<RunProblem> problem;
  std::string fatal;
};

RunOutcome run_one(const SweepPlan& plan, const ModelRegistry& registry,
                   const ExecuteOptions& options, size_t point, uint32_t rep) {
  RunOutcome o;
  const auto p32 = static_cast<uint32_t>(point);
  Diagnostics diag;
  auto spec = run_scenario_spec(plan, point, rep, registry, diag);
  if (!spec) {
    o.problem = RunProblem{p32, rep, 2, diag.render()};
    return o;
  }
  const RunOutput out = run_scenario(*spec);
  if (!out.refused.empty()) {
    o.problem = RunProblem{p32, rep, 3, out.refused};
    return o;
  }
  o.record = RunRecord{p32, rep, spec->seed, record_rows(out)};
  if (!options.runs_dir.empty()) {
    std::string err;
    if (!write_run_directory(options.runs_dir + "/" + run_dir_name(plan, point, rep), out.files,
                             &err)) {
      o.fatal = err;
    }
  }
  return o;
}

// The records and problems gathered by run index, without the holes.
ExecuteResult collect(std::vector<RunOutcome>& outcomes) {
  ExecuteResult r;
  for (auto& o : outcomes) {
    if (o.record) r.records.push_back(std::move(*o.record));
    if (o.problem) r.problems.push_back(std::move(*o.problem));
  }
  return r;
}

}  // namespace

std::optional<ExecuteResult> execute(const SweepPlan& plan, const ModelRegistry& registry,
                                     const ExecuteOptions& options, std::string* error) {
  const std::vector<size_t> runs = assigned_runs(plan.runs(), options.part);
  std::vector<RunOutcome> outcomes(runs.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;  // guards first_error, done and the progress callback
  std::string first_error;
  size_t done = 0;

  auto fail = [&](const std::string& msg) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = msg;
    failed = true;
  };
  auto work = [&] {
    for (;;) {
      if (failed) return;
      const size_t k = next.fetch_add(1);
      if (k >= runs.size()) return;
      const size_t point = runs[k] / plan.replications;
      const auto rep = static_cast<uint32_t>(runs[k] % plan.replications);
      try {
        outcomes[k] = run_one(plan, registry, options, point, rep);
      } catch (const std::exception& e) {
        outcomes[k].fatal = "run " + run_dir_name(plan, point, rep) + ": " + e.what();
      }
      if (!outcomes[k].fatal.empty()) {
        fail(outcomes[k].fatal);
        return;
      }
      if (options.progress) {
        std::lock_guard<std::mutex> lock(mu);
        options.progress(++done, runs.size());
      }
    }
  };
  const unsigned jobs =
      std::max(1u, std::min<unsigned>(options.jobs, static_cast<unsigned>(runs.size())));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < jobs; ++t)
    threads.emplace_back(work);
  work();
  for (auto& t : threads)
    t.join();
  if (failed) {
    *error = first_error;
    return std::nullopt;
  }
  return collect(outcomes);
}

std::string render_problems(const std::vector<RunProblem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += std::to_string(p.point) + " " + std::to_string(p.replication) + " " +
           std::to_string(p.exit_code) + " " + std::to_string(p.message.size()) + "\n" + p.message;
  }
  return out;
}

std::optional<std::vector<RunProblem>> parse_problems(const std::string& text) {
  std::vector<RunProblem> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t eol = text.find('\n', at);
    if (eol == std::string::npos) return std::nullopt;
    RunProblem p;
    unsigned long long len = 0;
    if (std::sscanf(text.substr(at, eol - at).c_str(), "%u %u %d %llu", &p.point, &p.replication,
                    &p.exit_code, &len) != 4 ||
        len > text.size() - eol - 1) {
      return std::nullopt;
    }
    p.message = text.substr(eol + 1, len);
    at = eol + 1 + len;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace dsim::sweep
