"""`planscope report`: one self-contained HTML file summarising an evaluation artifact.

Inline CSS and inline SVG only: no scripts, no fonts, no network. The page holds: the acceptance
verdict (candidate = last policy vs baseline = first), success per perturbation per policy with
95 % Wilson intervals, unsafe contacts per perturbation, mode shares per policy against the
training data, the replan latency histogram, failure labels, the worst rollouts (the review
queue's hardness order) and the run's configuration and code version.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from html import escape

import numpy as np

from app.core.evaluation import svg
from app.core.evaluation.acceptance import decide, format_decision
from app.core.evaluation.summary import EvalSummary, load_summary

MODE_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#F0E442", "#CC79A7", "#0072B2")
OTHER_COLOUR = "#9a9a9a"

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;max-width:960px;
margin:24px auto;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;
padding-bottom:4px}.meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:3px 10px;
border-bottom:1px solid #eee;text-align:left}th{background:#f6f6f6}td.num{text-align:right;
font-variant-numeric:tabular-nums}
.verdict{padding:12px 16px;border-radius:6px;margin:12px 0;font-size:14px}
.ACCEPT{background:#e7f6ec;border:1px solid #7cc493}.REJECT{background:#fdecec;border:1px solid #e39a9a}
.verdict b{font-size:18px}.partial{background:#fff6db;border:1px solid #e6c65c;padding:8px 12px;
border-radius:6px}pre{background:#f7f7f7;padding:8px;font-size:12px;overflow-x:auto}
.fail{color:#b3261e}.ok{color:#1e7b34}figure{margin:12px 0}
"""


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _num(x: float, fmt: str = ".3f") -> str:
    return "" if x is None or not math.isfinite(x) else format(x, fmt)


def _header(s: EvalSummary) -> str:
    ev = s.config["eval"]
    seeds = ev["seeds"]
    panel = f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]})" if seeds else "no seeds"
    version, commit = s.code_version
    made = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"<h1>Evaluation: {escape(' vs '.join(s.policies))} on {escape(s.scene)}</h1>",
           f'<div class="meta">{escape(os.path.basename(s.path))} · {s.num_rollouts} rollouts · '
           f'{escape(panel)} · {len(s.perturbations)} perturbation cells · planscope '
           f'{escape(version)} {escape(commit[:10])} · report made {made}</div>']
    if s.partial:
        out.append(f'<p class="partial"><b>Partial run:</b> {s.num_rollouts} of {s.total_jobs} '
                   f'rollouts finished (interrupted). Finish it with <code>planscope eval ... '
                   f'--resume</code>.</p>')
    return "\n".join(out)


def _acceptance(s: EvalSummary) -> str:
    if len(s.policies) < 2:
        return ""
    ev = s.config["eval"]
    d = decide(s, metric=ev.get("accept_metric", "success"),
               min_improvement=float(ev.get("min_improvement", 0.10)))
    text = format_decision(d).split("\n")
    return (f'<div class="verdict {d.verdict}"><b>{d.verdict}</b> {escape(text[0][len(d.verdict) + 1:])}'
            f'<br>' + "<br>".join(escape(t.strip()) for t in text[1:]) + "</div>"
            '<p class="meta">Rule: the candidate (last policy) must improve the metric by at least '
            'the required amount over the baseline (first policy) on the same seeds and '
            'perturbations, and must not increase unsafe events.</p>')


def _cell_arrays(s: EvalSummary):
    """[P, G] success rate, its CI, unsafe-rollout rate and its CI (NaN where no rollouts)."""
    from app.core.evaluation.stats import wilson
    shape = (len(s.policies), len(s.perturbations))
    out = {k: np.full(shape, np.nan) for k in ("rate", "lo", "hi", "unsafe", "ulo", "uhi")}
    for i, policy in enumerate(s.policies):
        for j, pert in enumerate(s.perturbations):
            c = s.cells.get((policy, pert))
            if c is None or c.n == 0:
                continue
            out["rate"][i, j], (out["lo"][i, j], out["hi"][i, j]) = c.rate, c.ci
            out["unsafe"][i, j] = c.unsafe_rollouts / c.n
            out["ulo"][i, j], out["uhi"][i, j] = wilson(c.unsafe_rollouts, c.n)
    return out


def success_chart(s: EvalSummary) -> str:
    a = _cell_arrays(s)
    return svg.grouped_bars(s.perturbations, s.policies, a["rate"], a["lo"], a["hi"],
                            title="Success rate per perturbation (95% Wilson interval)",
                            ylabel="success")


def collision_chart(s: EvalSummary) -> str:
    a = _cell_arrays(s)
    return svg.grouped_bars(s.perturbations, s.policies, a["unsafe"], a["ulo"], a["uhi"],
                            title="Rollouts with an unsafe contact (collision), per perturbation",
                            ylabel="rollouts with a collision")


def modes_chart(s: EvalSummary) -> str:
    parts = [*s.modes, "other"]
    colours = [MODE_COLOURS[i % len(MODE_COLOURS)] for i in range(len(s.modes))] + [OTHER_COLOUR]
    names, shares = [], []
    if s.data_mode_shares:
        names.append("training data")
        total = sum(s.data_mode_shares.get(m, 0.0) for m in s.modes) or 1.0
        shares.append([s.data_mode_shares.get(m, 0.0) / total for m in s.modes] + [0.0])
    for policy in s.policies:
        m = s.mode_shares(policy)
        names.append(policy)
        shares.append([m[p] for p in parts])
    return svg.stacked_shares(names, parts, np.asarray(shares, np.float64), colours=colours,
                              title="Mode shares of the sampled plans at the first replan "
                                    "(nominal), against the training data")


def latency_chart(s: EvalSummary, samples: list[np.ndarray] | None = None) -> str:
    samples = samples if samples is not None else [s.latencies(p) for p in s.policies]
    return svg.histograms(s.policies, samples, title="Replan latency (sampling N plans)",
                          xlabel="milliseconds per replan")


def chart_svgs(s: EvalSummary) -> dict[str, str]:
    """The report's charts by tab title (the GUI's Evaluation view shows exactly these)."""
    charts = {"Success": success_chart(s), "Collisions": collision_chart(s)}
    if s.modes:
        charts["Modes"] = modes_chart(s)
    charts["Latency"] = latency_chart(s)
    return charts


def _success_section(s: EvalSummary) -> str:
    rows = []
    for policy in s.policies:
        for pert in s.perturbations:
            c = s.cells.get((policy, pert))
            if c is None or c.n == 0:
                continue
            rows.append(f"<tr><td>{escape(policy)}</td><td>{escape(pert)}</td>"
                        f"<td class=num>{_pct(c.rate)}</td><td class=num>[{_pct(c.ci[0])}, "
                        f"{_pct(c.ci[1])}]</td><td class=num>{c.unsafe_events}</td>"
                        f"<td class=num>{_pct(c.unsafe_rollouts / c.n)}</td><td class=num>{c.n}"
                        f"</td><td class=num>{c.failed_to_run or ''}</td></tr>")
    table = ("<table><tr><th>policy</th><th>perturbation</th><th>success</th><th>95% CI</th>"
             "<th>unsafe events</th><th>rollouts with one</th><th>n</th><th>failed to run</th>"
             "</tr>" + "".join(rows) + "</table>")
    return (f"<h2>Success and collisions</h2><figure>{success_chart(s)}</figure>"
            f"<figure>{collision_chart(s)}</figure>{table}")


def _modes_section(s: EvalSummary) -> str:
    if not s.modes:
        return ""
    executed = []
    modes_col = np.asarray(s.columns.get("mode", []))
    for policy in s.policies:
        idx = s.rows(policy, s.perturbations[0])
        got = [str(x) or "none" for x in modes_col[idx]]
        counts = ", ".join(f"{escape(k)} {got.count(k)}" for k in sorted(set(got)))
        executed.append(f"<tr><td>{escape(policy)}</td><td>{counts}</td></tr>")
    return (f"<h2>Modes</h2><figure>{modes_chart(s)}</figure><p class=meta>'other' = samples "
            f"between the modes or in none (an averaged path lands on the rim). Executed mode of "
            f"each nominal rollout:</p><table><tr><th>policy</th><th>executed mode (rollouts)"
            f"</th></tr>" + "".join(executed) + "</table>")


def _latency_section(s: EvalSummary) -> str:
    samples = [s.latencies(p) for p in s.policies]
    chart = latency_chart(s, samples)
    rows = []
    n = s.config["eval"]["settings"]["record_samples"]
    for policy, lat in zip(s.policies, samples):
        if lat.size:
            rows.append(f"<tr><td>{escape(policy)}</td><td class=num>{lat.size}</td>"
                        f"<td class=num>{np.median(lat):.1f}</td>"
                        f"<td class=num>{np.percentile(lat, 90):.1f}</td>"
                        f"<td class=num>{lat.max():.1f}</td></tr>")
    return (f"<h2>Latency</h2><figure>{chart}</figure><p class=meta>{n} samples per replan, "
            f"one replan every 8 control steps (0.8 s at 10 Hz).</p><table><tr><th>policy</th>"
            f"<th>replans</th><th>median ms</th><th>p90 ms</th><th>max ms</th></tr>"
            + "".join(rows) + "</table>")


def _failures_section(s: EvalSummary) -> str:
    rows = []
    for policy in s.policies:
        counts = s.failure_counts(policy)
        text = ", ".join(f"{escape(k)} {v}" for k, v in counts.items()) or "no failures"
        rows.append(f"<tr><td>{escape(policy)}</td><td>{text}</td></tr>")
    return ("<h2>Failure labels</h2><p class=meta>Automatic labels where the trace shows the "
            "cause (contact while the samples sat between modes: planning; lost only under "
            "delay: timing; only under observation noise: perception; ...), otherwise "
            "unlabelled.</p><table><tr><th>policy</th><th>failed rollouts by label</th></tr>"
            + "".join(rows) + "</table>")


def _worst_section(s: EvalSummary, k: int = 20) -> str:
    c = s.columns
    rows = []
    for i in s.worst(k):
        ok = bool(c["success"][i])
        rows.append(
            f"<tr><td class=num>{int(c['id'][i])}</td><td>{escape(str(c['policy'][i]))}</td>"
            f"<td class=num>{int(c['seed'][i])}</td><td>{escape(str(c['perturbation'][i]))}</td>"
            f"<td class='{'ok' if ok else 'fail'}'>{'success' if ok else 'failed'}</td>"
            f"<td>{escape(str(c['failure_label'][i]))}</td>"
            f"<td class=num>{_num(s.metric('contacts')[i], '.0f')}</td>"
            f"<td class=num>{_num(1000 * s.metric('min_clearance')[i], '.1f')}</td>"
            f"<td class=num>{_num(s.metric('mode_switches')[i], '.0f')}</td>"
            f"<td class=num>{_num(1000 * s.metric('plan_exec_gap')[i], '.1f')}</td>"
            f"<td class=num>{_num(s.metric('num_steps')[i], '.0f')}</td></tr>")
    return (f"<h2>Worst rollouts</h2><p class=meta>The {min(k, s.num_rollouts)} hardest by the "
            f"review queue's ranking (failures first, then unsafe contacts, clearance, mode "
            f"switches, plan–execution gap). Open them with <code>planscope review "
            f"{escape(os.path.basename(s.path))}</code>.</p><table><tr><th>id</th><th>policy</th>"
            f"<th>seed</th><th>perturbation</th><th>result</th><th>label</th><th>unsafe</th>"
            f"<th>min clearance mm</th><th>mode switches</th><th>plan gap mm</th><th>steps</th>"
            f"</tr>" + "".join(rows) + "</table>")


def samplers_used(s: EvalSummary) -> dict[str, str]:
    """Policy -> "solver, K steps" as recorded with its first replan (the planner call's replay
    facts), "not recorded" for files written without them."""
    from recordings.reader import RecordingReader
    out: dict[str, str] = {}
    try:
        with RecordingReader(s.path) as reader:
            for policy in s.policies:
                out[policy] = "not recorded"
                for i in s.rows(policy)[:20]:
                    replans = reader.rollout(int(i)).replans
                    facts = replans[0].replay if len(replans) else None
                    if facts and facts.get("solver"):
                        steps = int(facts.get("steps") or 0)
                        out[policy] = facts["solver"] + (f", {steps} steps" if steps else "")
                        break
    except Exception:  # noqa: BLE001  the report still renders; the cell says so
        return {p: out.get(p, "not recorded") for p in s.policies}
    return out


def _config_section(s: EvalSummary) -> str:
    ev = s.config["eval"]
    used = samplers_used(s)
    policies = "".join(f"<tr><td>{escape(label)}</td><td>{escape(ref)}</td>"
                       f"<td>{escape(used.get(label, 'not recorded'))}</td></tr>"
                       for label, ref in zip(ev["policy_labels"], ev["policies"]))
    # solver "" / steps 0 mean "each planner's own control sampler": say so, not "solver="
    shown = dict(ev["settings"])
    if not shown.get("solver"):
        shown["solver"] = "each policy's control sampler"
    if not shown.get("steps"):
        shown["steps"] = "its default"
    settings = ", ".join(f"{k}={v}" for k, v in shown.items())
    return (f"<h2>Configuration</h2><table><tr><th>policy</th><th>source</th>"
            f"<th>sampler used</th></tr>{policies}"
            f"</table><p class=meta>Perturbation grid: {escape(', '.join(s.perturbations))}. "
            f"Settings: {escape(settings)}. Backend: {escape(str(s.config.get('backend', '')))}."
            f"</p>")


def render_report(summary: EvalSummary) -> str:
    """The whole HTML document as text."""
    body = [_header(summary), _acceptance(summary), _success_section(summary),
            _modes_section(summary), _latency_section(summary), _failures_section(summary),
            _worst_section(summary), _config_section(summary)]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>planscope evaluation: {escape(os.path.basename(summary.path))}</title>"
            f"<style>{CSS}</style></head><body>" + "\n".join(b for b in body if b)
            + "</body></html>")


def write_report(artifact: str, out: str) -> str:
    """Render `artifact` into the HTML file `out` (written atomically). Returns the path."""
    from recordings.errors import RecordingError
    summary = load_summary(artifact)
    html = render_report(summary)
    out = os.path.abspath(out)
    folder = os.path.dirname(out)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise RecordingError(f"--out {out}: folder {folder} does not exist or is not writable")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, out)
    return out
