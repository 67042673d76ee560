#include "sim/run/verdicts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "sim/check/history_files.h"
#include "sim/check/linearizability.h"
#include "sim/check/staleness.h"
#include "sim/run/report.h"

namespace dsim {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double ratio(uint64_t a, uint64_t b) {
  return b ? static_cast<double>(a) / static_cast<double>(b) : kUnknown;
}

std::string percent(uint64_t a, uint64_t b) {
  return b ? fixed(100.0 * static_cast<double>(a) / static_cast<double>(b), 3) + "%" : "-";
}

constexpr std::string_view kGroupMetrics[] = {
    "reads_checked",
    "stale_reads",
    "stale_read_rate",
    "k_staleness_mean",
    "k_staleness_max",
    "visibility_lag_ms_max",
    "invalid_reads",
    "read_your_writes_reads",
    "read_your_writes_violations",
    "monotonic_read_reads",
    "monotonic_read_violations",
    "acked_writes",
    "lost_writes",
    "lost_writes_seen",
    "lost_writes_unverified",
    "duplicate_appends",
    "unavailable_intervals",
    "unavailable_seconds",
};

void staleness_rows(std::vector<SummaryRow>& rows, const std::string& group,
                    const check::StalenessStats& s, bool final_reads) {
  auto row = [&](const char* metric, double v) { rows.push_back({group, "", metric, v}); };
  row("reads_checked", static_cast<double>(s.reads));
  row("stale_reads", static_cast<double>(s.stale_reads));
  row("stale_read_rate", ratio(s.stale_reads, s.reads));
  row("k_staleness_mean",
      s.reads ? static_cast<double>(s.k_sum) / static_cast<double>(s.reads) : kUnknown);
  row("k_staleness_max", static_cast<double>(s.k_max));
  row("visibility_lag_ms_max",
      s.stale_lag_max_ns < 0 ? 0.0 : static_cast<double>(s.stale_lag_max_ns) / 1e6);
  row("invalid_reads", static_cast<double>(s.invalid_reads));
  row("read_your_writes_reads", static_cast<double>(s.ryw_reads));
  row("read_your_writes_violations", static_cast<double>(s.ryw_violations));
  row("monotonic_read_reads", static_cast<double>(s.mr_reads));
  row("monotonic_read_violations", static_cast<double>(s.mr_violations));
  row("acked_writes", static_cast<double>(s.acked_writes));
  // Lost writes are only known when every acknowledged write could be checked against a
  // final read: otherwise the count is unknown (empty), so `lost_writes == 0` cannot pass
  // on a run that did not verify it.
  row("lost_writes", s.unverified_writes == 0 && (final_reads || s.acked_writes == 0)
                         ? static_cast<double>(s.lost_writes)
                         : kUnknown);
  row("lost_writes_seen", static_cast<double>(s.lost_writes));
  row("lost_writes_unverified", static_cast<double>(s.unverified_writes));
  row("duplicate_appends", static_cast<double>(s.duplicate_appends));
}

std::string tvis_csv(const std::string& header,
                     const std::vector<std::pair<std::string, const check::StalenessStats*>>& all) {
  std::string out = header;
  out +=
      "# t-visibility: of the reads started t after the last write of their key completed, "
      "the share that saw it (or a newer one); t_ms_hi empty = unbounded\n";
  out += "group,t_ms_lo,t_ms_hi,reads,visible,p_visible\n";
  for (const auto& [group, s] : all) {
    for (const auto& b : s->tvis) {
      out += group + "," + format_value(static_cast<double>(b.lo_ns) / 1e6) + "," +
             (b.hi_ns == std::numeric_limits<int64_t>::max()
                  ? std::string()
                  : format_value(static_cast<double>(b.hi_ns) / 1e6)) +
             "," + std::to_string(b.reads) + "," + std::to_string(b.visible) + "," +
             format_value(ratio(b.visible, b.reads)) + "\n";
    }
  }
  return out;
}

std::string k_csv(const std::string& header,
                  const std::vector<std::pair<std::string, const check::StalenessStats*>>& all) {
  std::string out = header;
  out += "# k-staleness: reads by how many acknowledged versions behind they were (0 = fresh)\n";
  out += "group,k,reads,fraction\n";
  for (const auto& [group, s] : all) {
    for (size_t k = 0; k < s->k_counts.size(); ++k) {
      if (s->k_counts[k] == 0) continue;
      out += group + "," + std::to_string(k) + "," + std::to_string(s->k_counts[k]) + "," +
             format_value(ratio(s->k_counts[k], s->reads)) + "\n";
    }
  }
  return out;
}

}  // namespace

bool is_verdict_metric(std::string_view metric) {
  return std::find(std::begin(kGroupMetrics), std::end(kGroupMetrics), metric) !=
         std::end(kGroupMetrics);
}

std::vector<std::pair<std::string, std::string>> add_verdicts(
    const ScenarioSpec& spec, const Engine& engine, std::span<const check::FaultInterval> faults,
    RunOutput& out) {
  std::vector<std::pair<std::string, std::string>> files;
  const History& h = engine.metrics().history();
  if (h.empty() && !h.truncated()) return files;
  const std::string header = file_header(spec);
  const check::NodeNamer name = [&engine](NodeId n) { return engine.node_name(n); };
  std::vector<uint32_t> node_group(engine.node_count());
  for (NodeId n = 0; n < node_group.size(); ++n)
    node_group[n] = engine.group_of(n);
  std::set<uint32_t> client_groups;
  for (const auto& o : h.ops())
    client_groups.insert(node_group[o.client]);
  const bool per_group = client_groups.size() > 1;
  auto run = [&](const char* metric, double v) { out.summary.push_back({"run", "", metric, v}); };
  std::string& text = out.verdict_text;
  text += "consistency (" + std::to_string(h.size()) + " operations in the history";
  run("history_ops", static_cast<double>(h.size()));
  run("history_truncated", h.truncated() ? 1 : 0);
  run("history_ops_dropped", static_cast<double>(h.dropped()));
  if (h.truncated()) {
    text += "; FULL at " + format_seconds(h.truncated_at()) + " s: " + std::to_string(h.dropped()) +
            " later operations not recorded, raise consistency.history_memory";
  }
  text += "):\n";

  // Linearizability.
  if (spec.consistency.linearizability) {
    check::LinearizabilityConfig cfg;
    cfg.per_key.max_steps = spec.consistency.max_search_steps;
    cfg.per_key.max_memory_bytes = spec.consistency.max_search_memory;
    cfg.max_steps_total = spec.consistency.max_total_steps;
    cfg.minimize = spec.consistency.minimize;
    const check::LinearizabilityResult lin = check::check_linearizability(h, cfg);
    // A truncated history is a prefix: a violation in it stands, but its being
    // linearizable says nothing of the operations that were not recorded.
    check::Verdict verdict = lin.verdict;
    if (verdict == check::Verdict::kOk && h.truncated()) verdict = check::Verdict::kUnknown;
    run("linearizable", verdict == check::Verdict::kOk          ? 1.0
                        : verdict == check::Verdict::kViolation ? 0.0
                                                                : kUnknown);
    run("linearizability_keys", static_cast<double>(lin.keys));
    run("linearizability_keys_violated", static_cast<double>(lin.violated));
    run("linearizability_keys_unknown", static_cast<double>(lin.unknown));
    run("linearizability_steps", static_cast<double>(lin.steps));
    text += "  linearizability: " + std::string(check::verdict_name(verdict)) + " (" +
            std::to_string(lin.keys) + " keys";
    if (lin.violated) text += ", " + std::to_string(lin.violated) + " violated";
    if (lin.unknown) text += ", " + std::to_string(lin.unknown) + " unknown";
    if (verdict == check::Verdict::kUnknown && lin.verdict == check::Verdict::kOk) {
      text += ", history truncated";
    }
    text += ", " + std::to_string(lin.steps) + " search steps)\n";
    std::string report = header;
    report += "# linearizability, key by key: " + std::string(check::verdict_name(verdict)) + "; " +
              std::to_string(lin.keys) + " keys, " + std::to_string(lin.violated) +
              " not linearizable, " + std::to_string(lin.unknown) + " unknown\n";
    bool shown = false;
    for (const auto& k : lin.flagged) {
      report += "\nkey " + std::to_string(k.key) + ": " +
                std::string(check::verdict_name(k.verdict)) + " (" + std::to_string(k.ops) +
                " operations, " + std::to_string(k.steps) + " search steps)";
      if (k.verdict == check::Verdict::kUnknown) report += ": " + k.why_unknown;
      report += "\n";
      if (k.counterexample.empty()) continue;
      const std::string what = std::string(k.minimal ? "a minimal set" : "a set") + " of " +
                               std::to_string(k.counterexample.size()) +
                               " operations that no order explains";
      report += "  " + what + ":\n";
      std::string lines;
      for (uint32_t i : k.counterexample)
        lines += "    " + check::describe_op(h, i, name) + "\n";
      report += lines;
      if (!shown) {
        shown = true;
        text += "    key " + std::to_string(k.key) + ": " + what + ":\n";
        size_t n = 0;
        for (uint32_t i : k.counterexample) {
          if (++n > 12) {
            text += "      ... (see linearizability.txt)\n";
            break;
          }
          text += "      " + check::describe_op(h, i, name) + "\n";
        }
      }
    }
    for (const auto& k : lin.flagged) {
      if (k.verdict == check::Verdict::kUnknown) {
        text += "    key " + std::to_string(k.key) + " unknown: " + k.why_unknown + "\n";
        break;
      }
    }
    files.emplace_back("linearizability.txt", report);
  }

  // Staleness, sessions, lost and duplicated writes.
  check::StalenessConfig scfg;
  scfg.measured_from = SimTime::zero() + spec.warmup;
  scfg.tvis_step = spec.consistency.tvis_step;
  scfg.tvis_max = spec.consistency.tvis_max;
  const check::StalenessResult st = check::check_staleness(h, node_group, scfg);
  staleness_rows(out.summary, "run", st.total, st.has_final_reads);
  std::vector<std::pair<std::string, const check::StalenessStats*>> tables = {{"all", &st.total}};
  if (per_group) {
    for (const auto& [g, s] : st.groups) {
      staleness_rows(out.summary, engine.groups()[g].name, s, st.has_final_reads);
      tables.emplace_back(engine.groups()[g].name, &s);
    }
  }
  const auto& t = st.total;
  text += "  stale reads: " + std::to_string(t.stale_reads) + " of " + std::to_string(t.reads) +
          " (" + percent(t.stale_reads, t.reads) + "), k max " + std::to_string(t.k_max) +
          "; invalid reads " + std::to_string(t.invalid_reads) + "\n";
  text += "  sessions: read-your-writes violations " + std::to_string(t.ryw_violations) + " of " +
          std::to_string(t.ryw_reads) + ", monotonic-read violations " +
          std::to_string(t.mr_violations) + " of " + std::to_string(t.mr_reads) + "\n";
  text += "  writes: " + std::to_string(t.acked_writes) + " acknowledged, lost " +
          (t.unverified_writes == 0 && (st.has_final_reads || t.acked_writes == 0)
               ? std::to_string(t.lost_writes)
               : std::to_string(t.lost_writes) + " seen, " + std::to_string(t.unverified_writes) +
                     " unverified (no final read-back after them)") +
          ", duplicate appends " + std::to_string(t.duplicate_appends) + "\n";
  files.emplace_back("t_visibility.csv", tvis_csv(header, tables));
  files.emplace_back("k_staleness.csv", k_csv(header, tables));

  // Availability.
  std::vector<check::OpSpan> spans;
  spans.reserve(h.size());
  const SimTime end = out.stats.end_time;
  for (const auto& o : h.ops()) {
    // An operation still in flight when the run ended was cut short by the end, not
    // failed by the service: it is left out.
    if (o.complete == HistoryOp::kNever) continue;
    spans.push_back({node_group[o.client], o.invoke, o.complete, o.served});
  }
  check::AvailabilityConfig acfg;
  acfg.run_end = end;
  acfg.window = spec.availability.window.value_or(spec.output.window);
  acfg.min_unavailable = spec.availability.min_unavailable;
  acfg.baseline = spec.availability.baseline;
  acfg.recovered_fraction = spec.availability.recovered_fraction;
  const check::AvailabilityResult av = check::analyze_availability(spans, faults, acfg);
  std::map<uint32_t, std::pair<uint64_t, Duration>> per;  // group -> (count, total)
  Duration total = Duration::zero(), longest = Duration::zero();
  std::string un = header;
  un += "# intervals in which every operation a client group invoked failed (see README)\n";
  un += "group,start_s,end_s,duration_s,failed_ops\n";
  for (const auto& i : av.intervals) {
    per[i.group].first++;
    per[i.group].second += i.length();
    total += i.length();
    longest = std::max(longest, i.length());
    un += engine.groups()[i.group].name + "," + format_seconds(i.start) + "," +
          format_seconds(i.end) + "," + format_value(i.length().to_seconds()) + "," +
          std::to_string(i.failed_ops) + "\n";
  }
  run("unavailable_intervals", static_cast<double>(av.intervals.size()));
  run("unavailable_seconds", total.to_seconds());
  run("unavailable_seconds_max", longest.to_seconds());
  if (per_group) {
    for (uint32_t g : client_groups) {
      const auto& [n, d] = per[g];
      out.summary.push_back(
          {engine.groups()[g].name, "", "unavailable_intervals", static_cast<double>(n)});
      out.summary.push_back({engine.groups()[g].name, "", "unavailable_seconds", d.to_seconds()});
    }
  }
  text += "  availability: " + std::to_string(av.intervals.size()) +
          " unavailability intervals of at least " + format_duration(acfg.min_unavailable) + " (" +
          fixed(total.to_seconds(), 3) + " s in all)";
  files.emplace_back("unavailability.csv", un);

  std::string rec = header;
  rec +=
      "# per fault: time from its start to the first success, and until throughput is back "
      "within the recovered fraction of the baseline (empty: never in the run)\n";
  rec +=
      "fault,start_s,end_s,baseline_throughput_per_s,time_to_first_success_ms,time_to_recover_ms\n";
  double first_max = 0, recover_max = 0;
  bool never = false;
  for (const auto& r : av.recoveries) {
    rec += "\"" + r.fault.what + "\"," + format_seconds(r.fault.start) + "," +
           format_seconds(r.fault.end) + "," + format_value(r.baseline_per_s) + "," +
           (r.to_first_success ? format_value(r.to_first_success->to_ms()) : "") + "," +
           (r.to_throughput ? format_value(r.to_throughput->to_ms()) : "") + "\n";
    if (r.to_first_success) first_max = std::max(first_max, r.to_first_success->to_ms());
    if (r.to_throughput) recover_max = std::max(recover_max, r.to_throughput->to_ms());
    never = never || !r.to_first_success || !r.to_throughput;
  }
  run("faults", static_cast<double>(av.recoveries.size()));
  if (!av.recoveries.empty()) {
    run("time_to_first_success_ms_max", never ? kUnknown : first_max);
    run("time_to_recover_ms_max", never ? kUnknown : recover_max);
    text += "; " + std::to_string(av.recoveries.size()) + " faults, recovery within " +
            (never ? std::string("- (not every fault recovered)") : fixed(recover_max, 1) + " ms");
  }
  text += "\n";
  files.emplace_back("recovery.csv", rec);

  if (spec.consistency.history_csv) {
    files.emplace_back("history.csv", check::render_history_csv(h, name, header));
  }
  if (spec.consistency.history_edn) {
    // EDN comments start with ';', not '#'.
    files.emplace_back("history.edn", check::render_history_edn(h, name, ";; " + header.substr(2)));
  }
  return files;
}

}  // namespace dsim
