#include "sim/report/sweep_report.h"

#include <map>

#include "sim/core/csv_table.h"
#include "sim/report/html.h"

namespace dsim::report {

namespace {

// The figures drawn against the swept values, with their axis labels.
const std::vector<std::pair<std::string, std::string>> kFigures = {
    {"throughput_per_s", "successful operations per second"},
    {"availability", "ok / completed"},
    {"latency_ms_p50", "p50 latency (ms)"},
    {"latency_ms_p99", "p99 latency (ms)"}};

const std::vector<std::string> kSweepColumns = {
    "point", "group",   "op",      "metric", "n",
    "mean",  "ci95_lo", "ci95_hi", "worst",  "worst_replication"};
const std::vector<std::string> kChecksColumns = {
    "point", "check", "runs", "passed", "failed", "worst_replication", "worst_seed", "rerun"};

struct Sweep {
  CsvTable figures;                                   // sweep.csv
  std::vector<std::string> keys;                      // the swept columns
  std::map<size_t, std::vector<std::string>> values;  // point -> its swept values
  std::string group, op;                              // whose figures are drawn
};

std::optional<CsvTable> read_table(const RunFiles& files, const std::string& where,
                                   const std::string& name, const std::vector<std::string>& columns,
                                   std::string* error) {
  const auto text = files(name);
  if (!text) {
    *error = where + "/" + name + ": missing (not a sweep directory of dsim?)";
    return std::nullopt;
  }
  std::string why;
  auto t = parse_csv_table(*text, &why);
  if (!t) {
    *error = where + "/" + name + ": " + why;
    return std::nullopt;
  }
  for (const auto& c : columns) {
    if (!t->column(c)) {
      *error = where + "/" + name + ": no column '" + c + "'";
      return std::nullopt;
    }
  }
  return t;
}

std::string point_label(const Sweep& s, size_t point) {
  std::string label;
  const auto& v = s.values.at(point);
  for (size_t i = 0; i < s.keys.size() && i < v.size(); ++i) {
    const size_t dot = s.keys[i].rfind('.');
    label +=
        (i ? ", " : "") + s.keys[i].substr(dot == std::string::npos ? 0 : dot + 1) + "=" + v[i];
  }
  return label;
}

// x of a point: the swept value when one numeric key is swept, else the point's index.
bool numeric_axis(const Sweep& s) {
  if (s.keys.size() != 1) return false;
  for (const auto& [p, v] : s.values)
    if (!CsvTable::number(v[0])) return false;
  return true;
}

ReportFigure figure(const Sweep& s, const std::string& metric, const std::string& y_label) {
  const CsvTable& t = s.figures;
  const size_t pi = *t.column("point"), gi = *t.column("group"), oi = *t.column("op"),
               mi = *t.column("metric"), mean = *t.column("mean"), lo = *t.column("ci95_lo"),
               hi = *t.column("ci95_hi"), worst = *t.column("worst");
  const bool by_value = numeric_axis(s);
  ReportFigure f;
  f.title = metric + " of " + s.group + "/" + s.op;
  f.kind = ReportFigure::Kind::line;
  f.x_label = by_value ? s.keys[0] : "point";
  f.y_label = y_label;
  f.caption =
      "The mean over the replications with its 95% confidence interval, and the "
      "value in the worst replication of each point.";
  ReportSeries m{"mean", {}}, l{"95% CI low", {}}, h{"95% CI high", {}}, w{"worst", {}};
  for (const auto& row : t.rows) {
    if (row[gi] != s.group || row[oi] != s.op || row[mi] != metric) continue;
    const auto point = CsvTable::number(row[pi]);
    if (!point) continue;
    const double x =
        by_value ? *CsvTable::number(s.values.at(static_cast<size_t>(*point))[0]) : *point;
    for (auto [series, col] : {std::pair{&m, mean}, {&l, lo}, {&h, hi}, {&w, worst}}) {
      if (const auto y = CsvTable::number(row[col])) series->points.emplace_back(x, *y);
    }
  }
  f.series = {m, l, h, w};
  return f;
}

ReportSection points_section(const Sweep& s) {
  ReportSection sec;
  sec.title = "Points";
  ReportTable t;
  t.columns = {"point"};
  for (const auto& k : s.keys)
    t.columns.push_back(k);
  for (const auto& [p, v] : s.values) {
    std::vector<std::string> row = {std::to_string(p)};
    row.insert(row.end(), v.begin(), v.end());
    row.resize(t.columns.size());
    t.rows.push_back(std::move(row));
  }
  sec.tables.push_back(std::move(t));
  return sec;
}

ReportSection checks_section(const Sweep& s, const std::optional<CsvTable>& checks) {
  ReportSection sec;
  sec.title = "Checks";
  if (!checks) {
    sec.text = "The sweep has no checks.csv.";
    return sec;
  }
  sec.text =
      "Per point, the replications that passed each check; the worst replication and "
      "the command that repeats it from the sweep's directory.";
  ReportTable t;
  t.columns = {"point", "values", "check", "passed", "runs", "worst replication",
               "rerun", "verdict"};
  const CsvTable& c = *checks;
  const size_t pi = *c.column("point"), ci = *c.column("check"), ri = *c.column("runs"),
               pa = *c.column("passed"), fi = *c.column("failed"),
               wi = *c.column("worst_replication"), re = *c.column("rerun");
  for (const auto& row : c.rows) {
    const auto point = CsvTable::number(row[pi]);
    const std::string values = point && s.values.count(static_cast<size_t>(*point))
                                   ? point_label(s, static_cast<size_t>(*point))
                                   : "";
    t.rows.push_back({row[pi], values, row[ci], row[pa], row[ri], row[wi], row[re],
                      row[fi] == "0" ? "pass" : "fail"});
  }
  sec.tables.push_back(std::move(t));
  return sec;
}

}  // namespace

std::optional<std::string> render_sweep_report(const RunFiles& files, const std::string& where,
                                               std::string* error) {
  auto figures = read_table(files, where, "sweep.csv", kSweepColumns, error);
  if (!figures) return std::nullopt;
  std::optional<CsvTable> checks;
  if (files("checks.csv")) {
    checks = read_table(files, where, "checks.csv", kChecksColumns, error);
    if (!checks) return std::nullopt;
  }
  const std::string text = *files("sweep.csv");
  const std::string header = text.substr(0, text.find('\n'));
  Sweep s;
  s.figures = std::move(*figures);
  const size_t pi = *s.figures.column("point"), gi = *s.figures.column("group");
  for (size_t i = pi + 1; i < gi; ++i)
    s.keys.push_back(s.figures.columns[i]);
  for (const auto& row : s.figures.rows) {
    const auto point = CsvTable::number(row[pi]);
    if (!point || *point < 0) {
      *error = where + "/sweep.csv: a point that is not a number: " + row[pi];
      return std::nullopt;
    }
    s.values.try_emplace(static_cast<size_t>(*point),
                         std::vector<std::string>(row.begin() + static_cast<long>(pi) + 1,
                                                  row.begin() + static_cast<long>(gi)));
  }
  // The end users' figures ("all", "all"), or else the first group and operation with an
  // availability.
  const size_t oi = *s.figures.column("op"), mi = *s.figures.column("metric");
  for (const auto& row : s.figures.rows) {
    if (row[mi] != "availability") continue;
    if (s.group.empty() || (row[gi] == "all" && row[oi] == "all")) {
      s.group = row[gi];
      s.op = row[oi];
    }
  }
  const std::string name = [&] {
    const size_t at = header.find("sweep=");
    return at == std::string::npos ? where : header.substr(at + 6);
  }();
  ReportSection intro;
  intro.title = "Sweep";
  intro.text = std::to_string(s.values.size()) + " points over " + std::to_string(s.keys.size()) +
               " swept key(s); every figure of sweep.csv is " +
               "aggregated over the replications of its point.";
  ReportSection figs;
  figs.title = "Figures against the swept values";
  if (!s.group.empty()) {
    for (const auto& [metric, label] : kFigures)
      figs.figures.push_back(figure(s, metric, label));
  } else {
    figs.text = "No operation figures in sweep.csv.";
  }
  std::vector<std::string> titles;
  std::string body;
  for (const ReportSection& sec : {intro, figs, points_section(s), checks_section(s, checks)}) {
    titles.push_back(sec.title);
    body += render_section(sec);
  }
  return render_page(header, "dsim sweep " + name, titles, body);
}

}  // namespace dsim::report
