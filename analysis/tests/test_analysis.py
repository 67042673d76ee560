"""Tests of the dsim_analysis package on real dsim output (DSIM names the binary)."""

import contextlib
import io
import math
import os
import shutil
import subprocess
import tempfile
import unittest
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import dsim_analysis as da  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "capacity_sweep.yaml"


def dsim(*args):
    return da.run_dsim(*args, "--quiet", check_codes=(0, 1))


class Quantities(unittest.TestCase):
    def test_units(self):
        self.assertEqual(da.parse_quantity("150ms"), 0.15)
        self.assertEqual(da.parse_quantity("2s"), 2.0)
        self.assertEqual(da.parse_quantity("200/s"), 200.0)
        self.assertAlmostEqual(da.parse_quantity("100/30min"), 100 / 1800)
        self.assertEqual(da.parse_quantity("5/ms"), 5000.0)
        self.assertEqual(da.parse_quantity("64KiB"), 65536)
        self.assertEqual(da.parse_quantity("5%"), 0.05)
        self.assertEqual(da.parse_quantity("4"), 4.0)
        self.assertEqual(da.parse_quantity("1e-3"), 0.001)
        self.assertTrue(math.isnan(da.parse_quantity("exponential(mean=1ms)")))


class RunFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="dsim_analysis_"))
        cls.dir = cls.tmp / "run"
        dsim("run", SCENARIO, "--set", "duration=6s", "--out", cls.dir)
        cls.res = da.load_run(cls.dir)

    @classmethod
    def tearDownClass(cls):
        plt.close("all")
        shutil.rmtree(cls.tmp)

    def test_tables(self):
        r = self.res
        self.assertEqual(r.meta["scenario"], "capacity-sweep")
        self.assertEqual(list(r.summary.columns), ["group", "op", "metric", "value"])
        self.assertEqual(r.metric("availability", "clients", "request"), 1.0)
        self.assertGreater(r.metric("events", "run", ""), 0)
        self.assertEqual(list(r.latency.columns),
                         ["group", "op", "bucket_lo_ns", "bucket_hi_ns", "count"])
        self.assertEqual(len(r.timeseries), 6)  # 1 s windows, one op
        self.assertTrue(r.faults.empty)  # faults.csv exists but holds no fault

    def test_percentiles_recomputed_from_buckets_match_the_summary(self):
        p = da.latency_percentiles(self.res.latency, (50, 90, 99, 99.9))
        row = p[(p.group == "clients") & (p.op == "request")].iloc[0]
        self.assertEqual(row["count"], self.res.metric("ok", "clients", "request"))
        for name, metric in (("p50", "latency_ms_p50"), ("p90", "latency_ms_p90"),
                             ("p99", "latency_ms_p99"), ("p999", "latency_ms_p999")):
            self.assertEqual(row[name], self.res.metric(metric, "clients", "request"), name)

    def test_cdf(self):
        c = da.latency_cdf(self.res.latency)
        self.assertTrue(c["cdf"].is_monotonic_increasing)
        self.assertEqual(c["cdf"].iloc[-1], 1.0)
        median = c[c["cdf"] >= 0.5]["latency_ms"].iloc[0]
        self.assertAlmostEqual(median, self.res.metric("latency_ms_p50", "clients", "request"),
                               delta=0.01 * median)

    def test_plots_without_faults(self):
        axes = da.plot_timeline(self.res)
        self.assertEqual(len(axes), 2)
        self.assertEqual(len(axes[0].patches), 0)  # nothing shaded
        self.assertEqual(len(axes[0].lines), 1)
        ax = da.plot_latency_cdf(self.res, tail=True)
        self.assertEqual(ax.get_yscale(), "log")
        ax = da.plot_latency_percentiles(self.res)
        self.assertEqual(len(ax.patches), 4)  # one op, four percentiles

    def test_faults_from_faults_csv(self):
        d = self.tmp / "with_faults_csv"
        shutil.copytree(self.dir, d, dirs_exist_ok=True)
        (d / "faults.csv").write_text(
            "# dsim test\nstart_s,end_s,kind,target\n1,2.5,crash,web.0\n4,,partition,web\n")
        run = da.load_run(d)
        self.assertEqual(list(run.faults.columns), da.FAULT_COLUMNS)
        self.assertEqual(run.faults["label"].tolist(), ["crash web.0", "partition web"])
        self.assertTrue(math.isnan(run.faults["end_s"].iloc[1]))
        axes = da.plot_timeline(run)
        for ax in axes:
            self.assertEqual(len(ax.patches), 2)
        # The open-ended fault lasts until the end of the run.
        self.assertEqual(axes[0].patches[1].get_xy()[2][0], 6.0)

    def test_faults_of_a_run_with_crashes(self):
        d = self.tmp / "crash"
        dsim("run", REPO / "scenarios" / "faults" / "crash_restart.yaml", "--out", d)
        run = da.load_run(d)
        events = da.read_dsim_csv(d / "faults.csv")
        starts = events[events.event == "start"]
        self.assertGreater(len(starts), 0)
        intervals = run.faults[run.faults.end_s > run.faults.start_s]
        self.assertEqual(len(intervals), len(starts))
        self.assertEqual(intervals.start_s.tolist(), starts.time_s.astype(float).tolist())
        self.assertTrue(all(label.startswith("crash") for label in intervals.label))
        # The timeseries' faults column tells the same story, window by window.
        from_column = da.load_faults(self.tmp / "nowhere", run.timeseries)
        crashes = from_column[from_column.label.str.startswith("crash")]
        self.assertEqual(crashes.start_s.tolist(), intervals.start_s.tolist())
        axes = da.plot_timeline(run)
        self.assertEqual(len(axes[0].patches), len(intervals))

    def test_faults_from_a_timeseries_column(self):
        ts = self.res.timeseries.copy()
        ts["faults"] = ["", "crash web.0", "crash web.0", "", "partition", ""]
        f = da.load_faults(self.tmp / "nowhere", ts)
        self.assertEqual(f.to_dict("records"),
                         [{"start_s": 1.0, "end_s": 3.0, "label": "crash web.0"},
                          {"start_s": 4.0, "end_s": 5.0, "label": "partition"}])

    def test_command_line_writes_pngs(self):
        out = self.tmp / "plots"
        subprocess.run(["/usr/bin/python3", "-m", "dsim_analysis", str(self.dir), "--out",
                        str(out)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(REPO / "analysis")})
        self.assertEqual(sorted(p.name for p in out.glob("*.png")),
                         ["latency_cdf.png", "latency_percentiles.png", "latency_tail.png",
                          "timeline.png"])


class SweepFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="dsim_analysis_sweep_"))
        cls.dir = cls.tmp / "sweep"
        dsim("sweep", SCENARIO, "--set", "duration=3s", "--set", "warmup=1s",
             "--replications", "3", "--jobs", "2", "--out", cls.dir)
        cls.sweep = da.load_sweep(cls.dir)

    @classmethod
    def tearDownClass(cls):
        plt.close("all")
        shutil.rmtree(cls.tmp)

    def test_tables(self):
        s = self.sweep
        self.assertEqual(s.params, ["groups.web.params.workers", "groups.clients.params.rate"])
        self.assertEqual(len(s.point_values), 9)
        self.assertEqual(s.meta["replications"], "3")
        self.assertEqual(s.meta["sweep"], "capacity-sweep")
        self.assertEqual(set(s.runs.replication), {0, 1, 2})
        d = s.select("throughput_per_s")
        self.assertEqual(sorted(set(d["groups.clients.params.rate_value"])), [50, 100, 150])

    def test_stats_agree_with_the_runs(self):
        s = self.sweep
        runs = s.runs[(s.runs.group == "all") & (s.runs.op == "all")
                      & (s.runs.metric == "latency_ms_p50")]
        for point, r in runs.groupby("point"):
            row = s.stats[(s.stats.point == point) & (s.stats.group == "all")
                          & (s.stats.op == "all") & (s.stats.metric == "latency_ms_p50")].iloc[0]
            self.assertEqual(row["n"], len(r))
            self.assertAlmostEqual(row["mean"], r.value.mean(), places=9)
            self.assertAlmostEqual(row["stddev"], r.value.std(ddof=1), places=9)
            self.assertEqual(row["min"], r.value.min())
            self.assertLess(row["ci95_lo"], row["mean"])

    def test_verdicts(self):
        s = self.sweep
        st = s.stats
        self.assertTrue(((st["min"] <= st["median"]) & (st["median"] <= st["max"])).all())
        seeds = set(s.runs.seed.astype("int64"))
        self.assertTrue(set(st.worst_seed).issubset(seeds))
        # Checked `latency_ms_p99 < 50`: its worst is the largest, where it is known.
        p99 = s.select("latency_ms_p99")
        known = p99[p99.worst.notna()]
        self.assertFalse(known.empty)
        self.assertTrue((known.worst == known["max"]).all())
        # checks.csv counts what runs.csv says, per point and check.
        c = s.checks
        self.assertEqual(set(c.check), {"latency_ms_p99 < 50", "availability >= 0.99"})
        self.assertTrue((c.runs == 3).all())
        self.assertTrue((c.passed + c.failed == c.runs).all())
        rows = s.runs[(s.runs.group == "run") & (s.runs.op == "check")]
        for row in c.itertuples():
            r = rows[(rows.point == row.point) & (rows.metric == row.check)]
            self.assertEqual(row.passed, int((r.value == 1).sum()))
        self.assertGreater(c.failed.sum(), 0)  # the overloaded points fail

    def test_rerun_worst(self):
        s = self.sweep
        # A failed check at a point where the worst runs have every checked figure (a run
        # where nothing succeeded has no latency percentile, and dsim run calls a check on
        # it bad input).
        c = s.checks
        lacking = set(c[c.worst_value.isna()].point)
        failed = c[(c.failed > 0) & ~c.point.isin(lacking)]
        worst = failed.sort_values(["failed", "point"], ascending=[False, True]).iloc[0]
        point, rep, seed = int(worst.point), int(worst.worst_replication), int(worst.worst_seed)
        self.assertTrue(worst.rerun.startswith(f"dsim run sweep.yaml --seed {seed} --set "))
        out = self.tmp / "rerun"
        proc = da.run_dsim(*s.rerun_args(point, seed), "--out", out, "--quiet")
        self.assertEqual(proc.returncode, 1)  # the check fails again
        got = da.load_run(out).summary.set_index(["group", "op", "metric"]).value
        runs = s.runs[(s.runs.point == point) & (s.runs.replication == rep)
                      & ~((s.runs.group == "run") & (s.runs.op == "check"))]
        want = runs.set_index(["group", "op", "metric"]).value
        self.assertEqual(list(got.index), list(want.index))
        self.assertTrue(((got == want) | (got.isna() & want.isna())).all())

    def test_metric_vs_param(self):
        ax = da.plot_metric_vs_param(self.sweep, "throughput_per_s",
                                     "groups.clients.params.rate",
                                     by="groups.web.params.workers")
        self.assertEqual(len(ax.lines), 3)
        self.assertEqual(len(ax.collections), 3)  # a confidence band per line
        x, y = ax.lines[2].get_data()  # 8 workers: never saturated
        self.assertEqual(list(x), [50, 100, 150])
        for rate, thru in zip(x, y):
            self.assertAlmostEqual(thru / (10 * rate), 1, delta=0.1)

    def test_sweep_csv_alone(self):
        s = da.load_sweep(self.dir / "sweep.csv")
        self.assertIsNone(s.runs)
        self.assertIsNone(s.checks)
        with self.assertRaises(FileNotFoundError):
            s.rerun_args(0, 1)
        self.assertEqual(len(s.stats), len(self.sweep.stats))

    def test_missing(self):
        with self.assertRaises(FileNotFoundError):
            da.load_sweep(self.tmp / "nope")
        with self.assertRaises(KeyError):
            self.sweep.select("no_such_metric")


class Quantiles(unittest.TestCase):
    def test_student_t(self):
        self.assertAlmostEqual(da.t_quantile_975(1), 12.7062, places=4)
        self.assertAlmostEqual(da.t_quantile_975(4), 2.7764, places=4)
        self.assertAlmostEqual(da.t_quantile_975(30), 2.0423, places=4)
        self.assertAlmostEqual(da.t_quantile_975(40), 2.0211, places=4)  # the expansion
        self.assertAlmostEqual(da.t_quantile_975(10**6), 1.95997, places=4)
        with self.assertRaises(ValueError):
            da.t_quantile_975(0)


class LabRunFiles(unittest.TestCase):
    """A run with a partition and two client groups (the CAP lab's Raft side)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="dsim_analysis_cap_"))
        cls.dir = cls.tmp / "cap"
        dsim("run", REPO / "scenarios" / "labs" / "cap_raft.yaml", "--out", cls.dir)
        cls.res = da.load_run(cls.dir)

    @classmethod
    def tearDownClass(cls):
        plt.close("all")
        shutil.rmtree(cls.tmp)

    def test_availability_by_group_pools_the_ops(self):
        ts = self.res.timeseries
        a = da.availability_by_group(ts, ops=["get", "put"])
        self.assertEqual(sorted(set(a.group)), ["east", "west"])
        for row in a.sample(10, random_state=1).itertuples(index=False):
            w = ts[(ts.window_start_s == row.window_start_s) & (ts.group == row.group)
                   & ts.op.isin(["get", "put"])]
            self.assertEqual(row.ok, w.ok.sum())
            self.assertEqual(row.failed, (w.rejected + w.timeout + w.error).sum())
        # The minority side (west) fails every operation inside the partition (5-15 s);
        # the majority side keeps succeeding.
        inside = a[(a.window_start_s >= 6) & (a.window_end_s <= 14)]
        self.assertTrue((inside[inside.group == "west"].availability == 0).all())
        self.assertGreater(inside[inside.group == "east"].availability.min(), 0.9)
        # After the clients stop (20 s) only read-backs remain: no get or put, no figure.
        late = a[a.window_start_s >= 21]
        self.assertTrue(late.availability.isna().all())
        self.assertTrue((late.started == 0).all())

    def test_unavailability_intervals(self):
        u = da.load_unavailability(self.res, "all")
        self.assertEqual(set(u.group), {"west"})
        self.assertAlmostEqual(u.duration_s.sum(),
                               self.res.metric("unavailable_seconds", "west", ""), places=6)
        for op in ("get", "append"):
            per_op = da.load_unavailability(self.res, op)
            self.assertEqual(set(per_op.group), {"west"})
            self.assertAlmostEqual(per_op.duration_s.sum(),
                                   self.res.metric("unavailable_seconds", "west", op), places=6)
        everything = da.load_unavailability(self.res)
        self.assertEqual(len(everything), len(u) + sum(
            len(da.load_unavailability(self.res, op)) for op in set(everything.op) - {"all"}))
        self.assertTrue(da.load_unavailability(self.tmp / "nowhere").empty)

    def test_availability_by_op_pools_the_groups(self):
        ts = self.res.timeseries
        a = da.availability_by_op(ts)
        self.assertEqual(sorted(set(a.op)), sorted(set(ts.op)))
        for row in a.sample(10, random_state=2).itertuples(index=False):
            w = ts[(ts.window_start_s == row.window_start_s) & (ts.op == row.op)]
            self.assertEqual(row.ok, w.ok.sum())
            self.assertEqual(row.failed, (w.rejected + w.timeout + w.error).sum())
        # Inside the partition (5-15 s) west fails and east succeeds: pooled over both
        # groups an append neither always fails nor always succeeds.
        appends = a[(a.op == "append") & (a.window_start_s >= 6) & (a.window_end_s <= 14)]
        self.assertTrue(((appends.availability > 0) & (appends.availability < 1)).all())
        only_west = da.availability_by_op(ts, groups=["west"])
        inside = only_west[(only_west.window_start_s >= 6) & (only_west.window_end_s <= 14)]
        self.assertTrue((inside[inside.op == "append"].availability == 0).all())

    def test_plot_availability(self):
        ax = da.plot_availability(self.res, ops=["get", "put"])
        groups = [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]
        self.assertEqual(groups, ["west", "east"])
        self.assertEqual(len(ax.patches), 1)  # the partition, shaded
        bars = [line for line in ax.lines if line.get_label().startswith("_")]
        self.assertEqual(len(bars), len(da.load_unavailability(self.res, "all")))
        self.assertEqual(ax.get_xlabel(), "simulated time (s)")

    def test_t_visibility_of_a_run(self):
        tv = da.load_t_visibility(self.res)
        self.assertEqual(list(tv.columns),
                         ["group", "t_ms_lo", "t_ms_hi", "reads", "visible", "p_visible"])
        seen = tv[tv.reads > 0]
        self.assertTrue((seen.p_visible == 1).all())  # linearizable: every read sees the write
        self.assertTrue(tv[tv.reads == 0].p_visible.isna().all())
        ax = da.plot_t_visibility(self.res, groups=["west", "east"])
        self.assertEqual(len(ax.lines), 2)
        self.assertEqual(len(ax.lines[0].get_xdata()),  # no empty bucket, no open one
                         len(seen[(seen.group == "west") & seen.t_ms_hi.notna()]))


class ProbeFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name) / "pbs"
        dsim("run", REPO / "scenarios" / "quorum" / "pbs_t_visibility.yaml", "--set",
             "duration=3s", "--out", cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_t_visibility_at_the_probe_times(self):
        tv = da.load_t_visibility_at(self.dir)
        self.assertEqual(list(tv.columns), ["group", "t_ms", "pairs", "visible", "p_visible",
                                            "ci_lo", "ci_hi", "failed"])
        wars = tv[tv.group == "clients"]
        self.assertEqual(list(wars.t_ms), [0, 1, 5, 10])
        self.assertTrue(((wars.p_visible - wars.visible / wars.pairs).abs() < 1e-9).all())
        self.assertTrue(((wars.ci_lo <= wars.p_visible) & (wars.p_visible <= wars.ci_hi)).all())
        self.assertTrue((tv[tv.group == "clients_dynamo"].p_visible == 1).all())


class LabSweepFiles(unittest.TestCase):
    """The PACELC lab's sweep, shortened: R/W zipped, replica delays zipped, runs kept."""
    R, W = "groups.store.params.r", "groups.store.params.w"
    QW = "network.message_delay.quorum_write"

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="dsim_analysis_pacelc_"))
        cls.dir = cls.tmp / "sweep"
        dsim("sweep", REPO / "scenarios" / "labs" / "pacelc.yaml", "--set", "duration=3s",
             "--set", "sweep.replications=2", "--keep-runs", "--jobs", "2", "--out", cls.dir)
        means = {f"exponential(mean={v}ms)": f"{v}ms" for v in (1, 4, 16)}
        cls.sweep = da.load_sweep(cls.dir).with_values(cls.QW, means)

    @classmethod
    def tearDownClass(cls):
        plt.close("all")
        shutil.rmtree(cls.tmp)

    def test_with_values_and_run_dirs(self):
        s = self.sweep
        self.assertEqual(sorted(set(s.point_values[self.QW])), ["16ms", "1ms", "4ms"])
        d = s.select("stale_read_rate", "run", "")
        self.assertEqual(sorted(set(d[self.QW + "_value"])), [0.001, 0.004, 0.016])
        self.assertEqual(s.run_dir(11, 1), self.dir / "runs" / "p11-r1")
        self.assertEqual(da.load_run(s.run_dir(0, 0)).meta["seed"],
                         str(s.runs[(s.runs.point == 0) & (s.runs.replication == 0)].seed.iloc[0]))
        with self.assertRaises(KeyError):
            s.with_values("no.such.key", {})
        with self.assertRaises(FileNotFoundError):
            da.load_sweep(self.dir / "sweep.csv").run_dir(0, 0)

    def test_sweep_t_visibility_averages_the_replications(self):
        tv = da.sweep_t_visibility(self.sweep)
        files = da.load_sweep_run_files(self.sweep, "t_visibility.csv")
        self.assertEqual(len(files), len(files.drop_duplicates(
            ["point", "replication", "group", "t_ms_lo"])))
        row = tv[(tv.point == 1) & (tv.t_ms_lo == 0)].iloc[0]  # r=w=1, 4 ms: stale early
        per_run = files[(files.point == 1) & (files.t_ms_lo == 0)].p_visible
        self.assertEqual(row["n"], 2)
        self.assertAlmostEqual(row["mean"], per_run.mean(), places=12)
        half = da.t_quantile_975(1) * per_run.std(ddof=1) / math.sqrt(2)
        self.assertAlmostEqual(row["ci95_hi"] - row["mean"], half, places=12)
        self.assertLess(row["mean"], 1)
        # R + W > N: every read sees the last acknowledged write, at any t.
        strict = tv[(tv[self.R] == "2") & (tv[self.W] == "2")]
        self.assertFalse(strict.empty)
        self.assertTrue((strict["mean"] == 1).all())
        ax = da.plot_t_visibility(tv[tv[self.QW] == "4ms"], by=[self.R, self.W])
        self.assertEqual([line.get_label() for line in ax.lines],
                         ["r = 1, w = 1", "r = 1, w = 2", "r = 2, w = 1", "r = 2, w = 2"])
        self.assertEqual(len(ax.collections), 4)  # a confidence band per line

    def test_tradeoff(self):
        ax = da.plot_tradeoff(self.sweep, ("stale_read_rate", "run", ""),
                              ("latency_ms_p99", "clients", "get"), by=[self.R, self.W],
                              annotate=self.QW)
        self.assertEqual(len(ax.containers), 4)  # one errorbar line per R/W
        x = self.sweep.select("stale_read_rate", "run", "")
        y = self.sweep.select("latency_ms_p99", "clients", "get")
        line = ax.containers[0].lines[0]  # r = w = 1, by delay
        part_x = x[(x[self.R] == "1") & (x[self.W] == "1")].sort_values(self.QW + "_value")
        part_y = y[(y[self.R] == "1") & (y[self.W] == "1")].sort_values(self.QW + "_value")
        self.assertEqual(list(line.get_xdata()), list(part_x["mean"]))
        self.assertEqual(list(line.get_ydata()), list(part_y["mean"]))
        self.assertEqual([t.get_text() for t in ax.texts[:3]], ["1ms", "4ms", "16ms"])
        self.assertEqual(ax.get_ylabel(), "clients get latency_ms_p99")

    def test_metric_vs_param_by_a_zipped_axis(self):
        ax = da.plot_metric_vs_param(self.sweep, "stale_read_rate", self.QW,
                                     by=[self.R, self.W], group="run", op="")
        self.assertEqual([line.get_label() for line in ax.lines],
                         ["r = 1, w = 1", "r = 1, w = 2", "r = 2, w = 1", "r = 2, w = 2"])
        self.assertEqual(list(ax.lines[0].get_xdata()), [0.001, 0.004, 0.016])


class Worksheet(unittest.TestCase):
    """What the notebooks share: checked claims and an output folder."""

    def setUp(self):
        self.env = {k: os.environ.get(k) for k in ("DSIM_NOTEBOOK_STRICT", "DSIM_NOTEBOOK_OUT",
                                                   "XDG_CACHE_HOME")}
        for k in self.env:
            os.environ.pop(k, None)
        self.tmp = Path(tempfile.mkdtemp(prefix="dsim_worksheet_"))

    def tearDown(self):
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(self.tmp)

    def test_a_failed_check_warns_every_time_and_the_run_goes_on(self):
        printed = io.StringIO()
        with warnings.catch_warnings(record=True) as seen, contextlib.redirect_stdout(printed):
            warnings.simplefilter("default")
            for _ in range(2):  # the same check again (a cell run twice) warns again
                da.check(1 > 2, "one is more than two", "1 against 2")
            da.check(2 > 1, "two is more than one")
        self.assertEqual(printed.getvalue(), "ok: two is more than one\n")
        self.assertEqual([str(w.message) for w in seen],
                         ["CHECK FAILED: one is more than two (1 against 2)"] * 2)
        self.assertTrue(all(w.category is da.ClaimWarning for w in seen))
        self.assertEqual(Path(seen[0].filename).resolve(), Path(__file__).resolve())

    def test_strict_makes_a_failed_check_an_error(self):
        os.environ["DSIM_NOTEBOOK_STRICT"] = "1"
        self.assertTrue(da.strict())
        with self.assertRaisesRegex(da.ClaimWarning, "CHECK FAILED: one is more than two"):
            da.check(1 > 2, "one is more than two")
        with contextlib.redirect_stdout(io.StringIO()):
            da.check(2 > 1, "two is more than one")
        os.environ["DSIM_NOTEBOOK_STRICT"] = "0"
        self.assertFalse(da.strict())

    def test_failed_checks_read_from_dsim_output(self):
        run = ("checks:\n  PASS  availability >= 0.99  (1)\n  FAIL  latency_ms_p99 < 50  (61.2)\n")
        self.assertEqual(da.failed_checks(run), "latency_ms_p99 < 50  (61.2)")
        sweep = ("  check 'availability >= 0.99': 3 of 3 passed; closest to failing r0 (seed 7): 1\n"
                 "  check 'latency_ms_p99 < 50': 1 of 3 passed; worst r1 (seed 9): 197.7\n")
        self.assertEqual(da.failed_checks(sweep), "latency_ms_p99 < 50: 1 of 3 passed")
        self.assertIsNone(da.failed_checks("checks:\n  PASS  availability >= 0.99  (1)\n"))

    def test_output_dir_is_outside_the_repository(self):
        os.environ["XDG_CACHE_HOME"] = str(self.tmp / "cache")
        out = da.output_dir("some_lab")
        self.assertEqual(out, (self.tmp / "cache" / "dsim" / "notebooks" / "some_lab").resolve())
        self.assertTrue(out.is_dir())
        os.environ["DSIM_NOTEBOOK_OUT"] = str(self.tmp / "ci")
        self.assertEqual(da.output_dir("some_lab"), (self.tmp / "ci" / "some_lab").resolve())
        (self.tmp / "file").write_text("")
        os.environ["DSIM_NOTEBOOK_OUT"] = str(self.tmp / "file")  # cannot hold folders
        out = da.output_dir("some_lab")
        self.assertTrue(out.is_dir())
        self.assertNotIn(str(REPO), str(out))

    def test_fault_labels_close_together_take_separate_rows(self):
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.set_xlim(0, 30)
        ax.set_ylim(0, 1)
        faults = pd.DataFrame({"start_s": [10.0, 10.5, 20.0], "end_s": [15.0, 10.5, 25.0],
                               "label": ["crash web.0", "restart web.0", "crash web.2"]})
        da.shade_faults(ax, faults)
        offsets = [t.xyann[1] for t in ax.texts]
        self.assertEqual(offsets[0], offsets[2])   # far apart: the same row
        self.assertLess(offsets[1], offsets[0])    # close to the first: the row below
        self.assertGreater(ax.get_ylim()[1], 1)    # room above the data for the labels
        plt.close(fig)


if __name__ == "__main__":
    unittest.main()
