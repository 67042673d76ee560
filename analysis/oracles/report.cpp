#include "analysis/oracles/report.h"

#include <cmath>
#include <cstdio>

#include "analysis/oracles/queueing.h"

namespace dsim::oracle {

namespace {

std::string ms(double seconds) {
  return num(seconds * 1e3) + " ms";
}

std::string line(const std::string& what, const std::string& value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-28s %s\n", what.c_str(), value.c_str());
  return buf;
}

std::string printf_string(const char* format, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

}  // namespace

std::string num(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string queue_report(double lambda, double mu, int c, std::optional<int64_t> queue_places) {
  const double service_ms = 1e3 / mu;
  std::string out;
  if (!queue_places) {
    const MMc q{lambda, mu, c};
    out += printf_string("M/M/%d (Erlang C): arrivals %s/s, service mean %s ms (%s/s per worker)\n",
                         c, num(lambda).c_str(), num(service_ms).c_str(), num(mu).c_str());
    out += line("offered load", num(q.offered_load()) + " Erlang");
    out += line("utilization", num(q.occupancy()));
    if (q.occupancy() >= 1) {
      return out + "  unstable: utilization >= 1, the queue grows without bound\n";
    }
    out += line("P(wait)", num(q.p_wait()));
    out += line("wait mean / p50 / p99", ms(q.mean_wait()) + " / " + ms(q.wait_quantile(0.5)) +
                                             " / " + ms(q.wait_quantile(0.99)));
    out += line("sojourn mean", ms(q.mean_sojourn()));
    out += line("sojourn p50 / p90",
                ms(q.sojourn_quantile(0.5)) + " / " + ms(q.sojourn_quantile(0.9)));
    out += line("sojourn p99 / p99.9",
                ms(q.sojourn_quantile(0.99)) + " / " + ms(q.sojourn_quantile(0.999)));
    return out;
  }
  const int k = c + static_cast<int>(*queue_places);
  const MMcK q{lambda, mu, c, k};
  out += printf_string(
      "M/M/%d/%d: arrivals %s/s, service mean %s ms, %d workers, %lld waiting "
      "places\n",
      c, k, num(lambda).c_str(), num(service_ms).c_str(), c, static_cast<long long>(*queue_places));
  out += line("blocking (rejected)", num(q.blocking()));
  out += line("utilization", num(q.utilization()));
  out += line("sojourn mean (admitted)", ms(q.mean_sojourn()));
  return out;
}

std::string comparison_table(const std::vector<Comparison>& rows) {
  std::string out =
      printf_string("\n  %-34s %12s %12s %9s\n", "figure", "simulated", "theory", "diff");
  for (const auto& r : rows) {
    std::string diff = "-";
    if (r.simulated && r.theory != 0 && std::isfinite(r.theory)) {
      diff = printf_string("%+.1f%%", 100 * (*r.simulated - r.theory) / r.theory);
    }
    out += printf_string("  %-34s %12s %12s %9s\n", r.figure.c_str(),
                         r.simulated ? num(*r.simulated, 5).c_str() : "-", num(r.theory, 5).c_str(),
                         diff.c_str());
  }
  return out;
}

}  // namespace dsim::oracle
