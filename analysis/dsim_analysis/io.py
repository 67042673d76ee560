"""Loading dsim's output files into tidy pandas DataFrames.

Every file dsim writes starts with a `# dsim <version> key=value ...` line; other `#`
lines are comments. Columns are documented in the README ("Output files", "Sweeps").
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# The fault intervals of a run, one row each: start and end in seconds of simulated
# time (end NaN: still active when the run ended), and a label saying what happened.
FAULT_COLUMNS = ["start_s", "end_s", "label"]


def header_fields(path) -> dict:
    """The key=value fields of a dsim file's first line (plus 'dsim_version').

    In sweep files the free-text name comes last (`sweep=<name>`) and may hold spaces.
    """
    with open(path, encoding="utf-8") as f:
        first = f.readline().rstrip("\n")
    if not first.startswith("# dsim "):
        raise ValueError(f"{path}: not a file written by dsim (no '# dsim' header)")
    fields = {}
    rest = first[len("# dsim "):]
    name_at = rest.find(" sweep=")
    if name_at >= 0:
        fields["sweep"] = rest[name_at + len(" sweep="):]
        rest = rest[:name_at]
    words = rest.split()
    fields["dsim_version"] = words[0]
    for w in words[1:]:
        if "=" in w:
            k, v = w.split("=", 1)
            fields[k] = v
    return fields


def read_dsim_csv(path) -> pd.DataFrame:
    """A CSV written by dsim, without its comment lines. Text columns stay text."""
    return pd.read_csv(path, comment="#", keep_default_na=False, na_values=[""],
                       dtype={"group": str, "op": str, "metric": str, "faults": str,
                              "event": str, "kind": str, "targets": str, "detail": str})


_DURATION = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0,
             "d": 86400.0}
_SIZE = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 2**10, "MiB": 2**20,
         "GiB": 2**30, "TiB": 2**40}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_quantity(text) -> float:
    """A scenario value as a number in base units: durations in seconds ('150ms' ->
    0.15), rates per second ('200/s', '100/30min'), sizes in bytes ('64KiB'),
    percentages as fractions ('5%'), plain numbers as they are. NaN when it is none of
    these (e.g. a distribution)."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    m = re.fullmatch(f"({_NUMBER})", s)
    if m:
        return float(m.group(1))
    m = re.fullmatch(f"({_NUMBER})%", s)
    if m:
        return float(m.group(1)) / 100
    m = re.fullmatch(f"({_NUMBER})\\s*([a-zA-Z]+)", s)
    if m:
        unit = m.group(2)
        if unit in _DURATION:
            return float(m.group(1)) * _DURATION[unit]
        if unit in _SIZE:
            return float(m.group(1)) * _SIZE[unit]
    m = re.fullmatch(f"({_NUMBER})\\s*/\\s*({_NUMBER})?\\s*([a-z]+)", s)
    if m and m.group(3) in _DURATION:
        per = float(m.group(2)) if m.group(2) else 1.0
        return float(m.group(1)) / (per * _DURATION[m.group(3)])
    return math.nan


def _intervals_from_column(ts: pd.DataFrame, column: str) -> pd.DataFrame:
    """Fault intervals from a per-window text column: consecutive windows with the same
    non-empty text form one interval."""
    windows = (ts[["window_start_s", "window_end_s", column]]
               .drop_duplicates(subset=["window_start_s"])
               .sort_values("window_start_s"))
    rows = []
    current = None
    for start, end, text in windows.itertuples(index=False):
        text = "" if (text is None or (isinstance(text, float) and math.isnan(text))) else str(text)
        if current and current["label"] == text and math.isclose(current["end_s"], start):
            current["end_s"] = end
            continue
        if current:
            rows.append(current)
            current = None
        if text:
            current = {"start_s": float(start), "end_s": float(end), "label": text}
    if current:
        rows.append(current)
    return pd.DataFrame(rows, columns=FAULT_COLUMNS)


def _intervals_from_events(df: pd.DataFrame) -> pd.DataFrame:
    """Fault intervals from dsim's faults.csv event log (time_s, event, fault, kind,
    targets, detail): a `start` and its `end` (same fault id) form an interval, a start
    without an end lasts to the end of the run, an `instant` is an interval of length 0."""
    rows, open_ = [], {}
    for e in df.itertuples(index=False):
        label = " ".join(str(x) for x in (getattr(e, "kind", ""), getattr(e, "targets", ""))
                         if isinstance(x, str) and x)
        if e.event == "start":
            open_[e.fault] = len(rows)
            rows.append({"start_s": float(e.time_s), "end_s": math.nan, "label": label})
        elif e.event == "end" and e.fault in open_:
            rows[open_.pop(e.fault)]["end_s"] = float(e.time_s)
        elif e.event == "instant":
            rows.append({"start_s": float(e.time_s), "end_s": float(e.time_s), "label": label})
    return pd.DataFrame(rows, columns=FAULT_COLUMNS)


def load_faults(run_dir, timeseries: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fault intervals of a run, as a DataFrame with FAULT_COLUMNS.

    Read from, in this order:
      1. `faults.csv` in the run directory, either as dsim writes it (an event log:
         `time_s,event,fault,kind,targets,detail` with `start`, `end` and `instant`
         events; a start and its end form an interval, an instant has length 0), or as a
         table of intervals with `start_s` and `end_s` (empty: until the end of the run)
         and, to label them, any of `label`, `kind`, `target`, `fault`, `description`;
      2. a `faults` (or `active_faults`) column of `timeseries.csv`: the faults active in
         each window as text, empty when none; consecutive windows with the same text
         form one interval.
    A run without either has no faults: the result is empty, never an error.
    """
    run_dir = Path(run_dir)
    path = run_dir / "faults.csv"
    if path.exists():
        df = read_dsim_csv(path)
        if {"time_s", "event", "fault"} <= set(df.columns):
            return _intervals_from_events(df)
        if "start_s" not in df.columns:
            raise ValueError(f"{path}: expected dsim's time_s,event,fault columns, or start_s "
                             f"and end_s")
        label_parts = [c for c in ("label", "kind", "target", "fault", "description")
                       if c in df.columns]
        labels = (df[label_parts].fillna("").astype(str).agg(" ".join, axis=1).str.strip()
                  if label_parts else pd.Series(["fault"] * len(df)))
        end = df["end_s"] if "end_s" in df.columns else pd.Series([math.nan] * len(df))
        return pd.DataFrame({"start_s": df["start_s"].astype(float),
                             "end_s": pd.to_numeric(end, errors="coerce"),
                             "label": labels.values})
    if timeseries is None and (run_dir / "timeseries.csv").exists():
        timeseries = read_dsim_csv(run_dir / "timeseries.csv")
    if timeseries is not None:
        for column in ("faults", "active_faults"):
            if column in timeseries.columns:
                return _intervals_from_column(timeseries, column)
    return pd.DataFrame(columns=FAULT_COLUMNS)


@dataclass
class Run:
    """The results of one `dsim run`: each file as a DataFrame."""
    dir: Path
    meta: dict
    summary: pd.DataFrame
    latency: pd.DataFrame
    timeseries: pd.DataFrame
    faults: pd.DataFrame

    def metric(self, metric: str, group: str = "all", op: str = "all") -> float:
        """One figure of summary.csv (op '' for group-level figures and `run`)."""
        s = self.summary
        hit = s[(s.group == group) & (s.op.fillna("") == op) & (s.metric == metric)]
        if hit.empty:
            raise KeyError(f"no figure {group}/{op}/{metric} in {self.dir}/summary.csv")
        return float(hit.value.iloc[0])


def load_run(run_dir) -> Run:
    """Loads a run directory written by `dsim run` (or one run of `dsim sweep
    --keep-runs`)."""
    run_dir = Path(run_dir)
    if not (run_dir / "summary.csv").exists():
        raise FileNotFoundError(f"{run_dir}: no summary.csv (not a dsim run directory)")
    summary = read_dsim_csv(run_dir / "summary.csv")
    summary["op"] = summary["op"].fillna("")
    latency = read_dsim_csv(run_dir / "latency.csv")
    timeseries = read_dsim_csv(run_dir / "timeseries.csv")
    return Run(dir=run_dir, meta=header_fields(run_dir / "summary.csv"), summary=summary,
               latency=latency, timeseries=timeseries,
               faults=load_faults(run_dir, timeseries))


@dataclass
class Sweep:
    """The results of `dsim sweep`: `stats` (sweep.csv: per point and figure, mean,
    stddev, ci95_lo, ci95_hi, min, max over the replications) and, when present, `runs`
    (runs.csv: every figure of every run). `params` are the swept keys, in axis order."""
    dir: Path | None
    meta: dict
    params: list
    stats: pd.DataFrame
    runs: pd.DataFrame | None = None
    point_values: pd.DataFrame = field(default_factory=pd.DataFrame)

    def select(self, metric: str, group: str = "all", op: str = "all") -> pd.DataFrame:
        """The rows of one figure, with a numeric column `<param>_value` per swept key."""
        s = self.stats
        out = s[(s.group == group) & (s.op == op) & (s.metric == metric)].copy()
        if out.empty:
            known = sorted(set(s.metric))
            raise KeyError(f"no figure {group}/{op}/{metric} in the sweep; metrics: "
                           f"{', '.join(known[:30])}")
        for p in self.params:
            out[p + "_value"] = out[p].map(parse_quantity)
        return out


def load_sweep(path) -> Sweep:
    """Loads a `dsim sweep` output directory, or a sweep.csv file."""
    path = Path(path)
    directory = path if path.is_dir() else None
    csv = path / "sweep.csv" if directory else path
    if not csv.exists():
        raise FileNotFoundError(f"{csv}: no sweep.csv (shards are combined with dsim merge)")
    stats = pd.read_csv(csv, comment="#", keep_default_na=False, na_values=[""], dtype=str)
    fixed = ["point", "group", "op", "metric", "n", "mean", "stddev", "ci95_lo", "ci95_hi",
             "min", "max"]
    params = [c for c in stats.columns if c not in fixed]
    for c in ["point", "n", "mean", "stddev", "ci95_lo", "ci95_hi", "min", "max"]:
        stats[c] = pd.to_numeric(stats[c])
    for c in ["group", "op", "metric"]:
        stats[c] = stats[c].fillna("")
    runs = None
    if directory and (directory / "runs.csv").exists():
        runs = pd.read_csv(directory / "runs.csv", comment="#", keep_default_na=False,
                           na_values=[""], dtype=str)
        for c in ["point", "replication", "value"]:
            runs[c] = pd.to_numeric(runs[c])
        for c in ["group", "op", "metric"]:
            runs[c] = runs[c].fillna("")
    points = stats[["point"] + params].drop_duplicates().reset_index(drop=True)
    return Sweep(dir=directory, meta=header_fields(csv), params=params, stats=stats, runs=runs,
                 point_values=points)


def latency_percentiles(latency: pd.DataFrame, percentiles=(50, 90, 99, 99.9)) -> pd.DataFrame:
    """Percentiles of latency (ms) per group and op, recomputed from latency.csv's
    buckets the way dsim does: the midpoint of the bucket holding the ceil(q * n)-th
    value (within 0.39% of the exact value). Columns: group, op, count, p<percentile>."""
    rows = []
    for (group, op), b in latency.groupby(["group", "op"], sort=False):
        b = b.sort_values("bucket_lo_ns")
        counts = b["count"].to_numpy()
        cum = counts.cumsum()
        n = int(cum[-1])
        row = {"group": group, "op": op, "count": n}
        for p in percentiles:
            rank = min(max(math.ceil(p / 100 * n), 1), n)
            i = int((cum >= rank).argmax())
            lo, hi = int(b["bucket_lo_ns"].iloc[i]), int(b["bucket_hi_ns"].iloc[i])
            row[f"p{p:g}".replace(".", "")] = (lo + (hi - lo + 1) // 2) / 1e6
        rows.append(row)
    return pd.DataFrame(rows)


def latency_cdf(latency: pd.DataFrame) -> pd.DataFrame:
    """The empirical CDF of latency per group and op: one row per bucket with
    `latency_ms` (the bucket's upper bound) and `cdf` (the fraction of operations at or
    below it)."""
    parts = []
    for (group, op), b in latency.groupby(["group", "op"], sort=False):
        b = b.sort_values("bucket_lo_ns")
        cum = b["count"].cumsum()
        parts.append(pd.DataFrame({"group": group, "op": op,
                                   "latency_ms": b["bucket_hi_ns"].to_numpy() / 1e6,
                                   "cdf": (cum / cum.iloc[-1]).to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["group", "op", "latency_ms", "cdf"])
    return pd.concat(parts, ignore_index=True)


def _dsim_binary() -> str:
    here = Path(__file__).resolve().parents[2]
    for candidate in (os.environ.get("DSIM"), here / "build" / "dsim", shutil.which("dsim")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise FileNotFoundError("no dsim binary: build it (make build) or set DSIM=/path/to/dsim")


def run_dsim(*args, check_codes=(0, 1)) -> subprocess.CompletedProcess:
    """Runs the dsim command line (the DSIM environment variable, else build/dsim of this
    repository, else dsim on the PATH) and returns the completed process. Exit codes
    outside `check_codes` raise with dsim's error output (1 means a scenario check
    failed, which an experiment may expect)."""
    cmd = [_dsim_binary(), *[str(a) for a in args]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in check_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr}")
    return proc
