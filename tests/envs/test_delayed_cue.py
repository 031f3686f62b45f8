"""DelayedCue specifics: timing, blank delay, reward only at the query, parameter checks."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memory_gym_envs.evaluation import evaluate
from memory_gym_envs.tasks import DelayedCue


def test_layout_cue_then_blank_then_query():
    env = gym.make("MemoryGym/DelayedCue-v0", num_cues=5, delay=3).unwrapped
    obs, _ = env.reset(seed=0)
    cue = env.oracle_action()
    assert obs[0] == 1 and obs[1] == 0 and obs[2 + cue] == 1 and obs.sum() == 2
    for _ in range(3):
        obs, r, te, tr, info = env.step(cue)
        assert r == 0 and not te and not tr and info == {}
        assert obs.sum() == 0  # nothing about the cue during the delay
    # query step: only the query flag is visible
    obs, r, te, tr, info = env.step(cue)
    np.testing.assert_array_equal(obs, np.eye(7, dtype=np.float32)[1])
    obs, r, te, tr, info = env.step(cue)
    assert (r, te, tr, info["is_success"]) == (1.0, True, False, True)


def test_wrong_answer_gets_zero_and_failure():
    env = gym.make("MemoryGym/DelayedCue-v0", num_cues=3, delay=0).unwrapped
    env.reset(seed=1)
    wrong = (env.oracle_action() + 1) % 3
    env.step(0)
    _, r, te, _, info = env.step(wrong)
    assert r == 0.0 and te and info["is_success"] is False


def test_random_and_memoryless_near_one_over_c():
    for policy in ("random", "memoryless"):
        res = evaluate("DelayedCue", policy, episodes=2000, num_cues=4, delay=5, seed=3)
        assert abs(res.success_rate - 0.25) < 0.04, (policy, res.success_rate)
        assert res.mean_return == pytest.approx(res.success_rate)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"delay": -1}, "delay"),
        ({"num_cues": 1}, "num_cues"),
        ({"num_cues": 2.5}, "num_cues"),
        ({"delay": True}, "delay"),
    ],
)
def test_bad_params(kwargs, name):
    with pytest.raises(ValueError, match=rf"'{name}'.*got"):
        gym.make("MemoryGym/DelayedCue-v0", **kwargs)


@settings(max_examples=25, deadline=None)
@given(num_cues=st.integers(2, 40), delay=st.integers(0, 60), seed=st.integers(0, 2**32))
def test_property_episode_length_and_bounds(num_cues, delay, seed):
    task = DelayedCue(8, num_cues=num_cues, delay=delay)
    rows = np.arange(8)
    task.seed(rows, seed + rows.astype(np.uint64))
    task.reset(rows)
    rng = np.random.default_rng(seed)
    total = np.zeros(8)
    for t in range(delay + 2):
        r, te, tr = task.step(rng.integers(0, num_cues, 8))
        total += r
        assert te.all() == (t == delay + 1) and not tr.any()
    assert np.all((total == 0) | (total == 1))
    np.testing.assert_array_equal(task.success(), total == 1)
