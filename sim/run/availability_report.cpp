#include "sim/run/availability_report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "sim/core/assert.h"
#include "sim/core/units.h"
#include "sim/run/report.h"

namespace dsim {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

// The completed operations of every family, each with its client group and type. An
// operation still in flight when the run ended was cut short by the end, not failed by
// the service: it is left out.
struct Op {
  uint32_t group;
  Symbol type;
  check::OpSpan span;  // its `group` is set per analysis
};

std::vector<Op> completed_ops(const Engine& engine) {
  std::vector<Op> ops;
  for (const auto& log : engine.metrics().history().logs()) {
    for (size_t i = 0; i < log->size(); ++i) {
      const HistorySpan o = log->span(i);
      if (o.complete == HistoryLog::kNever) continue;
      ops.push_back({engine.group_of(o.client), log->op_type(i),
                     check::OpSpan{0, o.invoke, o.complete, o.served}});
    }
  }
  return ops;
}

// The operation types, in name order.
std::vector<Symbol> types_of(const Engine& engine, const std::vector<Op>& ops) {
  std::vector<Symbol> types;
  for (const Op& o : ops)
    types.push_back(o.type);
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::sort(types.begin(), types.end(), [&](Symbol a, Symbol b) {
    return engine.symbols().name(a) < engine.symbols().name(b);
  });
  return types;
}

// The spans whose stream (check::OpSpan::group) `stream_of` gives; ops it maps to
// kNoStream are left out.
constexpr uint32_t kNoStream = std::numeric_limits<uint32_t>::max();
template <class StreamOf>
std::vector<check::OpSpan> spans(const std::vector<Op>& ops, StreamOf stream_of) {
  std::vector<check::OpSpan> out;
  for (const Op& o : ops) {
    const uint32_t s = stream_of(o);
    if (s == kNoStream) continue;
    out.push_back(o.span);
    out.back().group = s;
  }
  return out;
}

check::AvailabilityConfig config_of(const ScenarioSpec& spec, SimTime end) {
  check::AvailabilityConfig c;
  c.run_end = end;
  c.window = spec.availability.window.value_or(spec.output.window);
  c.min_unavailable = spec.availability.min_unavailable;
  c.baseline = spec.availability.baseline;
  c.recovered_fraction = spec.availability.recovered_fraction;
  return c;
}

struct Totals {
  uint64_t intervals = 0;
  Duration total = Duration::zero();
  Duration longest = Duration::zero();
};

// Over the intervals whose stream `wanted` accepts.
template <class Wanted>
Totals totals(const std::vector<check::UnavailableInterval>& intervals, Wanted wanted) {
  Totals t;
  for (const auto& i : intervals) {
    if (!wanted(i.group)) continue;
    ++t.intervals;
    t.total += i.length();
    t.longest = std::max(t.longest, i.length());
  }
  return t;
}

Totals totals_of(const std::vector<check::UnavailableInterval>& intervals, uint32_t stream) {
  return totals(intervals, [stream](uint32_t s) { return s == stream; });
}

// The recovery figures over some faults' recoveries: (first success, recovery) maxima,
// NaN when some fault never recovered.
std::pair<double, double> recovery_maxima(const std::vector<check::Recovery>& recoveries) {
  double first = 0, recover = 0;
  for (const auto& r : recoveries) {
    if (!r.to_first_success || !r.to_throughput) return {kUnknown, kUnknown};
    first = std::max(first, r.to_first_success->to_ms());
    recover = std::max(recover, r.to_throughput->to_ms());
  }
  return {first, recover};
}

std::string interval_line(const std::string& group, const std::string& op,
                          const check::UnavailableInterval& i) {
  return group + "," + op + "," + format_seconds(i.start) + "," + format_seconds(i.end) + "," +
         format_value(i.length().to_seconds()) + "," + std::to_string(i.failed_ops) + "\n";
}

std::string recovery_line(const std::string& op, const check::Recovery& r) {
  return "\"" + r.fault.what + "\"," + op + "," + format_seconds(r.fault.start) + "," +
         format_seconds(r.fault.end) + "," + format_value(r.baseline_per_s) + "," +
         (r.to_first_success ? format_value(r.to_first_success->to_ms()) : "") + "," +
         (r.to_throughput ? format_value(r.to_throughput->to_ms()) : "") + "\n";
}

// Everything the analysis found, pooled per client group and per operation type.
class Report {
 public:
  Report(const ScenarioSpec& spec, const Engine& engine,
         std::span<const check::FaultInterval> faults, std::span<const uint32_t> client_groups,
         RunOutput& out)
      : engine_(engine),
        faults_(faults),
        groups_(client_groups.begin(), client_groups.end()),
        config_(config_of(spec, out.stats.end_time)),
        ops_(completed_ops(engine)),
        types_(types_of(engine, ops_)),
        out_(out) {}

  std::vector<std::pair<std::string, std::string>> run(const std::string& header) {
    pooled_ = check::analyze_availability(spans(ops_, [](const Op& o) { return o.group; }), faults_,
                                          config_);
    by_group_type_ = check::analyze_availability(
        spans(ops_, [&](const Op& o) { return group_type_stream(o.group, o.type); }), {}, config_);
    for (Symbol t : types_) {
      by_type_.push_back(check::analyze_availability(
          spans(ops_, [&](const Op& o) { return o.type == t ? 0 : kNoStream; }), faults_, config_));
    }
    DSIM_ASSERT(by_type_.size() == types_.size(), "one analysis per operation type");
    for (const Op& o : ops_)
      recorded_.insert(group_type_stream(o.group, o.type));
    add_pooled_rows();
    add_type_rows();
    add_terminal_line();
    return {{"unavailability.csv", unavailability_csv(header)},
            {"recovery.csv", recovery_csv(header)}};
  }

 private:
  uint32_t group_type_stream(uint32_t group, Symbol type) const {
    const auto t = std::find(types_.begin(), types_.end(), type) - types_.begin();
    return group * static_cast<uint32_t>(types_.size()) + static_cast<uint32_t>(t);
  }
  // A type's intervals over every client group: each group's own (an outage of one
  // group's writes is not hidden by another group's successes), added up.
  Totals type_totals(size_t t) const {
    const auto n = static_cast<uint32_t>(types_.size());
    return totals(by_group_type_.intervals, [&](uint32_t s) { return s % n == t; });
  }
  std::string name(Symbol s) const { return std::string(engine_.symbols().name(s)); }
  const std::string& group_name(uint32_t g) const { return engine_.groups()[g].name; }
  void row(const std::string& group, const std::string& op, const char* metric, double v) {
    out_.summary.push_back({group, op, metric, v});
  }

  // Over every operation of a client group (run rows, and per group).
  void add_pooled_rows() {
    const Totals all = totals(pooled_.intervals, [](uint32_t) { return true; });
    row("run", "", "unavailable_intervals", static_cast<double>(all.intervals));
    row("run", "", "unavailable_seconds", all.total.to_seconds());
    row("run", "", "unavailable_seconds_max", all.longest.to_seconds());
    for (uint32_t g : groups_) {
      const Totals t = totals_of(pooled_.intervals, g);
      row(group_name(g), "", "unavailable_intervals", static_cast<double>(t.intervals));
      row(group_name(g), "", "unavailable_seconds", t.total.to_seconds());
    }
    row("run", "", "faults", static_cast<double>(pooled_.recoveries.size()));
    if (pooled_.recoveries.empty()) return;
    const auto [first, recover] = recovery_maxima(pooled_.recoveries);
    row("run", "", "time_to_first_success_ms_max", first);
    row("run", "", "time_to_recover_ms_max", recover);
  }

  // Per operation type: over every client group ("all"), and per group.
  void add_type_rows() {
    for (size_t t = 0; t < types_.size(); ++t) {
      const std::string op = name(types_[t]);
      const Totals all = type_totals(t);
      row("all", op, "unavailable_intervals", static_cast<double>(all.intervals));
      row("all", op, "unavailable_seconds", all.total.to_seconds());
      row("all", op, "unavailable_seconds_max", all.longest.to_seconds());
      if (!by_type_[t].recoveries.empty()) {
        const auto [first, recover] = recovery_maxima(by_type_[t].recoveries);
        row("all", op, "time_to_first_success_ms_max", first);
        row("all", op, "time_to_recover_ms_max", recover);
      }
      for (uint32_t g : groups_) {
        if (!recorded_.count(group_type_stream(g, types_[t]))) continue;
        const Totals gt = totals_of(by_group_type_.intervals, group_type_stream(g, types_[t]));
        row(group_name(g), op, "unavailable_intervals", static_cast<double>(gt.intervals));
        row(group_name(g), op, "unavailable_seconds", gt.total.to_seconds());
      }
    }
  }

  // "availability: N unavailability intervals ... (put: 1, 3.000 s); F faults, recovery ..."
  void add_terminal_line() {
    const Totals all = totals(pooled_.intervals, [](uint32_t) { return true; });
    std::string& text = out_.verdict_text;
    text += "  availability: " + std::to_string(all.intervals) +
            " unavailability intervals of at least " + format_duration(config_.min_unavailable) +
            " (" + format_fixed(all.total.to_seconds(), 3) + " s in all)";
    std::string by_op;
    for (size_t t = 0; t < types_.size(); ++t) {
      const Totals tt = type_totals(t);
      if (tt.intervals == 0) continue;
      by_op += (by_op.empty() ? "" : ", ") + name(types_[t]) + ": " + std::to_string(tt.intervals) +
               ", " + format_fixed(tt.total.to_seconds(), 3) + " s";
    }
    if (!by_op.empty()) text += "; by operation " + by_op;
    if (!pooled_.recoveries.empty()) {
      const auto [first, recover] = recovery_maxima(pooled_.recoveries);
      text += "; " + std::to_string(pooled_.recoveries.size()) + " faults, recovery within " +
              (std::isnan(recover) ? std::string("- (not every fault recovered)")
                                   : format_fixed(recover, 1) + " ms");
    }
    text += "\n";
  }

  std::string unavailability_csv(const std::string& header) const {
    std::string out = header;
    out +=
        "# intervals in which every operation a client group invoked failed (op all), or every "
        "operation of one type (see docs/consistency.md)\n";
    out += "group,op,start_s,end_s,duration_s,failed_ops\n";
    for (const auto& i : pooled_.intervals)
      out += interval_line(group_name(i.group), "all", i);
    for (const auto& i : by_group_type_.intervals) {
      const uint32_t g = i.group / static_cast<uint32_t>(types_.size());
      out += interval_line(group_name(g), name(types_[i.group % types_.size()]), i);
    }
    return out;
  }

  std::string recovery_csv(const std::string& header) const {
    std::string out = header;
    out +=
        "# per fault: time from its start to the first success, and until throughput is back "
        "within the recovered fraction of the baseline (empty: never in the run); over every "
        "operation (op all) and per operation type\n";
    out +=
        "fault,op,start_s,end_s,baseline_throughput_per_s,time_to_first_success_ms,"
        "time_to_recover_ms\n";
    for (const auto& r : pooled_.recoveries)
      out += recovery_line("all", r);
    for (size_t t = 0; t < types_.size(); ++t) {
      for (const auto& r : by_type_[t].recoveries)
        out += recovery_line(name(types_[t]), r);
    }
    return out;
  }

  const Engine& engine_;
  std::span<const check::FaultInterval> faults_;
  std::vector<uint32_t> groups_;
  check::AvailabilityConfig config_;
  std::vector<Op> ops_;
  std::vector<Symbol> types_;
  RunOutput& out_;
  std::set<uint32_t> recorded_;  // the (group, type) streams some operation completed in
  check::AvailabilityResult pooled_, by_group_type_;
  std::vector<check::AvailabilityResult> by_type_;  // by types_' index: their recoveries
};

}  // namespace

std::vector<std::pair<std::string, std::string>> add_availability(
    const ScenarioSpec& spec, const Engine& engine, std::span<const check::FaultInterval> faults,
    std::span<const uint32_t> client_groups, const std::string& header, RunOutput& out) {
  return Report(spec, engine, faults, client_groups, out).run(header);
}

}  // namespace dsim
