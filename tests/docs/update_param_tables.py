#!/usr/bin/env python3
"""Regenerates the parameter table of every docs/models/<name>.md (`make docs`).

The table is what `dsim list models --markdown` prints for the model, and sits between
the page's `<!-- params:begin -->` and `<!-- params:end -->` lines. A page without the
markers gets a "Parameters" section at its end; a model without a page gets a page.
tests/unit/test_docs.cpp fails when a page is not what this script would write.

Usage: tests/docs/update_param_tables.py [DSIM]   (default: build/dsim)
"""
import os
import re
import subprocess
import sys

BEGIN, END = "<!-- params:begin -->\n", "<!-- params:end -->"


def tables(dsim):
    out = subprocess.run([dsim, "list", "models", "--markdown"], check=True,
                         capture_output=True, text=True).stdout
    parts = re.split(r"^## `([^`]+)`\n\n", out, flags=re.M)
    return {parts[i]: parts[i + 1].rstrip("\n") + "\n" for i in range(1, len(parts), 2)}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dsim = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "dsim")
    for name, table in tables(dsim).items():
        path = os.path.join(root, "docs", "models", name + ".md")
        text = open(path, encoding="utf-8").read() if os.path.exists(path) else f"# `{name}`\n"
        begin, end = text.find(BEGIN), text.find(END)
        if begin < 0 or end < begin:
            new = text.rstrip("\n") + "\n\n## Parameters\n\n" + BEGIN + table + END + "\n"
        else:
            new = text[:begin + len(BEGIN)] + table + text[end:]
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            print("updated", os.path.relpath(path, root))


if __name__ == "__main__":
    main()
