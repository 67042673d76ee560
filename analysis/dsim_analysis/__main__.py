"""python3 -m dsim_analysis PATH [--out DIR]: the standard plots of a run or sweep as PNG.

A run directory gives latency_cdf.png, latency_tail.png, latency_percentiles.png and
timeline.png; a sweep directory gives one <metric>.png per headline figure against the
first swept key (one line per value of the second).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from . import io, plots  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m dsim_analysis", description=__doc__)
    parser.add_argument("path", help="a dsim run directory, sweep directory or sweep.csv")
    parser.add_argument("--out", help="where to write the PNGs (default: PATH/plots)")
    args = parser.parse_args(argv)
    path = Path(args.path)
    out = Path(args.out) if args.out else (path if path.is_dir() else path.parent) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def save(ax_or_axes, name):
        fig = (ax_or_axes[0] if hasattr(ax_or_axes, "__len__") else ax_or_axes).figure
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(out / name)

    if path.is_dir() and (path / "summary.csv").exists():
        run = io.load_run(path)
        save(plots.plot_latency_cdf(run), "latency_cdf.png")
        save(plots.plot_latency_cdf(run, tail=True), "latency_tail.png")
        save(plots.plot_latency_percentiles(run), "latency_percentiles.png")
        save(plots.plot_timeline(run), "timeline.png")
    else:
        sweep = io.load_sweep(path)
        if not sweep.params:
            raise SystemExit("the sweep has no swept keys to plot against")
        by = sweep.params[1] if len(sweep.params) > 1 else None
        for metric in ("availability", "throughput_per_s", "latency_ms_p50", "latency_ms_p99"):
            try:
                ax = plots.plot_metric_vs_param(sweep, metric, sweep.params[0], by=by)
            except KeyError:
                continue
            save(ax, metric + ".png")
    for w in written:
        print(w)


if __name__ == "__main__":
    main()
