#!/usr/bin/env python3
"""The benchmark's picture: an SVG drawn from the JSON of one run (bench/run.py --json).

    python3 bench/chart.py RESULTS.json OUT.svg

Three panels, each from the run's own numbers: detection latency per tool and start-up overhead
per tool (medians as bars, min–max as whiskers, log scale), and the scale curve (time and peak RSS
against the number of targets, log–log). The machine the run was made on is written under it.
No plotting library: the figure is plain SVG text, so the benchmark needs nothing more.
"""

import json
import math
import re
import statistics
import sys
from html import escape

WIDTH = 900
BAR = 18
GAP = 6
LEFT = 250  # room for tool names
RIGHT = 40
COLORS = {"ours": "#1f77b4", "other": "#9a9a9a", "rss": "#d62728"}


def _finite(values):
    return [v for v in values if v is not None]


# The smallest value a log axis shows: a latency measured at or below zero (the tool was already
# polling when the server's own line was written) is drawn at the axis' left end, and the medians
# are those of every run, as in the tables.
FLOOR = 0.1


def _pos(v):
    return max(v, FLOOR)


def _log_ticks(lo, hi):
    """Powers of ten (and their 2× and 5×) spanning [lo, hi]."""
    ticks = []
    e = math.floor(math.log10(lo))
    while 10**e <= hi * 1.0001:
        for m in (1, 2, 5):
            t = m * 10**e
            if lo / 1.0001 <= t <= hi * 1.0001:
                ticks.append(t)
        e += 1
    return ticks


def _label(v):
    if v >= 1000:
        return f"{v / 1000:g}k" if v < 1e6 else f"{v:g}"
    return f"{v:g}"


def bars(title, unit, rows, y0):
    """A horizontal bar chart of medians with min–max whiskers, on a log axis; returns (svg, height)."""
    rows = {k: _finite(v) for k, v in rows.items()}
    rows = {k: v for k, v in rows.items() if v}
    if not rows:
        return "", 0
    order = sorted(rows, key=lambda k: statistics.median(rows[k]))
    lo = _pos(min(min(v) for v in rows.values()))
    hi = _pos(max(max(v) for v in rows.values()))
    lo = 10 ** math.floor(math.log10(lo))
    hi = 10 ** math.ceil(math.log10(hi))
    span = WIDTH - LEFT - RIGHT

    def x(v):
        return LEFT + span * (math.log10(_pos(v)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [f'<text x="10" y="{y0 + 16}" font-weight="bold">{escape(title)} ({escape(unit)}, log scale)</text>']
    top = y0 + 28
    height = len(order) * (BAR + GAP)
    for t in _log_ticks(lo, hi):
        out.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{top + height}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x(t):.1f}" y="{top + height + 14}" text-anchor="middle" font-size="11">{_label(t)}</text>')
    for i, name in enumerate(order):
        vals = rows[name]
        med = statistics.median(vals)
        y = top + i * (BAR + GAP)
        color = COLORS["ours"] if name.startswith("readygate") else COLORS["other"]
        out.append(f'<text x="{LEFT - 8}" y="{y + BAR - 5}" text-anchor="end" font-size="12">{escape(name)}</text>')
        out.append(f'<rect x="{LEFT}" y="{y}" width="{max(x(med) - LEFT, 1):.1f}" height="{BAR}" fill="{color}"/>')
        mid = y + BAR / 2
        out.append(f'<line x1="{x(min(vals)):.1f}" y1="{mid}" x2="{x(max(vals)):.1f}" y2="{mid}" stroke="#333"/>')
        out.append(f'<text x="{x(med) + 4:.1f}" y="{y + BAR - 5}" font-size="11" fill="#111">{med:.3g}</text>')
    return "\n".join(out), 28 + height + 24


def scale_curve(wall, rss, y0):
    """Time and peak RSS against the number of TCP targets, log–log; returns (svg, height)."""
    points = []
    for name, vals in wall.items():
        count = re.search(r"(\d[\d,]*) TCP target", name)
        if not count or "ulimit" in name or not _finite(vals):
            continue
        digits = count.group(1).replace(",", "")
        mem = _finite(rss.get(name, []))
        points.append((int(digits), statistics.median(_finite(vals)), statistics.median(mem) if mem else None))
    points.sort()
    if len(points) < 2:
        return "", 0
    h = 220
    top = y0 + 28
    span = WIDTH - LEFT - RIGHT
    nlo, nhi = points[0][0], points[-1][0]
    vals = [p[1] for p in points] + [p[2] for p in points if p[2]]
    vlo = 10 ** math.floor(math.log10(min(vals)))
    vhi = 10 ** math.ceil(math.log10(max(vals)))

    def x(n):
        return LEFT + span * (math.log10(n) - math.log10(nlo)) / max(math.log10(nhi) - math.log10(nlo), 1e-9)

    def y(v):
        return top + h - h * (math.log10(v) - math.log10(vlo)) / (math.log10(vhi) - math.log10(vlo))

    out = [f'<text x="10" y="{y0 + 16}" font-weight="bold">Scale: TCP targets → all ready and the command '
           f'running (log–log)</text>']
    for t in _log_ticks(vlo, vhi):
        out.append(f'<line x1="{LEFT}" y1="{y(t):.1f}" x2="{LEFT + span}" y2="{y(t):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11">{_label(t)}</text>')
    for n, _, _ in points:
        out.append(f'<text x="{x(n):.1f}" y="{top + h + 14}" text-anchor="middle" font-size="11">{n:,} target{"s" if n != 1 else ""}</text>')
    for key, idx in (("ours", 1), ("rss", 2)):
        pts = [(x(p[0]), y(p[idx])) for p in points if p[idx]]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLORS[key]}" stroke-width="2"/>')
        for (px, py), p in zip(pts, [p for p in points if p[idx]]):
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{COLORS[key]}"/>')
            out.append(f'<text x="{px + 5:.1f}" y="{py - 5:.1f}" font-size="11" fill="{COLORS[key]}">{p[idx]:.3g}</text>')
    out.append(f'<text x="10" y="{top + 40}" font-size="12" fill="{COLORS["ours"]}">— time (ms)</text>')
    out.append(f'<text x="10" y="{top + 58}" font-size="12" fill="{COLORS["rss"]}">— peak RSS (MiB)</text>')
    return "\n".join(out), 28 + h + 30


def find(raw, prefix):
    return next((rows for title, rows in raw.items() if title.startswith(prefix)), {})


def render(data):
    raw = data["tables"]
    parts, y = [], 10
    for title, unit, prefix in (
        ("Detection: port opens → command running", "ms", "Detection latency"),
        ("Start-up: dependency up → command running", "ms", "Overhead, dependency already up"),
        ("Start-up CPU time", "ms", "Overhead: CPU time"),
    ):
        svg, h = bars(title, unit, find(raw, prefix), y)
        parts.append(svg)
        y += h
    svg, h = scale_curve(find(raw, "Scale: start"), find(raw, "Scale: peak RSS"), y)
    parts.append(svg)
    y += h
    m = data.get("machine", {})
    parts.append(f'<text x="10" y="{y + 12}" font-size="11" fill="#555">{escape(m.get("summary", ""))}</text>')
    height = y + 24
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'font-family="sans-serif" font-size="13">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(p for p in parts if p) + "\n</svg>\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py RESULTS.json OUT.svg")
    data = json.loads(open(sys.argv[1]).read())
    with open(sys.argv[2], "w") as f:
        f.write(render(data))


if __name__ == "__main__":
    main()
