#include <cstdio>
#include <iostream>
#include <memory>

#include "sim/app/commands.h"
#include "sim/app/progress.h"
#include "sim/app/terminal.h"
#include "sim/report/message_diagram.h"
#include "sim/report/run_report.h"
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

// With output.diagram: diagram.svg joins the files (drawn here, above sim/run).
void add_diagram(RunOutput& out) {
  if (out.diagram) out.files.emplace_back("diagram.svg", render_message_diagram(*out.diagram));
}

// Runs the scenario again and compares every file: exit code 4 (said) when one differs,
// else 0.
int check_determinism(const ScenarioSpec& spec, const RunArgs& args, const RunOutput& out) {
  RunOptions options;
  options.check_invariants = args.check_invariants;
  RunOutput again = run_scenario(spec, options);
  add_diagram(again);
  for (size_t i = 0; i < out.files.size(); ++i) {
    const std::string other = i < again.files.size() ? again.files[i].second : "";
    if (out.files[i].second != other) {
      std::cerr << args.file << ": determinism check failed: " << out.files[i].first
                << " differs between two runs with seed " << spec.seed << " at "
                << first_difference(out.files[i].second, other) << "\n";
      return kExitNondeterministic;
    }
  }
  return kExitOk;
}

void print_results(const ScenarioSpec& spec, const RunArgs& args, const RunOutput& out,
                   const std::string& dir) {
  if (args.json) {
    for (const auto& [name, content] : out.files) {
      if (name == "summary.json") std::cout << content;
    }
  } else if (!args.quiet) {
    std::cout << render_terminal_summary(spec, out, terminal_width());
    if (args.check_determinism) std::cout << "\ndeterminism: two runs wrote identical bytes\n";
    std::cout << "\nresults in " << dir << "/\n";
    for (const auto& [name, content] : out.files) {
      if (name == report::kReportFile) std::cout << "report: " << dir << "/" << name << "\n";
    }
  }
}

// Adds report.html to the run's files (--report); a report that cannot be made is said,
// and the run's results are written without it.
void add_report(const ScenarioSpec& spec, const std::string& dir, const ModelRegistry& registry,
                RunOutput& out) {
  std::string error;
  auto html =
      report::render_run_report(report::memory_files(out.files), dir, registry, &error, &spec);
  if (!html) {
    std::cerr << "dsim: " << report::kReportFile << " not written: " << error << "\n";
    return;
  }
  out.files.emplace_back(report::kReportFile, std::move(*html));
}

}  // namespace

int cmd_run(const RunArgs& args, const ModelRegistry& registry) {
  // The progress line covers everything that can take long: reading the scenario,
  // building the engine, the run, the checkers and the files.
  auto bar = !args.quiet && ProgressBar::wanted() ? std::make_unique<ProgressBar>() : nullptr;
  Diagnostics diag;
  LoadOptions load;
  load.overrides = args.overrides;
  load.seed = args.seed;
  auto spec = load_scenario(args.file, load, registry, diag);
  const std::string dir = !spec ? ""
                          : args.out.empty()
                              ? "runs/" + spec->name + "-" + std::to_string(spec->seed)
                              : args.out;
  const auto refused = spec ? refuse_output_dir(dir, OutputKind::kRun, args.force) : std::nullopt;
  if (!spec || refused) {
    bar.reset();
    std::cerr << (spec ? "dsim: " + *refused + "\n" : diag.render());
    return kExitBadInput;
  }
  RunOptions options;
  options.check_invariants = args.check_invariants;
  if (bar) {
    bar->set_end(SimTime::zero() + spec->duration);
    options.progress = [&bar](const RunProgress& p) { bar->update(p); };
  }
  RunOutput out = run_scenario(*spec, options);
  add_diagram(out);
  bar.reset();
  if (!out.refused.empty()) {
    std::cerr << args.file << ": not run: " << out.refused << "\n";
    return kExitAborted;
  }
  if (args.check_determinism) {
    if (const int code = check_determinism(*spec, args, out)) return code;
  }
  if (args.report) add_report(*spec, dir, registry, out);
  std::string error, moved_aside;
  if (!write_run_directory(dir, out.files, &error, args.force, &moved_aside)) {
    std::cerr << "dsim: " << error << "\n";
    return kExitBadInput;
  }
  if (!moved_aside.empty())
    std::cerr << "dsim: what was at --out is now in " << moved_aside << "\n";
  print_results(*spec, args, out, dir);
  if (!out.trace_message.empty() && !args.quiet) std::cerr << "dsim: " << out.trace_message << "\n";
  if (aborted(out.stats.reason)) {
    std::cerr << args.file << ": run aborted: " << stop_reason_name(out.stats.reason) << " at "
              << format_seconds(out.stats.end_time) << " s"
              << (out.limit_message.empty() ? "" : " (" + out.limit_message + ")") << "\n";
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
