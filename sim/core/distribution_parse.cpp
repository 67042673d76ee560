#include "sim/core/distribution_parse.h"

#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <vector>

#include "sim/core/text_input.h"
#include "sim/core/units.h"

namespace dsim {

namespace {

using Dim = Distribution::Dim;

// A parsed call such as name(a, key=b, 0.9*dist(...)), before interpretation.
struct Expr {
  std::string atom;  // a quantity, or the name of a call
  bool is_call = false;
  struct Arg {
    std::string key;     // empty when positional
    std::string weight;  // set for "w*dist" mixture components
    Expr* value = nullptr;
  };
  std::vector<Arg> args;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Expr* parse_all(std::string* error) {
    Expr* e = parse_expr();
    skip_ws();
    if (!failed_ && pos_ != s_.size()) fail("unexpected '" + std::string(s_.substr(pos_, 1)) + "'");
    if (failed_) {
      *error = error_;
      return nullptr;
    }
    return e;
  }

 private:
  static bool is_delim(char c) {
    return c == '(' || c == ')' || c == ',' || c == '=' || c == ':' || c == '*' || c == ' ' ||
           c == '\t';
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t'))
      ++pos_;
  }
  void fail(std::string msg) {
    if (!failed_) error_ = std::move(msg) + " at position " + std::to_string(pos_ + 1);
    failed_ = true;
  }
  std::string token() {
    skip_ws();
    const size_t start = pos_;
    while (pos_ < s_.size() && !is_delim(s_[pos_]))
      ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }
  bool peek(char c) {
    skip_ws();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  Expr* parse_expr() {
    if (++depth_ > 32) {
      fail("distribution nested too deeply");
      return nullptr;
    }
    nodes_.emplace_back();
    Expr* e = &nodes_.back();
    e->atom = token();
    if (e->atom.empty()) {
      fail("expected a value or a distribution");
      return e;
    }
    if (peek('(')) {
      ++pos_;
      e->is_call = true;
      if (peek(')')) {
        ++pos_;
      } else {
        for (;;) {
          Expr::Arg arg;
          const size_t save = pos_;
          std::string first = token();
          if (peek('=') || peek(':')) {
            ++pos_;
            arg.key = first;
          } else if (peek('*')) {
            ++pos_;
            arg.weight = first;
          } else {
            pos_ = save;
          }
          arg.value = parse_expr();
          if (failed_) return e;
          e->args.push_back(arg);
          if (peek(',')) {
            ++pos_;
            continue;
          }
          if (peek(')')) {
            ++pos_;
            break;
          }
          fail("expected ',' or ')'");
          return e;
        }
      }
    }
    --depth_;
    return e;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  std::string error_;
  std::deque<Expr> nodes_;
};

class Interpreter {
 public:
  Interpreter(const std::string& base_dir, std::string* error, bool allow_negative = false)
      : base_dir_(base_dir), error_(error), allow_negative_(allow_negative) {}

  std::optional<Distribution> eval(const Expr& e, Dim dim) {
    std::optional<Distribution> d;
    if (!e.is_call) {
      auto v = location(e.atom, dim);
      if (!v) return std::nullopt;
      d = Distribution::constant(*v).with_dim(dim);
    } else {
      try {
        d = call(e, dim);
      } catch (const std::invalid_argument& ex) {
        return fail(ex.what());
      }
    }
    // Times and sizes cannot be negative. A normal is truncated at 0 instead (its mean is
    // checked > 0), and a mixture's components were checked one by one.
    if (d && dim != Dim::kNumber && !allow_negative_ && d->kind() != Distribution::Kind::kNormal &&
        d->kind() != Distribution::Kind::kMixture && d->min_value() < 0) {
      return fail(std::string(dim == Dim::kTime ? "a time" : "a size") + " cannot be negative: '" +
                  d->describe() + "'");
    }
    return d;
  }

 private:
  std::optional<Distribution> fail(std::string msg) {
    if (error_->empty()) *error_ = std::move(msg);
    return std::nullopt;
  }

  // A value in the distribution's own unit (a time, a size or a plain number).
  std::optional<double> location(const std::string& text, Dim dim) {
    std::string err;
    switch (dim) {
      case Dim::kTime: {
        auto d = parse_duration(text, &err);
        if (!d) return fail(err), std::nullopt;
        return static_cast<double>(d->ns());
      }
      case Dim::kBytes: {
        auto b = parse_size(text, &err);
        if (!b) return fail(err), std::nullopt;
        return static_cast<double>(*b);
      }
      case Dim::kNumber: {
        auto n = parse_number(text, &err);
        if (!n) return fail(err), std::nullopt;
        return *n;
      }
    }
    return std::nullopt;
  }
  std::optional<double> plain(const std::string& text, const std::string& what) {
    std::string err;
    auto n = parse_number(text, &err);
    if (!n) return fail(what + ": " + err), std::nullopt;
    return *n;
  }

  // Binds positional and named arguments to the parameter names of a call.
  bool bind(const Expr& e, const std::vector<std::string>& names,
            std::map<std::string, const Expr*>* out) {
    size_t next = 0;
    for (const auto& a : e.args) {
      if (!a.weight.empty()) {
        fail(e.atom + ": '" + a.weight + "*' weights only belong in mixture(...)");
        return false;
      }
      std::string key = a.key;
      if (key.empty()) {
        if (next >= names.size()) {
          fail(e.atom + ": too many arguments");
          return false;
        }
        key = names[next++];
      }
      bool known = false;
      for (const auto& n : names)
        known = known || n == key;
      if (!known) {
        std::string valid;
        for (const auto& n : names)
          valid += (valid.empty() ? "" : ", ") + n;
        fail(e.atom + ": unknown argument '" + key + "' (valid: " + valid + ")");
        return false;
      }
      if (out->count(key)) {
        fail(e.atom + ": argument '" + key + "' given twice");
        return false;
      }
      if (a.value->is_call) {
        fail(e.atom + ": argument '" + key + "' must be a value, not a distribution");
        return false;
      }
      (*out)[key] = a.value;
    }
    return true;
  }

  using Args = std::map<std::string, const Expr*>;
  using Maker = std::optional<Distribution> (Interpreter::*)(const Expr&, Dim);
  struct Family {
    const char* name;
    Maker make;
  };

  // A call of a distribution family: name(arguments).
  std::optional<Distribution> call(const Expr& e, Dim dim) {
    static constexpr Family kFamilies[] = {
        {"constant", &Interpreter::constant},       {"uniform", &Interpreter::uniform},
        {"exponential", &Interpreter::exponential}, {"normal", &Interpreter::normal},
        {"lognormal", &Interpreter::lognormal},     {"pareto", &Interpreter::pareto},
        {"weibull", &Interpreter::weibull},         {"zipf", &Interpreter::zipf},
        {"mixture", &Interpreter::mixture},         {"empirical", &Interpreter::empirical},
    };
    for (const auto& family : kFamilies) {
      if (e.atom == family.name) return (this->*family.make)(e, dim);
    }
    std::string valid;
    for (const auto& family : kFamilies)
      valid += (valid.empty() ? "" : ", ") + std::string(family.name);
    return fail("unknown distribution '" + e.atom + "' (valid: " + valid + ")");
  }

  // The text of argument `key` of the call `e`, or an error when it is missing.
  const std::string* need(const Expr& e, const Args& a, const char* key) {
    auto it = a.find(key);
    if (it == a.end()) {
      fail(e.atom + ": missing argument '" + key + "'");
      return nullptr;
    }
    return &it->second->atom;
  }

  // The required argument `key`, in the distribution's own unit.
  std::optional<double> need_location(const Expr& e, const Args& a, const char* key, Dim dim) {
    const auto* v = need(e, a, key);
    if (!v) return std::nullopt;
    return location(*v, dim);
  }

  // The texts of the two arguments of a call that requires both.
  std::optional<std::pair<std::string, std::string>> need_two(const Expr& e, const char* first,
                                                              const char* second) {
    Args a;
    if (!bind(e, {first, second}, &a)) return std::nullopt;
    const auto *x = need(e, a, first), *y = need(e, a, second);
    if (!x || !y) return std::nullopt;
    return std::pair{*x, *y};
  }

  // The two required arguments of a call, both in the distribution's own unit.
  std::optional<std::pair<double, double>> two_locations(const Expr& e, const char* first,
                                                         const char* second, Dim dim) {
    const auto args = need_two(e, first, second);
    if (!args) return std::nullopt;
    auto x = location(args->first, dim), y = location(args->second, dim);
    if (!x || !y) return std::nullopt;
    return std::pair{*x, *y};
  }

  std::optional<Distribution> constant(const Expr& e, Dim dim) {
    Args a;
    if (!bind(e, {"value"}, &a)) return std::nullopt;
    auto x = need_location(e, a, "value", dim);
    if (!x) return std::nullopt;
    return Distribution::constant(*x).with_dim(dim);
  }

  std::optional<Distribution> uniform(const Expr& e, Dim dim) {
    const auto bounds = two_locations(e, "min", "max", dim);
    if (!bounds) return std::nullopt;
    return Distribution::uniform(bounds->first, bounds->second).with_dim(dim);
  }

  std::optional<Distribution> exponential(const Expr& e, Dim dim) {
    Args a;
    if (!bind(e, {"mean", "rate"}, &a)) return std::nullopt;
    if (a.count("rate") && a.count("mean")) return fail("exponential: give mean or rate, not both");
    if (a.count("rate")) {
      if (dim != Dim::kTime) return fail("exponential: rate= only applies to times; give mean=");
      std::string err;
      auto r = parse_rate(a["rate"]->atom, &err);
      if (!r) return fail("exponential: " + err);
      if (*r <= 0) return fail("exponential: rate must be > 0");
      if (const auto fast = rate_too_fast(a["rate"]->atom, *r); !fast.empty())
        return fail("exponential: " + fast);
      return Distribution::exponential(1e9 / *r).with_dim(dim);
    }
    auto x = need_location(e, a, "mean", dim);
    if (!x) return std::nullopt;
    return Distribution::exponential(*x).with_dim(dim);
  }

  std::optional<Distribution> normal(const Expr& e, Dim dim) {
    const auto moments = two_locations(e, "mean", "stddev", dim);
    if (!moments) return std::nullopt;
    const auto [mean, stddev] = *moments;
    if (dim != Dim::kNumber && mean <= 0) {
      return fail("normal: the mean of a time or size must be > 0 (it is truncated at 0)");
    }
    return Distribution::normal(mean, stddev).with_dim(dim);
  }

  std::optional<Distribution> lognormal(const Expr& e, Dim dim) {
    Args a;
    if (!bind(e, {"median", "p99", "sigma", "mu"}, &a)) return std::nullopt;
    if (a.count("median") && a.count("p99")) {
      if (a.count("sigma") || a.count("mu")) return fail("lognormal: give median and p99 only");
      auto m = location(a["median"]->atom, dim), p = location(a["p99"]->atom, dim);
      if (!m || !p) return std::nullopt;
      return Distribution::lognormal_median_p99(*m, *p).with_dim(dim);
    }
    if (a.count("median") && a.count("sigma")) {
      if (a.count("mu")) return fail("lognormal: give median or mu, not both");
      auto m = location(a["median"]->atom, dim);
      auto s = plain(a["sigma"]->atom, "lognormal sigma");
      if (!m || !s) return std::nullopt;
      if (*m <= 0) return fail("lognormal: median must be > 0");
      return Distribution::lognormal(std::log(*m), *s).with_dim(dim);
    }
    if (a.count("mu") && a.count("sigma")) {
      auto mu = plain(a["mu"]->atom, "lognormal mu");
      auto s = plain(a["sigma"]->atom, "lognormal sigma");
      if (!mu || !s) return std::nullopt;
      // For times, mu is the mean of ln(value in seconds); convert to nanoseconds.
      const double shift = dim == Dim::kTime ? std::log(1e9) : 0.0;
      return Distribution::lognormal(*mu + shift, *s).with_dim(dim);
    }
    return fail("lognormal: give (median, p99), (median, sigma) or (mu, sigma)");
  }

  std::optional<Distribution> pareto(const Expr& e, Dim dim) {
    return scale_and_shape(e, dim, "xm", "alpha", &Distribution::pareto);
  }

  std::optional<Distribution> weibull(const Expr& e, Dim dim) {
    return scale_and_shape(e, dim, "scale", "shape", &Distribution::weibull);
  }

  // A family with a scale in the unit of its draws and a shape that is a plain number.
  std::optional<Distribution> scale_and_shape(const Expr& e, Dim dim, const char* scale,
                                              const char* shape,
                                              Distribution (*make)(double, double)) {
    const auto args = need_two(e, scale, shape);
    if (!args) return std::nullopt;
    auto x = location(args->first, dim);
    auto k = plain(args->second, e.atom + " " + shape);
    if (!x || !k) return std::nullopt;
    return make(*x, *k).with_dim(dim);
  }

  std::optional<Distribution> zipf(const Expr& e, Dim dim) {
    if (dim != Dim::kNumber) return fail("zipf: draws ranks 1..n, which are not a time or size");
    const auto args = need_two(e, "n", "s");
    if (!args) return std::nullopt;
    std::string err;
    auto nv = parse_integer(args->first, &err);
    if (!nv || *nv < 1) return fail("zipf: n must be an integer >= 1");
    auto sv = plain(args->second, "zipf s");
    if (!sv) return std::nullopt;
    return Distribution::zipf(static_cast<uint64_t>(*nv), *sv);
  }

  std::optional<Distribution> mixture(const Expr& e, Dim dim) {
    std::vector<Distribution::Component> parts;
    for (const auto& arg : e.args) {
      if (arg.weight.empty()) {
        return fail(
            "mixture: write each component as weight*distribution, e.g. "
            "0.9*exponential(mean=1ms)");
      }
      auto w = plain(arg.weight, "mixture weight");
      if (!w) return std::nullopt;
      auto d = eval(*arg.value, dim);
      if (!d) return std::nullopt;
      parts.push_back({*w, *d});
    }
    return Distribution::mixture(std::move(parts)).with_dim(dim);
  }

  std::optional<Distribution> empirical(const Expr& e, Dim dim) {
    Args a;
    if (!bind(e, {"file"}, &a)) return std::nullopt;
    const auto* file = need(e, a, "file");
    if (!file) return std::nullopt;
    std::string err;
    const auto path = data_file_path(base_dir_, *file, &err);
    if (!path) return fail("empirical: " + err);
    const auto csv = read_text_file(*path, kMaxDataFileBytes, &err);
    if (!csv) return fail("empirical: cannot read '" + *path + "': " + err);
    auto d = parse_empirical_csv(*csv, dim, *path, &err);
    if (!d) return fail(err);
    return d;
  }

  const std::string& base_dir_;
  std::string* error_;
  bool allow_negative_ = false;
};

// A cell of a CSV line, without the blanks around it.
std::string trim_blanks(std::string_view cell) {
  const size_t first = cell.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const size_t last = cell.find_last_not_of(" \t");
  return std::string(cell.substr(first, last - first + 1));
}

std::vector<std::string> csv_cells(std::string_view line) {
  std::vector<std::string> cells;
  size_t c = 0;
  while (true) {
    const size_t comma = line.find(',', c);
    cells.push_back(
        trim_blanks(line.substr(c, comma == std::string_view::npos ? line.size() - c : comma - c)));
    if (comma == std::string_view::npos) break;
    c = comma + 1;
  }
  return cells;
}

struct CsvRow {
  size_t line = 0;  // 1-based, for messages
  std::vector<std::string> cells;
};

// The rows of a CSV text one at a time (a large file is never held twice), but for blank
// lines and # comments.
class CsvLines {
 public:
  explicit CsvLines(std::string_view csv) : csv_(csv) {}

  bool next(CsvRow& row) {
    while (pos_ <= csv_.size()) {
      size_t end = csv_.find('\n', pos_);
      if (end == std::string_view::npos) end = csv_.size();
      std::string_view line = csv_.substr(pos_, end - pos_);
      pos_ = end + 1;
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const size_t first = line.find_first_not_of(" \t");
      if (first != std::string_view::npos && line[first] != '#') {
        row = {line_no_, csv_cells(line)};
        return true;
      }
    }
    return false;
  }

 private:
  std::string_view csv_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
};

// Nanoseconds per unit of a time column, from the suffix of its name (latency_ms: 1e6).
std::optional<double> time_unit_ns(const std::string& column) {
  static constexpr struct {
    const char* suffix;
    double ns;
  } kSuffixes[] = {{"_ns", 1}, {"_us", 1e3}, {"_ms", 1e6}, {"_s", 1e9}};
  for (const auto& s : kSuffixes) {
    const std::string suf = s.suffix;
    if (column.size() > suf.size() &&
        column.compare(column.size() - suf.size(), suf.size(), suf) == 0) {
      return s.ns;
    }
  }
  return std::nullopt;
}

// The most data rows an empirical CSV may hold: 10^7 samples are 80 MB in memory, far more
// than a distribution needs.
constexpr size_t kMaxDataRows = 10'000'000;

// An empirical distribution from a CSV text: one column of samples, or two of values and
// their cumulative probabilities. Every error names the file and the line, and quotes nothing
// of the file (which may be any file the user can read, not a CSV at all).
class EmpiricalCsv {
 public:
  EmpiricalCsv(Dim dim, const std::string& what, std::string* error)
      : dim_(dim), what_(what), error_(error) {}

  std::optional<Distribution> parse(std::string_view csv) {
    CsvLines lines(csv);
    CsvRow row;
    if (!lines.next(row)) return fail(1, "needs a header line and at least one data row");
    if (!read_header(row)) return std::nullopt;
    while (lines.next(row)) {
      if (values_.size() >= kMaxDataRows) {
        return fail(row.line, "more than " + std::to_string(kMaxDataRows) +
                                  " data rows, the most an empirical distribution holds");
      }
      if (!read_row(row)) return std::nullopt;
      last_line_ = row.line;
    }
    if (values_.empty()) return fail(1, "needs a header line and at least one data row");
    return build();
  }

 private:
  std::optional<Distribution> fail(size_t line, const std::string& msg) {
    if (error_) *error_ = what_ + ":" + std::to_string(line) + ": " + msg;
    return std::nullopt;
  }

  // The header: how many columns, and for a time the unit its first column names.
  bool read_header(const CsvRow& header) {
    columns_ = header.cells.size();
    if (columns_ != 1 && columns_ != 2) {
      return fail(header.line, "expected 1 column (samples) or 2 (value, cumulative probability)"),
             false;
    }
    if (dim_ != Dim::kTime) return true;
    const auto scale = time_unit_ns(header.cells[0]);
    if (!scale) {
      return fail(header.line,
                  "the first column of a time distribution must name its unit, "
                  "e.g. latency_ms (suffixes _ns, _us, _ms, _s)"),
             false;
    }
    scale_ = *scale;
    return true;
  }

  // A data row: a value (and its cumulative probability), checked against the rows before.
  bool read_row(const CsvRow& row) {
    const size_t columns = columns_;
    if (row.cells.size() != columns) {
      return fail(row.line, "expected " + std::to_string(columns) + " columns"), false;
    }
    std::string err;
    auto v = parse_number(row.cells[0], &err);
    if (!v) return fail(row.line, "the first column is not a number"), false;
    if (columns == 2) {
      auto p = parse_number(row.cells[1], &err);
      if (!p) return fail(row.line, "the second column is not a number"), false;
      // The CDF rules, checked here so that the error names the offending line.
      if (*p < 0 || *p > 1)
        return fail(row.line, "cumulative probabilities must lie in [0, 1]"), false;
      if (!values_.empty() && *v * scale_ < values_.back())
        return fail(row.line, "values must be ascending"), false;
      if (!cums_.empty() && *p < cums_.back())
        return fail(row.line, "cumulative probabilities must be non-decreasing"), false;
      cums_.push_back(*p);
    }
    values_.push_back(*v * scale_);
    return true;
  }

  std::optional<Distribution> build() {
    try {
      if (columns_ == 1) return Distribution::empirical_samples(std::move(values_)).with_dim(dim_);
      std::vector<Distribution::Point> pts;
      for (size_t i = 0; i < values_.size(); ++i)
        pts.push_back({values_[i], cums_[i]});
      return Distribution::empirical_cdf(std::move(pts)).with_dim(dim_);
    } catch (const std::invalid_argument& ex) {
      return fail(last_line_, ex.what());
    }
  }

  Dim dim_;
  const std::string& what_;
  std::string* error_;
  size_t columns_ = 0;
  size_t last_line_ = 0;  // of the last data row
  double scale_ = 1.0;
  std::vector<double> values_, cums_;
};

}  // namespace

std::optional<std::string> data_file_path(const std::string& base_dir, const std::string& name,
                                          std::string* error) {
  namespace fs = std::filesystem;
  if (fs::path(name).is_absolute()) return name;
  const fs::path dir = base_dir.empty() ? "." : base_dir;
  const fs::path joined = dir / name;
  std::error_code ec;
  const auto resolve = [&ec](const fs::path& p) {
    const fs::path a = fs::absolute(p, ec);
    return ec ? a : fs::weakly_canonical(a, ec);
  };
  const fs::path base = resolve(dir);
  const fs::path full = ec ? fs::path() : resolve(joined);
  if (ec) {
    *error = "cannot find '" + name + "': " + ec.message();
    return std::nullopt;
  }
  const fs::path rel = full.lexically_relative(base);
  if (name.empty() || rel.empty() || *rel.begin() == "..") {
    *error = "'" + name + "' leads outside the scenario's folder (" + base.string() +
             "); a relative path must stay in that folder or below it (symbolic links "
             "followed), or give an absolute path";
    return std::nullopt;
  }
  return joined.lexically_normal().string();
}

std::optional<Distribution> parse_distribution(std::string_view text, Distribution::Dim dim,
                                               const std::string& base_dir, std::string* error,
                                               bool allow_negative) {
  std::string err;
  Parser parser(text);
  Expr* e = parser.parse_all(&err);
  if (!e) {
    if (error) *error = "cannot read distribution '" + std::string(text) + "': " + err;
    return std::nullopt;
  }
  Interpreter interp(base_dir, &err, allow_negative);
  auto d = interp.eval(*e, dim);
  if (!d && error) *error = err.empty() ? "bad distribution '" + std::string(text) + "'" : err;
  return d;
}

std::optional<Distribution> parse_empirical_csv(std::string_view csv, Distribution::Dim dim,
                                                const std::string& what, std::string* error) {
  return EmpiricalCsv(dim, what, error).parse(csv);
}

}  // namespace dsim
