"""Delay ranges: ``delay=(low, high)`` draws each episode's delay, so a fixed timing cannot solve
the task; the oracle still scores 1.0, the memoryless policy stays at its ceiling, single and
vector envs agree, and a live env's range can be narrowed between episodes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import memory_gym_envs  # noqa: F401

RANGED = {
    "DelayedCue": dict(num_cues=4, delay=(3, 25)),
    "CopyMemory": dict(length=3, vocab_size=4, delay=(2, 15)),
    "PermutedCopy": dict(length=3, vocab_size=4, delay=(2, 15)),
    "AssociativeRecall": dict(num_pairs=2, num_keys=4, num_values=4, num_queries=2, delay=(2, 15)),
    "MultiCueDelay": dict(num_cues=2, num_tokens=4, window=5, delay=(2, 15)),
    "PatternBinding": dict(num_pairs=2, pattern_length=2, num_tokens=4, delay=(2, 15)),
}


def play(env, policy, episodes, seed):
    lengths, returns, successes = [], [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done, n, ret = False, 0, 0.0
        while not done:
            obs, r, term, trunc, info = env.step(policy(env, obs))
            n, ret, done = n + 1, ret + r, term or trunc
        lengths.append(n)
        returns.append(ret)
        successes.append(info["is_success"])
    return np.array(lengths), np.array(returns), np.array(successes)


@pytest.mark.parametrize("task", sorted(RANGED))
def test_delay_is_drawn_per_episode_and_oracle_scores_one(task):
    env = gym.make(f"MemoryGym/{task}-v0", **RANGED[task])
    lo, hi = RANGED[task]["delay"]
    lengths, returns, successes = play(env, lambda e, o: e.unwrapped.oracle_action(), 150, seed=0)
    fixed = gym.make(f"MemoryGym/{task}-v0", **{**RANGED[task], "delay": lo}).unwrapped.task.horizon
    # Lengths cover the range: shortest is the low-end episode, longest the high end.
    assert lengths.min() == fixed and lengths.max() == fixed + hi - lo
    assert len(np.unique(lengths)) > (hi - lo) // 2
    assert env.unwrapped.task.max_steps == fixed + hi - lo
    assert np.all(returns == 1.0) and successes.all()


@pytest.mark.parametrize("task", sorted(RANGED))
def test_memoryless_policy_stays_at_its_ceiling(task):
    env = gym.make(f"MemoryGym/{task}-v0", **RANGED[task])
    ceiling = env.unwrapped.task.memoryless_return
    _, returns, _ = play(env, lambda e, o: e.unwrapped.memoryless_action(o), 400, seed=1000)
    assert abs(returns.mean() - ceiling) < 4 * max(returns.std(), 1e-3) / np.sqrt(len(returns)) + 0.02


@pytest.mark.parametrize("task", sorted(RANGED))
def test_vector_rows_equal_single_envs(task):
    assert_vector_rows_equal_single_envs(task, RANGED[task], steps=120, seed=11)


def assert_vector_rows_equal_single_envs(task, kwargs, steps, seed, n=4):
    """Row i of a vector env plays what a single env seeded seed + i plays, random actions."""
    venv = gym.make_vec(f"MemoryGym/{task}-v0", num_envs=n, **kwargs)
    singles = [gym.make(f"MemoryGym/{task}-v0", **kwargs) for _ in range(n)]
    vobs, _ = venv.reset(seed=seed)
    sobs = [e.reset(seed=seed + i)[0] for i, e in enumerate(singles)]
    pending = np.zeros(n, dtype=bool)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        np.testing.assert_array_equal(vobs, np.stack(sobs))
        actions = rng.integers(0, venv.single_action_space.n, n)
        vobs, vr, vterm, vtrunc, _ = venv.step(actions)
        for i, e in enumerate(singles):
            if pending[i]:  # NEXT_STEP autoreset: this step reset the row
                sobs[i], _ = e.reset()
                continue
            sobs[i], r, term, trunc, _ = e.step(actions[i])
            assert (r, term, trunc) == (vr[i], vterm[i], vtrunc[i])
        pending = vterm | vtrunc


def test_fixed_delay_draws_nothing_extra():
    """A fixed delay gives the same episodes as before ranges existed: no extra random draw."""
    a = gym.make("MemoryGym/DelayedCue-v0", num_cues=8, delay=10)
    b = gym.make("MemoryGym/DelayedCue-v0", num_cues=8, delay=(10, 10))
    for seed in range(20):
        a.reset(seed=seed)
        b.reset(seed=seed)
        assert a.unwrapped.task.cue[0] == b.unwrapped.task.cue[0]


def test_set_delay_on_a_live_vector_env_applies_at_episode_boundaries():
    venv = gym.make_vec(
        "MemoryGym/DelayedCue-v0",
        num_envs=8,
        num_cues=4,
        delay=(2, 40),
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    venv.reset(seed=0)
    venv.unwrapped.set_task_param("delay", 40)  # rows mid-episode keep their drawn delay
    task = venv.unwrapped.task
    before = task.extra_delay.copy()
    venv.step(np.zeros(8, dtype=np.int64))
    assert np.all((task.extra_delay == before) | (task.extra_delay == before - 1))
    lengths = []
    length = np.zeros(8, dtype=int)
    for _ in range(300):
        _, _, term, trunc, _ = venv.step(task.oracle_action())
        length += 1
        done = term | trunc
        lengths += list(length[done])
        length[done] = 0
    # After each row's first (old-range) episode, every episode has delay 40: length 42.
    assert lengths[-8:] == [42] * 8


@pytest.mark.parametrize(
    "delay, match",
    [
        ((0, 10), r"delay \(low end of the range\)' must be an integer in \[1, 1000000\], got 0"),
        ((5, 3), r"delay \(high end of the range\)' must be an integer in \[5, 1000000\], got 3"),
        ((1, 2, 3), r"'delay' must be an int or a \(low, high\) pair"),
        (-3, r"'delay' must be an integer in \[0, 1000000\], got -3"),
    ],
)
def test_bad_delay_ranges_name_the_value(delay, match):
    with pytest.raises(ValueError, match=match):
        gym.make("MemoryGym/DelayedCue-v0", delay=delay)


def test_set_delay_outside_the_built_range_is_an_error():
    env = gym.make("MemoryGym/CopyMemory-v0", delay=(5, 20))
    with pytest.raises(ValueError, match=r"within the built range \[5, 20\].*got 30"):
        env.unwrapped.set_task_param("delay", (10, 30))
    with pytest.raises(
        ValueError, match=r"NBack: parameter .delay. cannot change on a live env; live parameters: \[\]"
    ):
        gym.make("MemoryGym/NBack-v0").unwrapped.set_task_param("delay", 3)


def test_tmaze_slack_shrinks_on_a_live_env():
    venv = gym.make_vec(
        "MemoryGym/TMazePassive-v0",
        num_envs=4,
        corridor_length=10,
        slack=20,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    venv.reset(seed=0)
    left = np.ones(4, dtype=np.int64)  # never reaches the junction: every episode times out
    lengths, length = [], np.zeros(4, dtype=int)
    for step in range(120):
        if step == 5:
            venv.unwrapped.set_task_param("slack", 0)
        _, _, term, trunc, _ = venv.step(left)
        length += 1
        lengths += list(length[term | trunc])
        length[term | trunc] = 0
    assert lengths[:4] == [31] * 4 and set(lengths[4:]) == {11}
    with pytest.raises(
        ValueError,
        match=r"slack \(within the built slack \[0, 20\]\)' must be an integer in \[0, 20\], got 21",
    ):
        venv.unwrapped.set_task_param("slack", 21)
