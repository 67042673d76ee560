#include "sim/sweep/terminal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sim/sweep/verdicts.h"

namespace dsim::sweep {

namespace {

constexpr size_t kMaxPointsListed = 10;

// The figures of the table (group all, op all).
struct Headline {
  const char* metric;
  const char* title;
  int decimals;
};
constexpr Headline kHeadlines[] = {{"availability", "availability", 4},
                                   {"throughput_per_s", "thru/s", 1},
                                   {"latency_ms_p50", "p50 ms", 3},
                                   {"latency_ms_p99", "p99 ms", 3}};

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A value for a sentence: four significant digits, "unknown" for NaN.
std::string short_value(double v) {
  if (std::isnan(v)) return "unknown";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string count(size_t n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// Display width: "±" is two bytes but one column.
size_t columns_of(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string pad(const std::string& s, size_t width) {
  const size_t w = columns_of(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

using Row = std::vector<std::string>;

// Rows as aligned lines: each column as wide as its widest cell and two blanks, no
// trailing blanks.
std::vector<std::string> aligned(const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], columns_of(row[c]) + 2);
  }
  std::vector<std::string> out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += pad(row[c], width[c]);
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out.push_back(line);
  }
  return out;
}

const FigureVerdict* find_figure(const PointVerdict& pv, const char* metric) {
  for (const auto& f : pv.figures) {
    if (f.group == "all" && f.op == "all" && f.metric == metric) return &f;
  }
  return nullptr;
}

std::string worst_text(const Worst& w) {
  return "r" + std::to_string(w.replication) + " (seed " + std::to_string(w.seed) + ")";
}

// The headline rows of a point.
std::vector<Row> figure_rows(const PointVerdict& pv) {
  std::vector<Row> rows;
  for (const auto& h : kHeadlines) {
    const FigureVerdict* f = find_figure(pv, h.metric);
    if (!f) continue;
    const Aggregate& a = f->stats;
    std::string mean = fixed(a.mean, h.decimals);
    if (a.n >= 2) mean += " ± " + fixed((a.ci95_hi - a.ci95_lo) / 2, h.decimals);
    rows.push_back({std::string("  ") + h.title, mean, fixed(a.min, h.decimals),
                    fixed(a.median, h.decimals), fixed(a.max, h.decimals), worst_text(f->worst)});
  }
  return rows;
}

// "  check 'x < 1': 3 of 5 passed; worst r2 (seed 9): 1.5" and, when it failed, the
// command that repeats the worst replication.
std::string check_lines(const SweepMeta& meta, const PointVerdict& pv, const CheckVerdict& c,
                        const std::string& sweep_yaml) {
  std::string s = "  check '" + c.check + "': " + std::to_string(c.passed) + " of " +
                  std::to_string(c.runs) + " passed; " +
                  (c.failed() ? "worst " : "closest to failing ") + worst_text(c.worst) + ": " +
                  short_value(c.worst.value) + "\n";
  if (c.failed()) {
    s += "    rerun: " + rerun_command(meta, pv.point, c.worst.seed, sweep_yaml) + "\n";
    if (c.worst.missing) s += "    (that run did not produce the checked figure)\n";
  }
  return s;
}

std::string point_label(const SweepMeta& meta, uint32_t point) {
  std::string s;
  for (size_t k = 0; k < meta.columns.size(); ++k)
    s += (k ? " " : "") + meta.columns[k] + "=" + meta.point_values[point][k];
  return s.empty() ? "the scenario as written" : s;
}

// Per check that failed somewhere: in how many runs, at which points.
std::string failed_checks_text(const std::vector<PointVerdict>& verdicts, size_t runs) {
  std::vector<std::string> order;
  for (const auto& pv : verdicts) {
    for (const auto& c : pv.checks) {
      if (std::find(order.begin(), order.end(), c.check) == order.end()) order.push_back(c.check);
    }
  }
  std::string out;
  for (const auto& check : order) {
    size_t failed = 0, points = 0;
    std::string where;
    for (const auto& pv : verdicts) {
      for (const auto& c : pv.checks) {
        if (c.check != check || c.failed() == 0) continue;
        failed += c.failed();
        if (++points <= kMaxPointsListed) {
          where += std::string(points > 1 ? ", " : "") + "point " + std::to_string(pv.point) +
                   " (" + std::to_string(c.failed()) + " of " + std::to_string(c.runs) + ")";
        }
      }
    }
    if (failed == 0) continue;
    if (points > kMaxPointsListed)
      where += ", and " + count(points - kMaxPointsListed, "more point") + " (checks.csv)";
    out += "check '" + check + "' failed in " + std::to_string(failed) + " of " +
           count(runs, "run") + ", at " + std::to_string(points) + " of " +
           count(verdicts.size(), "point") + ": " + where + "\n";
  }
  return out;
}

size_t aborted_runs(const std::vector<RunRecord>& records) {
  size_t n = 0;
  for (const auto& rec : records) {
    for (const auto& r : rec.rows) {
      if (r.group == "run" && r.op.empty() && r.metric == "aborted" && r.value != 0) {
        ++n;
        break;
      }
    }
  }
  return n;
}

}  // namespace

std::string render_sweep_summary(const SweepMeta& meta, const std::vector<RunRecord>& records,
                                 const std::string& dir) {
  const std::vector<PointVerdict> verdicts = point_verdicts(records);
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  const std::string sweep_yaml = base + "/sweep.yaml";
  // Align the figure rows of every point together, under one header.
  std::vector<Row> rows{{"", "mean ± 95% CI", "min", "median", "max", "worst run"}};
  std::vector<size_t> first_row;
  for (const auto& pv : verdicts) {
    first_row.push_back(rows.size());
    for (auto& r : figure_rows(pv))
      rows.push_back(std::move(r));
  }
  first_row.push_back(rows.size());
  const std::vector<std::string> lines = aligned(rows);
  std::string out = lines.size() > 1 ? lines[0] + "\n" : "";
  for (size_t p = 0; p < verdicts.size(); ++p) {
    const PointVerdict& pv = verdicts[p];
    out += "point " + std::to_string(pv.point) + ": " + point_label(meta, pv.point) + "\n";
    for (size_t l = first_row[p]; l < first_row[p + 1]; ++l)
      out += lines[l] + "\n";
    for (const auto& c : pv.checks)
      out += check_lines(meta, pv, c, sweep_yaml);
  }
  out +=
      "\n(mean ± half-width of the 95% confidence interval, then min, median and max over the\n"
      " replications; the worst run is the furthest in the direction a check on the figure\n"
      " would fail, else the highest, or the lowest for availability and throughput)\n";
  out += failed_checks_text(verdicts, records.size());
  if (const size_t aborted = aborted_runs(records))
    out += count(aborted, "run") + " aborted by a limit\n";
  return out;
}

}  // namespace dsim::sweep
