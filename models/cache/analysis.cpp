// The hit ratios of each cache group, after the run. Every node marks, every
// report_interval (and when the run ends), the requests it answered since its last mark:
// `cache_window` (hits, misses) and `cache_window_bytes` (bytes of the objects hit, bytes
// of the objects fetched for misses). The analysis sums them over the group:
//   hit_ratio       hits / (hits + misses), over the windows that began after the warmup
//   byte_hit_ratio  hit bytes / (hit bytes + miss bytes), likewise
// and writes cache_windows.csv: per group and window (by its end, in seconds), the hits,
// misses and both ratios, so the hit ratio can be followed over time (a cold start, a
// flash crowd, a purge). A miss refused by a lease counts as a miss and carries no bytes.
#include <algorithm>
#include <map>
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
      if (std::find(g.nodes.begin(), g.nodes.end(), m.node) == g.nodes.end()) continue;
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
    for (const auto& [index, w] : windows) {
      const double end_s = (every * index).to_seconds();
      csv += g.name + "," + cell(end_s) + "," + std::to_string(w.hits) + "," +
             std::to_string(w.misses) + "," + cell(ratio(w.hits, w.misses)) + "," +
             cell(ratio(w.hit_bytes, w.miss_bytes)) + "\n";
    }
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; hit ratios may miss windows\n";
    }
  }
  out.files.emplace_back("cache_windows.csv", std::move(csv));
  return out;
}

}  // namespace dsim::cache
