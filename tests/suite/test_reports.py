"""compare flags a planted regression; plot writes real PNGs; render writes PNG + GIF."""

import copy

import pytest
from memory_agents.suite import schema
from memory_agents.suite.cli import main
from memory_agents.suite.compare import compare_docs
from memory_agents.suite.render import _memory_panels
from memory_agents.suite.stats import wilson_interval
from PIL import Image


def _doc_with(base_doc, results):
    """A results doc whose rows copy the real tiny_sanity row with planted (core, seed, successes/n)."""
    [row] = base_doc["runs"]
    doc = copy.deepcopy(base_doc)
    doc["runs"] = []
    for core, seed, k, n in results:
        r = copy.deepcopy(row)
        r.update(
            core=core,
            seed=seed,
            run_id=f"{row['task']}-{core}-s{seed}",
            success=k / n,
            success_ci=list(wilson_interval(k, n)),
            eval_episodes=n,
            curve=[
                {
                    "step": 100 * i,
                    "success": min(1.0, k / n * i / 4 + 0.05 * seed),
                    "return": 0.0,
                    "episodes": 8,
                }
                for i in range(1, 5)
            ],
        )
        doc["runs"].append(r)
    return schema.validate_results(doc)


def test_compare_flags_planted_regression(sanity_run, tmp_path, capsys):
    _, base = sanity_run
    ref = _doc_with(
        base,
        [
            ("gru", 0, 190, 200),
            ("gru", 1, 186, 200),
            ("lstm", 0, 100, 200),
            ("lstm", 1, 104, 200),
            ("mlp", 0, 60, 200),
        ],
    )
    new = _doc_with(
        base,
        [
            ("gru", 0, 80, 200),
            ("gru", 1, 90, 200),  # planted regression: 0.94 -> 0.43
            ("lstm", 0, 105, 200),
            ("lstm", 1, 98, 200),  # same within noise
            ("mlp", 0, 150, 200),
        ],
    )  # better
    verdicts = {r["core"]: r["verdict"] for r in compare_docs(new, ref)}
    assert verdicts == {"gru": "worse", "lstm": "same", "mlp": "better"}
    # a missing group and a group whose runs all failed are regressions too
    new_missing = copy.deepcopy(new)
    new_missing["runs"] = [r for r in new_missing["runs"] if r["core"] != "mlp"]
    failed = next(r for r in new_missing["runs"] if r["core"] == "lstm" and r["seed"] == 0)
    for r in new_missing["runs"]:
        if r["core"] == "lstm":
            r.update(status="failed", error="boom", success=None, success_ci=None)
    verdicts = {r["core"]: r["verdict"] for r in compare_docs(new_missing, ref)}
    assert verdicts == {"gru": "worse", "lstm": "failed", "mlp": "missing"} and failed["status"] == "failed"

    new_path, ref_path = tmp_path / "new.json", tmp_path / "ref.json"
    schema.save_results(new, new_path)
    schema.save_results(ref, ref_path)
    assert main(["compare", str(new_path), str(ref_path)]) == 0  # report only
    assert main(["compare", str(new_path), str(ref_path), "--fail-on-regression"]) == 1
    out = capsys.readouterr().out
    assert "WORSE" in out and "better" in out and "summary: better 1, same 1, worse 1" in out
    assert (
        main(["compare", str(ref_path), str(ref_path), "--fail-on-regression"]) == 0
    )  # identical: no regression


def test_plot_writes_nonempty_pngs(sanity_run, tmp_path, capsys):
    out, base = sanity_run
    multi = tmp_path / "multi.json"
    schema.save_results(_doc_with(base, [("gru", 0, 30, 32), ("gru", 1, 20, 32), ("lstm", 0, 16, 32)]), multi)
    assert main(["plot", str(out), str(multi), "--out-dir", str(tmp_path / "plots")]) == 0
    paths = capsys.readouterr().out.split()
    names = sorted(p.rsplit("/", 1)[-1] for p in paths)
    assert names == ["curves_DelayedCue.png", "success_vs_target.png"]
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.width > 300 and im.height > 200
            assert (
                len(im.convert("L").getcolors(maxcolors=1 << 16)) > 10
            )  # something was drawn, not a blank canvas


def test_plot_without_finished_runs_is_a_clear_error(sanity_run, tmp_path, capsys):
    _, base = sanity_run
    doc = copy.deepcopy(base)
    doc["runs"][0].update(status="failed", error="x")
    path = tmp_path / "f.json"
    schema.save_results(doc, path)
    assert main(["plot", str(path), "--out-dir", str(tmp_path)]) == 2
    assert "no finished runs" in capsys.readouterr().err


def test_render_writes_png_and_gif_with_memory_panels(sanity_run, tmp_path, capsys):
    _, doc = sanity_run
    ckpt = doc["runs"][0]["checkpoint"]
    assert main(["render", ckpt, "--out", str(tmp_path / "ep"), "--seed", "3"]) == 0
    png, gif = (tmp_path / "ep.png"), (tmp_path / "ep.gif")
    assert capsys.readouterr().out.split() == [str(png), str(gif)]
    with Image.open(png) as im:
        assert im.format == "PNG" and im.height > im.width * 0.5
    episode_len = doc["runs"][0]["config"]["env_kwargs"]["delay"] + 2
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == episode_len  # one frame per step


def test_memory_panel_fallback_is_state_norm():
    import numpy as np

    trace = {"action": np.zeros(5), "fallback": np.ones((5, 2))}
    [(title, data, kind)] = _memory_panels(trace)
    assert title == "norm of state tensors" and data.shape == (5, 2) and kind == "heat"
    trace = {
        "action": np.zeros(5),
        "gate": np.full((5, 1), 0.3),
        "attention": np.full((5, 4), 0.25),
        "state_norm": np.ones((5, 1)),
        "fallback": np.ones((5, 1)),
    }
    assert [t for t, _, _ in _memory_panels(trace)] == [
        "write gate",
        "read attention over slots",
        "state norm",
    ]


def test_table_summarises_over_seeds(sanity_run, tmp_path, capsys):
    _, base = sanity_run
    path = tmp_path / "t.json"
    schema.save_results(_doc_with(base, [("gru", 0, 30, 40), ("gru", 1, 20, 40), ("lstm", 0, 10, 40)]), path)
    assert main(["table", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| task | difficulty | core | seeds | success")
    gru = next(line for line in lines if "| gru |" in line)
    lstm = next(line for line in lines if "| lstm |" in line)
    assert "| 2 | 0.62 [0.50, 0.75] |" in gru  # mean of 0.75 and 0.5, seed range
    lo, hi = wilson_interval(10, 40)
    assert f"| 1 | 0.25 [{lo:.2f}, {hi:.2f}] |" in lstm  # one seed: its Wilson interval


def _bar_title(rows):
    from memory_agents.suite.plot import _matplotlib, success_bars_figure

    fig = success_bars_figure(rows)
    fig.canvas.draw()
    ax = fig.axes[0]
    title = ax.title
    inside = fig.bbox.contains(*title.get_window_extent().p0) and fig.bbox.contains(
        *title.get_window_extent().p1
    )
    labels = [t.get_text() for t in ax.get_xticklabels()]
    _matplotlib().close(fig)
    return title.get_text().replace("\n", " "), inside, labels


def test_success_bars_title_fits_and_names_only_what_is_drawn(sanity_run):
    _, doc = sanity_run
    [row] = doc["runs"]  # env_kwargs override the preset: no target
    title, inside, labels = _bar_title([row])
    assert inside, "the title of a one-bar figure must fit in the figure"
    assert "target" not in title and "memoryless ceiling (dotted)" in title
    assert labels == ["DelayedCue\n(num_cues=2, delay=2)"]  # not "DelayedCue (easy)": the kwargs changed it
    preset = copy.deepcopy(row)
    preset.update(target_success=0.95, config={**row["config"], "env_kwargs": {}})
    title, inside, labels = _bar_title([preset])
    assert (
        inside
        and "target (black) and memoryless ceiling (dotted)" in title
        and labels == ["DelayedCue\n(easy)"]
    )


def test_curve_panels_name_the_env_kwargs(sanity_run, tmp_path):
    from memory_agents.suite.plot import row_label

    _, doc = sanity_run
    [row] = doc["runs"]
    assert row_label(row) == "DelayedCue (num_cues=2, delay=2)"
    partial = copy.deepcopy(row)
    partial["config"]["env_kwargs"] = {"delay": 120}
    assert row_label(partial) == "DelayedCue (easy; delay=120)"
    assert row_label({**partial, "variant": "DC-long"}) == "DC-long (easy)"


@pytest.mark.parametrize("n_actions, actions", [(4, [1] * 6), (2, [0, 1, 1, 0, 1, 0]), (16, [3] * 6)])
def test_render_action_axis_has_integer_ticks(n_actions, actions):
    import numpy as np
    from memory_agents.suite.plot import _matplotlib
    from memory_agents.suite.render import draw_episode

    T = len(actions)
    trace = {
        "obs": np.zeros((T, 3), np.float32),
        "action": np.array(actions),
        "reward": np.zeros(T),
        "fallback": np.ones((T, 1)),
        "n_actions": n_actions,
    }
    fig, axes = draw_episode(trace, "constant action")
    fig.canvas.draw()
    ticks = axes[1].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() and 0 <= t < n_actions for t in ticks)
    assert axes[1].get_ylim() == (-0.5, n_actions - 0.5)
    _matplotlib().close(fig)
