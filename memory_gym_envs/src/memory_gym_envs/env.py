"""MemoryEnv: a task's batched core with N=1 behind the ``gymnasium.Env`` API."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .difficulty import build_task
from .rng import fresh_seed

__all__ = ["MemoryEnv", "check_seed"]

_ROW0 = np.zeros(1, dtype=np.int64)


def check_seed(seed: Any) -> int:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    return int(seed)


class MemoryEnv(gym.Env):
    """One episode at a time of a MemoryGym task (``gym.make("MemoryGym/<Task>-v0")``).

    ``reset(seed=s)`` gives the same episodes as row i of a vector env reset with seed s - i;
    ``reset()`` continues the random stream (fresh OS entropy if never seeded). The final step's
    info holds ``is_success``.
    """

    metadata = {"render_modes": []}

    def __init__(self, task: Any, difficulty: str | None = "easy", render_mode: str | None = None, **params):
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering), got {render_mode!r}")
        self.task = build_task(task, 1, difficulty, params)
        self.difficulty = difficulty or "easy"
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.task.obs_size,), np.float32)
        self.action_space = gym.spaces.Discrete(self.task.num_actions)
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self.task.seed(_ROW0, np.array([check_seed(seed)], dtype=np.uint64))
        elif not self.task.rng.seeded:
            self.task.seed(_ROW0, np.array([fresh_seed()], dtype=np.uint64))
        self.task.reset(_ROW0)
        self._needs_reset = False
        return self.task.observe()[0], {}

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError(f"{self.task.name}: call reset() before step() (episode ended or not started)")
        a = np.asarray(action)
        if a.shape not in ((), (1,)):
            raise ValueError(f"{self.task.name}: action must be a scalar int, got shape {a.shape}")
        reward, terminated, truncated = self.task.step(self.task.check_actions(a.reshape(1)))
        obs = self.task.observe()[0]
        info = {}
        if terminated[0] or truncated[0]:
            info["is_success"] = bool(self.task.success()[0])
            self._needs_reset = True
        return obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    # Policies that read the hidden state / current observation (for tests, tables, baselines).
    def oracle_action(self) -> int:
        return int(self.task.oracle_action()[0])

    def memoryless_action(self, obs) -> int:
        return int(self.task.memoryless_action(np.asarray(obs, dtype=np.float32)[None])[0])
