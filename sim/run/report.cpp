#include "sim/run/report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "dsim/version.h"
#include "sim/run/verdicts.h"
#include "sim/scenario/yaml_tree.h"

namespace dsim {

namespace {

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  const std::string s = format_value(v);
  return s.empty() ? "null" : s;
}

// Fixed-width text for the terminal table.
std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pad(const std::string& s, size_t width, bool right = true) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_value(double v) {
  if (!std::isfinite(v)) return "";
  if (v == std::floor(v) && std::abs(v) < 9e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "";
}

std::string file_header(const ScenarioSpec& spec) {
  return "# dsim " + std::string(kVersion) + " scenario=" + spec.name +
         " seed=" + std::to_string(spec.seed) +
         " schema_version=" + std::to_string(kSchemaVersion) + "\n";
}

std::string render_summary_csv(const ScenarioSpec& spec, const std::vector<SummaryRow>& rows) {
  std::string out = file_header(spec);
  out += "group,op,metric,value\n";
  for (const auto& r : rows) {
    out += csv_cell(r.group) + "," + csv_cell(r.op) + "," + csv_cell(r.metric) + "," +
           format_value(r.value) + "\n";
  }
  return out;
}

std::string render_summary_json(const ScenarioSpec& spec, const RunOutput& out) {
  std::string j = "{\n";
  j += "  \"dsim_version\": " + json_string(kVersion) + ",\n";
  j += "  \"schema_version\": " + std::to_string(kSchemaVersion) + ",\n";
  j += "  \"scenario\": " + json_string(spec.name) + ",\n";
  j += "  \"seed\": " + std::to_string(spec.seed) + ",\n";
  j += "  \"stop_reason\": " + json_string(std::string(stop_reason_name(out.stats.reason))) + ",\n";
  char fp[32];
  std::snprintf(fp, sizeof fp, "%016llx", static_cast<unsigned long long>(out.stats.fingerprint));
  j += "  \"trace_fingerprint\": \"" + std::string(fp) + "\",\n";
  j += "  \"metrics\": [\n";
  for (size_t i = 0; i < out.summary.size(); ++i) {
    const auto& r = out.summary[i];
    j += "    {\"group\": " + json_string(r.group) + ", \"op\": " + json_string(r.op) +
         ", \"metric\": " + json_string(r.metric) + ", \"value\": " + json_number(r.value) + "}";
    j += i + 1 < out.summary.size() ? ",\n" : "\n";
  }
  j += "  ],\n  \"checks\": [\n";
  for (size_t i = 0; i < out.checks.size(); ++i) {
    const auto& c = out.checks[i];
    j += "    {\"check\": " + json_string(c.check->text) +
         ", \"value\": " + (c.value ? json_number(*c.value) : "null") +
         ", \"passed\": " + (c.passed ? "true" : "false") + "}";
    j += i + 1 < out.checks.size() ? ",\n" : "\n";
  }
  j += "  ]\n}\n";
  return j;
}

std::string render_latency_csv(const ScenarioSpec& spec, const Engine& engine) {
  std::string out = file_header(spec);
  out +=
      "# latency of successful operations begun after the warmup; bucket bounds are "
      "inclusive; a percentile read as a bucket's midpoint is within 0.39%\n";
  out += "group,op,bucket_lo_ns,bucket_hi_ns,count\n";
  for (const auto& [key, s] : engine.metrics().ops()) {
    const std::string prefix = csv_cell(engine.groups()[key.first].name) + "," +
                               csv_cell(std::string(engine.symbols().name(key.second))) + ",";
    s.latency_ok.for_each_bucket([&](const Histogram::Bucket& b) {
      out += prefix + std::to_string(b.lo) + "," + std::to_string(b.hi) + "," +
             std::to_string(b.count) + "\n";
    });
  }
  return out;
}

std::string render_timeseries_csv(const ScenarioSpec& spec, const Engine& engine) {
  const MetricsRecorder& m = engine.metrics();
  const Duration window = m.window();
  const SimTime end = SimTime::zero() + spec.duration;
  const auto n_windows = static_cast<size_t>((spec.duration.ns() + window.ns() - 1) / window.ns());
  std::string out = file_header(spec);
  out +=
      "# operations are counted in the window they started in, except throughput_per_s "
      "(successes completed in the window); latency percentiles within 3.1%\n";
  out +=
      "window_start_s,window_end_s,group,op,started,ok,rejected,timeout,error,"
      "throughput_per_s,availability,latency_ms_p50,latency_ms_p99\n";
  for (size_t w = 0; w < n_windows; ++w) {
    const SimTime ws = SimTime::zero() + window * static_cast<int64_t>(w);
    const SimTime we = std::min(end, ws + window);
    const double seconds = (we - ws).to_seconds();
    for (const auto& [key, s] : m.ops()) {
      OpWindow empty;
      const OpWindow& win = w < s.windows.size() ? s.windows[w] : empty;
      uint64_t finished = 0;
      for (auto c : win.outcomes)
        finished += c;
      const uint64_t ok = win.outcomes[static_cast<size_t>(Outcome::kOk)];
      out += format_seconds(ws) + "," + format_seconds(we) + "," +
             csv_cell(engine.groups()[key.first].name) + "," +
             csv_cell(std::string(engine.symbols().name(key.second))) + "," +
             std::to_string(win.started);
      for (int o = 0; o < kOutcomeCount; ++o)
        out += "," + std::to_string(win.outcomes[o]);
      out += "," + format_value(seconds > 0 ? static_cast<double>(win.ok_completed) / seconds : 0);
      out += "," + (finished ? format_value(static_cast<double>(ok) / static_cast<double>(finished))
                             : "");
      if (win.latency_ok.count()) {
        out += "," + format_value(static_cast<double>(win.latency_ok.percentile(0.5)) / 1e6) + "," +
               format_value(static_cast<double>(win.latency_ok.percentile(0.99)) / 1e6);
      } else {
        out += ",,";
      }
      out += "\n";
    }
  }
  return out;
}

std::string render_resolved_yaml(const ScenarioSpec& spec) {
  return file_header(spec) + "# the scenario as run: overrides applied, every default filled in\n" +
         emit_yaml(spec.resolved);
}

std::string render_terminal_summary(const ScenarioSpec& spec, const RunOutput& out) {
  std::map<std::tuple<std::string, std::string, std::string>, double> v;
  std::vector<std::pair<std::string, std::string>> op_rows;  // (group, op) in summary order
  std::vector<std::string> group_metric_rows;
  for (const auto& r : out.summary) {
    v[{r.group, r.op, r.metric}] = r.value;
    if (r.metric == "requests" && r.group != "run") op_rows.emplace_back(r.group, r.op);
  }
  auto get = [&](const std::string& g, const std::string& o, const std::string& m) {
    auto it = v.find({g, o, m});
    return it == v.end() ? NAN : it->second;
  };
  std::string s;
  s += spec.name + " (seed " + std::to_string(spec.seed) +
       "): " + format_seconds(out.stats.end_time) + " s simulated, " +
       std::to_string(out.stats.events) + " events, " +
       std::string(stop_reason_name(out.stats.reason)) + "\n";
  if (!op_rows.empty()) {
    s += "\n" + pad("group", 12, false) + pad("op", 10, false) + pad("requests", 10) +
         pad("avail", 9) + pad("thru/s", 10) + pad("p50 ms", 9) + pad("p90 ms", 9) +
         pad("p99 ms", 9) + pad("p99.9 ms", 10) + pad("max ms", 9) + "\n";
    size_t client_groups = 0;
    for (const auto& [g, o] : op_rows)
      client_groups += (o == "all" && g != "all") ? 1 : 0;
    for (const auto& [g, o] : op_rows) {
      // Skip aggregate rows that only repeat a single row above them.
      if (o == "all" && g != "all") {
        size_t ops = 0;
        for (const auto& [g2, o2] : op_rows)
          ops += (g2 == g && o2 != "all") ? 1 : 0;
        if (ops == 1) continue;
      }
      if (g == "all" && client_groups == 1) continue;
      s += pad(g, 12, false) + pad(o, 10, false) + pad(format_value(get(g, o, "requests")), 10) +
           pad(fixed(get(g, o, "availability"), 4), 9) +
           pad(fixed(get(g, o, "throughput_per_s"), 1), 10) +
           pad(fixed(get(g, o, "latency_ms_p50"), 3), 9) +
           pad(fixed(get(g, o, "latency_ms_p90"), 3), 9) +
           pad(fixed(get(g, o, "latency_ms_p99"), 3), 9) +
           pad(fixed(get(g, o, "latency_ms_p999"), 3), 10) +
           pad(fixed(get(g, o, "latency_ms_max"), 3), 9) + "\n";
    }
  }
  // Group-level figures (model counters, levels, observations), one line per group.
  std::vector<std::pair<std::string, std::string>> lines;  // group -> text, first-seen order
  for (const auto& r : out.summary) {
    if (!r.op.empty() || r.group == "run" || is_verdict_metric(r.metric)) continue;
    const bool timing = r.metric.find("_ms_") != std::string::npos;
    if (r.metric.ends_with("_count") ||
        (timing && !r.metric.ends_with("_mean") && !r.metric.ends_with("_p99"))) {
      continue;
    }
    auto it =
        std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.first == r.group; });
    if (it == lines.end()) it = lines.insert(lines.end(), {r.group, "  " + r.group + ":"});
    const double val = r.value;
    it->second +=
        " " + r.metric + "=" +
        (val == std::floor(val) && std::abs(val) < 1e15 ? format_value(val) : fixed(val, 4));
  }
  if (!lines.empty()) s += "\n";
  for (const auto& [g, text] : lines)
    s += text + "\n";
  s += "\n  network: sent=" + format_value(get("run", "", "messages_sent")) +
       " delivered=" + format_value(get("run", "", "messages_delivered")) +
       " dropped=" + format_value(get("run", "", "messages_dropped")) + "\n";
  if (!out.verdict_text.empty()) s += "\n" + out.verdict_text;
  if (!out.checks.empty()) {
    s += "\nchecks:\n";
    for (const auto& c : out.checks) {
      s += std::string(c.passed ? "  PASS  " : "  FAIL  ") + c.check->text + "  (" +
           (!c.value                  ? std::string("metric not produced")
            : std::isfinite(*c.value) ? format_value(*c.value)
                                      : std::string("unknown")) +
           ")\n";
    }
  }
  return s;
}

}  // namespace dsim
