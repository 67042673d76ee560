"""Read dsim's results into pandas and draw the standard plots.

    import sys; sys.path.insert(0, "<dsim>/analysis")   # or install it: analysis/pyproject.toml
    import dsim_analysis as da

    run = da.load_run("runs/quickstart-42")        # a `dsim run` directory
    run.summary, run.latency, run.timeseries, run.faults
    da.latency_percentiles(run.latency)            # any percentile, per group and op
    da.plot_latency_cdf(run); da.plot_timeline(run)

    sw = da.load_sweep("sweeps/capacity-sweep-2024")   # a `dsim sweep` directory or sweep.csv
    da.plot_metric_vs_param(sw, "latency_ms_p99", "groups.clients.params.rate",
                            by="groups.web.params.workers")
    da.plot_tradeoff(sw, "throughput_per_s", "latency_ms_p99", by="groups.web.params.workers")

    da.plot_availability(run)                      # per client group, faults shaded
    da.plot_t_visibility(run)                      # P(a read sees a write) after t ms
    da.load_t_visibility_at(run)                   # the same at exact t (visibility probes)
    da.sweep_t_visibility(sw)                      # the same per point (--keep-runs)

    OUT = da.output_dir("my_lab")                  # results outside the repository
    da.check(p99 < 50, "p99 stays under 50 ms")    # a claim: warns "CHECK FAILED: ..."

Only pandas and matplotlib (Debian's python3-pandas, python3-matplotlib) are needed.
"""

from .io import (
    FAULT_COLUMNS,
    Run,
    Sweep,
    availability_by_group,
    availability_by_op,
    dsim_binary,
    header_fields,
    latency_cdf,
    latency_percentiles,
    load_faults,
    load_run,
    load_sweep,
    load_sweep_run_files,
    load_t_visibility,
    load_t_visibility_at,
    load_unavailability,
    parse_quantity,
    read_dsim_csv,
    run_dsim,
    sweep_t_visibility,
    t_quantile_975,
)
from .worksheet import ClaimWarning, check, failed_checks, output_dir, strict
from .plots import (
    plot_availability,
    plot_latency_cdf,
    plot_latency_percentiles,
    plot_metric_vs_param,
    plot_t_visibility,
    plot_timeline,
    plot_tradeoff,
    shade_faults,
)

__all__ = [
    "FAULT_COLUMNS",
    "Run",
    "Sweep",
    "availability_by_group",
    "availability_by_op",
    "dsim_binary",
    "header_fields",
    "latency_cdf",
    "latency_percentiles",
    "load_faults",
    "load_run",
    "load_sweep",
    "load_sweep_run_files",
    "load_t_visibility",
    "load_t_visibility_at",
    "load_unavailability",
    "parse_quantity",
    "read_dsim_csv",
    "run_dsim",
    "sweep_t_visibility",
    "t_quantile_975",
    "plot_availability",
    "plot_latency_cdf",
    "plot_latency_percentiles",
    "plot_metric_vs_param",
    "plot_t_visibility",
    "plot_timeline",
    "plot_tradeoff",
    "shade_faults",
    "ClaimWarning",
    "check",
    "failed_checks",
    "output_dir",
    "strict",
]
