// The general sections of a run's report, built from its files as ReportSections: the
// summary, latency distributions, time series with the faults, load per node and the
// run's own figures. run_report.cpp reads the files and assembles the page.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "sim/core/csv_table.h"
#include "sim/core/report_figure.h"

namespace dsim::report {

/// One verdict of summary.json's `checks`.
struct CheckVerdict {
  std::string check;
  std::string value;  ///< as written ("" or "null" when the run had no such figure)
  bool passed = false;
};

/// What the sections read: a run directory's tables, parsed and checked.
struct RunData {
  CsvTable summary;     ///< summary.csv
  CsvTable latency;     ///< latency.csv (no rows when absent)
  CsvTable timeseries;  ///< timeseries.csv (no rows when absent)
  CsvTable faults;      ///< faults.csv (no rows when absent)
  CsvTable nodes;       ///< nodes.csv (no rows when absent)
  std::map<std::tuple<std::string, std::string, std::string>, double> figures;  ///< summary
  std::vector<CheckVerdict> checks;
  std::vector<ReportBand> fault_bands;   ///< seconds; `kind#id`
  std::vector<std::string> group_order;  ///< the scenario's groups, in order
  double end_s = 0;                      ///< when the run ended

  std::optional<double> figure(const std::string& group, const std::string& op,
                               const std::string& metric) const;
};

/// The columns each table must have (summary.csv's, latency.csv's, ...), for the reader to
/// check before the sections index them.
extern const std::vector<std::string> kSummaryColumns, kLatencyColumns, kTimeseriesColumns,
    kFaultsColumns, kNodesColumns;

/// Each fault of faults.csv as a band from its start to its end (the run's end while it
/// lasted; a point for an instant), labelled `kind#id`, in the order they started.
std::vector<ReportBand> fault_bands(const CsvTable& faults, double end_s);

/// Per group and operation: requests, availability, throughput, latency percentiles; and
/// the check verdicts.
ReportSection summary_section(const RunData& run);
/// Latency CDFs (log x) per operation and per group.
ReportSection latency_section(const RunData& run);
/// Throughput, availability and latency per window, every fault a band.
ReportSection timeseries_section(const RunData& run);
/// The faults, one row each.
ReportSection faults_section(const RunData& run);
/// Messages received and sent per node (per group when there are many nodes).
ReportSection load_section(const RunData& run);
/// Events, messages sent, delivered, dropped by cause.
ReportSection run_figures_section(const RunData& run);

}  // namespace dsim::report
