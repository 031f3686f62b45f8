"""`memory-suite train --memory-kwargs`: core options from the CLI, as suite YAML's memory_kwargs."""

from __future__ import annotations

import json

import pytest
from memory_agents.suite import cli


def test_memory_kwargs_reach_the_run_spec_and_the_trained_core(tmp_path):
    args = cli.build_parser().parse_args(
        ["train", "--core", "pseudo_memory", "--memory-kwargs", '{"usage_rule": "strength", "num_slots": 4}']
    )
    assert cli.train_spec(args).memory_kwargs == {"usage_rule": "strength", "num_slots": 4}
    code = cli.main(
        [
            "train",
            "--task",
            "DelayedCue",
            "--env-kwargs",
            '{"num_cues": 2, "delay": 3}',
            "--core",
            "pseudo_memory",
            "--memory-kwargs",
            '{"usage_rule": "strength", "num_slots": 4}',
            "--steps",
            "500",
            "--envs",
            "4",
            "--log-dir",
            str(tmp_path),
            "--no-progress",
            "--eval-episodes",
            "4",
        ]
    )
    assert code == 0
    from memory_agents import MemoryPPO

    model = MemoryPPO.load(next(tmp_path.glob("*/model.zip")))
    core = model.policy.memory_core
    assert core.num_slots == 4 and core.usage_rule == "strength"
    row = json.loads(next(tmp_path.glob("*/run.json")).read_text())
    assert row["config"]["memory_kwargs"] == {"usage_rule": "strength", "num_slots": 4}


@pytest.mark.parametrize(
    "core, kwargs, match",
    [
        ("pseudo_memory", '{"usage_rule": "lru"}', "usage_rule"),
        ("pseudo_memory", '{"slots": 4}', "slots"),
        ("mlp", '{"num_slots": 4}', "takes no memory_kwargs"),
    ],
)
def test_bad_memory_kwargs_name_the_problem(core, kwargs, match):
    args = cli.build_parser().parse_args(["train", "--core", core, "--memory-kwargs", kwargs])
    with pytest.raises(ValueError, match=match):
        cli.train_spec(args)
