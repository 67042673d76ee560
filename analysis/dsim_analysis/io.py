"""Loading dsim's output files into tidy pandas DataFrames.

Every file dsim writes starts with a `# dsim <version> key=value ...` line; other `#`
lines are comments. Columns are documented in docs/outputs.md and docs/sweeps.md.
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
    stddev, ci95_lo, ci95_hi, min, median, max over the replications, and the worst
    replication's value, index and seed) and, when present, `runs` (runs.csv: every figure
    of every run) and `checks` (checks.csv: per point and scenario check, runs, passed,
    failed, the worst replication, its seed and value, and the command that repeats it).
    `params` are the swept keys, in axis order."""
    dir: Path | None
    meta: dict
    params: list
    stats: pd.DataFrame
    runs: pd.DataFrame | None = None
    point_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    checks: pd.DataFrame | None = None

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

    def run_dir(self, point: int, replication: int) -> Path:
        """The directory of one run, kept by `dsim sweep --keep-runs`
        (runs/p<point>-r<replication>, both zero-padded to the widest number)."""
        if self.dir is None:
            raise FileNotFoundError("a sweep loaded from sweep.csv alone has no run directories")
        points = int(self.meta.get("points", len(self.point_values)))
        reps = int(self.meta.get("replications", 1))
        name = (f"p{point:0{len(str(points - 1))}d}-"
                f"r{replication:0{len(str(reps - 1))}d}")
        path = self.dir / "runs" / name
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such run (sweep with --keep-runs)")
        return path

    def rerun_args(self, point: int, seed: int) -> list:
        """The arguments of `dsim run` that repeat the replication of `point` with `seed`
        (e.g. a worst_seed of `stats` or `checks`): the sweep's sweep.yaml, the seed and a
        --set per swept key. `run_dsim(*sweep.rerun_args(p, s), "--out", d)` runs it."""
        if self.dir is None:
            raise FileNotFoundError("a sweep loaded from sweep.csv alone has no sweep.yaml")
        row = self.point_values[self.point_values.point == point]
        if row.empty:
            raise KeyError(f"no point {point} in the sweep")
        args = ["run", str(self.dir / "sweep.yaml"), "--seed", str(int(seed))]
        for key in self.params:
            value = row.iloc[0][key]
            args += ["--set", f"{key}={'' if pd.isna(value) else value}"]
        return args

    def with_values(self, key: str, mapping: dict) -> "Sweep":
        """A copy in which the swept values of `key` are replaced as `mapping` says (values
        it does not name stay). Gives swept distributions a number to be plotted at and a
        short label: {"exponential(mean=4ms)": "4ms"} puts that point at 0.004 s."""
        if key not in self.params:
            raise KeyError(f"{key} is not a swept key; swept keys: {', '.join(self.params)}")

        def relabel(df):
            if df is None:
                return None
            df = df.copy()
            df[key] = df[key].map(lambda v: mapping.get(v, v))
            return df

        return Sweep(dir=self.dir, meta=dict(self.meta), params=list(self.params),
                     stats=relabel(self.stats), runs=relabel(self.runs),
                     point_values=relabel(self.point_values), checks=relabel(self.checks))


def load_sweep(path) -> Sweep:
    """Loads a `dsim sweep` output directory, or a sweep.csv file."""
    path = Path(path)
    directory = path if path.is_dir() else None
    csv = path / "sweep.csv" if directory else path
    if not csv.exists():
        raise FileNotFoundError(f"{csv}: no sweep.csv (shards are combined with dsim merge)")
    stats = pd.read_csv(csv, comment="#", keep_default_na=False, na_values=[""], dtype=str)
    numeric = ["point", "n", "mean", "stddev", "ci95_lo", "ci95_hi", "min", "median", "max",
               "worst", "worst_replication", "worst_seed"]
    fixed = ["group", "op", "metric", *numeric]
    params = [c for c in stats.columns if c not in fixed]
    for c in numeric:
        if c in stats.columns:  # older sweep.csv files have no median and worst columns
            stats[c] = pd.to_numeric(stats[c])
    for c in ["group", "op", "metric"]:
        stats[c] = stats[c].fillna("")
    checks = None
    if directory and (directory / "checks.csv").exists():
        checks = pd.read_csv(directory / "checks.csv", comment="#", keep_default_na=False,
                             na_values=[""], dtype=str)
        for c in ["point", "runs", "passed", "failed", "worst_replication", "worst_seed",
                  "worst_value"]:
            checks[c] = pd.to_numeric(checks[c])
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
                 point_values=points, checks=checks)


def _run_path(run) -> Path:
    return run.dir if isinstance(run, Run) else Path(run)


def load_t_visibility(run) -> pd.DataFrame:
    """t_visibility.csv of a run (a Run or its directory): per client group (`all` for
    every group together) and bucket of t — the time from the last write of a key
    completing to a read of it starting, `t_ms_lo` to `t_ms_hi` (NaN: the open last
    bucket) — the reads and the share `p_visible` that saw that write or a newer one."""
    path = _run_path(run) / "t_visibility.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no t_visibility.csv (a run without kv_client reads)")
    return read_dsim_csv(path)


def load_t_visibility_at(run) -> pd.DataFrame:
    """t_visibility_at.csv of a run (a Run or its directory), written when a kv_client has
    `visibility_probes`: per client group and probe time `t_ms` after a write's
    acknowledgement, the successful probes (`pairs`), those that saw the write
    (`visible`), the share `p_visible` and its 95% Wilson interval `ci_lo`..`ci_hi`, and
    the probes that ended without success (`failed`)."""
    path = _run_path(run) / "t_visibility_at.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no t_visibility_at.csv (no kv_client visibility_probes)")
    return read_dsim_csv(path)


def load_unavailability(run, op: str | None = None) -> pd.DataFrame:
    """unavailability.csv of a run (a Run or its directory): per client group, the
    intervals in which every operation the group invoked failed (`op` "all"), or every
    operation of one type (`op` that type): `start_s`, `end_s`, `duration_s`,
    `failed_ops`. `op` keeps one of them ("all" for the pooled intervals). Empty when the
    run has none, or no client recorded a history."""
    path = _run_path(run) / "unavailability.csv"
    columns = ["group", "op", "start_s", "end_s", "duration_s", "failed_ops"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    u = read_dsim_csv(path)
    return u if op is None else u[u.op == op].reset_index(drop=True)


def availability_by_group(timeseries: pd.DataFrame, ops=None) -> pd.DataFrame:
    """Per window and group of timeseries.csv, the operations of `ops` (default: every
    op) pooled: `started`, `ok`, `failed` (rejected + timeout + error) and `availability`
    = ok / (ok + failed), NaN in a window where none completed — dsim's per-window
    availability, over a group's operations together rather than op by op. Groups come
    in the order of the file (the scenario's), windows in time order."""
    ts = timeseries if ops is None else timeseries[timeseries.op.isin(list(ops))]
    counts = ["started", "ok", "rejected", "timeout", "error"]
    order = {name: i for i, name in enumerate(dict.fromkeys(ts["group"]))}
    g = ts.groupby(["window_start_s", "window_end_s", "group"], sort=False)[counts].sum()
    g = g.reset_index()
    g = (g.assign(group_order=g["group"].map(order))
         .sort_values(["group_order", "window_start_s"], kind="stable"))
    g["failed"] = g["rejected"] + g["timeout"] + g["error"]
    done = g["ok"] + g["failed"]
    g["availability"] = (g["ok"] / done).where(done > 0)
    return g[["window_start_s", "window_end_s", "group", "started", "ok", "failed",
              "availability"]].reset_index(drop=True)


def availability_by_op(timeseries: pd.DataFrame, groups=None) -> pd.DataFrame:
    """Per window and operation type of timeseries.csv, the client groups of `groups`
    (default: every group) pooled: `started`, `ok`, `failed` and `availability` as in
    availability_by_group — an outage of one operation (every write during a failover)
    stays visible even while the others succeed. Operations in name order, windows in
    time order."""
    ts = timeseries if groups is None else timeseries[timeseries.group.isin(list(groups))]
    counts = ["started", "ok", "rejected", "timeout", "error"]
    g = ts.groupby(["window_start_s", "window_end_s", "op"], sort=False)[counts].sum()
    g = g.reset_index().sort_values(["op", "window_start_s"], kind="stable")
    g["failed"] = g["rejected"] + g["timeout"] + g["error"]
    done = g["ok"] + g["failed"]
    g["availability"] = (g["ok"] / done).where(done > 0)
    return g[["window_start_s", "window_end_s", "op", "started", "ok", "failed",
              "availability"]].reset_index(drop=True)


# t(0.975, df) for df = 1..30; beyond, the Cornish-Fisher expansion (error below 1e-5).
_T975 = [12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
         2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
         2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
         2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272]


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom: the factor of a
    95% confidence interval of a mean, as dsim sweep uses it."""
    if df < 1:
        raise ValueError("Student's t needs at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963985
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def load_sweep_run_files(sweep: Sweep, name: str) -> pd.DataFrame:
    """One CSV file (e.g. "t_visibility.csv") of every run a sweep kept (`dsim sweep
    --keep-runs`), concatenated, with columns `point`, `replication` and the swept keys
    first."""
    parts = []
    for p in sweep.point_values.itertuples(index=False):
        point = int(p[0])
        for rep in range(int(sweep.meta.get("replications", 1))):
            df = read_dsim_csv(sweep.run_dir(point, rep) / name)
            df.insert(0, "replication", rep)
            df.insert(0, "point", point)
            for i, key in enumerate(sweep.params):
                df.insert(2 + i, key, p[1 + i])
            parts.append(df)
    return pd.concat(parts, ignore_index=True)


def sweep_t_visibility(sweep: Sweep) -> pd.DataFrame:
    """The t-visibility curve of every point of a sweep kept with --keep-runs: per point,
    client group and bucket of t, `p_visible` averaged over the replications that had
    reads in the bucket (`n` of them) with its 95% Student-t confidence interval
    (`ci95_lo`, `ci95_hi`; NaN when n < 2), and `reads` summed. Columns: point, the
    swept keys, group, t_ms_lo, t_ms_hi, reads, n, mean, ci95_lo, ci95_hi."""
    runs = load_sweep_run_files(sweep, "t_visibility.csv")
    keys = ["point", *sweep.params, "group", "t_ms_lo", "t_ms_hi"]
    runs = runs[runs["reads"] > 0]
    rows = []
    for values, b in runs.groupby(keys, sort=False, dropna=False):
        n = len(b)
        mean = float(b["p_visible"].mean())
        half = (t_quantile_975(n - 1) * float(b["p_visible"].std(ddof=1)) / math.sqrt(n)
                if n > 1 else math.nan)
        rows.append(dict(zip(keys, values), reads=int(b["reads"].sum()), n=n, mean=mean,
                         ci95_lo=mean - half, ci95_hi=mean + half))
    out = pd.DataFrame(rows, columns=[*keys, "reads", "n", "mean", "ci95_lo", "ci95_hi"])
    return out.sort_values(["point", "group", "t_ms_lo"], kind="stable").reset_index(drop=True)


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


def dsim_binary() -> str:
    """The dsim command line run_dsim calls: the DSIM environment variable, else build/dsim
    of the repository this package is in, else dsim on the PATH."""
    here = Path(__file__).resolve().parents[2]
    for candidate in (os.environ.get("DSIM"), here / "build" / "dsim", shutil.which("dsim")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise FileNotFoundError("no dsim binary: build it (make build) or set DSIM=/path/to/dsim")


_dsim_binary = dsim_binary


def run_dsim(*args, check_codes=(0, 1)) -> subprocess.CompletedProcess:
    """Runs the dsim command line (the DSIM environment variable, else build/dsim of this
    repository, else dsim on the PATH) and returns the completed process. Exit codes
    outside `check_codes` raise with dsim's error output (1 means a scenario check
    failed, which an experiment may expect)."""
    cmd = [dsim_binary(), *[str(a) for a in args]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in check_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr}")
    return proc
