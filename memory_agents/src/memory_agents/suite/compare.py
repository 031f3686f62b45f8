"""Compare a results file with a reference: per task x difficulty x core, better / same / worse.

Rows are grouped over seeds. The noise of a group's mean is its standard error: the spread
between seeds when there are two or more, but never below the evaluation noise (the runs' own
confidence intervals), so two seeds that happen to agree do not make every change "significant".
A change counts only beyond ``z * sqrt(se_new^2 + se_ref^2) + tolerance``.

Verdicts: better, same, worse; failed (every run of the group failed in the new file);
missing (in the reference, not in the new file); new (only in the new file).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from .schema import load_results, task_label

KEY = ("task", "difficulty", "core", "algo")  # "task" is the label: a variant's name, else the task's
REGRESSIONS = ("worse", "failed", "missing")


def _groups(doc: dict) -> dict[tuple, list[dict]]:
    out = defaultdict(list)
    for row in doc["runs"]:
        out[(task_label(row), *(row[k] for k in KEY[1:]))].append(row)
    return out


def group_stats(rows: list[dict], metric: str) -> dict | None:
    """Mean over finished seeds and its standard error (None if no run finished)."""
    ok = [r for r in rows if r["status"] == "finished" and r[metric] is not None]
    if not ok:
        return None
    values = np.array([r[metric] for r in ok], dtype=np.float64)
    n = len(values)
    # evaluation noise of one run: 95% CI half-width / 1.96
    eval_se = float(np.mean([(r[f"{metric}_ci"][1] - r[f"{metric}_ci"][0]) / (2 * 1.96) for r in ok]))
    seed_se = float(values.std(ddof=1) / math.sqrt(n)) if n >= 2 else 0.0
    return {"mean": float(values.mean()), "se": max(seed_se, eval_se / math.sqrt(n)), "seeds": n}


def compare_docs(
    new: dict, ref: dict, metric: str = "success", z: float = 1.96, tolerance: float = 0.0
) -> list[dict]:
    """One dict per group: key fields, new / ref stats, delta, margin, verdict."""
    if metric not in ("success", "return"):
        raise ValueError(f"metric must be 'success' or 'return', got {metric!r}")
    if not (z >= 0 and tolerance >= 0):
        raise ValueError(f"z and tolerance must be >= 0, got z={z!r}, tolerance={tolerance!r}")
    new_g, ref_g = _groups(new), _groups(ref)
    rows = []
    for key in sorted(set(new_g) | set(ref_g)):
        a = group_stats(new_g.get(key, []), metric)
        b = group_stats(ref_g.get(key, []), metric)
        row = dict(zip(KEY, key), new=a, ref=b, delta=None, margin=None)
        if key not in new_g:
            row["verdict"] = "missing"
        elif a is None:
            row["verdict"] = "failed"
        elif b is None:
            row["verdict"] = "new"
        else:
            delta = a["mean"] - b["mean"]
            margin = z * math.hypot(a["se"], b["se"]) + tolerance
            row.update(
                delta=delta,
                margin=margin,
                verdict="better" if delta > margin else "worse" if delta < -margin else "same",
            )
        rows.append(row)
    return rows


def compare_files(results, reference, **kwargs) -> list[dict]:
    return compare_docs(load_results(results), load_results(reference), **kwargs)


def format_table(rows: list[dict], metric: str = "success") -> str:
    def cell(s):
        return f"{s['mean']:.3f}±{s['se']:.3f} (n={s['seeds']})" if s else "-"

    header = f"{'task':22s} {'difficulty':10s} {'core':14s} {'reference ' + metric:24s} {'new ' + metric:24s} {'delta':>7s} {'noise':>6s}  verdict"
    lines = [header, "-" * len(header)]
    for r in rows:
        delta = f"{r['delta']:+.3f}" if r["delta"] is not None else "-"
        margin = f"{r['margin']:.3f}" if r["margin"] is not None else "-"
        lines.append(
            f"{r['task']:22s} {r['difficulty']:10s} {r['core']:14s} {cell(r['ref']):24s} {cell(r['new']):24s} "
            f"{delta:>7s} {margin:>6s}  {r['verdict'].upper() if r['verdict'] in REGRESSIONS else r['verdict']}"
        )
    counts = defaultdict(int)
    for r in rows:
        counts[r["verdict"]] += 1
    lines.append(
        "summary: "
        + ", ".join(
            f"{v} {counts[v]}" for v in ("better", "same", "worse", "failed", "missing", "new") if counts[v]
        )
    )
    return "\n".join(lines)


def summary_markdown(doc: dict) -> str:
    """Markdown table of a results file: one line per task x difficulty x core, means over seeds."""
    from .catalog import memoryless_ceiling

    lines = [
        "| task | difficulty | core | seeds | success (95% CI / seed range) | target | memoryless | return | steps "
        "| steps/s | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, rows in sorted(_groups(doc).items()):
        ok = [r for r in rows if r["status"] == "finished"]
        failed = len(rows) - len(ok)
        name, difficulty, core, _ = key
        if not ok:
            lines.append(
                f"| {name} | {difficulty} | {core} | 0 ({failed} failed) | - | - | - | - | - | - | - |"
            )
            continue
        succ = np.array([r["success"] for r in ok])
        spread = (
            f"[{ok[0]['success_ci'][0]:.2f}, {ok[0]['success_ci'][1]:.2f}]"
            if len(ok) == 1
            else f"[{succ.min():.2f}, {succ.max():.2f}]"
        )
        target = ok[0]["target_success"]
        ceiling = memoryless_ceiling(ok[0]["task"], difficulty, (ok[0].get("config") or {}).get("env_kwargs"))
        seeds = f"{len(ok)}" + (f" (+{failed} failed)" if failed else "")
        lines.append(
            f"| {name} | {difficulty} | {core} | {seeds} | {succ.mean():.2f} {spread} | "
            f"{'-' if target is None else f'{target:.2f}'} | {'-' if ceiling is None else f'{ceiling:.2f}'} | "
            f"{np.mean([r['return'] for r in ok]):.2f} | "
            f"{int(np.mean([r['steps'] for r in ok]))} | {np.mean([r['sps'] for r in ok]):.0f} | "
            f"{np.mean([r['wall_time'] for r in ok]):.0f} |"
        )
    return "\n".join(lines)
