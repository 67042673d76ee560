// `dsim bench phold`: the engine benchmark of tests/bench/peers/README.md. It writes the
// workload as a scenario (model `phold`), loads it through the scenario layer and the
// model registry, and runs it on the engine exactly as `dsim run` would; only the
// output files are skipped. The wall clock is read here, around the run, and nowhere in
// the simulation.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "sim/app/commands.h"
#include "sim/run/runner.h"
#include "sim/scenario/scenario.h"

namespace dsim {

namespace {

using Clock = std::chrono::steady_clock;  // dsim-lint: allow(wall-clock)

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();  // dsim-lint: allow(wall-clock)
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

std::string phold_scenario(const BenchArgs& a) {
  const auto end_ns = static_cast<int64_t>(std::llround(a.end_s * 1e9));
  std::string s;
  s += "name: bench-phold-" + a.workload + "\n";
  s += "description: >\n  dsim bench phold --workload " + a.workload + " --nodes " +
       std::to_string(a.nodes) + " --tokens " + std::to_string(a.tokens) + " --end-s " +
       format_seconds(SimTime::from_ns(end_ns)) + " --seed " + std::to_string(a.seed) +
       " (tests/bench/peers/README.md).\n";
  s += "seed: " + std::to_string(a.seed) + "\n";
  s += "duration: " + std::to_string(end_ns) + "ns\n";
  if (a.workload == "net") {
    // Host i's access link has latency U(0.05 ms, 0.5 ms), drawn once; a hop i -> j
    // takes lat[i] + lat[j].
    s += "network:\n  access_latency: uniform(0.05ms, 0.5ms)\n";
  }
  // No output files are written, so no per-pair counters either (links.csv): with 10^5
  // nodes the pairs that talk would otherwise grow with every message.
  s += "output:\n  links: false\n";
  s += "groups:\n  - name: hosts\n    model: phold\n    count: " + std::to_string(a.nodes) +
       "\n    params: {workload: " + a.workload + ", tokens: " + std::to_string(a.tokens) + "}\n";
  return s;
}

int cmd_bench(const BenchArgs& args, const ModelRegistry& registry) {
  if (!(args.end_s > 0) || !std::isfinite(args.end_s) || args.end_s > 1e9) {
    std::cerr << "dsim bench: --end-s must be a number of seconds > 0 (and at most 1e9)\n";
    return kExitBadInput;
  }
  if (args.workload == "net" && args.nodes < 2) {
    std::cerr << "dsim bench: the net workload needs --nodes >= 2 (a token goes to another "
                 "node)\n";
    return kExitBadInput;
  }
  const std::string text = phold_scenario(args);
  if (args.print_scenario) {
    std::cout << text;
    return kExitOk;
  }
  Diagnostics diag;
  auto spec = load_scenario_text(text, "dsim bench phold", LoadOptions{}, registry, diag);
  if (!spec) {
    std::cerr << diag.render();
    return kExitBadInput;
  }

  const auto t0 = Clock::now();  // dsim-lint: allow(wall-clock)
  auto engine = build_engine(*spec);
  const double setup_s = seconds_since(t0);
  const auto t1 = Clock::now();  // dsim-lint: allow(wall-clock)
  const RunStats stats = engine->run();
  const double run_s = seconds_since(t1);

  char line[512];
  std::snprintf(line, sizeof line,
                "phold %s: %u nodes, %llu tokens, %g s simulated: %llu events in %.3f s = "
                "%.3f M events/s (setup %.3f s, peak pending %llu, peak RSS %.1f MB)\n",
                args.workload.c_str(), args.nodes, static_cast<unsigned long long>(args.tokens),
                stats.end_time.to_seconds(), static_cast<unsigned long long>(stats.events), run_s,
                run_s > 0 ? static_cast<double>(stats.events) / run_s / 1e6 : 0.0, setup_s,
                static_cast<unsigned long long>(stats.peak_pending),
                static_cast<double>(peak_rss_kb()) / 1024);
  std::cerr << line;
  std::snprintf(line, sizeof line, "workload=%s events=%llu sim_seconds=%g\n",
                args.workload.c_str(), static_cast<unsigned long long>(stats.events),
                stats.end_time.to_seconds());
  std::cout << line;
  if (aborted(stats.reason)) {
    std::cerr << "dsim bench: run aborted: " << stop_reason_name(stats.reason) << "\n";
    return kExitAborted;
  }
  return kExitOk;
}

}  // namespace dsim
