"""Shared fixtures: one real tiny_sanity run per test session, reused by compare/plot/render/eval tests."""

import json

import pytest

TINY_YAML = """\
name: tiny_two
tasks:
  - {{task: DelayedCue, env_kwargs: {{num_cues: 2, delay: 2}}}}
difficulties: [easy]
cores: {cores}
seeds: {seeds}
train: {{steps: 64, num_envs: 2, eval_episodes: 4, curve_points: 2, device: cpu}}
ppo: {{n_steps: 16, n_epochs: 1}}
policy: {{hidden_dim: 8}}
"""


def tiny_suite(tmp_path, cores=("gru",), seeds=(0,), name="tiny.yaml", extra=""):
    """Write a seconds-long suite file and return its path."""
    path = tmp_path / name
    path.write_text(TINY_YAML.format(cores=json.dumps(list(cores)), seeds=json.dumps(list(seeds))) + extra)
    return path


@pytest.fixture(scope="session")
def sanity_run(tmp_path_factory):
    """Run the shipped tiny_sanity suite end to end through the CLI; return (results path, doc)."""
    import torch
    from memory_agents.suite.cli import main

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sanity") / "tiny_sanity.json"
    assert main(["run", "--suite", "tiny_sanity", "--out", str(out), "--no-progress"]) == 0
    return out, json.loads(out.read_text())
