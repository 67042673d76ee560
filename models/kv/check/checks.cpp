#include "models/kv/check/checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "models/kv/check/history_files.h"
#include "models/kv/check/linearizability.h"
#include "models/kv/check/staleness.h"
#include "models/kv/history.h"
#include "sim/core/csv.h"
#include "sim/core/units.h"

namespace dsim::kv {

namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

double ratio(uint64_t a, uint64_t b) {
  return b ? static_cast<double>(a) / static_cast<double>(b) : kUnknown;
}

const KvHistory& history_of(const HistoryCheckInput& in) {
  return *static_cast<const KvHistory*>(in.log);
}
const KvCheckSettings& settings_of(const HistoryCheckInput& in) {
  return *static_cast<const KvCheckSettings*>(in.settings);
}

// --- linearizability -----------------------------------------------------------------

// Elements of a read's list the terminal shows (linearizability.txt shows them all).
constexpr size_t kTerminalElements = 8;

// What a key's counterexample is.
std::string counterexample_heading(const check::KeyResult& k) {
  if (k.witness) {
    return "a stale read (the search ran out of budget, the witness decides): the last read does "
           "not reflect a write that had taken effect before it began, after its base";
  }
  return std::string(k.minimal ? "a minimal set" : "a set") + " of " +
         std::to_string(k.counterexample.size()) + " operations that no order explains";
}

std::string counterexample_report(const check::LinearizabilityResult& lin, check::Verdict verdict,
                                  const KvHistory& h, const check::NodeNamer& name,
                                  const std::string& header) {
  std::string report = header;
  report += "# linearizability, key by key: " + std::string(check::verdict_name(verdict)) + "; " +
            std::to_string(lin.keys) + " keys, " + std::to_string(lin.violated) +
            " not linearizable, " + std::to_string(lin.unknown) + " unknown\n";
  for (const auto& k : lin.flagged) {
    report += "\nkey " + std::to_string(k.key) + ": " +
              std::string(check::verdict_name(k.verdict)) + " (" + std::to_string(k.ops) +
              " operations, " + std::to_string(k.steps) + " search steps)";
    if (k.verdict == check::Verdict::kUnknown) report += ": " + k.why_unknown;
    report += "\n";
    if (k.counterexample.empty()) continue;
    report += "  " + counterexample_heading(k) + ":\n";
    for (uint32_t i : k.counterexample)
      report += "    " + check::describe_op(h, i, name) + "\n";
  }
  return report;
}

// The first flagged key's counterexample (12 operations at most) and the first unknown
// key's reason, for the terminal.
std::string counterexample_lines(const check::LinearizabilityResult& lin, const KvHistory& h,
                                 const check::NodeNamer& name) {
  std::string text;
  for (const auto& k : lin.flagged) {
    if (k.counterexample.empty()) continue;
    text += "    key " + std::to_string(k.key) + ": " + counterexample_heading(k) + ":\n";
    size_t n = 0;
    for (uint32_t i : k.counterexample) {
      if (++n > 12) {
        text += "      ... (see linearizability.txt)\n";
        break;
      }
      text += "      " + check::describe_op(h, i, name, kTerminalElements) + "\n";
    }
    break;
  }
  for (const auto& k : lin.flagged) {
    if (k.verdict == check::Verdict::kUnknown) {
      text += "    key " + std::to_string(k.key) + " unknown: " + k.why_unknown + "\n";
      break;
    }
  }
  return text;
}

AnalysisOutput run_linearizability(const HistoryCheckInput& in) {
  AnalysisOutput out;
  const KvCheckSettings& s = settings_of(in);
  if (!s.linearizability) return out;
  const KvHistory& h = history_of(in);
  check::LinearizabilityConfig cfg;
  cfg.per_key.max_steps = s.max_search_steps;
  cfg.per_key.max_memory_bytes = s.max_search_memory;
  cfg.max_steps_total = s.max_total_steps;
  cfg.minimize = s.minimize;
  cfg.progress = in.progress;
  const check::LinearizabilityResult lin = check::check_linearizability(h, cfg);
  // A truncated history is a prefix: a violation in it stands, but its being
  // linearizable says nothing of the operations that were not recorded.
  check::Verdict verdict = lin.verdict;
  if (verdict == check::Verdict::kOk && in.truncated) verdict = check::Verdict::kUnknown;
  auto run = [&](const char* metric, double v) { out.rows.push_back({"run", "", metric, v}); };
  run("linearizable", verdict == check::Verdict::kOk          ? 1.0
                      : verdict == check::Verdict::kViolation ? 0.0
                                                              : kUnknown);
  run("linearizability_keys", static_cast<double>(lin.keys));
  run("linearizability_keys_violated", static_cast<double>(lin.violated));
  run("linearizability_keys_unknown", static_cast<double>(lin.unknown));
  run("linearizability_steps", static_cast<double>(lin.steps));
  out.text += "  linearizability: " + std::string(check::verdict_name(verdict)) + " (" +
              std::to_string(lin.keys) + " keys";
  if (lin.violated) out.text += ", " + std::to_string(lin.violated) + " violated";
  if (lin.unknown) out.text += ", " + std::to_string(lin.unknown) + " unknown";
  if (verdict == check::Verdict::kUnknown && lin.verdict == check::Verdict::kOk) {
    out.text += ", history truncated";
  }
  out.text += ", " + std::to_string(lin.steps) + " search steps)\n";
  out.text += counterexample_lines(lin, h, in.node_name);
  out.files.emplace_back("linearizability.txt",
                         counterexample_report(lin, verdict, h, in.node_name, in.file_header));
  return out;
}

// --- staleness, sessions, lost and duplicated writes -------------------------------------

constexpr const char* kStalenessMetrics[] = {
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
};

void staleness_rows(std::vector<AnalysisOutput::Row>& rows, const std::string& group,
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

using StatsTables = std::vector<std::pair<std::string, const check::StalenessStats*>>;

std::string tvis_csv(const std::string& header, const StatsTables& all) {
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

// Wilson's score interval at 95% for `v` successes in `n` trials (unknown when n = 0): it
// stays inside [0, 1] and keeps its coverage near p = 0 or 1, where the normal
// approximation's does not.
std::pair<double, double> wilson95(uint64_t v, uint64_t n) {
  if (n == 0) return {kUnknown, kUnknown};
  constexpr double z = 1.959963984540054;
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(v) / nn;
  const double denom = 1 + z * z / nn;
  const double center = (p + z * z / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / denom;
  // At p = 0 (1) the lower (upper) end is exactly 0 (1); rounding must not move it inside.
  return {v == 0 ? 0.0 : std::max(0.0, center - half), v == n ? 1.0 : std::min(1.0, center + half)};
}

// The visibility probes' figures of one client group (declared by kv_client).
void probe_rows(std::vector<AnalysisOutput::Row>& rows, const std::string& group,
                const check::StalenessStats& s) {
  for (const auto& [t, c] : s.probes) {
    const std::string at = "_at_" + probe_label(Duration::from_ns(t));
    const auto [lo, hi] = wilson95(c.visible, c.pairs);
    rows.push_back({group, "", "visibility_pairs" + at, static_cast<double>(c.pairs)});
    rows.push_back({group, "", "p_visible" + at, ratio(c.visible, c.pairs)});
    rows.push_back({group, "", "p_visible_ci_lo" + at, lo});
    rows.push_back({group, "", "p_visible_ci_hi" + at, hi});
  }
}

std::string tvis_at_csv(const std::string& header, const StatsTables& all) {
  std::string out = header;
  out +=
      "# t-visibility at the probes' times: of the probes of acknowledged writes issued t after "
      "the acknowledgement, the share that saw the write (or a newer one), with Wilson's 95% "
      "interval; failed = probes that ended without success (not in pairs)\n";
  out += "group,t_ms,pairs,visible,p_visible,ci_lo,ci_hi,failed\n";
  for (const auto& [group, s] : all) {
    for (const auto& [t, c] : s->probes) {
      const auto [lo, hi] = wilson95(c.visible, c.pairs);
      out += group + "," + format_value(static_cast<double>(t) / 1e6) + "," +
             std::to_string(c.pairs) + "," + std::to_string(c.visible) + "," +
             format_value(ratio(c.visible, c.pairs)) + "," + format_value(lo) + "," +
             format_value(hi) + "," + std::to_string(c.failed) + "\n";
    }
  }
  return out;
}

// One line per client group that probed: p visible [95% interval] and pairs per time.
std::string probes_text(const StatsTables& probed) {
  std::string text;
  char buf[96];
  for (const auto& [group, s] : probed) {
    text += "  t-visibility probes of " + group + ":";
    for (const auto& [at, c] : s->probes) {
      const auto [lo, hi] = wilson95(c.visible, c.pairs);
      std::snprintf(buf, sizeof buf, " %.4f [%.4f, %.4f] of %llu;", ratio(c.visible, c.pairs), lo,
                    hi, static_cast<unsigned long long>(c.pairs));
      text += " " + probe_label(Duration::from_ns(at)) + buf;
    }
    text.back() = '\n';
  }
  return text;
}

std::string k_csv(const std::string& header, const StatsTables& all) {
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

std::string staleness_text(const check::StalenessStats& t, bool final_reads) {
  std::string text;
  text += "  stale reads: " + std::to_string(t.stale_reads) + " of " + std::to_string(t.reads) +
          " (" + format_percent(t.stale_reads, t.reads) + "), k max " + std::to_string(t.k_max) +
          "; invalid reads " + std::to_string(t.invalid_reads) + "\n";
  text += "  sessions: read-your-writes violations " + std::to_string(t.ryw_violations) + " of " +
          std::to_string(t.ryw_reads) + ", monotonic-read violations " +
          std::to_string(t.mr_violations) + " of " + std::to_string(t.mr_reads) + "\n";
  text += "  writes: " + std::to_string(t.acked_writes) + " acknowledged, lost " +
          (t.unverified_writes == 0 && (final_reads || t.acked_writes == 0)
               ? std::to_string(t.lost_writes)
               : std::to_string(t.lost_writes) + " seen, " + std::to_string(t.unverified_writes) +
                     " unverified (no final read-back after them)") +
          ", duplicate appends " + std::to_string(t.duplicate_appends) + "\n";
  return text;
}

AnalysisOutput run_staleness(const HistoryCheckInput& in) {
  AnalysisOutput out;
  const KvHistory& h = history_of(in);
  const KvCheckSettings& s = settings_of(in);
  check::StalenessConfig cfg;
  cfg.measured_from = in.warmup_end;
  cfg.tvis_step = s.tvis_step;
  cfg.tvis_max = s.tvis_max;
  const check::StalenessResult st = check::check_staleness(h, in.node_group, cfg);
  staleness_rows(out.rows, "run", st.total, st.has_final_reads);
  StatsTables tables = {{"all", &st.total}};
  std::set<uint32_t> client_groups;
  for (const auto& o : h.ops())
    client_groups.insert(in.node_group[o.client]);
  if (client_groups.size() > 1) {
    for (const auto& [g, stats] : st.groups) {
      staleness_rows(out.rows, in.group_names[g], stats, st.has_final_reads);
      tables.emplace_back(in.group_names[g], &stats);
    }
  }
  out.text = staleness_text(st.total, st.has_final_reads);
  out.files.emplace_back("t_visibility.csv", tvis_csv(in.file_header, tables));
  out.files.emplace_back("k_staleness.csv", k_csv(in.file_header, tables));
  // Probe figures are the client group's (each kv_client declares its probe times).
  StatsTables probed;
  for (const auto& [g, stats] : st.groups) {
    if (stats.probes.empty()) continue;
    probe_rows(out.rows, in.group_names[g], stats);
    probed.emplace_back(in.group_names[g], &stats);
  }
  out.text += probes_text(probed);
  if (!probed.empty())
    out.files.emplace_back("t_visibility_at.csv", tvis_at_csv(in.file_header, probed));
  return out;
}

// --- history files -----------------------------------------------------------------------

AnalysisOutput run_history_files(const HistoryCheckInput& in) {
  AnalysisOutput out;
  const KvHistory& h = history_of(in);
  const KvCheckSettings& s = settings_of(in);
  if (s.history_csv) {
    out.files.emplace_back("history.csv",
                           check::render_history_csv(h, in.node_name, in.file_header));
  }
  if (s.history_edn) {
    // EDN comments start with ';', not '#'.
    out.files.emplace_back("history.edn", check::render_history_edn(
                                              h, in.node_name, ";; " + in.file_header.substr(2)));
  }
  return out;
}

}  // namespace

KvCheckSettings parse_kv_check_settings(ParamReader& r) {
  KvCheckSettings c;
  c.history_csv = r.boolean("history_csv", c.history_csv, "write history.csv");
  c.history_edn = r.boolean("history_edn", c.history_edn,
                            "write history.edn, Jepsen's format (Knossos, Elle, Porcupine)");
  c.linearizability =
      r.boolean("linearizability", c.linearizability, "run the linearizability checker");
  c.max_search_steps =
      static_cast<uint64_t>(r.integer("max_search_steps", static_cast<int64_t>(c.max_search_steps),
                                      "search steps per key before its verdict is unknown", 1));
  c.max_total_steps =
      static_cast<uint64_t>(r.integer("max_total_steps", static_cast<int64_t>(c.max_total_steps),
                                      "search steps over every key; the keys left are unknown", 1));
  c.max_search_memory = r.size("max_search_memory", c.max_search_memory,
                               "memory of one key's search before its verdict is unknown");
  c.minimize = r.boolean("minimize", c.minimize,
                         "shrink each counterexample to a minimal set of operations");
  c.tvis_step = r.duration("t_visibility_step", c.tvis_step, "bucket width of t_visibility.csv",
                           Duration::from_ns(1));
  c.tvis_max = r.duration("t_visibility_max", c.tvis_max,
                          "t_visibility.csv: the last bucket holds every t from here on");
  if (c.tvis_max / c.tvis_step > 100'000) {
    r.error("t_visibility_step", "makes more than 100000 buckets up to t_visibility_max");
  }
  return c;
}

HistoryFamilyEntry kv_history_family() {
  HistoryFamilyEntry f;
  f.family = &kKvFamily;
  f.description = "key-value operations (get, put, cas, append) of kv_client";
  f.parse_settings = [](ParamReader& r) -> std::shared_ptr<const void> {
    return std::make_shared<KvCheckSettings>(parse_kv_check_settings(r));
  };
  f.checkers.push_back({"linearizability",
                        "every key's operations have one order that explains what each "
                        "returned (Wing and Gong's search, with Lowe's memoization)",
                        {"linearizable", "linearizability_keys", "linearizability_keys_violated",
                         "linearizability_keys_unknown", "linearizability_steps"},
                        &run_linearizability});
  f.checkers.push_back({"staleness",
                        "stale reads and k-staleness, t-visibility, read-your-writes and "
                        "monotonic reads per session, lost and duplicated writes",
                        {std::begin(kStalenessMetrics), std::end(kStalenessMetrics)},
                        &run_staleness});
  f.checkers.push_back(
      {"history files", "history.csv and history.edn (Jepsen)", {}, &run_history_files});
  return f;
}

}  // namespace dsim::kv
