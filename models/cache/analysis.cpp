// The hit ratios of each cache group, after the run. Every node marks, every
// report_interval (and when the run ends), the requests it answered since its last mark:
// `cache_window` (hits, misses) and `cache_window_bytes` (bytes of the objects hit, bytes
// of the objects fetched for misses). The analysis sums them over the group:
//   hit_ratio       hits / (hits + misses), over the windows that began after the warmup
//   byte_hit_ratio  hit bytes / (hit bytes + miss bytes), likewise
// and writes cache_windows.csv: per group and window (by its end, in seconds), the hits,
// misses and both ratios, so the hit ratio can be followed over time (a cold start, a
// flash crowd, a purge). A miss refused by a lease counts as a miss and carries no bytes.
//
// purge_complete_ms_max: the longest time from a purge's issue to a node of the group
// carrying it out (each node marks `cache_purge` when it does).
//
// With trace_requests, every node also marked each request it received (`cache_request`:
// the key, and size x 4 + op); the group's requests, merged in time order, are written as
// cache_requests_<group>.csv in the trace format of models/kit/trace.h (time in seconds
// with 9 decimals, exact to the nanosecond), which `dsim cache replay` reads.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "models/cache/cache.h"
#include "sim/core/units.h"

namespace dsim::cache {

namespace {

struct Window {
  int64_t hits = 0, misses = 0, hit_bytes = 0, miss_bytes = 0;
  void add(const Window& o) {
    hits += o.hits;
    misses += o.misses;
    hit_bytes += o.hit_bytes;
    miss_bytes += o.miss_bytes;
  }
};

double ratio(int64_t part, int64_t rest) {
  return part + rest > 0 ? static_cast<double>(part) / static_cast<double>(part + rest) : 0;
}

std::string cell(double v) {
  return format_number(v);
}

// Seconds with 9 decimals: a SimTime exactly.
std::string seconds_exact(SimTime t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(t.ns() / 1'000'000'000),
                static_cast<long long>(t.ns() % 1'000'000'000));
  return buf;
}

bool in_group(const AnalysisInput::Group& g, NodeId n) {
  return std::find(g.nodes.begin(), g.nodes.end(), n) != g.nodes.end();
}

// The requests group `g` received, as a trace (empty unless it traced them).
std::string request_trace(const AnalysisInput& in, const AnalysisInput::Group& g) {
  std::string csv = "time,key,size,op\n";
  for (const TimelineMark& m : in.marks) {
    if (in.symbol_name(m.kind) != "cache_request" || !in_group(g, m.node)) continue;
    const auto packed = static_cast<uint64_t>(m.b);
    csv += seconds_exact(m.at) + "," + std::to_string(static_cast<uint64_t>(m.a)) + "," +
           std::to_string(packed >> 2) + "," + ((packed & 3) == 0 ? "get" : "put") + "\n";
  }
  return csv;
}

// The longest time from a purge's issue to its being carried out on a node of the group
// (the purge's `at` taken on the true clock: the nodes' clocks are assumed true), over the
// purges every node carried out; nullopt when there were none.
std::optional<double> purge_complete_ms(const AnalysisInput& in, const AnalysisInput::Group& g,
                                        const Cache::Config& config) {
  std::optional<double> worst;
  for (const TimelineMark& m : in.marks) {
    if (in.symbol_name(m.kind) != "cache_purge" || !in_group(g, m.node)) continue;
    const auto i = static_cast<size_t>(m.a);
    if (i >= config.purges.size()) continue;
    const double ms = (m.at - (SimTime::zero() + config.purges[i].at)).to_ms();
    worst = std::max(worst.value_or(0.0), ms);
  }
  return worst;
}

}  // namespace

AnalysisOutput Cache::analyze(const AnalysisInput& in) {
  AnalysisOutput out;
  std::string csv = "group,time_s,hits,misses,hit_ratio,byte_hit_ratio\n";
  for (const auto& g : in.groups) {
    const auto& config = *static_cast<const Config*>(g.config);
    const Duration every = config.report_interval;
    std::map<int64_t, Window> windows;  // by window index (its end / report_interval)
    Window measured;
    for (const TimelineMark& m : in.marks) {
      const std::string_view kind = in.symbol_name(m.kind);
      if (kind != "cache_window" && kind != "cache_window_bytes") continue;
      if (!in_group(g, m.node)) continue;
      Window w;
      if (kind == "cache_window") {
        w.hits = m.a;
        w.misses = m.b;
      } else {
        w.hit_bytes = m.a;
        w.miss_bytes = m.b;
      }
      windows[(m.at.ns() + every.ns() - 1) / every.ns()].add(w);
      if (m.at - every >= in.warmup_end) measured.add(w);
    }
    if (measured.hits + measured.misses > 0) {
      out.rows.push_back({g.name, "", "hit_ratio", ratio(measured.hits, measured.misses)});
      out.rows.push_back(
          {g.name, "", "byte_hit_ratio", ratio(measured.hit_bytes, measured.miss_bytes)});
    }
    if (const auto ms = purge_complete_ms(in, g, config)) {
      out.rows.push_back({g.name, "", "purge_complete_ms_max", *ms});
    }
    for (const auto& [index, w] : windows) {
      const double end_s = (every * index).to_seconds();
      csv += g.name + "," + cell(end_s) + "," + std::to_string(w.hits) + "," +
             std::to_string(w.misses) + "," + cell(ratio(w.hits, w.misses)) + "," +
             cell(ratio(w.hit_bytes, w.miss_bytes)) + "\n";
    }
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; hit ratios may miss windows" +
                  (config.trace_requests ? " and the request trace is cut short" : "") + "\n";
    }
    if (config.trace_requests) {
      out.files.emplace_back("cache_requests_" + g.name + ".csv", request_trace(in, g));
    }
  }
  out.files.emplace_back("cache_windows.csv", std::move(csv));
  return out;
}

}  // namespace dsim::cache
