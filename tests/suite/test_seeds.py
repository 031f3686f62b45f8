"""Run seeds -> env seeds: different seeds share no episode stream, evaluation never replays a
training stream (a vector env seeded x plays the streams x + i on its rows i)."""

import itertools

import pytest
from memory_agents.suite import artifacts, training
from memory_agents.suite.cli import main
from memory_agents.suite.config import MAX_NUM_ENVS, MAX_SEED, env_seeds, load_suite
from memory_agents.suite.runner import run_suite

from .conftest import tiny_suite


def _rows(first: int, num_envs: int) -> range:
    return range(first, first + num_envs)


def test_env_seed_blocks_never_overlap_for_any_env_count():
    seeds = [0, 1, 2, 3, 1000, MAX_SEED - 1, MAX_SEED]
    blocks = [
        (s, kind, _rows(getattr(env_seeds(s), kind), MAX_NUM_ENVS))
        for s in seeds
        for kind in ("train", "eval")
    ]
    for (s1, k1, a), (s2, k2, b) in itertools.combinations(blocks, 2):
        assert a.stop <= b.start or b.stop <= a.start, f"seed {s1} {k1} rows overlap seed {s2} {k2} rows"
    assert env_seeds(MAX_SEED).eval + MAX_NUM_ENVS < 2**63  # inside what the envs' RNG takes


@pytest.mark.parametrize("bad", [-1, MAX_SEED + 1, 1.5, True, "0"])
def test_out_of_range_seeds_are_clear_errors(bad):
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 1073741823\]"):
        env_seeds(bad)


def test_suite_runs_train_and_evaluate_on_disjoint_streams(tmp_path, monkeypatch):
    """Two seeds of a real (tiny) suite: every env the runs build, with the rows it seeds."""
    made = []
    real = training.make_env

    def spy(spec, num_envs, seed, *extra):
        made.append((spec.seed, _rows(seed, num_envs)))
        return real(spec, num_envs, seed, *extra)

    monkeypatch.setattr(training, "make_env", spy)
    suite = load_suite(str(tiny_suite(tmp_path, seeds=(0, 1))))
    counts = run_suite(suite, tmp_path / "r.json", tmp_path / "runs", progress=False)
    assert counts["finished"] == 2
    train = {seed: rows for seed, rows in made[0::2]}  # each run: its training env, then its evaluation env
    evals = {seed: rows for seed, rows in made[1::2]}
    assert sorted(train) == sorted(evals) == [0, 1]
    streams = [set(train[0]), set(train[1]), set(evals[0]), set(evals[1])]
    for a, b in itertools.combinations(streams, 2):
        assert not a & b
    assert train[0] == _rows(env_seeds(0).train, 2) and evals[1] == _rows(env_seeds(1).eval, 2)


def test_eval_and_render_use_evaluation_streams(sanity_run, tmp_path, monkeypatch, capsys):
    _, doc = sanity_run
    made = []
    real = artifacts.make_env
    monkeypatch.setattr(artifacts, "make_env", lambda t, n, seed: made.append(seed) or real(t, n, seed))
    ckpt = doc["runs"][0]["checkpoint"]
    assert main(["eval", ckpt, "--episodes", "4", "--seed", "7", "--json"]) == 0
    assert main(["render", ckpt, "--out", str(tmp_path / "ep"), "--no-gif", "--seed", "3"]) == 0
    assert made == [env_seeds(7).eval, env_seeds(3).eval]
    assert main(["eval", ckpt, "--seed", "-1"]) == 2
    assert "seed must be an integer in [0," in capsys.readouterr().err
