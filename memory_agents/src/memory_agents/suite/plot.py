"""Figures from results files: learning curves per task and success against each task's target.

* ``curves_<task>.png``: one panel per environment of the task (difficulty, labelled variant or
  env_kwargs: ``catalog.run_label``), one line per core (mean over seeds of the training-episode
  success), the band spans the seeds (min to max) where there are several.
* ``success_vs_target.png``: evaluation success per task x difficulty, one bar per core (mean over
  seeds, error bar = min/max over seeds, or the run's 95% CI for one seed), the preset's target
  as a black line over each group and the memoryless ceiling (best success without memory)
  dotted, where known; the title names only the marks drawn.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np

from .catalog import run_label
from .schema import load_results

DIFFICULTY_ORDER = ("easy", "medium", "hard", "extreme")


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")  # files only: works on headless machines
    import matplotlib.pyplot as plt

    return plt


def _finished(paths) -> list[dict]:
    rows = []
    for p in paths:
        rows.extend(r for r in load_results(p)["runs"] if r["status"] == "finished")
    if not rows:
        raise ValueError(f"no finished runs in {', '.join(map(str, paths))}: nothing to plot")
    return rows


def row_label(row: dict) -> str:
    """The environment a row ran on, as plots name it: "DelayedCue (easy)", "DelayedCue (easy; delay=120)"."""
    return run_label(
        row["task"], row["difficulty"], (row.get("config") or {}).get("env_kwargs"), row.get("variant")
    )


def _order(rows: list[dict]) -> list[str]:
    """Labels of the rows' environments, by difficulty then name."""
    first = {}
    for r in rows:
        first.setdefault(row_label(r), r["difficulty"])
    rank = {d: i for i, d in enumerate(DIFFICULTY_ORDER)}
    return sorted(first, key=lambda label: (rank.get(first[label], len(rank)), label))


def _colors(cores):
    plt = _matplotlib()
    cmap = plt.get_cmap("tab10")
    return {c: cmap(i % 10) for i, c in enumerate(sorted(cores))}


def plot_curves(rows: list[dict], out_dir: Path) -> list[Path]:
    plt = _matplotlib()
    colors = _colors({r["core"] for r in rows})
    by_task = defaultdict(list)
    for r in rows:
        by_task[r["task"]].append(r)
    paths = []
    for task, task_rows in sorted(by_task.items()):
        panels = _order(task_rows)  # one panel per environment of this task
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
        for ax, label in zip(axes[0], panels):
            panel_rows = [r for r in task_rows if row_label(r) == label]
            cores = defaultdict(list)
            for r in panel_rows:
                if r["curve"]:
                    cores[r["core"]].append(r["curve"])
            use_success = all(
                p["success"] is not None for curves in cores.values() for c in curves for p in c
            )
            key = "success" if use_success else "return"
            for core, curves in sorted(cores.items()):
                stop = min(c[-1]["step"] for c in curves)
                grid = np.linspace(min(c[0]["step"] for c in curves), stop, 50)
                ys = np.array([np.interp(grid, [p["step"] for p in c], [p[key] for p in c]) for c in curves])
                ax.plot(
                    grid,
                    ys.mean(0),
                    color=colors[core],
                    label=f"{core} ({len(curves)} seed{'s' * (len(curves) > 1)})",
                )
                if len(curves) > 1:
                    ax.fill_between(grid, ys.min(0), ys.max(0), color=colors[core], alpha=0.2, linewidth=0)
            target = next((r["target_success"] for r in panel_rows), None)
            if use_success and target is not None:
                ax.axhline(target, color="k", linestyle="--", linewidth=0.8, label="target")
            ax.set_title(label)
            ax.set_xlabel("environment steps")
            ax.set_ylabel(f"training {key}")
            if use_success:
                ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        path = out_dir / f"curves_{task}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _ceiling(row: dict) -> float | None:
    """Memoryless ceiling of the row's exact task configuration (derived from its config)."""
    from .catalog import memoryless_ceiling

    return memoryless_ceiling(row["task"], row["difficulty"], (row.get("config") or {}).get("env_kwargs"))


def plot_success_bars(rows: list[dict], out_dir: Path) -> Path:
    fig = success_bars_figure(rows)
    path = out_dir / "success_vs_target.png"
    fig.savefig(path, dpi=110)
    _matplotlib().close(fig)
    return path


def success_bars_figure(rows: list[dict]):
    """The matplotlib figure of ``success_vs_target.png``."""
    plt = _matplotlib()
    cores = sorted({r["core"] for r in rows})
    colors = _colors(cores)
    groups = _order(rows)
    width = 0.8 / len(cores)
    fig_width = max(6.0, 1.2 * len(groups) * max(1, len(cores)) ** 0.5 + 2)
    fig, ax = plt.subplots(figsize=(fig_width, 4.2))
    for j, core in enumerate(cores):
        xs, means, err_lo, err_hi = [], [], [], []
        for i, g in enumerate(groups):
            runs = [r for r in rows if row_label(r) == g and r["core"] == core]
            if not runs:
                continue
            vals = np.array([r["success"] for r in runs])
            lo, hi = (vals.min(), vals.max()) if len(runs) > 1 else runs[0]["success_ci"]
            xs.append(i - 0.4 + width * (j + 0.5))
            means.append(vals.mean())
            err_lo.append(max(0.0, vals.mean() - lo))
            err_hi.append(max(0.0, hi - vals.mean()))
        ax.bar(xs, means, width, color=colors[core], label=core, yerr=[err_lo, err_hi], capsize=2)
    drawn = []
    for i, g in enumerate(groups):
        first = next(r for r in rows if row_label(r) == g)
        marks = (
            ("target (black)", first["target_success"], "k", "-"),
            ("memoryless ceiling (dotted)", _ceiling(first), "0.45", ":"),
        )
        for name, value, color, style in marks:
            if value is not None:
                ax.hlines(
                    value,
                    i - 0.45,
                    i + 0.45,
                    colors=color,
                    linestyles=style,
                    linewidth=2,
                    zorder=3,
                    label=None if name in drawn else name.split(" (")[0],
                )
                if name not in drawn:
                    drawn.append(name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.replace(" (", "\n(", 1) for g in groups], fontsize=8)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel("evaluation success")
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize=8,
        ncol=min(len(cores) + len(drawn), 4),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        frameon=False,
    )
    ordered = [n for n in ("target (black)", "memoryless ceiling (dotted)") if n in drawn]
    title = "evaluation success" + (" vs " + " and ".join(ordered) if ordered else "")
    title += "; whiskers: seed range, or 95% CI for one seed"
    ax.set_title(textwrap.fill(title, width=int(fig_width * 13)), fontsize=9)
    fig.tight_layout()
    return fig


def plot_results(paths, out_dir) -> list[Path]:
    """Write all figures for the finished runs in ``paths``; return the PNG paths."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rows = _finished(paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [*plot_curves(rows, out_dir), plot_success_bars(rows, out_dir)]
