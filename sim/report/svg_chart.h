// Draws a ReportFigure (sim/core/report_figure.h) as inline SVG inside an HTML <figure>:
// axes with round ticks (1-2-5 steps, decades on log axes), labels, a legend, one colour
// per series, shaded labelled bands, and a message instead of an empty chart. Every chart
// of a report, general or a model's, goes through here. The output depends only on the
// figure: the same data draws the same bytes.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/report_figure.h"

namespace dsim::report {

/// Round tick values covering [lo, hi] on a linear axis: about `target` steps of 1, 2 or 5
/// times a power of ten, the first at or below lo and the last at or above hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

/// Powers of ten covering [lo, hi] (lo > 0) on a log axis: at least two decades; every
/// second, third ... one when there are many.
std::vector<double> decade_ticks(double lo, double hi);

/// At most `max_points` points of a series that keep its shape: the points are cut into
/// consecutive runs and each run keeps its lowest and highest y (in their order); the first
/// and last points are always kept. Unchanged when it has no more than max_points.
std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& p,
                                                  size_t max_points);

/// The most points a series is drawn with.
inline constexpr size_t kMaxDrawnPoints = 1200;

/// The figure as `<figure class="chart" data-kind=".." data-series="S" data-points="P">`:
/// S series holding P points in all (before down-sampling), the title, the SVG, a legend
/// and the caption.
std::string render_chart(const ReportFigure& figure);

}  // namespace dsim::report
