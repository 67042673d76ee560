#include "sim/report/sweep_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>

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

// A swept key by its last name: "groups.web.params.workers" -> "workers".
std::string short_key(const std::string& key) {
  const size_t dot = key.rfind('.');
  return key.substr(dot == std::string::npos ? 0 : dot + 1);
}

// "workers=2, rate=100/s": the values of the given keys at a point.
std::string values_label(const Sweep& s, const std::vector<size_t>& keys,
                         const std::vector<std::string>& v) {
  std::string label;
  for (size_t k : keys)
    label += (label.empty() ? "" : ", ") + short_key(s.keys[k]) + "=" + v[k];
  return label;
}

std::string point_label(const Sweep& s, size_t point) {
  std::vector<size_t> all(s.keys.size());
  for (size_t k = 0; k < all.size(); ++k)
    all[k] = k;
  return values_label(s, all, s.values.at(point));
}

// A swept value read as a number with its unit: "150/s" -> (150, "/s"), "8" -> (8, "");
// nullopt for a distribution, a map or a word.
std::optional<std::pair<double, std::string>> number_with_unit(const std::string& v) {
  if (v.empty() || !(std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '-' || v[0] == '+' ||
                     v[0] == '.'))
    return std::nullopt;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  const std::string unit(end);
  if (end == v.c_str() || !std::isfinite(x) || unit.size() > 4) return std::nullopt;
  for (char c : unit)
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '/' && c != '%') return std::nullopt;
  return std::pair{x, unit};
}

// The swept key the figures are drawn against, and where each point falls on it.
struct XAxis {
  size_t key = 0;
  std::string label;
  std::vector<std::string> categories;  // a key of words: its values in sweep order
  std::map<std::string, double> x;      // swept value -> x
};

std::vector<std::string> distinct_values(const Sweep& s, size_t key) {
  std::vector<std::string> out;
  for (const auto& [p, v] : s.values)
    if (std::find(out.begin(), out.end(), v[key]) == out.end()) out.push_back(v[key]);
  return out;
}

// The values of a key as numbers of one unit; nullopt when any is not.
std::optional<std::map<std::string, double>> numeric_values(const std::vector<std::string>& vs,
                                                            std::string* unit) {
  std::map<std::string, double> out;
  for (size_t i = 0; i < vs.size(); ++i) {
    const auto n = number_with_unit(vs[i]);
    if (!n || (i > 0 && n->second != *unit)) return std::nullopt;
    *unit = n->second;
    out[vs[i]] = n->first;
  }
  return out;
}

// The x axis: of the keys that vary, a numeric one (values of one unit) before one of
// words, then the one with the most values, then the later (faster varying) one.
XAxis choose_x(const Sweep& s) {
  XAxis a;
  a.label = "point";
  std::tuple<bool, size_t, size_t> best{false, 0, 0};
  for (size_t k = 0; k < s.keys.size(); ++k) {
    const auto vs = distinct_values(s, k);
    std::string unit;
    auto nums = numeric_values(vs, &unit);
    const std::tuple<bool, size_t, size_t> rank{nums.has_value(), vs.size(), k};
    if (k > 0 && rank < best) continue;
    best = rank;
    a.key = k;
    a.label = short_key(s.keys[k]) + (nums && !unit.empty() ? " (" + unit + ")" : "");
    a.categories = nums ? std::vector<std::string>{} : vs;
    a.x.clear();
    for (size_t i = 0; i < vs.size(); ++i)
      a.x[vs[i]] = nums ? nums->at(vs[i]) : static_cast<double>(i);
  }
  return a;
}

// The keys that tell the curves apart: every key except the x axis, a key with one value
// and a key zipped with the x axis (its value follows from x's).
std::vector<size_t> facet_keys(const Sweep& s, size_t x_key) {
  std::vector<size_t> out;
  for (size_t k = 0; k < s.keys.size(); ++k) {
    if (k == x_key || distinct_values(s, k).size() < 2) continue;
    std::map<std::string, std::string> follows;
    bool determined = true;
    for (const auto& [p, v] : s.values) {
      const auto [it, fresh] = follows.try_emplace(v[x_key], v[k]);
      if (!fresh && it->second != v[k]) determined = false;
    }
    if (!determined) out.push_back(k);
  }
  return out;
}

// One metric of the chosen group and operation: mean, interval and worst of each point,
// as (facet label -> series by column), x from the axis.
using Curves = std::map<std::string, std::map<size_t, ReportSeries>>;
Curves curves(const Sweep& s, const XAxis& a, const std::vector<size_t>& facets,
              const std::string& metric, const std::vector<size_t>& columns,
              std::vector<std::string>* order) {
  const CsvTable& t = s.figures;
  const size_t pi = *t.column("point"), gi = *t.column("group"), oi = *t.column("op"),
               mi = *t.column("metric");
  Curves out;
  for (const auto& row : t.rows) {
    if (row[gi] != s.group || row[oi] != s.op || row[mi] != metric) continue;
    const auto point = CsvTable::number(row[pi]);
    if (!point) continue;
    const auto& v = s.values.at(static_cast<size_t>(*point));
    const double x = s.keys.empty() ? *point : a.x.at(v[a.key]);
    const std::string facet = values_label(s, facets, v);
    if (!out.count(facet)) order->push_back(facet);
    for (size_t c : columns) {
      if (const auto y = CsvTable::number(row[c])) out[facet][c].points.emplace_back(x, *y);
    }
  }
  for (auto& [facet, by_column] : out)
    for (auto& [c, series] : by_column)
      std::sort(series.points.begin(), series.points.end());
  return out;
}

// Up to this many curves of the other keys, each gets its own figures with its interval
// and worst replication; past it, one figure per metric holds every curve's mean.
constexpr size_t kMaxFacets = 6;

std::vector<ReportFigure> metric_figures(const Sweep& s, const XAxis& a,
                                         const std::vector<size_t>& facets,
                                         const std::string& metric, const std::string& y_label) {
  const CsvTable& t = s.figures;
  const size_t mean = *t.column("mean"), lo = *t.column("ci95_lo"), hi = *t.column("ci95_hi"),
               worst = *t.column("worst");
  std::vector<std::string> order;
  Curves by_facet = curves(s, a, facets, metric, {mean, lo, hi, worst}, &order);
  if (order.empty()) order.push_back("");  // a figure that says it has no data
  ReportFigure f;
  f.kind = ReportFigure::Kind::line;
  f.x_label = a.label;
  f.y_label = y_label;
  f.categories = a.categories;
  std::vector<ReportFigure> out;
  if (order.size() <= kMaxFacets) {
    f.caption =
        "The mean over the replications with its 95% confidence interval, and the "
        "value in the worst replication of each point.";
    for (const auto& facet : order) {
      f.title = metric + " of " + s.group + "/" + s.op + (facet.empty() ? "" : ", " + facet);
      f.series.clear();
      for (auto [column, name] :
           {std::pair{mean, "mean"}, {lo, "95% CI low"}, {hi, "95% CI high"}, {worst, "worst"}}) {
        ReportSeries series = by_facet[facet][column];
        series.name = name;
        f.series.push_back(std::move(series));
      }
      out.push_back(f);
    }
    return out;
  }
  f.title = metric + " of " + s.group + "/" + s.op;
  f.caption = "The mean over the replications of each combination of the other swept keys (" +
              std::to_string(order.size()) +
              " curves); their confidence intervals and worst replications are in sweep.csv.";
  for (const auto& facet : order) {
    ReportSeries series = by_facet[facet][mean];
    series.name = facet;
    f.series.push_back(std::move(series));
  }
  out.push_back(std::move(f));
  return out;
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
    const XAxis a = choose_x(s);
    const std::vector<size_t> facets = facet_keys(s, a.key);
    for (const auto& [metric, label] : kFigures)
      for (auto& f : metric_figures(s, a, facets, metric, label))
        figs.figures.push_back(std::move(f));
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
