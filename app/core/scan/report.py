"""`planscope report scan.h5 --out scan.html`: one self-contained HTML page (inline SVG, no
scripts) of a scan: provenance, collapse / averaging / off-data counts per policy, the
distribution of each metric, the worst episodes, and the worst frames with thumbnails of their
plans (top view x-y, demonstrated chunk dashed) when the scan kept them (--keep-plans).
"""
from __future__ import annotations

import os
from html import escape

import numpy as np

from recordings.formats.scan_reader import ScanReader
from recordings.scan_ranking import FLAGS, METRICS, NONDETERMINISTIC, dataset_table, \
    episode_table, hardness

COLOURS = ("#E69F00", "#0072B2")
CSS = ("body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;"
       "color:#222;max-width:1100px}table{border-collapse:collapse;margin:8px 0 18px}"
       "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}"
       "td:first-child,th:first-child{text-align:left}.bad{color:#c0392b;font-weight:bold}"
       ".thumbs{display:flex;flex-wrap:wrap;gap:10px}.thumb{font-size:12px}")
HIST_METRICS = ("demo_dist_nearest", "demo_dist_mean", "coverage", "missed_share", "averaging",
                "off_data_share", "spread", "latency_ms")


def _histogram(name: str, series: list[np.ndarray], labels: list[str], width: int = 340,
               height: int = 150, bins: int = 24) -> str:
    """Share of frames per bin, one outline per policy (SVG)."""
    data = [v[np.isfinite(v)] for v in series]
    allv = np.concatenate(data) if any(len(d) for d in data) else np.zeros(0)
    body = [f'<text x="6" y="14" font-size="12" font-weight="bold">{escape(name)}</text>']
    if not len(allv):
        body.append('<text x="120" y="80" fill="#999">no values</text>')
    else:
        lo, hi = float(allv.min()), float(allv.max())
        hi = hi if hi > lo else lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        counts = [np.histogram(d, edges)[0] / max(len(d), 1) for d in data]
        top = max(float(c.max()) for c in counts) or 1.0
        x0, w, y0, h = 30, width - 40, 24, height - 50
        for i, c in enumerate(counts):
            pts = []
            for b in range(bins):
                x1, x2 = x0 + w * b / bins, x0 + w * (b + 1) / bins
                y = y0 + h - h * c[b] / top
                pts += [f"{x1:.1f},{y:.1f}", f"{x2:.1f},{y:.1f}"]
            body.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{COLOURS[i % 2]}"'
                        f' stroke-width="1.6"><title>{escape(labels[i])}</title></polyline>')
        body.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{y0 + h}" y2="{y0 + h}" stroke="#999"/>')
        body.append(f'<text x="{x0}" y="{height - 12}" font-size="11">{lo:.3g}</text>')
        body.append(f'<text x="{x0 + w}" y="{height - 12}" font-size="11" text-anchor="end">'
                    f'{hi:.3g}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            + "".join(body) + "</svg>")


def _thumbnail(plans: np.ndarray, demo: np.ndarray, size: int = 150) -> str:
    """Top view (x, y of the first two action dims) of plans [P, N, H, D] and the demo [H, D]."""
    pts = np.concatenate([plans[..., :2].reshape(-1, 2), demo[:, :2]])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return ""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = float(max((hi - lo).max(), 1e-6))

    def xy(path: np.ndarray) -> str:
        p = (path[:, :2] - lo) / span * (size - 12) + 6
        return " ".join(f"{a:.1f},{size - b:.1f}" for a, b in p if np.isfinite(a + b))
    body = [f'<rect width="{size}" height="{size}" fill="#fafafa" stroke="#ddd"/>']
    for i, batch in enumerate(plans):
        for plan in batch:
            body.append(f'<polyline points="{xy(plan)}" fill="none" stroke="{COLOURS[i % 2]}" '
                        f'stroke-opacity="0.45" stroke-width="1"/>')
    body.append(f'<polyline points="{xy(demo)}" fill="none" stroke="#000" stroke-width="1.8" '
                f'stroke-dasharray="4 2"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">'
            + "".join(body) + "</svg>")


def render_report(path: str, worst: int = 20) -> str:
    with ScanReader(path) as r:
        frames = r.frames()
        labels = [p.get("label", f"policy {i}") for i, p in enumerate(r.policies)] or ["policy"]
        header, status = r.header, r.status
        table = dataset_table(frames)
        episodes = episode_table(frames)
        p = len(labels) - 1
        score, order = hardness(frames, p)
        top = order[:worst]
        thumbs = ("plans" in r.spec and "demo" in r.spec)
        plans = r.rows("plans", top) if thumbs and len(top) else None
        demos = r.rows("demo", top) if thumbs and len(top) else None
    parts = [f"<h1>Scan of {escape(os.path.basename(str(header.get('data', {}).get('path', ''))))}"
             f"</h1><p>{escape(status)}</p>"]
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
                   for k, v in (("data", header.get("data")), ("settings", header.get("settings")),
                                *((f"policy {lab}", pol) for lab, pol in
                                  zip(labels, header.get("policies", [])))))
    given = header.get("data", {}).get("shares")
    if given:
        judged = ", ".join(f"{m} {v:.0%}" for m, v in given.items())
        rows = (f"<tr><td>judged against</td><td>{escape(judged)} (--data-shares: "
                f"{escape(str(header['data'].get('shares_source', '')))}), not the neighbours' "
                f"shares</td></tr>") + rows
    parts.append(f"<h2>Provenance</h2><table>{rows}</table>")
    head = "".join(f"<th>{escape(lab)}</th>" for lab in labels)
    body = ""
    for flag in FLAGS:
        if flag in table:
            body += f"<tr><td>{flag}</td>" + "".join(
                f"<td>{int(table[flag][i])} ({table[f'{flag}_share'][i]:.1%})</td>"
                for i in range(len(labels))) + "</tr>"
    for m in ("demo_dist_nearest", "coverage", "spread"):
        if f"median_{m}" in table:
            body += f"<tr><td>median {m}</td>" + "".join(
                f"<td>{table[f'median_{m}'][i]:.3g}</td>" for i in range(len(labels))) + "</tr>"
    parts.append(f"<h2>Frames flagged</h2><table><tr><th></th>{head}</tr>{body}</table>")
    hists = [_histogram(f"{m} ({METRICS[m][1]})", [np.asarray(frames[m])[:, i].astype(float)
                                                  for i in range(len(labels))], labels)
             for m in HIST_METRICS if m in frames]
    parts.append("<h2>Distribution of each metric</h2><p>" + " ".join(
        f'<span style="color:{COLOURS[i % 2]}">&#9632; {escape(lab)}</span>'
        for i, lab in enumerate(labels)) + "</p><div class='thumbs'>" + "".join(hists) + "</div>")
    flagged = sum(episodes[f][:, p] for f in FLAGS if f in episodes)
    ep_order = np.lexsort((episodes["episode"], -flagged))[:worst]
    rows = "".join(f"<tr><td>{int(episodes['episode'][i])}</td><td>{int(episodes['frames'][i])}"
                   f"</td><td>{int(flagged[i])}</td><td>{int(episodes['worst_frame'][i, p])}</td>"
                   f"<td>{episodes['worst_score'][i, p]:.2f}</td></tr>" for i in ep_order)
    parts.append(f"<h2>Worst episodes ({escape(labels[p])})</h2><table><tr><th>episode</th>"
                 f"<th>frames scanned</th><th>frames flagged</th><th>worst frame</th>"
                 f"<th>its hardness</th></tr>{rows}</table>")
    cards = []
    for k, i in enumerate(top):
        flags = " ".join(f for f in FLAGS if f in frames and np.atleast_1d(frames[f][i])[p])
        pic = _thumbnail(plans[k], demos[k]) if plans is not None else ""
        cards.append(f"<div class='thumb'>{pic}<br>#{k + 1} episode {int(frames['episode'][i])} "
                     f"frame {int(frames['frame'][i])}<br>score {score[i]:.2f} "
                     f"<span class='bad'>{escape(flags)}</span></div>")
    note = "" if plans is not None else ("<p>This scan did not keep its plans (--keep-plans): "
                                         "no thumbnails.</p>")
    parts.append(f"<h2>Hardest frames ({escape(labels[p])})</h2>{note}<div class='thumbs'>"
                 + "".join(cards) + "</div>")
    parts.append("<p>Hardness: 4 x (collapsed, averaged, off its data or invalid) + 2 x "
                 "percentile of the distance to the demonstration + 1 x percentile of the "
                 f"spread (docs/scan.md). Not summarised: {', '.join(NONDETERMINISTIC)} "
                 "only in its histogram.</p>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>planscope scan report"
            f"</title><style>{CSS}</style></head><body>" + "\n".join(parts) + "</body></html>")


def write_report(path: str, out: str) -> str:
    """Render and write atomically (tmp + rename); returns the absolute output path."""
    from recordings.atomic import remove_quietly, replace
    out = os.path.abspath(out)
    html = render_report(path)
    tmp = out + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(html)
        replace(tmp, out, durable=True)
    except BaseException:
        remove_quietly(tmp)
        raise
    return out
