"""Server-rendered line charts as inline SVG: no script, no build step, readable on a 360 px phone (the SVG scales
to its container through its viewBox). A chart draws one `tickets.telemetry.Series`: the average per bucket as a
line, the min–max of each bucket as a light band, the first and last time and the value range as labels, and
optionally a marker (when the alarm began). Texts that a person reads come in already translated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from tickets.telemetry import Point, Series

WIDTH, HEIGHT = 400, 200  # a phone-sized viewBox: the labels stay legible at 360 px
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 8, 14, 28


@dataclass(frozen=True, slots=True)
class Marker:
    at: datetime
    label: str


def line_chart(series: Series, *, title: str, empty_text: str, tz: ZoneInfo, markers: Sequence[Marker] = (),
               time_format: str = "%m-%d %H:%M", dots: bool = False) -> Markup:
    """The series as an `<svg>` element (`data-points` = how many points it draws); `dots`: a dot on every point
    too (for a few points, such as one a month, where a lone point would draw no line)."""
    points = series.points
    label = escape(title)
    head = (f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'data-points="{len(points)}" data-source="{escape(series.source)}" data-metric="{escape(series.metric)}"'
            f' xmlns="http://www.w3.org/2000/svg"><title>{label}</title>')
    frame = (f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{WIDTH - PAD_LEFT - PAD_RIGHT}" '
             f'height="{HEIGHT - PAD_TOP - PAD_BOTTOM}" class="chart-frame"/>')
    times = _time_labels(series, tz, time_format)
    if not points:
        middle = f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">'
        return Markup(head + frame + middle + f"{escape(empty_text)}</text>" + times + "</svg>")
    lo = min(p.lo for p in points)
    hi = max(p.hi for p in points)
    if hi - lo < 1e-9:  # a flat line, drawn in the middle; a flat zero (no complaints yet) from 0, never below
        lo, hi = (0.0, 1.0) if abs(lo) < 1e-9 else (lo - 1, hi + 1)
    scale = _Scale(series.start.timestamp(), series.end.timestamp(), lo, hi)
    # Each coordinate is computed and formatted once: a page draws up to 2 × 240 points (line, band and dots
    # share them), and this loop was most of the device page's CPU.
    xs = [f"{x:.1f}" for x in scale.xs([p.t.timestamp() for p in points])]
    avg = [f"{y:.1f}" for y in scale.ys([p.avg for p in points])]
    band = _band(points, scale, xs)
    line = " ".join(f"{x},{y}" for x, y in zip(xs, avg, strict=True))
    unit = escape(series.unit)
    values = (f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" text-anchor="end" class="chart-label">'
              f"{_number(hi)}</text>"
              f'<text x="{PAD_LEFT - 4}" y="{HEIGHT - PAD_BOTTOM}" text-anchor="end" class="chart-label">'
              f"{_number(lo)}</text>"
              f'<text x="{PAD_LEFT - 4}" y="{(HEIGHT - PAD_BOTTOM + PAD_TOP) / 2 + 4}" text-anchor="end" '
              f'class="chart-label">{unit}</text>')
    marks = "".join(_marker(m, scale) for m in markers
                    if series.start.timestamp() <= m.at.timestamp() <= series.end.timestamp())
    body = (f'<polygon class="chart-band" points="{band}"/>'
            f'<polyline class="chart-line" fill="none" points="{line}"/>')
    if dots:
        body += "".join(f'<circle class="chart-dot" cx="{x}" cy="{y}" r="3"/>' for x, y in zip(xs, avg, strict=True))
    return Markup(head + frame + body + marks + values + times + "</svg>")


@dataclass(frozen=True, slots=True)
class _Scale:
    t0: float
    t1: float
    lo: float
    hi: float

    def x(self, t: float) -> float:
        span = max(self.t1 - self.t0, 1.0)
        return PAD_LEFT + (t - self.t0) / span * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(self, v: float) -> float:
        return HEIGHT - PAD_BOTTOM - (v - self.lo) / (self.hi - self.lo) * (HEIGHT - PAD_TOP - PAD_BOTTOM)

    def xs(self, times: Sequence[float]) -> list[float]:
        """`x` of many times (the same arithmetic, with the constants hoisted out of the loop)."""
        t0, k = self.t0, (WIDTH - PAD_LEFT - PAD_RIGHT) / max(self.t1 - self.t0, 1.0)
        return [PAD_LEFT + (t - t0) * k for t in times]

    def ys(self, values: Sequence[float]) -> list[float]:
        """`y` of many values."""
        lo, k = self.lo, (HEIGHT - PAD_TOP - PAD_BOTTOM) / (self.hi - self.lo)
        return [HEIGHT - PAD_BOTTOM - (v - lo) * k for v in values]


def _band(points: Sequence[Point], scale: _Scale, xs: Sequence[str]) -> str:
    """The min–max band: along the tops, then back along the bottoms (`xs`: the points' formatted x)."""
    upper = [f"{x},{y:.1f}" for x, y in zip(xs, scale.ys([p.hi for p in points]), strict=True)]
    lower = [f"{x},{y:.1f}" for x, y in zip(xs, scale.ys([p.lo for p in points]), strict=True)]
    lower.reverse()
    return " ".join(upper + lower)


def _marker(marker: Marker, scale: _Scale) -> str:
    x = scale.x(marker.at.timestamp())
    anchor = "end" if x > WIDTH * 0.7 else "start"
    shift = -4 if anchor == "end" else 4
    return (f'<line class="chart-marker" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_TOP}" y2="{HEIGHT - PAD_BOTTOM}"/>'
            f'<text class="chart-marker-label" x="{x + shift:.1f}" y="{PAD_TOP + 12}" text-anchor="{anchor}">'
            f"{escape(marker.label)}</text>")


def _time_labels(series: Series, tz: ZoneInfo, time_format: str) -> str:
    y = HEIGHT - 8
    start = series.start.astimezone(tz).strftime(time_format)
    end = series.end.astimezone(tz).strftime(time_format)
    return (f'<text x="{PAD_LEFT}" y="{y}" class="chart-label">{escape(start)}</text>'
            f'<text x="{WIDTH - PAD_RIGHT}" y="{y}" text-anchor="end" class="chart-label">{escape(end)}</text>')


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
