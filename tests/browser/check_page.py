#!/usr/bin/python3
"""Opens a page dsim wrote (a report or a message diagram) in headless Chromium and checks
that it renders: no script error, no console error, no resource that failed to load, and
every chart drawn with data and a size on screen. Saves a screenshot.

    check_page.py CHROMIUM PAGE SCREENSHOT [--min-charts N] [--min-diagrams N]

How: a copy of the page gets a probe script (error and console.error listeners first in
<head>; the checks after load) that writes its findings as JSON into the page; Chromium's
--dump-dom prints the page after its scripts ran. The screenshot is of the page as written.
Exit 0 when the page passes, 1 with one line per problem when it does not, 2 on bad usage.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBE_HEAD = """<script>
window.__dsimProblems = [];
window.addEventListener('error', function (e) {
  var what = e.message || ((e.target && (e.target.src || e.target.href)) || 'resource');
  window.__dsimProblems.push('error: ' + what);
}, true);
(function () {
  var error = console.error;
  console.error = function () {
    window.__dsimProblems.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return error.apply(console, arguments);
  };
})();
</script>"""

PROBE_BODY = """<script>
window.addEventListener('load', function () {
  var out = {problems: window.__dsimProblems, charts: [], diagrams: []};
  function drawn(el) {
    var box = el.getBoundingClientRect();
    var marks = el.querySelectorAll('path, polyline, line, rect, circle, polygon').length;
    return {width: box.width, height: box.height, marks: marks};
  }
  document.querySelectorAll('figure.chart').forEach(function (f, i) {
    var svg = f.querySelector('svg');
    var d = svg ? drawn(svg) : {width: 0, height: 0, marks: 0};
    d.points = Number(f.getAttribute('data-points') || 0);
    d.title = (f.querySelector('figcaption, h3, h4') || {}).textContent || ('chart ' + i);
    out.charts.push(d);
  });
  document.querySelectorAll('svg.message-diagram').forEach(function (s, i) {
    var d = drawn(s);
    d.messages = Number(s.getAttribute('data-messages') || 0);
    d.title = 'message diagram ' + i;
    out.diagrams.push(d);
  });
  var pre = document.createElement('pre');
  pre.id = 'dsim-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--hide-scrollbars"]


def chromium(binary, profile, args, timeout=120):
    cmd = [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def with_probe(html):
    head = re.search(r"<head[^>]*>", html, re.I)
    body_end = html.lower().rfind("</body>")
    if head is None or body_end < 0:
        return None
    html = html[:head.end()] + PROBE_HEAD + html[head.end():]
    body_end = html.lower().rfind("</body>")
    return html[:body_end] + PROBE_BODY + html[body_end:]


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = dict(re.match(r"--([a-z-]+)=(\d+)$", a).groups() for a in argv[1:]
                if re.match(r"--([a-z-]+)=(\d+)$", a))
    if len(args) != 3:
        print(__doc__.strip().splitlines()[4].strip(), file=sys.stderr)
        return 2
    binary, page, screenshot = args
    min_charts = int(opts.get("min-charts", 0))
    min_diagrams = int(opts.get("min-diagrams", 0))
    with open(page, encoding="utf-8") as f:
        html = f.read()
    problems = []
    if re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I):
        problems.append("the page loads something from the network")
    probed = with_probe(html)
    if probed is None:
        print(f"{page}: not an HTML page with <head> and </body>", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="dsim-browser-")
    try:
        copy = os.path.join(work, "probed.html")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(probed)
        run = chromium(binary, os.path.join(work, "p1"),
                       ["--virtual-time-budget=5000", "--dump-dom", "file://" + copy])
        found = re.search(r'<pre id="dsim-probe">(.*?)</pre>', run.stdout, re.S)
        if found is None:
            print(f"{page}: the page never finished loading in Chromium "
                  f"(exit {run.returncode}): {run.stderr.strip()[-400:]}", file=sys.stderr)
            return 1
        text = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        probe = json.loads(text.replace("&amp;", "&"))
        shot = chromium(binary, os.path.join(work, "p2"),
                        ["--window-size=1280,4000", "--screenshot=" + os.path.abspath(screenshot),
                         "file://" + os.path.abspath(page)])
        if not os.path.exists(screenshot) or os.path.getsize(screenshot) == 0:
            problems.append(f"no screenshot (exit {shot.returncode})")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    problems += probe["problems"]
    for kind, items, key, least in (("chart", probe["charts"], "points", min_charts),
                                    ("diagram", probe["diagrams"], "messages", min_diagrams)):
        if len(items) < least:
            problems.append(f"{len(items)} {kind}s, expected at least {least}")
        for c in items:
            name = " ".join(c["title"].split())[:80]
            if c[key] <= 0:
                problems.append(f"{kind} '{name}' has no data ({key}={c[key]})")
            if c["width"] < 50 or c["height"] < 30 or c["marks"] == 0:
                problems.append(f"{kind} '{name}' is not drawn "
                                f"({c['width']:.0f}x{c['height']:.0f} px, {c['marks']} marks)")
    for p in problems:
        print(f"{page}: {p}", file=sys.stderr)
    print(f"{page}: {len(probe['charts'])} charts, {len(probe['diagrams'])} diagrams, "
          f"{len(problems)} problems; screenshot {screenshot}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
