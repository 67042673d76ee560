#include <cstdio>
#include <iostream>
#include <memory>

#include "sim/app/commands.h"
#include "sim/app/progress.h"
#include "sim/app/terminal.h"
#include "sim/run/output_dir.h"
#include "sim/run/report.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

namespace dsim {

namespace {

// Points at the first difference between two renderings of the same file.
std::string first_difference(const std::string& a, const std::string& b) {
  size_t line = 1, i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) {
    if (a[i] == '\n') ++line;
    ++i;
  }
  return "line " + std::to_string(line);
}

}  // namespace

int cmd_run(const RunArgs& args, const ModelRegistry& registry) {
  Diagnostics diag;
  LoadOptions load;
  load.overrides = args.overrides;
  load.seed = args.seed;
  auto spec = load_scenario(args.file, load, registry, diag);
  if (!spec) {
    std::cerr << diag.render();
    return kExitBadInput;
  }
  RunOptions options;
  options.check_invariants = args.check_invariants;
  std::unique_ptr<ProgressBar> bar;
  if (!args.quiet && ProgressBar::wanted()) {
    bar = std::make_unique<ProgressBar>(SimTime::zero() + spec->duration);
    options.progress = [&bar](SimTime now, uint64_t events) { bar->update(now, events); };
  }
  RunOutput out = run_scenario(*spec, options);
  bar.reset();

  if (args.check_determinism) {
    RunOutput again = run_scenario(*spec, RunOptions{{}, 0, args.check_invariants});
    for (size_t i = 0; i < out.files.size(); ++i) {
      if (out.files[i].second != again.files[i].second) {
        std::cerr << args.file << ": determinism check failed: " << out.files[i].first
                  << " differs between two runs with seed " << spec->seed << " at "
                  << first_difference(out.files[i].second, again.files[i].second) << "\n";
        return kExitNondeterministic;
      }
    }
  }

  if (out.checks_unresolved()) {
    for (const auto& c : out.checks) {
      if (c.value) continue;
      std::cerr << c.check->loc.str() << ": error: check '" << c.check->text
                << "' names a metric this run did not produce (see summary.csv for the "
                   "metrics; a scoped check reads group.op.metric)\n";
    }
    return kExitBadInput;
  }

  const std::string dir =
      args.out.empty() ? "runs/" + spec->name + "-" + std::to_string(spec->seed) : args.out;
  std::string error;
  if (!write_run_directory(dir, out.files, &error)) {
    std::cerr << "dsim: " << error << "\n";
    return kExitBadInput;
  }

  if (args.json) {
    for (const auto& [name, content] : out.files) {
      if (name == "summary.json") std::cout << content;
    }
  } else if (!args.quiet) {
    std::cout << render_terminal_summary(*spec, out, terminal_width());
    if (args.check_determinism) std::cout << "\ndeterminism: two runs wrote identical bytes\n";
    std::cout << "\nresults in " << dir << "/\n";
  }
  if (aborted(out.stats.reason)) {
    std::cerr << args.file << ": run aborted: " << stop_reason_name(out.stats.reason) << " at "
              << format_seconds(out.stats.end_time) << " s\n";
    return kExitAborted;
  }
  return out.checks_passed() ? kExitOk : kExitCheckFailed;
}

int cmd_validate(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                 const ModelRegistry& registry) {
  int status = kExitOk;
  for (const auto& f : files) {
    Diagnostics diag;
    LoadOptions load;
    load.overrides = overrides;
    auto spec = load_scenario(f, load, registry, diag);
    if (!spec) {
      std::cerr << diag.render();
      status = kExitBadInput;
      continue;
    }
    uint64_t nodes = 0;
    for (const auto& g : spec->groups)
      nodes += g.count;
    std::cout << f << ": ok (" << spec->groups.size() << " groups, " << nodes << " nodes, "
              << format_duration(spec->duration) << ")\n";
  }
  return status;
}

}  // namespace dsim
