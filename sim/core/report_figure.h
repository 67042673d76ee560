// What an HTML report shows, as data: sections of figures (lines, steps, bars) and tables.
// sim/report draws them; a model describes its own section with them (ModelFactory::report)
// from the files its analysis wrote to the run directory. Nothing here knows HTML or SVG.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/csv_table.h"

namespace dsim {

/// One named series of (x, y) points, drawn in the order given.
struct ReportSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

/// A shaded range of the x axis with a label: a fault's time on a time axis.
struct ReportBand {
  double from = 0;
  double to = 0;
  std::string label;
};

struct ReportFigure {
  enum class Kind {
    line,  ///< points joined by straight lines (time series, spread curves)
    step,  ///< a step function: each y holds until the next x (CDFs, counts over time)
    bars,  ///< one bar per category; series[i].points[j] = (j, value of category j)
  };
  std::string title;
  std::string caption;  ///< what to read in it, in a sentence or two
  Kind kind = Kind::line;
  std::string x_label;  ///< with its unit: "time (s)"
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  std::vector<ReportSeries> series;
  std::vector<ReportBand> bands;
  /// bars, or a line over words: the name of each x position (x = 0, 1, ...)
  std::vector<std::string> categories;
};

struct ReportTable {
  std::string title;
  std::string caption;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

/// A section of the report: a heading, prose, then its figures and tables, and text shown
/// as written (a counterexample, a verdict file).
struct ReportSection {
  std::string title;
  std::string text;
  std::vector<ReportFigure> figures;
  std::vector<ReportTable> tables;
  std::string preformatted;
};

/// What a model's report hook reads: the finished run's directory, file by file.
struct ReportInput {
  std::vector<std::string> groups;  ///< the groups running the model, in scenario order
  /// A CSV file of the run directory (header comment skipped); nullopt when it is absent.
  std::function<std::optional<CsvTable>(const std::string& file)> table;
  /// Any file of the run directory as text; nullopt when it is absent.
  std::function<std::optional<std::string>(const std::string& file)> text;
  /// A figure of summary.csv (group, op, metric); nullopt when the run has none.
  std::function<std::optional<double>(const std::string& group, const std::string& op,
                                      const std::string& metric)>
      figure;
  /// The run's faults as bands on a time axis in seconds (from faults.csv).
  std::vector<ReportBand> fault_bands;
};

}  // namespace dsim
