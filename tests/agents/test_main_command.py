"""The main command (`python -m memory_agents`) is `memory-suite train` with defaults: the preset's
budget, the same run directory, one-line errors; `memory-suite eval` works on its agent with no flags."""

import json
import subprocess
import sys

import pytest
from memory_agents.__main__ import main
from memory_agents.budgets import DEFAULT_BUDGET, DQN_BUDGET, preset_budget
from memory_agents.suite import cli

TINY = [
    "--env-kwarg",
    "num_cues=2",
    "--env-kwarg",
    "delay=2",
    "--envs",
    "4",
    "--hidden",
    "16",
    "--eval-episodes",
    "100",
    "--no-progress",
    "--device",
    "cpu",
]


def _spec(*flags):
    return cli.train_spec(cli.build_parser().parse_args(["train", *flags]))


def test_no_flags_means_the_preset_budget():
    spec = _spec()  # what `memory-suite train` and `python -m memory_agents` train without flags
    budget = preset_budget("DelayedCue", "easy")
    assert (spec.task, spec.difficulty, spec.core, spec.algo, spec.env_kwargs) == (
        "DelayedCue",
        "easy",
        "gru",
        "ppo",
        {},
    )
    assert (spec.steps, spec.num_envs) == (budget.steps, budget.num_envs)
    assert spec.algo_kwargs == budget.algo_kwargs() and spec.budget["horizon"] == 62  # n_steps auto = 62
    assert spec.budget["source"] == "DelayedCue easy" and spec.budget["overridden"] == []


def test_each_flag_overrides_only_its_key():
    budget = preset_budget("DelayedCue", "easy").algo_kwargs()
    spec = _spec("--steps", "5000", "--lr", "0.01", "--algo-kwargs", '{"n_epochs": 2}')
    assert spec.steps == 5000 and spec.num_envs == preset_budget("DelayedCue", "easy").num_envs
    assert spec.algo_kwargs == {**budget, "learning_rate": 0.01, "n_epochs": 2}
    assert spec.budget["overridden"] == ["learning_rate", "steps"]
    # env kwargs: the default budget; the horizon of the built task
    spec = _spec("--env-kwarg", "delay=20", "--envs", "16")
    assert spec.env_kwargs == {"delay": 20} and spec.num_envs == 16 and spec.steps == DEFAULT_BUDGET.steps
    assert spec.algo_kwargs == DEFAULT_BUDGET.algo_kwargs() and spec.budget["horizon"] == 22
    # NeuroGym: no horizon, so MemoryPPO keeps its own n_steps; dqn: no budget at all
    assert "n_steps" not in _spec("--task", "NeuroGym-GoNogo").algo_kwargs
    spec = _spec("--task", "NeuroGym-GoNogo", "--algo", "dqn", "--core", "mpn")
    assert spec.budget is None and spec.algo_kwargs == {}
    assert (spec.steps, spec.num_envs) == (DQN_BUDGET.steps, DQN_BUDGET.num_envs)
    with pytest.raises(ValueError, match="--lr 0.1 contradicts --algo-kwargs learning_rate=0.2"):
        _spec("--lr", "0.1", "--algo-kwargs", '{"learning_rate": 0.2}')


def test_bad_names_are_one_line_errors_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "memory_agents", "--task", "Bogus"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("python -m memory_agents: error: unknown task 'Bogus'; valid tasks:")


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--core", "bogus"], "], got 'bogus'"),
        (["--env-kwarg", "delay=-3"], "parameter 'delay' must be an integer in [0, 1000000], got -3"),
        (
            ["--algo-kwargs", '{"learning_rate": "fast"}'],
            "learning_rate must be a number or a linear schedule 'lin_<start>'",
        ),
        (["--seed", "-1"], "seed must be an integer in [0, 1073741823], got -1"),
    ],
)
def test_bad_values_are_one_line_errors(flags, needle, capsys):
    assert main(flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m memory_agents: error: ") and needle in err


def test_main_command_writes_a_run_that_eval_reproduces(tmp_path, capsys):
    assert main([*TINY, "--steps", "100", "--log-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    [run_dir] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert {p.name for p in run_dir.iterdir()} >= {"run.json", "model.zip", "tb"}
    row = json.loads((run_dir / "run.json").read_text())
    assert row["run_id"] == run_dir.name and row["config"]["env_kwargs"] == {"num_cues": 2, "delay": 2}
    # the budget used is printed first and recorded; the progress total is what was trained:
    # 100 steps rounded up to whole rollouts of n_steps (= horizon 4) x 4 envs
    first, second = out.splitlines()[:2]
    assert first.startswith("default budget (none published for this task / env_kwargs):")
    assert "112 steps (100 rounded up to whole rollouts)" in second and row["steps"] == 112
    assert row["config"]["budget"]["overridden"] == ["num_envs", "steps"]
    assert f"success {row['success']:.3f} [" in out and "memoryless ceiling 0.50" in out

    assert cli.main(["eval", row["checkpoint"], "--json"]) == 0  # no flags: the training env, fresh episodes
    res = json.loads(capsys.readouterr().out)
    assert (res["task"], res["difficulty"], res["env_kwargs"]) == (
        "DelayedCue",
        "easy",
        {"num_cues": 2, "delay": 2},
    )
    assert res["episodes"] == 100
    lo, hi = row["success_ci"]
    assert res["success_ci"][0] <= hi and lo <= res["success_ci"][1], "evaluation agrees with the run's own"


def test_eval_and_render_at_other_horizons(tmp_path, capsys):
    import torch
    from PIL import Image

    assert main([*TINY, "--steps", "16", "--log-dir", str(tmp_path)]) == 0
    [ckpt] = tmp_path.glob("*/model.zip")
    capsys.readouterr()
    torch.set_num_threads(2)
    try:
        assert cli.main(["eval", str(ckpt), "--episodes", "8", "--json", "--env-kwargs", '{"delay": 9}']) == 0
        assert torch.get_num_threads() == 1  # eval defaults to one torch thread, like train
    finally:
        torch.set_num_threads(1)
    res = json.loads(capsys.readouterr().out)
    assert (
        res["env_kwargs"] == {"num_cues": 2, "delay": 9}
        and res["label"] == "DelayedCue (num_cues=2, delay=9)"
    )
    # --difficulty: that preset as is, here with the training cue count kept
    assert (
        cli.main(
            ["eval", str(ckpt), "--episodes", "4", "--difficulty", "medium", "--env-kwarg", "num_cues=2"]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("DelayedCue (medium; num_cues=2), 4 episodes:")
    assert cli.main(["eval", str(ckpt), "--difficulty", "medium"]) == 2  # 8 cues: another observation size
    err = capsys.readouterr().err
    assert (
        "trained on observations of shape (4,) with 2 actions, but DelayedCue (medium) has (10,) and 8" in err
    )
    assert cli.main(["render", str(ckpt), "--out", str(tmp_path / "ep"), "--env-kwargs", '{"delay": 5}']) == 0
    with Image.open(tmp_path / "ep.gif") as im:
        assert im.n_frames == 5 + 2  # one frame per step of the longer episode


@pytest.mark.slow
def test_default_train_solves_delayed_cue_easy(tmp_path, capsys):
    """Issue 10's acceptance: `memory-suite train --task DelayedCue --difficulty easy --core gru` with no
    other flags reaches >= 0.95 on fresh episodes, and `eval` with no flags reproduces it."""
    assert (
        cli.main(
            [
                "train",
                "--task",
                "DelayedCue",
                "--difficulty",
                "easy",
                "--core",
                "gru",
                "--no-progress",
                "--log-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    [run_json] = tmp_path.glob("*/run.json")
    row = json.loads(run_json.read_text())
    assert row["config"]["budget"]["source"] == "DelayedCue easy"
    assert row["success"] >= 0.95, row["success"]
    capsys.readouterr()
    assert cli.main(["eval", row["checkpoint"], "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert row["success_ci"][0] <= res["success"] <= row["success_ci"][1]
