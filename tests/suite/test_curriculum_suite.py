"""Curriculum in suites and on the CLI: validated at load, kept out of old run ids, trained and recorded."""

from __future__ import annotations

import json

import pytest
from memory_agents.suite import cli
from memory_agents.suite.config import SuiteError, build_suite

BASE = "tasks: [TMazePassive]\ncores: [gru]\n"


def test_suite_curriculum_is_validated_at_load_with_its_line():
    with pytest.raises(SuiteError, match=r"line 3: curriculum param must be one of"):
        build_suite(BASE + "train: {curriculum: {param: corridor, start: 3}}\n", "c.yaml")
    run = build_suite(BASE + "train: {curriculum: {param: slack, start: 50}}\n", "c.yaml").runs[0]
    assert run.curriculum == {"param": "slack", "start": 50}
    plain = build_suite(BASE, "c.yaml").runs[0]
    assert run.run_id != plain.run_id and plain.curriculum is None


def test_cli_curriculum_flag(tmp_path):
    args = cli.build_parser().parse_args(
        ["train", "--task", "DelayedCue", "--curriculum", '{"param": "delay", "start": 5}']
    )
    assert cli.train_spec(args).curriculum == {"param": "delay", "start": 5}
    args = cli.build_parser().parse_args(["train", "--task", "DelayedCue", "--curriculum", "none"])
    assert cli.train_spec(args).curriculum is None
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--curriculum", '{"param": "delay"}'])


def test_trained_run_records_the_curriculum(tmp_path, capsys):
    code = cli.main(
        [
            "train",
            "--task",
            "DelayedCue",
            "--env-kwargs",
            '{"num_cues": 2, "delay": 12}',
            "--curriculum",
            '{"param": "delay", "start": 2, "window": 16, "threshold": 0.05}',
            "--steps",
            "2000",
            "--envs",
            "8",
            "--log-dir",
            str(tmp_path),
            "--no-progress",
            "--eval-episodes",
            "8",
        ]
    )
    assert code == 0
    row = json.loads(next(tmp_path.glob("*/run.json")).read_text())
    state = row["curriculum"]
    assert state["specs"][0]["target"] == 12 and state["value"] > 2  # easy threshold: it advanced
    assert [h["value"] for h in state["history"]][0] == 2
    assert row["config"]["env_kwargs"] == {"num_cues": 2, "delay": 12}  # evaluated on the task itself
