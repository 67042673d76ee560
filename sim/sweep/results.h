// The results of a sweep: one record per run (its summary figures), the files they are
// written to, and the aggregation over replications.
//
// runs.csv holds every figure of every run (tidy: point, replication, seed, the swept
// values, group, op, metric, value); sweep.csv aggregates it per point and figure, and
// checks.csv per point and scenario check. The aggregation is a function of runs.csv
// alone, computed in (point, replication) order from values as printed, so a sweep on one
// thread, on many, on MPI ranks, or in shards merged afterwards writes the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/run/runner.h"

namespace dsim::sweep {

/// One run of a sweep: its figures as in summary.csv, plus one row per scenario check
/// (group "run", op "check", metric the check's text, value 1 passed / 0 failed).
struct RunRecord {
  uint32_t point = 0;
  uint32_t replication = 0;
  uint64_t seed = 0;
  std::vector<SummaryRow> rows;
};

/// What identifies a sweep in its files.
struct SweepMeta {
  std::string name;
  uint64_t root_seed = 1;
  size_t points = 1;
  uint32_t replications = 1;
  std::string hash;                  ///< of sweep.yaml: shards of one sweep share it
  std::vector<std::string> columns;  ///< the swept keys
  std::vector<std::vector<std::string>> point_values;  ///< per point, per column
  uint32_t shard = 0, shards = 1;                      ///< which part of the runs a file holds
};

/// The summary rows of a finished run, with check rows, each value in canonical form
/// (what a CSV reader gets back from its printed form).
std::vector<SummaryRow> record_rows(const RunOutput& out);

std::string render_runs_csv(const SweepMeta& meta, const std::vector<RunRecord>& records);
/// Parses a runs.csv. On error returns nullopt and sets *error (naming the file).
struct RunsFile {
  SweepMeta meta;
  std::vector<RunRecord> records;
};
std::optional<RunsFile> parse_runs_csv(const std::string& text, const std::string& file,
                                       std::string* error);

/// Sorts records by (point, replication).
void sort_records(std::vector<RunRecord>& records);
/// Every (point, replication) exactly once? Otherwise says what is missing or repeated.
bool complete(const SweepMeta& meta, const std::vector<RunRecord>& records, std::string* error);

/// sweep.csv: per point and figure, n, mean, stddev, ci95_lo, ci95_hi, min, median, max
/// over the replications, and the worst replication's value, index and seed (verdicts.h
/// says which is the worst). Records must be sorted and complete.
std::string render_sweep_csv(const SweepMeta& meta, const std::vector<RunRecord>& records);

/// checks.csv: per point and scenario check, the replications that ran, passed and failed
/// it, its worst replication, seed and checked value, and the `dsim run` command that
/// repeats that replication from the sweep's directory. Records must be sorted and complete.
std::string render_checks_csv(const SweepMeta& meta, const std::vector<RunRecord>& records);

/// The files a whole sweep adds to runs.csv and sweep.yaml, by name: sweep.csv and
/// checks.csv.
std::vector<std::pair<std::string, std::string>> summary_files(
    const SweepMeta& meta, const std::vector<RunRecord>& records);

/// The sweep's exit status: 3 when a run was aborted by a limit, else 1 when a check
/// failed in some run, else 0.
int sweep_status(const std::vector<RunRecord>& records);

}  // namespace dsim::sweep
