"""Small inline-SVG charts for the self-contained HTML report (no plotting library, no scripts).

Every function returns one `<svg>` element as text, sized in CSS pixels, with a <title> per mark
so hovering in a browser shows the exact value.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np

POLICY_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
GRID = "#e3e3e3"
TEXT = "#333"
FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif"


def _tick(v: float) -> str:
    """Axis number without scientific notation: 0.18, 7.9, 52, 340, 2230."""
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2g}" if v < 10 else f"{v:.0f}"


def policy_colour(i: int) -> str:
    return POLICY_COLOURS[i % len(POLICY_COLOURS)]


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
            f'style="{FONT};font-size:12px">' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, anchor: str = "middle", size: int = 12, weight: str = "normal",
          fill: str = TEXT, rotate: float | None = None) -> str:
    rot = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}"{rot}>{escape(s)}</text>')


def _legend(names: list[str], colours: list[str], x: float, y: float) -> list[str]:
    out, cx = [], x
    for name, colour in zip(names, colours):
        out.append(f'<rect x="{cx:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" '
                   f'fill="{colour}"/>')
        out.append(_text(cx + 16, y, name, anchor="start"))
        cx += 28 + 7 * len(name)
    return out


def grouped_bars(groups: list[str], series: list[str], values: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, *, title: str, ylabel: str, percent: bool = True,
                 colours: list[str] | None = None, width: int = 760, height: int = 320) -> str:
    """Bars values[s, g] for each group g (x axis) and series s (colour), whiskers lo..hi
    (NaN = no whisker). Values in [0, 1] are drawn as percentages when `percent`."""
    values, lo, hi = (np.asarray(a, np.float64) for a in (values, lo, hi))
    colours = colours or [policy_colour(i) for i in range(len(series))]
    left, right, top, bottom = 56, 16, 64, 52
    pw, ph = width - left - right, height - top - bottom
    finite = np.concatenate([values[np.isfinite(values)], hi[np.isfinite(hi)]])
    ymax = 1.0 if percent else (float(finite.max()) * 1.1 if finite.size and finite.max() > 0 else 1.0)
    body = [_text(left, 18, title, anchor="start", size=14, weight="bold")]
    body += _legend(series, colours, left, 36)
    for k in range(6):
        v = ymax * k / 5
        y = top + ph - ph * v / ymax
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, f"{100 * v:.0f}%" if percent else f"{v:.3g}", "end"))
    body.append(_text(14, top + ph / 2, ylabel, rotate=-90))
    gw = pw / max(1, len(groups))
    bw = min(48.0, 0.8 * gw / max(1, len(series)))
    for g, name in enumerate(groups):
        gx = left + g * gw + (gw - bw * len(series)) / 2
        body.append(_text(left + (g + 0.5) * gw, top + ph + 18, name))
        for s in range(len(series)):
            v = values[s, g]
            if not np.isfinite(v):
                continue
            x, h = gx + s * bw, ph * v / ymax
            label = f"{series[s]} / {name}: " + (f"{100 * v:.1f}%" if percent else f"{v:.3g}")
            if np.isfinite(lo[s, g]) and np.isfinite(hi[s, g]):
                label += (f" (95% CI {100 * lo[s, g]:.1f}-{100 * hi[s, g]:.1f}%)" if percent
                          else f" ({lo[s, g]:.3g}-{hi[s, g]:.3g})")
            body.append(f'<rect x="{x + 2:.1f}" y="{top + ph - h:.1f}" width="{bw - 4:.1f}" '
                        f'height="{max(h, 0.5):.1f}" fill="{colours[s]}"><title>{escape(label)}'
                        f'</title></rect>')
            body.append(_text(x + bw / 2, top + ph - h - 4 if not np.isfinite(hi[s, g]) else
                              top + ph - ph * hi[s, g] / ymax - 4,
                              f"{100 * v:.0f}%" if percent else f"{v:.2g}", size=10))
            if np.isfinite(lo[s, g]) and np.isfinite(hi[s, g]):
                y1, y2 = top + ph - ph * lo[s, g] / ymax, top + ph - ph * hi[s, g] / ymax
                cx = x + bw / 2
                body.append(f'<path d="M{cx:.1f},{y1:.1f}V{y2:.1f}M{cx - 5:.1f},{y1:.1f}h10'
                            f'M{cx - 5:.1f},{y2:.1f}h10" stroke="#111" stroke-width="1.3" '
                            f'fill="none"/>')
    body.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#888"/>')
    return _svg(width, height, body, title)


def stacked_shares(rows: list[str], parts: list[str], shares: np.ndarray, *, title: str,
                   colours: list[str], width: int = 760, row_height: int = 30) -> str:
    """One horizontal bar per row, split by shares[r, p] (each row sums to ~1; NaN rows say
    'no data')."""
    shares = np.asarray(shares, np.float64)
    left, right, top = 170, 20, 50
    pw = width - left - right
    height = top + row_height * len(rows) + 16
    body = [_text(12, 18, title, anchor="start", size=14, weight="bold")]
    body += _legend(parts, colours, left, 38)
    for r, name in enumerate(rows):
        y = top + r * row_height
        body.append(_text(left - 8, y + row_height / 2 + 4, name, anchor="end"))
        if not np.all(np.isfinite(shares[r])):
            body.append(_text(left + 4, y + row_height / 2 + 4, "no data", anchor="start",
                              fill="#999"))
            continue
        x = left
        for p, part in enumerate(parts):
            w = pw * shares[r, p]
            if w <= 0:
                continue
            body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_height - 6}" '
                        f'fill="{colours[p]}"><title>{escape(f"{name}: {part} {100 * shares[r, p]:.1f}%")}'
                        f'</title></rect>')
            if w > 34:
                body.append(_text(x + w / 2, y + row_height / 2 + 4, f"{100 * shares[r, p]:.0f}%",
                                  fill="#fff" if p != len(parts) - 1 else "#222", size=11))
            x += w
    return _svg(width, height, body, title)


def histograms(series: list[str], samples: list[np.ndarray], *, title: str, xlabel: str,
               colours: list[str] | None = None, bins: int = 30, width: int = 760,
               height: int = 300) -> str:
    """Overlaid histograms (share of samples per bin) of one positive quantity per series, on a
    log x axis when it spans more than a decade (latencies of a regression MLP and a diffusion
    policy differ by ~100x). Median and p90 of each series are marked."""
    colours = colours or [policy_colour(i) for i in range(len(series))]
    data = [np.asarray(s, np.float64) for s in samples]
    data = [d[np.isfinite(d) & (d > 0)] for d in data]
    allv = np.concatenate([d for d in data if d.size]) if any(d.size for d in data) else np.zeros(0)
    left, right, top, bottom = 56, 16, 60, 46
    pw, ph = width - left - right, height - top - bottom
    body = [_text(left, 18, title, anchor="start", size=14, weight="bold")]
    body += _legend(series, colours, left, 36)
    if allv.size == 0:
        body.append(_text(width / 2, height / 2, "no data", fill="#999"))
        return _svg(width, height, body, title)
    lo, hi = float(allv.min()), float(allv.max())
    log = hi / max(lo, 1e-9) > 10
    if hi <= lo:
        hi = lo * 1.1 + 1e-6
    edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)

    def xpos(v: float) -> float:
        t = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) if log else \
            (v - lo) / (hi - lo)
        return left + pw * min(1.0, max(0.0, t))

    counts = [np.histogram(d, edges)[0] / max(1, d.size) for d in data]
    ymax = max(float(c.max()) for c in counts) or 1.0
    for k in range(5):
        v = ymax * k / 4
        y = top + ph - ph * v / ymax
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, f"{100 * v:.0f}%", "end"))
    for s, c in enumerate(counts):
        for b in range(bins):
            if c[b] <= 0:
                continue
            x1, x2 = xpos(edges[b]), xpos(edges[b + 1])
            h = ph * c[b] / ymax
            body.append(f'<rect x="{x1:.1f}" y="{top + ph - h:.1f}" width="{max(1.0, x2 - x1 - 0.5):.1f}" '
                        f'height="{h:.1f}" fill="{colours[s]}" fill-opacity="0.6"><title>'
                        f'{escape(f"{series[s]}: {edges[b]:.3g}-{edges[b + 1]:.3g} ms, {100 * c[b]:.1f}%")}'
                        f'</title></rect>')
        if data[s].size:
            for q, dash in ((50, ""), (90, ' stroke-dasharray="4 3"')):
                v = float(np.percentile(data[s], q))
                x = xpos(v)
                body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" '
                            f'stroke="{colours[s]}" stroke-width="2"{dash}><title>'
                            f'{escape(f"{series[s]} p{q}: {v:.3g}")}</title></line>')
    ticks = np.geomspace(lo, hi, 6) if log else np.linspace(lo, hi, 6)
    for k, v in enumerate(ticks):
        anchor = "start" if k == 0 else "end" if k == len(ticks) - 1 else "middle"
        body.append(_text(xpos(v), top + ph + 16, _tick(v), anchor=anchor))
    body.append(_text(left + pw / 2, top + ph + 36, xlabel + (" (log scale)" if log else "")
                      + "; solid line median, dashed p90"))
    body.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#888"/>')
    return _svg(width, height, body, title)


# ink of the light (report) charts -> the same roles on a dark background (the app's theme)
_DARK_INK = {f'"{TEXT}"': '"#d8d8d8"', f'"{GRID}"': '"#3a3f44"', '"#111"': '"#e6e6e6"',
             '"#888"': '"#9a9a9a"', '"#999"': '"#8a8a8a"', '"#222"': '"#f0f0f0"'}


def themed(svg: str, dark: bool) -> str:
    """The chart's text, grid and axis colours for a dark UI (dark=True); policy and mode
    colours stay as they are (they were chosen to read on both)."""
    if not dark:
        return svg
    for light, darker in _DARK_INK.items():
        svg = svg.replace(f"fill={light}", f"fill={darker}").replace(f"stroke={light}",
                                                                     f"stroke={darker}")
    return svg
