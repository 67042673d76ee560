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
// failover_ms_max (groups with replicas): the longest time from a shard primary's crash to
// a replica's promotion in its place (each promoted replica marks `cache_failover` with the
// node it replaced; the crash is that node's last going down before it). A promotion whose
// old primary did not crash (a partition, a pause) is not counted.
//
// With trace_requests, every node also marked each request it received (`cache_request`:
// the key, and size x 4 + op); the group's requests, merged in time order, are written as
// cache_requests_<group>.csv in the trace format of models/kit/trace.h (time in seconds
// with 9 decimals, exact to the nanosecond), which `dsim cache replay` reads.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

// What one group's marks add up to.
struct Tally {
  std::map<int64_t, Window> windows;  // by window index (its end / report_interval)
  Window measured;                    // the windows that began after the warmup
  std::optional<double> purge_ms;     // the longest purge, issue to a node carrying it out
  std::optional<double> failover_ms;  // the longest crash of a primary to its replacement
  std::string trace = "time,key,size,op\n";
};

// Adds one mark of a node of the group (its kind's name `kind`) to the tally. Purges: the
// purge's `at` is taken on the true clock (the nodes' clocks are assumed true).
void add_mark(Tally& t, const TimelineMark& m, std::string_view kind, const Cache::Config& c,
              SimTime warmup_end, std::span<const NodeLifeEvent> life) {
  if (kind == "cache_window" || kind == "cache_window_bytes") {
    Window w;
    (kind == "cache_window" ? w.hits : w.hit_bytes) = m.a;
    (kind == "cache_window" ? w.misses : w.miss_bytes) = m.b;
    const Duration every = c.report_interval;
    t.windows[(m.at.ns() + every.ns() - 1) / every.ns()].add(w);
    if (m.at - every >= warmup_end) t.measured.add(w);
  } else if (kind == "cache_purge" && static_cast<size_t>(m.a) < c.purges.size()) {
    const double ms = (m.at - (SimTime::zero() + c.purges[static_cast<size_t>(m.a)].at)).to_ms();
    t.purge_ms = std::max(t.purge_ms.value_or(0.0), ms);
  } else if (kind == "cache_failover") {
    const auto old = static_cast<NodeId>(m.a);
    std::optional<SimTime> down;
    for (const NodeLifeEvent& e : life) {
      if (e.at > m.at) break;
      if (e.node == old) down = e.status == NodeStatus::kDown ? std::optional(e.at) : std::nullopt;
    }
    if (down) t.failover_ms = std::max(t.failover_ms.value_or(0.0), (m.at - *down).to_ms());
  } else if (kind == "cache_request") {
    const auto packed = static_cast<uint64_t>(m.b);
    t.trace += seconds_exact(m.at) + "," + std::to_string(static_cast<uint64_t>(m.a)) + "," +
               std::to_string(packed >> 2) + "," + ((packed & 3) == 0 ? "get" : "put") + "\n";
  }
}

}  // namespace

AnalysisOutput Cache::analyze(const AnalysisInput& in) {
  // One pass over the marks: each node's group, each mark to its group's tally.
  std::vector<size_t> group_of(in.node_count, in.groups.size());
  for (size_t g = 0; g < in.groups.size(); ++g) {
    for (const NodeId n : in.groups[g].nodes)
      group_of.at(n) = g;
  }
  std::vector<Tally> tallies(in.groups.size());
  for (const TimelineMark& m : in.marks) {
    const size_t g = m.node < group_of.size() ? group_of[m.node] : in.groups.size();
    if (g == in.groups.size()) continue;
    add_mark(tallies[g], m, in.symbol_name(m.kind),
             *static_cast<const Config*>(in.groups[g].config), in.warmup_end, in.life);
  }
  AnalysisOutput out;
  std::string csv = "group,time_s,hits,misses,hit_ratio,byte_hit_ratio\n";
  for (size_t gi = 0; gi < in.groups.size(); ++gi) {
    const auto& g = in.groups[gi];
    const auto& config = *static_cast<const Config*>(g.config);
    Tally& t = tallies[gi];
    if (t.measured.hits + t.measured.misses > 0) {
      out.rows.push_back({g.name, "", "hit_ratio", ratio(t.measured.hits, t.measured.misses)});
      out.rows.push_back(
          {g.name, "", "byte_hit_ratio", ratio(t.measured.hit_bytes, t.measured.miss_bytes)});
    }
    if (t.purge_ms) out.rows.push_back({g.name, "", "purge_complete_ms_max", *t.purge_ms});
    if (t.failover_ms) out.rows.push_back({g.name, "", "failover_ms_max", *t.failover_ms});
    for (const auto& [index, w] : t.windows) {
      const double end_s = (config.report_interval * index).to_seconds();
      csv += g.name + "," + cell(end_s) + "," + std::to_string(w.hits) + "," +
             std::to_string(w.misses) + "," + cell(ratio(w.hits, w.misses)) + "," +
             cell(ratio(w.hit_bytes, w.miss_bytes)) + "\n";
    }
    if (in.marks_truncated) {
      out.text += "  " + g.name + ": the mark store filled up; hit ratios may miss windows" +
                  (config.trace_requests ? " and the request trace is cut short" : "") + "\n";
    }
    if (config.trace_requests) {
      out.files.emplace_back("cache_requests_" + g.name + ".csv", std::move(t.trace));
    }
  }
  out.files.emplace_back("cache_windows.csv", std::move(csv));
  return out;
}

}  // namespace dsim::cache
