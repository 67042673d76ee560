"""What the notebooks in notebooks/ share: where a notebook's results go, and how it checks
the claims it teaches.

    OUT = da.output_dir("cap_lab")        # ${XDG_CACHE_HOME:-~/.cache}/dsim/notebooks/cap_lab
    da.check(p99 < 2, "R = W = 1 waits for no remote replica: p99 under 2 ms")

A claim that does not hold is a warning (ClaimWarning, "CHECK FAILED: <claim>"), so a
student who changes the parameters sees which lessons no longer hold and the notebook runs
on; with DSIM_NOTEBOOK_STRICT=1 (as the tests run the notebooks) it is an error instead.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

STRICT_ENV = "DSIM_NOTEBOOK_STRICT"  # set (not 0): a failed check raises ClaimWarning
OUT_ENV = "DSIM_NOTEBOOK_OUT"        # where notebooks write their results, one folder each


class ClaimWarning(UserWarning):
    """A claim a notebook teaches did not hold in its runs."""


def strict() -> bool:
    """True when failed checks are errors (DSIM_NOTEBOOK_STRICT set, not empty or 0)."""
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def check(condition, claim: str, detail=None) -> None:
    """Checks one claim of a notebook: prints `ok: <claim>` when `condition` holds, else
    warns `CHECK FAILED: <claim>` (with `detail`, e.g. the values seen, when given) as a
    ClaimWarning. The warning is shown every time, also when a cell is
    run again; under DSIM_NOTEBOOK_STRICT=1 (or a warnings filter that makes ClaimWarning
    an error) it is raised instead."""
    if bool(condition):
        print(f"ok: {claim}")
        return
    message = f"CHECK FAILED: {claim}" + ("" if detail is None else f" ({detail})")
    if strict():
        raise ClaimWarning(message)
    frame = sys._getframe(1)
    # A fresh registry each time: the warning is never swallowed as "already shown".
    warnings.warn_explicit(message, ClaimWarning, frame.f_code.co_filename, frame.f_lineno,
                           registry={})


def output_dir(name: str) -> Path:
    """The directory for one notebook's results, created if need be, outside the
    repository: $DSIM_NOTEBOOK_OUT/<name> when set, else
    ${XDG_CACHE_HOME:-~/.cache}/dsim/notebooks/<name>; a fresh temporary directory when
    that cannot be created."""
    base = os.environ.get(OUT_ENV)
    if base:
        out = Path(base).expanduser() / name
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        out = Path(cache).expanduser() / "dsim" / "notebooks" / name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError:
        out = Path(tempfile.mkdtemp(prefix=f"dsim-{name}-"))
    return out.resolve()


def failed_checks(output: str) -> str | None:
    """The scenario checks that failed, from what `dsim run` or `dsim sweep` printed (its
    `FAIL` lines, or a sweep's `check '...': k of n passed` with k < n), joined by '; ';
    None when none did. For check()'s detail:
    `da.check(proc.returncode == 0, "...", da.failed_checks(proc.stdout))`."""
    failed = []
    for line in output.splitlines():
        line = line.strip()
        m = re.match(r"check '(.*)': (\d+) of (\d+) passed", line)
        if line.startswith("FAIL"):
            failed.append(line[len("FAIL"):].strip())
        elif m and int(m.group(2)) < int(m.group(3)):
            failed.append(f"{m.group(1)}: {m.group(2)} of {m.group(3)} passed")
    return "; ".join(dict.fromkeys(failed)) or None
