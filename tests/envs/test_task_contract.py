"""The `_step` contract of tasks/base.py, checked on every task inside a real NEXT_STEP vector env:
on rows whose episode already ended it must not draw from ``self.rng`` (the row's next episode
would no longer be the one a single env with that seed plays), and it must return fresh arrays
(the base and the vector env write into them). Deliberately broken tasks show the check bites."""

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from memory_gym_envs.env import MemoryEnv
from memory_gym_envs.tasks import TASK_CLASSES, DelayedCue
from memory_gym_envs.vector import MemoryVectorEnv


def contract_violations(task_cls, num_envs: int = 6, steps: int = 400, seed: int = 0) -> list[str]:
    """Drive ``task_cls`` in a NEXT_STEP vector env with random actions and watch every ``_step`` call."""
    env = MemoryVectorEnv(
        task_cls, num_envs=num_envs, difficulty="easy", autoreset_mode=AutoresetMode.NEXT_STEP
    )
    task, problems, ended_calls = env.task, [], [0]
    step = task._step

    def watched(actions):
        ended = np.flatnonzero(env._autoreset)  # rows whose episode ended at the previous step
        counters = task.rng.counters[ended].copy()
        out = step(actions)
        if not np.array_equal(task.rng.counters[ended], counters):
            problems.append(f"{task.name}._step drew from self.rng for ended rows {ended.tolist()}")
        state = [v for v in vars(task).values() if isinstance(v, np.ndarray)]
        for name, arr in zip(("reward", "terminated"), out):
            if any(np.shares_memory(arr, v) for v in state):
                problems.append(f"{task.name}._step returned {name} as a view of the task's state")
        ended_calls[0] += len(ended)
        return out

    task._step = watched
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(steps):
        env.step(rng.integers(task.num_actions, size=num_envs))
    assert ended_calls[0] > num_envs, "no row ended: the check saw nothing"
    return list(dict.fromkeys(problems))


@pytest.mark.parametrize("task_cls", TASK_CLASSES, ids=lambda c: c.name)
def test_every_task_keeps_the_step_contract(task_cls):
    assert contract_violations(task_cls) == []


class DrawsEveryStep(DelayedCue):
    """Broken: a per-step random draw for all rows, ended ones included."""

    def _step(self, actions):
        self.rng.random(np.arange(self.num_envs), 1)
        return super()._step(actions)


class ReusesItsRewardArray(DelayedCue):
    """Broken: returns the same reward buffer every step."""

    def _step(self, actions):
        reward, terminated = super()._step(actions)
        if not hasattr(self, "reward_buffer"):
            self.reward_buffer = np.zeros(self.num_envs)
        self.reward_buffer[:] = reward
        return self.reward_buffer, terminated


@pytest.mark.parametrize(
    "broken, message",
    [
        (DrawsEveryStep, "drew from self.rng for ended rows"),
        (ReusesItsRewardArray, "returned reward as a view"),
    ],
)
def test_broken_tasks_fail_the_check(broken, message):
    problems = contract_violations(broken)
    assert problems and message in problems[0]


def test_a_draw_on_ended_rows_changes_the_next_episode():
    """Why the rule exists: the vector row then stops playing the single env's episodes."""

    def first_obs_of_episodes(task_cls, episodes=4):
        vec = MemoryVectorEnv(task_cls, num_envs=1, difficulty="easy", autoreset_mode=AutoresetMode.NEXT_STEP)
        single = MemoryEnv(task_cls, difficulty="easy")
        obs_v, _ = vec.reset(seed=7)
        obs_s, _ = single.reset(seed=7)
        same = []
        for _ in range(episodes):
            same.append(np.array_equal(obs_v[0], obs_s))
            done = False
            while not done:
                obs_v, *_ = vec.step(np.zeros(1, dtype=np.int64))
                _, _, term, trunc, _ = single.step(0)
                done = term or trunc
            obs_v, *_ = vec.step(np.zeros(1, dtype=np.int64))  # NEXT_STEP: the reset step
            obs_s, _ = single.reset()
        return same

    assert all(first_obs_of_episodes(DelayedCue))
    assert not all(first_obs_of_episodes(DrawsEveryStep, episodes=12))
