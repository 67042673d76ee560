// The scenario syntax of distributions (parse_distribution) and empirical CSV files.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "sim/core/distribution.h"
#include "sim/core/distribution_parse.h"

#include "tests/support/temp_dir.h"

using namespace dsim;
using Dim = Distribution::Dim;
using Kind = Distribution::Kind;

namespace {

constexpr double kZ99 = 2.3263478740408408;  // standard normal quantile at 0.99 (tables)

Distribution parse_ok(const std::string& text, Dim dim = Dim::kTime,
                      const std::string& base_dir = "") {
  std::string err;
  auto d = parse_distribution(text, dim, base_dir, &err);
  INFO("parsing '" << text << "': " << err);
  REQUIRE(d.has_value());
  CHECK(err.empty());
  return *d;
}

// Parses text that must fail; returns the error message.
std::string parse_error(const std::string& text, Dim dim = Dim::kTime,
                        const std::string& base_dir = "") {
  std::string err;
  auto d = parse_distribution(text, dim, base_dir, &err);
  INFO("parsing '" << text << "' should fail");
  CHECK_FALSE(d.has_value());
  CHECK_FALSE(err.empty());
  // A null error pointer is allowed.
  CHECK_FALSE(parse_distribution(text, dim, base_dir, nullptr).has_value());
  return err;
}

Distribution csv_ok(const std::string& csv, Dim dim) {
  std::string err;
  auto d = parse_empirical_csv(csv, dim, "lat.csv", &err);
  INFO(err);
  REQUIRE(d.has_value());
  return *d;
}

std::string csv_error(const std::string& csv, Dim dim) {
  std::string err;
  auto d = parse_empirical_csv(csv, dim, "lat.csv", &err);
  CHECK_FALSE(d.has_value());
  return err;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

using test::TempDir;

}  // namespace

TEST_CASE("parse: a bare value is a constant", "[parse]") {
  const auto d = parse_ok("5ms");
  CHECK(d.kind() == Kind::kConstant);
  CHECK(d.dim() == Dim::kTime);
  CHECK(d.mean() == 5e6);
  CHECK(d.describe() == "5ms");
  CHECK(parse_ok("constant(5ms)").mean() == 5e6);
  CHECK(parse_ok("constant(value=2.5s)").mean() == 2.5e9);
  CHECK(parse_ok("0").mean() == 0);  // zero needs no unit
  CHECK(parse_ok("2.5", Dim::kNumber).mean() == 2.5);
  const auto b = parse_ok("64KiB", Dim::kBytes);
  CHECK(b.mean() == 65536);
  CHECK(b.dim() == Dim::kBytes);
  CHECK(b.describe() == "64KiB");
}

TEST_CASE("parse: uniform, positional and named", "[parse]") {
  for (const char* text :
       {"uniform(1ms, 3ms)", "uniform(min=1ms, max=3ms)", "uniform(min: 1ms, max: 3ms)",
        "uniform(max=3ms, min=1ms)", "uniform(1ms, max=3ms)", "  uniform ( 1ms ,3ms )  "}) {
    INFO(text);
    const auto d = parse_ok(text);
    CHECK(d.kind() == Kind::kUniform);
    CHECK(d.quantile(0) == 1e6);
    CHECK(d.quantile(1) == 3e6);
    CHECK(d.mean() == 2e6);
    CHECK(d.describe() == "uniform(1ms, 3ms)");
  }
  CHECK(parse_ok("uniform(1KB, 2KB)", Dim::kBytes).mean() == 1500);
  CHECK(parse_ok("uniform(1, 3)", Dim::kNumber).mean() == 2);
}

TEST_CASE("parse: exponential by mean or rate", "[parse]") {
  for (const char* text : {"exponential(mean=5ms)", "exponential(5ms)", "exponential(mean: 5ms)",
                           "exponential(rate=200/s)", "exponential(rate: 200/s)"}) {
    INFO(text);
    const auto d = parse_ok(text);
    CHECK(d.kind() == Kind::kExponential);
    CHECK(d.mean() == Approx(5e6).epsilon(1e-12));
    // The median of an exponential is mean * ln 2.
    CHECK(d.quantile(0.5) == Approx(5e6 * std::log(2.0)).epsilon(1e-12));
    CHECK(d.describe() == "exponential(mean=5ms)");
  }
  CHECK(parse_ok("exponential(mean=2.5)", Dim::kNumber).mean() == 2.5);
}

TEST_CASE("parse: normal", "[parse]") {
  const auto d = parse_ok("normal(mean=10ms, stddev=2ms)");
  CHECK(d.kind() == Kind::kNormal);
  CHECK(d.mean() == 1e7);
  CHECK(d.quantile(0.99) == Approx(1e7 + 2e6 * kZ99).epsilon(1e-9));
  CHECK(d.describe() == "normal(mean=10ms, stddev=2ms)");
  CHECK(parse_ok("normal(10ms, 2ms)").describe() == "normal(mean=10ms, stddev=2ms)");
  // A plain number may have a negative mean.
  CHECK(parse_ok("normal(mean=-3, stddev=1)", Dim::kNumber).mean() == -3);
}

TEST_CASE("parse: the three forms of lognormal", "[parse]") {
  {
    const auto d = parse_ok("lognormal(median=2ms, p99=20ms)");
    CHECK(d.kind() == Kind::kLognormal);
    CHECK(d.quantile(0.5) == Approx(2e6).epsilon(1e-12));
    CHECK(d.quantile(0.99) == Approx(2e7).epsilon(1e-12));
    CHECK(d.describe() == "lognormal(median=2ms, p99=20ms)");
    CHECK(parse_ok("lognormal(p99: 20ms, median: 2ms)").quantile(0.99) ==
          Approx(2e7).epsilon(1e-12));
  }
  {
    // median and sigma: p99 = median * exp(sigma * z_0.99).
    const auto d = parse_ok("lognormal(median=2ms, sigma=0.8)");
    CHECK(d.quantile(0.5) == Approx(2e6).epsilon(1e-12));
    CHECK(d.quantile(0.99) == Approx(2e6 * std::exp(0.8 * kZ99)).epsilon(1e-9));
    CHECK(d.mean() == Approx(2e6 * std::exp(0.32)).epsilon(1e-12));
  }
  {
    // mu of ln(value in seconds): the median is exp(mu) seconds.
    const auto d = parse_ok("lognormal(mu=-6.2, sigma=0.8)");
    CHECK(d.quantile(0.5) == Approx(std::exp(-6.2) * 1e9).epsilon(1e-12));
    CHECK(d.mean() == Approx(std::exp(-6.2 + 0.32) * 1e9).epsilon(1e-12));
    // Plain numbers take mu as is.
    const auto n = parse_ok("lognormal(mu=1, sigma=0.5)", Dim::kNumber);
    CHECK(n.quantile(0.5) == Approx(std::exp(1.0)).epsilon(1e-12));
  }
}

TEST_CASE("parse: pareto, weibull and zipf", "[parse]") {
  const auto p = parse_ok("pareto(xm=0.2ms, alpha=3)");
  CHECK(p.kind() == Kind::kPareto);
  CHECK(p.min_value() == 2e5);
  CHECK(p.mean() == Approx(3 * 2e5 / 2));
  CHECK(parse_ok("pareto(200us, 3)").mean() == Approx(p.mean()));

  const auto w = parse_ok("weibull(scale=10ms, shape=1.5)");
  CHECK(w.kind() == Kind::kWeibull);
  CHECK(w.quantile(1 - std::exp(-1.0)) == Approx(1e7).epsilon(1e-9));  // F(scale) = 1 - 1/e
  CHECK(w.mean() == Approx(1e7 * std::tgamma(1 + 1 / 1.5)));

  for (const char* text : {"zipf(1000, s=0.99)", "zipf(n=1000, s=0.99)", "zipf(1000, 0.99)"}) {
    INFO(text);
    const auto z = parse_ok(text, Dim::kNumber);
    CHECK(z.kind() == Kind::kZipf);
    double h = 0, m = 0;
    for (int k = 1; k <= 1000; ++k) {
      h += std::pow(k, -0.99);
      m += k * std::pow(k, -0.99);
    }
    CHECK(z.mean() == Approx(m / h).epsilon(1e-12));
    CHECK(z.cdf(1) == Approx(1 / h).epsilon(1e-12));
    CHECK(z.describe() == "zipf(n=1000, s=0.99)");
  }
}

TEST_CASE("parse: mixtures", "[parse]") {
  const std::string text = "mixture(0.9*exponential(mean=1ms), 0.1*pareto(xm=5ms, alpha=2))";
  const auto d = parse_ok(text);
  CHECK(d.kind() == Kind::kMixture);
  CHECK(d.dim() == Dim::kTime);
  // 0.9 * 1ms + 0.1 * (2 * 5ms / (2 - 1)).
  CHECK(d.mean() == Approx(0.9e6 + 0.1 * 1e7));
  CHECK(d.describe() == text);
  // Weights are normalised: 3:1 is 0.75:0.25.
  const auto w = parse_ok("mixture(3*constant(1ms), 1 * constant(5ms))");
  CHECK(w.mean() == Approx(0.75 * 1e6 + 0.25 * 5e6));
  CHECK(w.cdf(1e6) == Approx(0.75));
  // A bare value is a component too, and mixtures nest.
  const auto n = parse_ok("mixture(0.5*1ms, 0.5*mixture(0.5*2ms, 0.5*uniform(4ms, 6ms)))");
  CHECK(n.mean() == Approx(0.5e6 + 0.25 * 2e6 + 0.25 * 5e6));
  CHECK(n.cdf(1.5e6) == Approx(0.5));
  CHECK(n.cdf(2e6) == Approx(0.75));
}

TEST_CASE("parse: describe() of a parsed distribution parses back to it", "[parse][describe]") {
  struct Case {
    const char* text;
    Dim dim;
  };
  const Case cases[] = {
      {"5ms", Dim::kTime},
      {"uniform(1ms, 3ms)", Dim::kTime},
      {"exponential(rate=250/s)", Dim::kTime},
      {"normal(mean=10ms, stddev=2.5ms)", Dim::kTime},
      {"lognormal(median=2ms, p99=20ms)", Dim::kTime},
      {"lognormal(median=2ms, sigma=0.8)", Dim::kTime},
      {"lognormal(mu=-6.2, sigma=0.8)", Dim::kTime},
      {"lognormal(mu=1.5, sigma=0.3)", Dim::kNumber},
      {"lognormal(median=0.5, p99=4)", Dim::kNumber},
      {"lognormal(median=2.5, sigma=0.3)", Dim::kNumber},
      {"pareto(xm=0.2ms, alpha=3)", Dim::kTime},
      {"weibull(scale=10ms, shape=1.5)", Dim::kTime},
      {"zipf(1000, s=0.99)", Dim::kNumber},
      {"mixture(0.9*exponential(mean=1ms), 0.1*pareto(xm=5ms, alpha=2))", Dim::kTime},
      {"mixture(1*lognormal(mu=-7, sigma=1), 3*lognormal(median=1ms, p99=9ms))", Dim::kTime},
      {"uniform(1KB, 2KiB)", Dim::kBytes},
      {"exponential(mean=2.5)", Dim::kNumber},
  };
  for (const auto& c : cases) {
    const auto d = parse_ok(c.text, c.dim);
    const std::string canonical = d.describe();
    INFO(c.text << " -> " << canonical);
    const auto back = parse_ok(canonical, c.dim);
    CHECK(back.kind() == d.kind());
    CHECK(back.describe() == canonical);
    CHECK(back.mean() == Approx(d.mean()).epsilon(1e-9));
    for (double q : {0.1, 0.5, 0.99})
      CHECK(back.quantile(q) == Approx(d.quantile(q)).epsilon(1e-9));
  }
}

TEST_CASE("parse: unknown distributions list the valid ones", "[parse][errors]") {
  const auto err = parse_error("gamma(1ms, 2ms)");
  CHECK(contains(err, "unknown distribution 'gamma'"));
  for (const char* name : {"constant", "uniform", "exponential", "normal", "lognormal", "pareto",
                           "weibull", "zipf", "mixture", "empirical"}) {
    CHECK(contains(err, name));
  }
}

TEST_CASE("parse: argument errors", "[parse][errors]") {
  {
    const auto err = parse_error("exponential(mean=5ms, foo=1)");
    CHECK(contains(err, "unknown argument 'foo'"));
    CHECK(contains(err, "mean"));
    CHECK(contains(err, "rate"));
  }
  CHECK(contains(parse_error("normal(mean=10ms)"), "missing argument 'stddev'"));
  CHECK(contains(parse_error("uniform(1ms)"), "missing argument 'max'"));
  CHECK(contains(parse_error("exponential()"), "missing argument 'mean'"));
  CHECK(contains(parse_error("uniform(1ms, 2ms, 3ms)"), "too many arguments"));
  CHECK(contains(parse_error("exponential(mean=5ms, mean=6ms)"), "given twice"));
  CHECK(contains(parse_error("exponential(mean=5ms, rate=200/s)"), "not both"));
  CHECK(contains(parse_error("exponential(mean=exponential(mean=1ms))"), "must be a value"));
  CHECK(contains(parse_error("exponential(0.5*5ms)"), "only belong in mixture"));
  CHECK(contains(parse_error("mixture(exponential(mean=1ms))"), "weight*distribution"));
  CHECK(contains(parse_error("mixture(x*exponential(mean=1ms))"), "mixture weight"));
  CHECK(contains(parse_error("mixture(0*1ms)"), "weights must be > 0"));
  CHECK(contains(parse_error("lognormal(median=2ms)"), "median, p99"));
  CHECK(contains(parse_error("lognormal(median=2ms, p99=1ms)"), "p99"));
  CHECK(contains(parse_error("exponential(rate=200/s)", Dim::kNumber), "only applies to times"));
  CHECK(contains(parse_error("exponential(rate=fast)"), "rate"));
  CHECK(contains(parse_error("zipf(10, s=1)", Dim::kTime), "zipf"));
  CHECK(contains(parse_error("zipf(2.5, s=1)", Dim::kNumber), "integer"));
  CHECK(contains(parse_error("zipf(0, s=1)", Dim::kNumber), "n must be"));
  CHECK(contains(parse_error("pareto(xm=1ms, alpha=fast)"), "pareto alpha"));
  CHECK(contains(parse_error("exponential(mean=0ms)"), "mean must be > 0"));
  CHECK(contains(parse_error("uniform(3ms, 1ms)"), "lower bound"));
}

TEST_CASE("parse: times need units and cannot be negative", "[parse][errors]") {
  CHECK(contains(parse_error("5"), "needs a time unit"));
  CHECK(contains(parse_error("exponential(mean=5)"), "needs a time unit"));
  CHECK(contains(parse_error("uniform(1, 2)"), "needs a time unit"));
  CHECK(contains(parse_error("5parsecs"), "unknown time unit"));
  CHECK(contains(parse_error("5ms", Dim::kNumber), "expected a number"));
  CHECK(contains(parse_error("5", Dim::kBytes), "size unit"));
  {
    const auto err = parse_error("uniform(-1ms, 2ms)");
    CHECK(contains(err, "cannot be negative"));
    CHECK(contains(err, "uniform(-1ms, 2ms)"));
  }
  CHECK(contains(parse_error("-5ms"), "cannot be negative"));
  CHECK(contains(parse_error("-5B", Dim::kBytes), "size"));
  CHECK(contains(parse_error("normal(mean=-1ms, stddev=1ms)"), "must be > 0"));
  CHECK(contains(parse_error("mixture(0.5*1ms, 0.5*uniform(-1ms, 1ms))"), "cannot be negative"));
  // Negative plain numbers are fine.
  CHECK(parse_ok("uniform(-1, 2)", Dim::kNumber).mean() == 0.5);
}

TEST_CASE("parse: bad nesting and parentheses", "[parse][errors]") {
  CHECK(contains(parse_error("exponential(mean=5ms"), "expected ',' or ')'"));
  CHECK(contains(parse_error("exponential(mean=5ms))"), "unexpected ')'"));
  CHECK(contains(parse_error("exponential mean=5ms"), "unexpected"));
  CHECK(contains(parse_error(""), "expected a value or a distribution"));
  CHECK(contains(parse_error("   "), "expected a value or a distribution"));
  CHECK(contains(parse_error("(5ms)"), "expected a value or a distribution"));
  CHECK(contains(parse_error("uniform(1ms,, 2ms)"), "expected a value or a distribution"));
  CHECK(contains(parse_error("uniform(1ms 2ms)"), "expected ',' or ')'"));
  CHECK(contains(parse_error("mixture(0.5*exponential(mean=1ms), 0.5*)"),
                 "expected a value or a distribution"));
  // The message names the text and the position.
  const auto err = parse_error("exponential(mean=5ms");
  CHECK(contains(err, "exponential(mean=5ms"));
  CHECK(contains(err, "position"));
  // Nesting is bounded.
  std::string deep;
  for (int i = 0; i < 40; ++i)
    deep += "mixture(1*";
  deep += "1ms";
  for (int i = 0; i < 40; ++i)
    deep += ")";
  CHECK(contains(parse_error(deep), "nested too deeply"));
  std::string ok;
  for (int i = 0; i < 10; ++i)
    ok += "mixture(1*";
  ok += "1ms";
  for (int i = 0; i < 10; ++i)
    ok += ")";
  CHECK(parse_ok(ok).mean() == 1e6);
}

TEST_CASE("parse: empirical CSV with one column is samples", "[parse][empirical]") {
  const auto d = csv_ok("latency_ms\n1\n2\n3\n6\n", Dim::kTime);
  CHECK(d.kind() == Kind::kEmpirical);
  CHECK(d.dim() == Dim::kTime);
  CHECK(d.mean() == 3e6);
  CHECK(d.cdf(2e6) == 0.5);
  CHECK(d.quantile(0.5) == 2e6);
  CHECK(d.quantile(1) == 6e6);
  // Each suffix scales to nanoseconds.
  CHECK(csv_ok("rtt_us\n1.5\n", Dim::kTime).mean() == 1500);
  CHECK(csv_ok("delay_s\n2\n", Dim::kTime).mean() == 2e9);
  CHECK(csv_ok("x_ns\n7\n", Dim::kTime).mean() == 7);
  // Plain numbers need no unit; sizes are in bytes.
  CHECK(csv_ok("count\n1\n3\n", Dim::kNumber).mean() == 2);
  CHECK(csv_ok("bytes\n100\n300\n", Dim::kBytes).mean() == 200);
  // Comments, blank lines, spaces, CRLF and a missing final newline are fine.
  const auto c = csv_ok("# measured\r\nlatency_ms\r\n\r\n 1 \r\n# x\n3", Dim::kTime);
  CHECK(c.mean() == 2e6);
}

TEST_CASE("parse: empirical CSV with two columns is a CDF", "[parse][empirical]") {
  const auto d = csv_ok("latency_ms,p\n1,0\n2,0.5\n4,0.9\n10,1\n", Dim::kTime);
  CHECK(d.kind() == Kind::kEmpirical);
  CHECK(d.cdf(2e6) == Approx(0.5));
  CHECK(d.cdf(3e6) == Approx(0.7));
  CHECK(d.quantile(0.95) == Approx(7e6).epsilon(1e-9));
  CHECK(d.mean() == Approx(0.5 * 1.5e6 + 0.4 * 3e6 + 0.1 * 7e6));
  CHECK(csv_ok("value, cumulative\n0, 0.25\n 8 , 1\n", Dim::kNumber).cdf(4) == Approx(0.625));
}

TEST_CASE("parse: empirical CSV errors name the line", "[parse][empirical][errors]") {
  {
    const auto err = csv_error("latency\n1\n", Dim::kTime);
    CHECK(contains(err, "lat.csv:1:"));
    CHECK(contains(err, "latency_ms"));
  }
  CHECK(contains(csv_error("latency_ms\n1\nabc\n", Dim::kTime), "lat.csv:3:"));
  CHECK(contains(csv_error("# comment\nlatency_ms\n\n1\nx\n", Dim::kTime), "lat.csv:5:"));
  CHECK(contains(csv_error("latency_ms,p\n1,0.5\n2\n", Dim::kTime), "lat.csv:3:"));
  CHECK(contains(csv_error("latency_ms,p\n1,0.5\n2,zero\n", Dim::kTime), "lat.csv:3:"));
  CHECK(contains(csv_error("a,b,c\n1,2,3\n", Dim::kNumber), "lat.csv:1:"));
  CHECK(contains(csv_error("latency_ms\n", Dim::kTime), "data row"));
  CHECK(contains(csv_error("", Dim::kTime), "data row"));
  // CDF rules: the offending row is named.
  {
    const auto err = csv_error("v,p\n1,0.2\n2,0.1\n3,0.5\n4,1\n", Dim::kNumber);
    CHECK(contains(err, "lat.csv:3:"));
    CHECK(contains(err, "non-decreasing"));
  }
  {
    const auto err = csv_error("v,p\n1,0.2\n3,0.5\n2,0.7\n4,1\n", Dim::kNumber);
    CHECK(contains(err, "lat.csv:4:"));
    CHECK(contains(err, "ascending"));
  }
  {
    const auto err = csv_error("v,p\n1,0.2\n2,1.5\n3,0.5\n4,1\n", Dim::kNumber);
    CHECK(contains(err, "lat.csv:3:"));
    CHECK(contains(err, "[0, 1]"));
  }
  {
    const auto err = csv_error("v,p\n1,0.2\n2,0.5\n3,0.9\n", Dim::kNumber);
    CHECK(contains(err, "lat.csv:4:"));
    CHECK(contains(err, "must be 1"));
  }
  // Negative times are caught when the distribution is parsed (see below); the CSV itself
  // may hold any numbers.
  CHECK(csv_ok("v\n-1\n1\n", Dim::kNumber).mean() == 0);
}

TEST_CASE("parse: empirical(file) reads a CSV file", "[parse][empirical]") {
  TempDir dir("empirical");
  const std::string abs = dir.write("lat.csv", "latency_ms\n1\n2\n3\n");
  dir.write("cdf.csv", "latency_us,p\n100,0\n300,1\n");
  dir.write("neg.csv", "latency_ms\n-1\n2\n");
  const std::string base = dir.path.string();
  CHECK(parse_ok("empirical(lat.csv)", Dim::kTime, base).mean() == 2e6);
  CHECK(parse_ok("empirical(file=lat.csv)", Dim::kTime, base).mean() == 2e6);
  CHECK(parse_ok("empirical(" + abs + ")", Dim::kTime, "").mean() == 2e6);
  CHECK(parse_ok("empirical(" + abs + ")", Dim::kTime, "/nonexistent").mean() == 2e6);
  CHECK(parse_ok("empirical(cdf.csv)", Dim::kTime, base).mean() == Approx(2e5));
  CHECK(parse_ok("mixture(0.5*empirical(lat.csv), 0.5*4ms)", Dim::kTime, base).mean() ==
        Approx(3e6));
  {
    const auto err = parse_error("empirical(missing.csv)", Dim::kTime, base);
    CHECK(contains(err, "cannot read"));
    CHECK(contains(err, "missing.csv"));
  }
  CHECK(contains(parse_error("empirical(neg.csv)", Dim::kTime, base), "cannot be negative"));
  {
    // A CSV error names the file and the line.
    dir.write("bad.csv", "latency_ms\n1\noops\n");
    const auto err = parse_error("empirical(bad.csv)", Dim::kTime, base);
    CHECK(contains(err, "bad.csv:3:"));
  }
}

TEST_CASE("parse: empirical(file) stays in the scenario's folder", "[parse][empirical]") {
  TempDir dir("empirical_tree");
  std::filesystem::create_directories(dir.path / "scenario" / "data");
  dir.write("scenario/data/lat.csv", "latency_ms\n1\n2\n3\n");
  dir.write("secret.csv", "root:x:0:0:root:/root:/bin/bash\n1\n");
  const std::string base = (dir.path / "scenario").string();
  // Below the folder, and through '..' that comes back into it: read.
  CHECK(parse_ok("empirical(data/lat.csv)", Dim::kTime, base).mean() == 2e6);
  CHECK(parse_ok("empirical(data/../data/lat.csv)", Dim::kTime, base).mean() == 2e6);
  {
    // Out of the folder by '..': refused before anything is read.
    const auto err = parse_error("empirical(../secret.csv)", Dim::kTime, base);
    CHECK(contains(err, "leads outside the scenario's folder"));
    CHECK_FALSE(contains(err, "root:x"));
  }
  {
    // Out of the folder by a symbolic link inside it.
    std::filesystem::create_symlink(dir.path / "secret.csv", dir.path / "scenario" / "link.csv");
    const auto err = parse_error("empirical(link.csv)", Dim::kTime, base);
    CHECK(contains(err, "leads outside the scenario's folder"));
    CHECK_FALSE(contains(err, "root:x"));
  }
  {
    // An absolute path is the user's own choice and is read, but an error in the file
    // quotes none of it: the file may be anything but a CSV.
    const auto err =
        parse_error("empirical(" + (dir.path / "secret.csv").string() + ")", Dim::kTime, base);
    CHECK(contains(err, "secret.csv:1:"));
    CHECK_FALSE(contains(err, "root:x"));
  }
  {
    const auto err = csv_error("latency_ms\nhunter2\n", Dim::kTime);
    CHECK(contains(err, "lat.csv:2:"));
    CHECK_FALSE(contains(err, "hunter2"));
  }
}

TEST_CASE("parse: empirical(file) refuses what is not a regular file", "[parse][empirical]") {
  TempDir dir("empirical_special");
  std::filesystem::create_directories(dir.path / "folder");
  const std::string base = dir.path.string();
  CHECK(contains(parse_error("empirical(folder)", Dim::kTime, base), "is a directory"));
  // A device that never ends: refused at once, not read until memory runs out.
  CHECK(contains(parse_error("empirical(/dev/zero)", Dim::kTime, base), "is a device"));
}
