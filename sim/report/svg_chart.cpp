#include "sim/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "sim/core/assert.h"
#include "sim/report/html.h"

namespace dsim::report {

namespace {

// The chart's geometry (SVG user units): the plot area is inset by the margins.
constexpr double kWidth = 760, kHeight = 320;
constexpr double kLeft = 70, kRight = 18, kTop = 34, kBottom = 48;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
// Bar charts are taller by the room their slanted category names take below the plot.
constexpr double kCategoryRoom = 44;

double chart_height(const ReportFigure& f) {
  return kHeight + (f.kind == ReportFigure::Kind::bars ? kCategoryRoom : 0);
}

// Ten colours told apart by most eyes (Tableau 10); series past ten are also dashed.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr size_t kColours = std::size(kPalette);

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// One axis: its range, scale and ticks.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;

  // Where v falls, from 0 (lo) to 1 (hi).
  double frac(double v) const {
    if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return (v - lo) / (hi - lo);
  }
};

Axis make_axis(double lo, double hi, bool log) {
  Axis a;
  a.log = log;
  a.ticks = log ? decade_ticks(lo, hi) : nice_ticks(lo, hi);
  a.lo = a.ticks.front();
  a.hi = a.ticks.back();
  return a;
}

// Whether a point can be drawn on the axes: finite, and positive on a log axis.
bool drawable(const ReportFigure& f, const std::pair<double, double>& p) {
  if (!std::isfinite(p.first) || !std::isfinite(p.second)) return false;
  if (f.log_x && p.first <= 0) return false;
  if (f.log_y && p.second <= 0) return false;
  return true;
}

struct Extent {
  double x_lo = std::numeric_limits<double>::infinity();
  double x_hi = -std::numeric_limits<double>::infinity();
  double y_lo = std::numeric_limits<double>::infinity();
  double y_hi = -std::numeric_limits<double>::infinity();
  size_t points = 0;  ///< drawable points
};

Extent extent(const ReportFigure& f) {
  Extent e;
  for (const auto& s : f.series) {
    for (const auto& p : s.points) {
      if (!drawable(f, p)) continue;
      ++e.points;
      e.x_lo = std::min(e.x_lo, p.first);
      e.x_hi = std::max(e.x_hi, p.first);
      e.y_lo = std::min(e.y_lo, p.second);
      e.y_hi = std::max(e.y_hi, p.second);
    }
  }
  if (f.kind == ReportFigure::Kind::bars) {
    e.x_lo = -0.5;
    e.x_hi = static_cast<double>(std::max<size_t>(f.categories.size(), 1)) - 0.5;
  } else if (!f.log_x) {
    for (const auto& b : f.bands) {
      e.x_lo = std::min(e.x_lo, b.from);
      e.x_hi = std::max(e.x_hi, b.to);
    }
  }
  // Counts, rates and latencies read best from zero.
  if (!f.log_y && e.y_lo > 0) e.y_lo = 0;
  return e;
}

// A line over n categories: one tick at each, with room at both ends.
Axis category_axis(size_t n) {
  Axis a{-0.3, static_cast<double>(n) - 0.7, false, {}};
  for (size_t i = 0; i < n; ++i)
    a.ticks.push_back(static_cast<double>(i));
  return a;
}

std::string x_px(const Axis& a, double v) {
  return num(kLeft + a.frac(v) * kPlotW);
}
std::string y_px(const Axis& a, double v) {
  return num(kTop + (1 - a.frac(v)) * kPlotH);
}

std::string tick_text(double v, bool log) {
  if (log && (v >= 1e5 || v < 1e-3)) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "1e%d", static_cast<int>(std::lround(std::log10(v))));
    return buf;
  }
  return format_short(v, 6);
}

std::string render_axes(const ReportFigure& f, const Axis& x, const Axis& y) {
  std::string out = "<g class=\"axes\" font-size=\"11\" fill=\"#57606a\">\n";
  for (double t : y.ticks) {
    const std::string py = y_px(y, t);
    out += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + kPlotW) + "\" y1=\"" + py +
           "\" y2=\"" + py + "\" stroke=\"#e6e9ec\"/>";
    out += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + py +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + tick_text(t, y.log) +
           "</text>\n";
  }
  if (f.kind != ReportFigure::Kind::bars) {
    for (double t : x.ticks) {
      const std::string px = x_px(x, t);
      // A line over categories is labelled with their names.
      const size_t c = static_cast<size_t>(std::max(t, 0.0));
      const std::string label = f.categories.empty()      ? tick_text(t, x.log)
                                : c < f.categories.size() ? f.categories[c]
                                                          : "";
      out += "<line x1=\"" + px + "\" x2=\"" + px + "\" y1=\"" + num(kTop) + "\" y2=\"" +
             num(kTop + kPlotH) + "\" stroke=\"#f0f2f4\"/>";
      out += "<text x=\"" + px + "\" y=\"" + num(kTop + kPlotH + 15) +
             "\" text-anchor=\"middle\">" + escape(label) + "</text>\n";
    }
  }
  out += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(kPlotW) +
         "\" height=\"" + num(kPlotH) + "\" fill=\"none\" stroke=\"#8c959f\"/>\n";
  out += "<text x=\"" + num(kLeft + kPlotW / 2) + "\" y=\"" + num(chart_height(f) - 6) +
         "\" text-anchor=\"middle\" fill=\"#1d232a\">" + escape(f.x_label) + "</text>\n";
  out += "<text transform=\"translate(14 " + num(kTop + kPlotH / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" fill=\"#1d232a\">" + escape(f.y_label) +
         "</text>\n";
  return out + "</g>\n";
}

std::string render_bands(const ReportFigure& f, const Axis& x) {
  if (f.kind == ReportFigure::Kind::bars || f.log_x || f.bands.empty()) return "";
  std::string out = "<g class=\"bands\" font-size=\"10\">\n";
  for (size_t i = 0; i < f.bands.size(); ++i) {
    const ReportBand& b = f.bands[i];
    const double from = std::clamp(b.from, x.lo, x.hi), to = std::clamp(b.to, x.lo, x.hi);
    const double x0 = kLeft + x.frac(from) * kPlotW;
    const double w = std::max(1.5, (x.frac(to) - x.frac(from)) * kPlotW);
    const std::string title = "<title>" + escape(b.label) + ": " + format_short(b.from, 6) +
                              (b.to > b.from ? " to " + format_short(b.to, 6) : "") + "</title>";
    out += "<rect class=\"band\" x=\"" + num(x0) + "\" y=\"" + num(kTop) + "\" width=\"" + num(w) +
           "\" height=\"" + num(kPlotH) + "\" fill=\"#e15759\" fill-opacity=\"0.13\">" + title +
           "</rect>";
    // Labels in three rows above the plot, so neighbouring faults stay readable.
    out += "<text x=\"" + num(x0 + 2) + "\" y=\"" +
           num(kTop - 4 - 10.0 * static_cast<double>(i % 3)) + "\" fill=\"#a4262c\">" +
           escape(b.label) + "</text>\n";
  }
  return out + "</g>\n";
}

std::string series_path(const ReportFigure& f, const ReportSeries& s, const Axis& x,
                        const Axis& y) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& p : s.points)
    if (drawable(f, p)) pts.push_back(p);
  pts = downsample(pts, kMaxDrawnPoints);
  std::string d;
  for (size_t i = 0; i < pts.size(); ++i) {
    const std::string px = x_px(x, pts[i].first), py = y_px(y, pts[i].second);
    if (i == 0) {
      d += "M" + px + " " + py;
    } else if (f.kind == ReportFigure::Kind::step) {
      d += "H" + px + "V" + py;
    } else {
      d += "L" + px + " " + py;
    }
  }
  // A lone point would draw nothing: give it a short tick.
  if (pts.size() == 1) d += "h2";
  return d;
}

std::string render_lines(const ReportFigure& f, const Axis& x, const Axis& y) {
  std::string out = "<g class=\"series\" fill=\"none\" stroke-width=\"1.6\">\n";
  for (size_t i = 0; i < f.series.size(); ++i) {
    const ReportSeries& s = f.series[i];
    const std::string d = series_path(f, s, x, y);
    if (d.empty()) continue;
    out += "<path d=\"" + d + "\" stroke=\"" + kPalette[i % kColours] + "\"" +
           (i >= kColours ? " stroke-dasharray=\"5 3\"" : "") + "><title>" + escape(s.name) +
           "</title></path>\n";
  }
  return out + "</g>\n";
}

std::string render_bars(const ReportFigure& f, const Axis& x, const Axis& y) {
  const size_t n = std::max<size_t>(f.categories.size(), 1);
  const double slot = kPlotW / static_cast<double>(n);
  const double bar = slot * 0.8 / static_cast<double>(std::max<size_t>(f.series.size(), 1));
  std::string out = "<g class=\"series\">\n";
  for (size_t i = 0; i < f.series.size(); ++i) {
    for (const auto& p : f.series[i].points) {
      if (!drawable(f, p) || p.first < 0 || p.first >= static_cast<double>(n)) continue;
      const size_t c = static_cast<size_t>(p.first);
      const double x0 =
          kLeft + slot * (static_cast<double>(c) + 0.1) + bar * static_cast<double>(i);
      const double base = y.log ? y.lo : std::clamp(0.0, y.lo, y.hi);
      const double top = kTop + (1 - y.frac(p.second)) * kPlotH;
      const double bottom = kTop + (1 - y.frac(base)) * kPlotH;
      const std::string name = c < f.categories.size() ? f.categories[c] : "";
      out += "<rect x=\"" + num(x0) + "\" y=\"" + num(std::min(top, bottom)) + "\" width=\"" +
             num(std::max(bar - 0.5, 0.5)) + "\" height=\"" + num(std::abs(bottom - top)) +
             "\" fill=\"" + kPalette[i % kColours] + "\"><title>" + escape(name) + ": " +
             escape(f.series[i].name) + " " + format_short(p.second, 6) + "</title></rect>\n";
    }
  }
  // Category names under the bars; every k-th one when there are many.
  const size_t every = std::max<size_t>(1, (n + 39) / 40);
  for (size_t c = 0; c < f.categories.size(); c += every) {
    const double cx = kLeft + slot * (static_cast<double>(c) + 0.5);
    out += "<text font-size=\"10\" fill=\"#57606a\" text-anchor=\"end\" transform=\"translate(" +
           num(cx) + " " + num(kTop + kPlotH + 10) + ") rotate(-35)\">" + escape(f.categories[c]) +
           "</text>\n";
  }
  (void)x;
  return out + "</g>\n";
}

std::string render_legend(const ReportFigure& f) {
  if (f.series.size() < 2 && (f.series.empty() || f.series[0].name.empty())) return "";
  std::string out = "<ul class=\"legend\">";
  for (size_t i = 0; i < f.series.size(); ++i) {
    out += "<li><span style=\"background:" + std::string(kPalette[i % kColours]) + "\"></span>" +
           escape(f.series[i].name) + "</li>";
  }
  return out + "</ul>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  DSIM_ASSERT(std::isfinite(lo) && std::isfinite(hi) && target > 0);
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= std::abs(hi) * 1e-12) {
    // One value: a range around it (from zero when it is not negative).
    const double v = lo, pad = v == 0 ? 1 : std::abs(v) * 0.5;
    lo = v >= 0 ? std::max(0.0, v - pad) : v - pad;
    hi = v + pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; ++k) {
    // k * step holds binary noise (3 * 0.1 = 0.30000000000000004): a step below 1 is
    // counted in its inverse power of ten, and divided last.
    const double inv = mag >= 1 ? 1 : std::round(1 / mag);
    ticks.push_back(std::round(k * step * inv) / inv);
  }
  return ticks;
}

std::vector<double> decade_ticks(double lo, double hi) {
  DSIM_ASSERT(lo > 0 && hi > 0 && std::isfinite(lo) && std::isfinite(hi));
  if (lo > hi) std::swap(lo, hi);
  int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (last <= first) last = first + 1;
  const int every = (last - first + 7) / 8;  // at most about eight labelled decades
  last = first + (last - first + every - 1) / every * every;
  std::vector<double> ticks;
  for (int e = first; e <= last; e += every)
    ticks.push_back(std::pow(10.0, e));
  return ticks;
}

std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& p,
                                                  size_t max_points) {
  if (p.size() <= max_points || max_points < 4) return p;
  const size_t inner = p.size() - 2, runs = (max_points - 2) / 2;
  const size_t per_run = (inner + runs - 1) / runs;
  std::vector<std::pair<double, double>> out;
  out.push_back(p.front());
  for (size_t start = 1; start < p.size() - 1; start += per_run) {
    const size_t end = std::min(start + per_run, p.size() - 1);
    size_t lo = start, hi = start;
    for (size_t i = start; i < end; ++i) {
      if (p[i].second < p[lo].second) lo = i;
      if (p[i].second > p[hi].second) hi = i;
    }
    out.push_back(p[std::min(lo, hi)]);
    if (lo != hi) out.push_back(p[std::max(lo, hi)]);
  }
  out.push_back(p.back());
  return out;
}

std::string render_chart(const ReportFigure& f) {
  size_t total = 0;
  for (const auto& s : f.series)
    total += s.points.size();
  const char* kind = f.kind == ReportFigure::Kind::line   ? "line"
                     : f.kind == ReportFigure::Kind::step ? "step"
                                                          : "bars";
  const Extent e = extent(f);
  std::string out = "<figure class=\"chart\" data-kind=\"" + std::string(kind) +
                    "\" data-series=\"" + std::to_string(f.series.size()) + "\" data-points=\"" +
                    std::to_string(e.points) + "\" data-bands=\"" + std::to_string(f.bands.size()) +
                    "\">\n<h3>" + escape(f.title) + "</h3>\n";
  if (e.points == 0) {
    out += "<p class=\"empty\">No data to draw" +
           std::string(total ? " (no point can be drawn on these axes)" : "") + ".</p>\n";
  } else {
    const Axis x = f.kind == ReportFigure::Kind::bars ? Axis{e.x_lo, e.x_hi, false, {}}
                   : f.categories.empty()             ? make_axis(e.x_lo, e.x_hi, f.log_x)
                                                      : category_axis(f.categories.size());
    const Axis y = make_axis(e.y_lo, e.y_hi, f.log_y);
    out += "<svg viewBox=\"0 0 " + num(kWidth) + " " + num(chart_height(f)) + "\" width=\"" +
           num(kWidth) + "\" height=\"" + num(chart_height(f)) +
           "\" role=\"img\" font-family=\"system-ui,sans-serif\">\n<title>" + escape(f.title) +
           "</title>\n";
    out += render_bands(f, x) + render_axes(f, x, y);
    out += f.kind == ReportFigure::Kind::bars ? render_bars(f, x, y) : render_lines(f, x, y);
    out += "</svg>\n" + render_legend(f);
  }
  if (!f.caption.empty()) out += "<figcaption>" + escape(f.caption) + "</figcaption>\n";
  return out + "</figure>\n";
}

}  // namespace dsim::report
