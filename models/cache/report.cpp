// cache's section of the HTML report: each group's hit ratio over time (cache_windows.csv,
// analysis.cpp) against the faults, and its figures: hit ratios over the measured windows,
// misses by cause, evictions, origin fetches, and purge and failover times.
#include <string>
#include <vector>

#include "models/cache/cache.h"
#include "models/kit/report.h"

namespace dsim::cache {

std::vector<ReportSection> Cache::report(const ReportInput& in) {
  std::vector<ReportSection> out;
  const auto windows = kit::group_rows(in, "cache_windows.csv", in.groups);
  const auto figures = kit::figures_table(
      in, in.groups, "Cache figures",
      "Hit ratios over the windows after the warmup (by requests and by bytes), misses by "
      "cause, evictions, fetches from the origin and the slowest purge and failover.",
      {{"hit_ratio", "hit ratio", 4},
       {"byte_hit_ratio", "byte hit ratio", 4},
       kit::counter("hits", "hits"),
       kit::counter("misses", "misses"),
       kit::counter("misses_cold", "cold"),
       kit::counter("misses_capacity", "capacity"),
       kit::counter("misses_expired", "expired"),
       kit::counter("evictions", "evictions"),
       kit::counter("origin_fetches", "origin fetches"),
       kit::counter("coalesced", "coalesced"),
       kit::counter("stale_served", "stale served"),
       {"purge_complete_ms_max", "purge max (ms)", 1},
       {"failover_ms_max", "failover max (ms)", 1}});
  if (windows.empty() && !figures) return out;
  ReportSection s;
  s.title = "Cache: hit ratio";
  ReportFigure f;
  f.title = "Hit ratio over time";
  f.caption =
      "Each group's share of requests answered from the cache, per reporting window: a "
      "rise from zero is a cold start, a dip a purge, a flash crowd of new keys or a lost "
      "shard.";
  f.x_label = "time (s)";
  f.y_label = "hit ratio";
  f.bands = in.fault_bands;
  for (const auto& g : in.groups) {
    ReportSeries series{g, {}};
    for (size_t i = 0; i < windows.size(); ++i) {
      if (windows.cell(i, "group") != g) continue;
      const auto at = windows.number(i, "time_s"), ratio = windows.number(i, "hit_ratio");
      if (at && ratio) series.points.emplace_back(*at, *ratio);
    }
    if (!series.points.empty()) f.series.push_back(std::move(series));
  }
  if (!f.series.empty()) s.figures.push_back(std::move(f));
  if (figures) s.tables.push_back(*figures);
  out.push_back(std::move(s));
  return out;
}

}  // namespace dsim::cache
