"""The standard plots of dsim's results (matplotlib). Each function draws on `ax` (a new
figure when None) and returns the axes, so plots can be combined and restyled."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from .io import (Run, Sweep, availability_by_group, latency_cdf, latency_percentiles,
                 load_faults, load_t_visibility, load_unavailability)

FAULT_COLOR = "tab:red"
# One marker per line of a plot with `by`, so that lines that coincide stay visible.
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")


def _axes(ax, figsize=(7, 4)):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _latency_of(data) -> pd.DataFrame:
    return data.latency if isinstance(data, Run) else data


def _label(group, op):
    return group if op in ("", "all") else f"{group} {op}"


def _by_label(by, value):
    """'w = 2' for a swept key ...params.w, 'r = 1, w = 2' for a list of keys."""
    keys = [by] if isinstance(by, str) else list(by)
    values = value if isinstance(value, tuple) else (value,)
    return ", ".join(f"{k.split('.')[-1]} = {v}" for k, v in zip(keys, values))


def _figure(f):
    """A figure as Sweep.select reads it: a metric name (group all, op all), or a tuple
    (metric[, group[, op]]) -> (metric, group, op)."""
    if isinstance(f, str):
        return (f, "all", "all")
    f = tuple(f)
    return f + ("all", "all")[len(f) - 1:]


def _ci_err(rows, suffix=""):
    """Error bar lengths below and above each mean: its 95% CI (none when n < 2)."""
    mean = rows["mean" + suffix]
    return [(mean - rows["ci95_lo" + suffix]).fillna(0).to_numpy(),
            (rows["ci95_hi" + suffix] - mean).fillna(0).to_numpy()]


def _figure_label(metric, group, op):
    return metric if group == "all" and op == "all" else f"{group} {op} {metric}".replace("  ", " ")


def plot_latency_cdf(data, ax=None, groups=None, ops=None, tail=False):
    """The latency distribution per group and op from latency.csv (a Run or its latency
    DataFrame): the CDF on a log time axis, or with tail=True the complementary CDF
    (fraction of operations slower than x) on log-log axes, where p99 and p99.9 show as
    the curve crossing 1e-2 and 1e-3."""
    ax = _axes(ax)
    cdf = latency_cdf(_latency_of(data))
    for (group, op), c in cdf.groupby(["group", "op"], sort=False):
        if (groups and group not in groups) or (ops and op not in ops):
            continue
        y = 1 - c["cdf"] if tail else c["cdf"]
        x = c["latency_ms"]
        if tail:  # the last point (CCDF 0) cannot show on a log scale
            x, y = x[y > 0], y[y > 0]
        ax.step(x, y, where="post", label=_label(group, op))
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    if tail:
        ax.set_yscale("log")
        ax.set_ylabel("fraction of operations slower")
        for q in (1e-2, 1e-3):
            ax.axhline(q, color="0.7", lw=0.8, ls=":")
    else:
        ax.set_ylabel("fraction of operations")
        ax.set_ylim(0, 1.01)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(title="group op", fontsize="small")
    ax.set_title("latency " + ("tail (complementary CDF)" if tail else "CDF"))
    return ax


def plot_latency_percentiles(data, ax=None, percentiles=(50, 90, 99, 99.9), logy=False):
    """Latency percentiles per group and op, recomputed from latency.csv, as labelled
    bars (logy=True for percentiles orders of magnitude apart)."""
    ax = _axes(ax)
    p = latency_percentiles(_latency_of(data), percentiles)
    names = [f"p{q:g}".replace(".", "") for q in percentiles]
    width = 0.8 / max(len(p), 1)
    for i, row in enumerate(p.itertuples(index=False)):
        values = [getattr(row, n) for n in names]
        xs = [j + (i - (len(p) - 1) / 2) * width for j in range(len(names))]
        bars = ax.bar(xs, values, width=width, label=_label(row.group, row.op))
        ax.bar_label(bars, fmt="%.3g", fontsize="x-small")
    ax.set_xticks(range(len(names)), [n.replace("p999", "p99.9") for n in names])
    ax.set_ylabel("latency (ms)")
    if logy:
        ax.set_yscale("log")
    ax.set_title("latency percentiles")
    ax.legend(fontsize="small")
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def shade_faults(ax, faults: pd.DataFrame, end_s: float | None = None, label=True):
    """Shades each fault interval (FAULT_COLUMNS) on a time axis, draws a dotted line at
    each instant (length 0); returns how many. An interval without an end lasts until
    `end_s` (or the axis' right edge)."""
    if faults is None or faults.empty:
        return 0
    right = end_s if end_s is not None else ax.get_xlim()[1]
    n = 0
    # Labels of faults close together go on rows below one another, not over one another:
    # each row remembers where its last label ends (estimated in points from the x limits
    # and the axes' width).
    left_x, right_x = ax.get_xlim()
    width_pt = max(ax.get_window_extent().width * 72 / ax.figure.dpi, 1.0)
    pt_per_x = width_pt / ((right_x - left_x) or 1.0)
    row_ends = []
    for f in faults.itertuples(index=False):
        end = right if (f.end_s is None or math.isnan(f.end_s)) else f.end_s
        if end > f.start_s:
            ax.axvspan(f.start_s, end, color=FAULT_COLOR, alpha=0.15, lw=0,
                       label="fault" if (label and n == 0) else None)
        else:  # an instant (a restart, a heal): a line
            ax.axvline(f.start_s, color=FAULT_COLOR, lw=1, ls=":")
        if label and f.label:
            start_pt = (f.start_s - left_x) * pt_per_x
            end_pt = start_pt + 2 + 4.2 * len(str(f.label)) + 4   # x-small: about 4.2 pt a character
            row = next((i for i, e in enumerate(row_ends) if e <= start_pt), len(row_ends))
            row_ends[row:row + 1] = [end_pt]
            ax.annotate(str(f.label), (f.start_s, 1), xycoords=("data", "axes fraction"),
                        xytext=(2, -2 - 9 * row), textcoords="offset points", va="top",
                        fontsize="x-small", color=FAULT_COLOR)
        n += 1
    if row_ends and ax.get_yscale() == "linear":
        # Room at the top for the labels' rows, so that they do not sit on the data.
        height_pt = max(ax.get_window_extent().height * 72 / ax.figure.dpi, 1.0)
        frac = min((4 + 9 * len(row_ends)) / height_pt, 0.5)
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + (hi - lo) * frac / (1 - frac))
    return n


def plot_timeline(run: Run, metrics=("throughput_per_s", "availability"), groups=None,
                  ops=None, faults: pd.DataFrame | None = None, axes=None):
    """Per-window figures from timeseries.csv over simulated time, one panel per metric
    and a line per group and op, with the run's fault intervals shaded (`faults`
    overrides them; see load_faults for where they come from)."""
    ts = run.timeseries
    if axes is None:
        fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 2.4 * len(metrics)), sharex=True,
                                 layout="constrained", squeeze=False)
        axes = axes[:, 0]
    faults = run.faults if faults is None else faults
    end = float(ts["window_end_s"].max()) if not ts.empty else None
    for ax, metric in zip(axes, metrics):
        for (group, op), w in ts.groupby(["group", "op"], sort=False):
            if (groups and group not in groups) or (ops and op not in ops):
                continue
            mid = (w["window_start_s"] + w["window_end_s"]) / 2
            ax.plot(mid, w[metric], marker=".", ms=3, lw=1, label=_label(group, op))
        ax.set_ylabel(metric.replace("_per_s", "/s").replace("_", " "))
        if metric == "availability":
            ax.set_ylim(-0.02, 1.05)
        ax.grid(True, alpha=0.3)
        if end is not None:
            ax.set_xlim(0, end)
        shade_faults(ax, faults, end_s=end, label=(ax is axes[0]))
    axes[-1].set_xlabel("simulated time (s)")
    # Outside the panels, on the right: inside, it would hide lines or fault labels.
    axes[0].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    if end is not None:
        axes[-1].set_xlim(0, end)
    return axes


def plot_metric_vs_param(sweep: Sweep, metric: str, param: str, by: str | None = None,
                         group: str = "all", op: str = "all", ax=None, logy=False):
    """A figure of a sweep against one swept parameter: the mean over replications with
    its 95% confidence band, one line per value of `by` (another swept key, or a list of
    keys such as the keys of a zipped axis; other swept keys must then have one value, or
    are averaged in the legend's lines separately)."""
    ax = _axes(ax)
    d = sweep.select(metric, group, op)
    x_col = param + "_value"
    if d[x_col].isna().any():  # not numbers (distributions...): equally spaced categories
        cats = list(dict.fromkeys(d[param]))
        d[x_col] = d[param].map({c: i for i, c in enumerate(cats)})
        ax.set_xticks(range(len(cats)), cats)
    lines = [(None, d)] if by is None else list(d.groupby(by, sort=False))
    for i, (value, part) in enumerate(lines):
        part = part.sort_values(x_col)
        label = None if by is None else _by_label(by, value)
        (line,) = ax.plot(part[x_col], part["mean"], marker=MARKERS[i % len(MARKERS)],
                          label=label)
        lo, hi = part["ci95_lo"], part["ci95_hi"]
        if lo.notna().any():
            ax.fill_between(part[x_col], lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(param)
    ax.set_ylabel(metric if group == "all" and op == "all" else f"{group} {op} {metric}")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if by is not None:
        ax.legend(fontsize="small")
    n = sweep.meta.get("replications", "?")
    ax.set_title(f"{metric}: mean and 95% CI over {n} replications")
    return ax


def plot_availability(run: Run, groups=None, ops=None, faults: pd.DataFrame | None = None,
                      unavailable=True, ax=None):
    """Availability over time per client group, its operations pooled (`ops`: which ones,
    default all; see availability_by_group), one line per group, with the run's fault
    intervals shaded. With `unavailable`, the group's unavailability intervals are drawn
    as thick bars below the axis' zero, one row per group: those of unavailability.csv in
    which every operation it invoked failed, or with a single op in `ops`, every
    operation of that type."""
    ax = _axes(ax, figsize=(8, 3.6))
    a = availability_by_group(run.timeseries, ops)
    names = [g for g in dict.fromkeys(a.group) if not groups or g in groups]
    op = next(iter(ops)) if ops is not None and len(ops) == 1 else "all"
    intervals = load_unavailability(run, op) if unavailable else None
    for i, group in enumerate(names):
        w = a[a.group == group]
        mid = (w["window_start_s"] + w["window_end_s"]) / 2
        (line,) = ax.plot(mid, w["availability"], marker=".", ms=4, lw=1.2, label=group)
        if intervals is None:
            continue
        y = -0.06 - 0.05 * i
        for iv in intervals[intervals.group == group].itertuples(index=False):
            ax.plot([iv.start_s, iv.end_s], [y, y], color=line.get_color(), lw=4,
                    solid_capstyle="butt")
    bottom = -0.08 - 0.05 * len(names) if intervals is not None and not intervals.empty else -0.02
    ax.set_ylim(bottom, 1.05)
    end = float(a["window_end_s"].max()) if not a.empty else None
    if end is not None:
        ax.set_xlim(0, end)
    shade_faults(ax, run.faults if faults is None else faults, end_s=end)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("availability (ok / completed)")
    ax.grid(True, alpha=0.3)
    title = "availability per client group"
    if intervals is not None and not intervals.empty:
        title += " (bars: intervals in which every operation failed)"
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", loc="lower left", bbox_to_anchor=(0, 0.12))
    return ax


def plot_t_visibility(data, by=None, groups=("all",), ax=None):
    """The t-visibility (PBS) curve: the probability that a read started t ms after the
    last write of its key completed sees it (or a newer one), against t. `data` is a Run
    or run directory (one line per client group in `groups`; None: every one), the
    DataFrame of load_t_visibility, or that of sweep_t_visibility (the mean over
    replications with its 95% confidence band; one line per value of `by`, a swept key
    or a list of keys — filter the other swept keys to one value first). The open last
    bucket and buckets without reads are left out; points sit at each bucket's upper
    bound."""
    ax = _axes(ax)
    df = data if isinstance(data, pd.DataFrame) else load_t_visibility(data)
    df = df[df["t_ms_hi"].notna() & (df["reads"] > 0)]
    if groups is not None:
        df = df[df.group.isin(list(groups))]
    swept = "mean" in df.columns
    y_col = "mean" if swept else "p_visible"
    keys = ([] if by is None else [by] if isinstance(by, str) else list(by))
    if not swept and keys:
        raise ValueError("`by` applies to sweep_t_visibility's DataFrame")
    lines = df.groupby(keys + ["group"], sort=False) if keys else df.groupby("group", sort=False)
    for value, part in lines:
        value = value if isinstance(value, tuple) else (value,)
        label = _by_label(keys, value[:-1]) if keys else str(value[-1])
        if keys and (groups is None or len(groups) > 1):
            label += f" ({value[-1]})"
        part = part.sort_values("t_ms_hi")
        (line,) = ax.plot(part["t_ms_hi"], part[y_col], marker=".", ms=4, label=label)
        if swept and part["ci95_lo"].notna().any():
            ax.fill_between(part["t_ms_hi"], part["ci95_lo"].clip(0, 1),
                            part["ci95_hi"].clip(0, 1), color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("t: time from a write's completion to a read's start (ms)")
    ax.set_ylabel("P(read sees the write)")
    ax.set_ylim(None, 1.01)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    ax.set_title("t-visibility" + (": mean and 95% CI over replications" if swept else ""))
    return ax


# Where plot_tradeoff puts the labels of line i's points, right of the point (left of it
# they would run into the y axis at x = 0): (x offset, alignment), (y offset, alignment),
# in points: just above, just below, a row higher, a row lower.
_LABEL_CORNERS = [((4, "left"), (2, "bottom")), ((4, "left"), (-2, "top")),
                  ((4, "left"), (10, "bottom")), ((4, "left"), (-10, "top"))]


def plot_tradeoff(sweep: Sweep, x, y, by=None, annotate: str | None = None, ax=None,
                  logx=False, logy=False):
    """Two figures of a sweep against each other, one marker per point at the means over
    the replications with 95% confidence intervals as error bars both ways: the
    trade-off between them. `x`, `y`: a metric name (group all, op all) or a tuple
    (metric, group, op) as Sweep.select takes them. Points sharing the values of `by` (a
    swept key or a list of keys) are joined by a line, in the order of the swept key
    `annotate`, whose value labels each point."""
    ax = _axes(ax)
    xf, yf = _figure(x), _figure(y)
    xs = sweep.select(*xf).set_index("point")
    ys = sweep.select(*yf).set_index("point")
    d = xs.join(ys[["mean", "ci95_lo", "ci95_hi"]], rsuffix="_y", how="inner")
    if annotate is not None:
        d = d.sort_values(annotate + "_value", kind="stable")
    lines = [(None, d)] if by is None else list(d.groupby(by, sort=False))
    for i, (value, part) in enumerate(lines):
        label = None if by is None else _by_label(by, value)
        ax.errorbar(part["mean"], part["mean_y"], xerr=_ci_err(part), yerr=_ci_err(part, "_y"),
                    marker=MARKERS[i % len(MARKERS)], ms=5, capsize=3, lw=1.2, label=label)
        if annotate is not None:
            # Each line labels its points at another height, so that the labels of points
            # that coincide (or nearly) on different lines do not print over one another.
            (dx, ha), (dy, va) = _LABEL_CORNERS[i % len(_LABEL_CORNERS)]
            for px, py, text in zip(part["mean"], part["mean_y"], part[annotate]):
                ax.annotate(str(text), (px, py), xytext=(dx, dy), textcoords="offset points",
                            ha=ha, va=va, fontsize="x-small")
    ax.set_xlabel(_figure_label(*xf))
    ax.set_ylabel(_figure_label(*yf))
    if logx:
        ax.set_xscale("symlog" if (d["mean"] <= 0).any() else "log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if by is not None:
        ax.legend(fontsize="small")
    n = sweep.meta.get("replications", "?")
    ax.set_title(f"{yf[0]} against {xf[0]}: means and 95% CI over {n} replications",
                 fontsize="medium")
    return ax
