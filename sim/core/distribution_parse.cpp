#include "sim/core/distribution_parse.h"

#include <cmath>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

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

  std::optional<Distribution> call(const Expr& e, Dim dim) {
    const std::string& f = e.atom;
    std::map<std::string, const Expr*> a;
    auto need = [&](const char* key) -> const std::string* {
      auto it = a.find(key);
      if (it == a.end()) {
        fail(f + ": missing argument '" + key + "'");
        return nullptr;
      }
      return &it->second->atom;
    };
    if (f == "constant") {
      if (!bind(e, {"value"}, &a)) return std::nullopt;
      const auto* v = need("value");
      if (!v) return std::nullopt;
      auto x = location(*v, dim);
      if (!x) return std::nullopt;
      return Distribution::constant(*x).with_dim(dim);
    }
    if (f == "uniform") {
      if (!bind(e, {"min", "max"}, &a)) return std::nullopt;
      const auto *lo = need("min"), *hi = need("max");
      if (!lo || !hi) return std::nullopt;
      auto l = location(*lo, dim), h = location(*hi, dim);
      if (!l || !h) return std::nullopt;
      return Distribution::uniform(*l, *h).with_dim(dim);
    }
    if (f == "exponential") {
      if (!bind(e, {"mean", "rate"}, &a)) return std::nullopt;
      if (a.count("rate") && a.count("mean"))
        return fail("exponential: give mean or rate, not both");
      if (a.count("rate")) {
        if (dim != Dim::kTime) return fail("exponential: rate= only applies to times; give mean=");
        std::string err;
        auto r = parse_rate(a["rate"]->atom, &err);
        if (!r) return fail("exponential: " + err);
        if (*r <= 0) return fail("exponential: rate must be > 0");
        return Distribution::exponential(1e9 / *r).with_dim(dim);
      }
      const auto* m = need("mean");
      if (!m) return std::nullopt;
      auto x = location(*m, dim);
      if (!x) return std::nullopt;
      return Distribution::exponential(*x).with_dim(dim);
    }
    if (f == "normal") {
      if (!bind(e, {"mean", "stddev"}, &a)) return std::nullopt;
      const auto *m = need("mean"), *s = need("stddev");
      if (!m || !s) return std::nullopt;
      auto mx = location(*m, dim), sx = location(*s, dim);
      if (!mx || !sx) return std::nullopt;
      if (dim != Dim::kNumber && *mx <= 0) {
        return fail("normal: the mean of a time or size must be > 0 (it is truncated at 0)");
      }
      return Distribution::normal(*mx, *sx).with_dim(dim);
    }
    if (f == "lognormal") {
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
    if (f == "pareto") {
      if (!bind(e, {"xm", "alpha"}, &a)) return std::nullopt;
      const auto *xm = need("xm"), *al = need("alpha");
      if (!xm || !al) return std::nullopt;
      auto x = location(*xm, dim);
      auto al_v = plain(*al, "pareto alpha");
      if (!x || !al_v) return std::nullopt;
      return Distribution::pareto(*x, *al_v).with_dim(dim);
    }
    if (f == "weibull") {
      if (!bind(e, {"scale", "shape"}, &a)) return std::nullopt;
      const auto *sc = need("scale"), *sh = need("shape");
      if (!sc || !sh) return std::nullopt;
      auto x = location(*sc, dim);
      auto k = plain(*sh, "weibull shape");
      if (!x || !k) return std::nullopt;
      return Distribution::weibull(*x, *k).with_dim(dim);
    }
    if (f == "zipf") {
      if (dim != Dim::kNumber) return fail("zipf: draws ranks 1..n, which are not a time or size");
      if (!bind(e, {"n", "s"}, &a)) return std::nullopt;
      const auto *n = need("n"), *s = need("s");
      if (!n || !s) return std::nullopt;
      std::string err;
      auto nv = parse_integer(*n, &err);
      if (!nv || *nv < 1) return fail("zipf: n must be an integer >= 1");
      auto sv = plain(*s, "zipf s");
      if (!sv) return std::nullopt;
      return Distribution::zipf(static_cast<uint64_t>(*nv), *sv);
    }
    if (f == "mixture") {
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
    if (f == "empirical") {
      if (!bind(e, {"file"}, &a)) return std::nullopt;
      const auto* file = need("file");
      if (!file) return std::nullopt;
      std::string path = *file;
      if (!path.empty() && path[0] != '/' && !base_dir_.empty()) path = base_dir_ + "/" + path;
      std::ifstream in(path, std::ios::binary);
      if (!in) return fail("empirical: cannot read '" + path + "'");
      std::stringstream ss;
      ss << in.rdbuf();
      std::string err;
      auto d = parse_empirical_csv(ss.str(), dim, path, &err);
      if (!d) return fail(err);
      return d;
    }
    return fail("unknown distribution '" + f +
                "' (valid: constant, uniform, exponential, normal, lognormal, pareto, weibull, "
                "zipf, mixture, empirical)");
  }

  const std::string& base_dir_;
  std::string* error_;
  bool allow_negative_ = false;
};

}  // namespace

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
  auto fail = [&](size_t line, const std::string& msg) -> std::optional<Distribution> {
    if (error) *error = what + ":" + std::to_string(line) + ": " + msg;
    return std::nullopt;
  };
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> row_lines;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      if (end == csv.size()) break;
      continue;
    }
    std::vector<std::string> cells;
    size_t c = 0;
    while (true) {
      size_t comma = line.find(',', c);
      std::string cell(
          line.substr(c, comma == std::string_view::npos ? line.size() - c : comma - c));
      while (!cell.empty() && (cell.front() == ' ' || cell.front() == '\t'))
        cell.erase(0, 1);
      while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t'))
        cell.pop_back();
      cells.push_back(cell);
      if (comma == std::string_view::npos) break;
      c = comma + 1;
    }
    rows.push_back(std::move(cells));
    row_lines.push_back(line_no);
    if (end == csv.size()) break;
  }
  if (rows.size() < 2) return fail(1, "needs a header line and at least one data row");
  const auto& header = rows[0];
  if (header.size() != 1 && header.size() != 2) {
    return fail(row_lines[0], "expected 1 column (samples) or 2 (value, cumulative probability)");
  }
  double scale = 1.0;
  if (dim == Dim::kTime) {
    const std::string& h = header[0];
    static constexpr struct {
      const char* suffix;
      double ns;
    } kSuffixes[] = {{"_ns", 1}, {"_us", 1e3}, {"_ms", 1e6}, {"_s", 1e9}};
    bool found = false;
    for (const auto& s : kSuffixes) {
      const std::string suf = s.suffix;
      if (h.size() > suf.size() && h.compare(h.size() - suf.size(), suf.size(), suf) == 0) {
        scale = s.ns;
        found = true;
        break;
      }
    }
    if (!found) {
      return fail(row_lines[0],
                  "the first column of a time distribution must name its unit, "
                  "e.g. latency_ms (suffixes _ns, _us, _ms, _s), got '" +
                      h + "'");
    }
  }
  std::vector<double> values, cums;
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != header.size()) {
      return fail(row_lines[r], "expected " + std::to_string(header.size()) + " columns");
    }
    std::string err;
    auto v = parse_number(rows[r][0], &err);
    if (!v) return fail(row_lines[r], err);
    if (header.size() == 2) {
      auto p = parse_number(rows[r][1], &err);
      if (!p) return fail(row_lines[r], err);
      // The CDF rules, checked here so that the error names the offending line.
      if (*p < 0 || *p > 1)
        return fail(row_lines[r], "cumulative probabilities must lie in [0, 1]");
      if (!values.empty() && *v * scale < values.back())
        return fail(row_lines[r], "values must be ascending");
      if (!cums.empty() && *p < cums.back())
        return fail(row_lines[r], "cumulative probabilities must be non-decreasing");
      cums.push_back(*p);
    }
    values.push_back(*v * scale);
  }
  try {
    if (header.size() == 1) return Distribution::empirical_samples(std::move(values)).with_dim(dim);
    std::vector<Distribution::Point> pts;
    for (size_t i = 0; i < values.size(); ++i)
      pts.push_back({values[i], cums[i]});
    return Distribution::empirical_cdf(std::move(pts)).with_dim(dim);
  } catch (const std::invalid_argument& ex) {
    return fail(row_lines.back(), ex.what());
  }
}

}  // namespace dsim
