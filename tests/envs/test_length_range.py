"""Item-count ranges: the copy tasks' ``length=(low, high)`` and MultiCueDelay's
``num_cues=(low, high)`` draw each episode's number of items l, recalled l times and scored out of
l. A copy episode is l tokens, the delay, l reads (2l + D steps); a MultiCueDelay episode keeps its
window and flashes l cues in it (W + D + l). The oracle still scores 1.0, the memoryless policy
stays at its ceiling (the mean of V^-l), single and vector envs agree, and a live env's range
narrows between episodes (what a ``param: length`` / ``param: num_cues`` curriculum does)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import memory_gym_envs  # noqa: F401

from .test_delay_range import assert_vector_rows_equal_single_envs, play

RANGED = {
    "CopyMemory": dict(length=(1, 4), vocab_size=3, delay=5),
    "PermutedCopy": dict(length=(1, 4), vocab_size=3, delay=(3, 6)),
    "MultiCueDelay": dict(num_cues=(1, 4), num_tokens=3, window=6, delay=5),
}
#: The item parameter and an episode's length for l items at delay D.
ITEMS = {
    "CopyMemory": ("length", lambda l, d: 2 * l + d),
    "PermutedCopy": ("length", lambda l, d: 2 * l + d),
    "MultiCueDelay": ("num_cues", lambda l, d: 6 + d + l),
}


@pytest.mark.parametrize("task", sorted(RANGED))
def test_length_is_drawn_per_episode_and_oracle_scores_one(task):
    env = gym.make(f"MemoryGym/{task}-v0", **RANGED[task])
    core = env.unwrapped.task
    lengths, items = [], []
    for ep in range(120):
        env.reset(seed=ep)
        items.append(int(core.items[0]))
        extra = int(core.extra_delay[0])
        n, done, ret = 0, False, 0.0
        while not done:
            _, r, term, trunc, info = env.step(core.oracle_action()[0])
            n, ret, done = n + 1, ret + r, term or trunc
        assert ret == 1.0 and info["is_success"] and not trunc
        lengths.append(n - extra)
    delay = np.min(np.atleast_1d(RANGED[task]["delay"]))
    episode_length = ITEMS[task][1]
    assert set(items) == {1, 2, 3, 4}
    np.testing.assert_array_equal(lengths, episode_length(np.array(items), delay))
    assert core.max_steps == episode_length(4, np.max(np.atleast_1d(RANGED[task]["delay"])))


@pytest.mark.parametrize("task", sorted(RANGED))
def test_memoryless_policy_stays_at_its_ceiling(task):
    env = gym.make(f"MemoryGym/{task}-v0", **RANGED[task])
    ceiling = env.unwrapped.task.memoryless_ceiling
    assert ceiling == pytest.approx(np.mean(3.0 ** -np.arange(1, 5)))
    _, returns, successes = play(env, lambda e, o: e.unwrapped.memoryless_action(o), 1500, seed=77)
    assert abs(successes.mean() - ceiling) < 4 * np.sqrt(ceiling * (1 - ceiling) / 1500)
    assert abs(returns.mean() - 1 / 3) < 0.03


@pytest.mark.parametrize("task", sorted(RANGED))
def test_vector_rows_equal_single_envs(task):
    assert_vector_rows_equal_single_envs(task, RANGED[task], steps=100, seed=3)


def test_fixed_length_keeps_its_episodes():
    """A fixed length draws no count: the same episodes as before ranges existed."""
    a = gym.make_vec("MemoryGym/PermutedCopy-v0", num_envs=8, length=4, vocab_size=3, delay=5)
    a.reset(seed=9)
    assert a.task.items_range == (4, 4) and (a.task.items == 4).all()
    assert a.task.live_max_steps == a.task.max_steps == 13


def test_set_length_narrows_a_live_env_at_episode_boundaries():
    env = gym.make_vec("MemoryGym/CopyMemory-v0", num_envs=16, length=(1, 5), vocab_size=3, delay=2)
    env.reset(seed=0)
    task = env.task
    assert task.live_max_steps == 12
    env.unwrapped.set_task_param("length", (1, 2))  # rows mid-episode keep their drawn length
    assert task.live_max_steps == 6
    before = task.items.copy()
    for _ in range(13):  # every row finishes its 12-step-at-most episode (NEXT_STEP: +1 to reset)
        env.step(np.zeros(16, dtype=np.int64))
    assert (before > 2).any() and (task.items <= 2).all()
    with pytest.raises(ValueError, match=r"length \(within the built range \[1, 5\]\).*got 6"):
        task.set_param("length", 6)


def test_num_cues_flashes_that_many_cues_and_narrows_live():
    env = gym.make_vec("MemoryGym/MultiCueDelay-v0", num_envs=16, **RANGED["MultiCueDelay"])
    obs, _ = env.reset(seed=1)
    task = env.task
    flashes = np.zeros(16, dtype=np.int64)
    for _ in range(6):  # the window: every cue flashes once, at a cue_flag step
        flashes += obs[:, 0] == 1
        obs, *_ = env.step(np.zeros(16, dtype=np.int64))
    np.testing.assert_array_equal(flashes, task.items)
    assert len(set(task.items.tolist())) > 1
    assert task.live_max_steps == 15
    env.unwrapped.set_task_param("num_cues", 2)  # only the recall phase shrinks
    assert task.live_max_steps == 13
    for _ in range(16):
        env.step(np.zeros(16, dtype=np.int64))
    assert (task.items == 2).all()
    with pytest.raises(ValueError, match=r"num_cues \(within the built range \[1, 4\]\).*got 5"):
        task.set_param("num_cues", 5)
