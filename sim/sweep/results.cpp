#include "sim/sweep/results.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <tuple>

#include "dsim/version.h"
#include "sim/core/csv.h"
#include "sim/run/report.h"
#include "sim/sweep/stats.h"
#include "sim/sweep/verdicts.h"

namespace dsim::sweep {

namespace {

constexpr size_t kMaxRunsInFile = 10'000'000;

// Splits one CSV line (RFC 4180 quoting; no newlines inside cells).
std::optional<std::vector<std::string>> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && cur.empty()) {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quoted) return std::nullopt;
  cells.push_back(std::move(cur));
  return cells;
}

// A value as printed, read back: the canonical form every path aggregates from.
std::optional<double> parse_value(const std::string& s) {
  if (s.empty()) return std::nan("");
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

double canonical(double v) {
  return *parse_value(format_value(v));
}

template <typename T>
std::optional<T> parse_uint(const std::string& s) {
  T v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string header_line(const SweepMeta& meta, bool with_hash) {
  std::string h = "# dsim " + std::string(kVersion) + " seed=" + std::to_string(meta.root_seed) +
                  " points=" + std::to_string(meta.points) +
                  " replications=" + std::to_string(meta.replications);
  if (with_hash) h += " sweep_hash=" + meta.hash;
  h += " schema_version=" + std::to_string(kSchemaVersion);
  if (with_hash && meta.shards > 1) {
    h += " shard=" + std::to_string(meta.shard) + "/" + std::to_string(meta.shards);
  }
  // The name last: it is free text.
  return h + " sweep=" + meta.name + "\n";
}

std::string point_prefix(const SweepMeta& meta, size_t point) {
  std::string s = std::to_string(point);
  for (const auto& v : meta.point_values[point])
    s += "," + csv_cell(v);
  return s;
}

std::string column_header(const SweepMeta& meta) {
  std::string s;
  for (const auto& c : meta.columns)
    s += "," + csv_cell(c);
  return s;
}

}  // namespace

std::vector<SummaryRow> record_rows(const RunOutput& out) {
  std::vector<SummaryRow> rows = out.summary;
  for (const auto& c : out.checks)
    rows.push_back({"run", "check", c.check->text, c.passed ? 1.0 : 0.0});
  for (auto& r : rows)
    r.value = canonical(r.value);
  return rows;
}

std::string render_runs_csv(const SweepMeta& meta, const std::vector<RunRecord>& records) {
  std::string out = header_line(meta, true);
  out +=
      "# every figure of every run (as in its summary.csv), plus group=run op=check rows: 1 "
      "when the scenario's check passed, 0 when it failed\n";
  out += "point,replication,seed" + column_header(meta) + ",group,op,metric,value\n";
  for (const auto& rec : records) {
    std::string prefix = std::to_string(rec.point) + "," + std::to_string(rec.replication) + "," +
                         std::to_string(rec.seed);
    for (const auto& v : meta.point_values[rec.point])
      prefix += "," + csv_cell(v);
    for (const auto& r : rec.rows) {
      out += prefix + "," + csv_cell(r.group) + "," + csv_cell(r.op) + "," + csv_cell(r.metric) +
             "," + format_value(r.value) + "\n";
    }
  }
  return out;
}

namespace {

// The shard=i/n of a header line.
std::optional<std::pair<uint32_t, uint32_t>> parse_shard_field(const std::string& value) {
  const size_t slash = value.find('/');
  auto i = parse_uint<uint32_t>(value.substr(0, slash));
  auto n =
      slash == std::string::npos ? std::nullopt : parse_uint<uint32_t>(value.substr(slash + 1));
  if (!i || !n || *n == 0 || *i >= *n) return std::nullopt;
  return std::make_pair(*i, *n);
}

// The first line, "# dsim <version> key=value ... sweep=<name>", into meta. Returns what is
// wrong with it, or an empty string.
std::string read_header_line(const std::string& line, SweepMeta& meta) {
  const size_t name_at = line.find(" sweep=");
  if (name_at == std::string::npos) return "header without sweep=<name>";
  meta.name = line.substr(name_at + 7);
  std::istringstream fields(line.substr(0, name_at));
  std::string word;
  fields >> word >> word >> word;  // "#", "dsim", version
  if (word != kVersion)
    return "written by dsim " + word + ", this is dsim " + std::string(kVersion);
  bool have_points = false, have_reps = false;
  while (fields >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "seed") {
      if (auto v = parse_uint<uint64_t>(value)) meta.root_seed = *v;
    } else if (key == "points") {
      if (auto v = parse_uint<size_t>(value)) meta.points = *v, have_points = true;
    } else if (key == "replications") {
      if (auto v = parse_uint<uint32_t>(value)) meta.replications = *v, have_reps = true;
    } else if (key == "sweep_hash") {
      meta.hash = value;
    } else if (key == "shard") {
      auto shard = parse_shard_field(value);
      if (!shard) return "bad shard=" + value;
      meta.shard = shard->first;
      meta.shards = shard->second;
    }
  }
  if (!have_points || !have_reps || meta.points == 0 || meta.replications == 0 ||
      meta.points > kMaxRunsInFile || meta.replications > kMaxRunsInFile ||
      meta.points * meta.replications > kMaxRunsInFile) {
    return "header without valid points= and replications=";
  }
  return "";
}

// The lines after the first: the column header, then one figure of one run a line. Each
// read returns what is wrong with its line, or an empty string.
struct RunsCsvBody {
  RunsFile& f;
  std::vector<std::string> header;

  std::string read_header(const std::optional<std::vector<std::string>>& cells) {
    if (!cells || cells->size() < 7 || (*cells)[0] != "point" || (*cells)[1] != "replication" ||
        (*cells)[2] != "seed" || cells->back() != "value") {
      return "expected the columns point,replication,seed,...,group,op,metric,value";
    }
    header = *cells;
    f.meta.columns.assign(header.begin() + 3, header.end() - 4);
    f.meta.point_values.assign(f.meta.points, {});
    return "";
  }

  std::string read_row(const std::optional<std::vector<std::string>>& cells) {
    if (!cells || cells->size() != header.size()) {
      return "expected " + std::to_string(header.size()) + " cells";
    }
    const auto& c = *cells;
    auto point = parse_uint<uint32_t>(c[0]);
    auto rep = parse_uint<uint32_t>(c[1]);
    auto seed = parse_uint<uint64_t>(c[2]);
    auto value = parse_value(c.back());
    if (!point || !rep || !seed || !value || *point >= f.meta.points ||
        *rep >= f.meta.replications) {
      return "bad point, replication, seed or value";
    }
    std::vector<std::string> pv(c.begin() + 3, c.end() - 4);
    auto& known = f.meta.point_values[*point];
    if (known.empty()) {
      known = pv;
    } else if (known != pv) {
      return "point " + c[0] + " has different swept values on different rows";
    }
    if (f.records.empty() || f.records.back().point != *point ||
        f.records.back().replication != *rep) {
      f.records.push_back(RunRecord{*point, *rep, *seed, {}});
    }
    const size_t n = c.size();
    f.records.back().rows.push_back({c[n - 4], c[n - 3], c[n - 2], *value});
    return "";
  }
};

}  // namespace

std::optional<RunsFile> parse_runs_csv(const std::string& text, const std::string& file,
                                       std::string* error) {
  RunsFile f;
  std::istringstream in(text);
  std::string line;
  size_t line_no = 1;
  auto fail = [&](const std::string& msg) {
    *error = file + ":" + std::to_string(line_no) + ": " + msg;
    return std::nullopt;
  };
  if (!std::getline(in, line) || !line.starts_with("# dsim ")) {
    return fail("not a runs.csv written by dsim sweep (no '# dsim' header)");
  }
  if (const std::string wrong = read_header_line(line, f.meta); !wrong.empty()) return fail(wrong);
  RunsCsvBody body{f, {}};
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto cells = csv_cells(line);
    const std::string wrong = body.header.empty() ? body.read_header(cells) : body.read_row(cells);
    if (!wrong.empty()) return fail(wrong);
  }
  if (body.header.empty()) return fail("no column header");
  return f;
}

void sort_records(std::vector<RunRecord>& records) {
  std::stable_sort(records.begin(), records.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(a.point, a.replication) < std::tie(b.point, b.replication);
  });
}

bool complete(const SweepMeta& meta, const std::vector<RunRecord>& records, std::string* error) {
  std::vector<uint8_t> seen(meta.points * meta.replications, 0);
  size_t repeated = 0;
  for (const auto& r : records) {
    const size_t i = static_cast<size_t>(r.point) * meta.replications + r.replication;
    if (seen[i]) ++repeated;
    seen[i] = 1;
  }
  const size_t missing = static_cast<size_t>(std::count(seen.begin(), seen.end(), 0));
  if (missing == 0 && repeated == 0) return true;
  std::string first;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i]) continue;
    first = " (the first: point " + std::to_string(i / meta.replications) + ", replication " +
            std::to_string(i % meta.replications) + ")";
    break;
  }
  *error = std::to_string(missing) + " of " + std::to_string(seen.size()) + " runs missing" +
           first + ", " + std::to_string(repeated) + " given more than once";
  return false;
}

std::string render_sweep_csv(const SweepMeta& meta, const std::vector<RunRecord>& records) {
  std::string out = header_line(meta, false);
  out +=
      "# per point and figure, over the n replications that produced it: mean, sample "
      "standard deviation, 95% Student-t confidence interval of the mean, min, median, max; "
      "the value in the worst replication (empty: unknown there), its index and seed\n";
  out += "point" + column_header(meta) +
         ",group,op,metric,n,mean,stddev,ci95_lo,ci95_hi,min,median,max,worst,worst_replication,"
         "worst_seed\n";
  for (const PointVerdict& pv : point_verdicts(records)) {
    const std::string prefix = point_prefix(meta, pv.point);
    for (const FigureVerdict& f : pv.figures) {
      const Aggregate& a = f.stats;
      out += prefix + "," + csv_cell(f.group) + "," + csv_cell(f.op) + "," + csv_cell(f.metric) +
             "," + std::to_string(a.n) + "," + format_value(a.mean) + "," + format_value(a.stddev) +
             "," + format_value(a.ci95_lo) + "," + format_value(a.ci95_hi) + "," +
             format_value(a.min) + "," + format_value(a.median) + "," + format_value(a.max) + "," +
             format_value(f.worst.value) + "," + std::to_string(f.worst.replication) + "," +
             std::to_string(f.worst.seed) + "\n";
    }
  }
  return out;
}

std::string render_checks_csv(const SweepMeta& meta, const std::vector<RunRecord>& records) {
  std::string out = header_line(meta, false);
  out +=
      "# per point and scenario check: the replications that ran it, passed and failed it; "
      "its worst replication (the one that failed by most, or else passed by least), its "
      "seed, the checked figure's value there (empty: unknown), and the command that "
      "repeats that replication from the sweep's directory\n";
  out += "point" + column_header(meta) +
         ",check,runs,passed,failed,worst_replication,worst_seed,worst_value,rerun\n";
  for (const PointVerdict& pv : point_verdicts(records)) {
    const std::string prefix = point_prefix(meta, pv.point);
    for (const CheckVerdict& c : pv.checks) {
      out += prefix + "," + csv_cell(c.check) + "," + std::to_string(c.runs) + "," +
             std::to_string(c.passed) + "," + std::to_string(c.failed()) + "," +
             std::to_string(c.worst.replication) + "," + std::to_string(c.worst.seed) + "," +
             format_value(c.worst.value) + "," +
             csv_cell(rerun_command(meta, pv.point, c.worst.seed, "sweep.yaml")) + "\n";
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> summary_files(
    const SweepMeta& meta, const std::vector<RunRecord>& records) {
  return {{"sweep.csv", render_sweep_csv(meta, records)},
          {"checks.csv", render_checks_csv(meta, records)}};
}

int sweep_status(const std::vector<RunRecord>& records) {
  bool check_failed = false;
  for (const auto& rec : records) {
    for (const auto& r : rec.rows) {
      if (r.group == "run" && r.op.empty() && r.metric == "aborted" && r.value != 0) return 3;
      if (r.group == "run" && r.op == "check" && r.value == 0) check_failed = true;
    }
  }
  return check_failed ? 1 : 0;
}

}  // namespace dsim::sweep
