"""MemoryEnv: a task's batched core with N=1 behind the ``gymnasium.Env`` API."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .difficulty import build_task
from .render import RENDER_FPS, RENDER_MODES, Renderer, check_render_mode, warn_no_render_mode
from .rng import fresh_seed
from .validation import check_seed

__all__ = ["MemoryEnv", "TaskControls"]

_ROW0 = np.zeros(1, dtype=np.int64)


class TaskControls:
    """What MemoryEnv and MemoryVectorEnv expose of their task besides the gymnasium API."""

    task: Any

    # Live task parameters (a curriculum changes them between episodes, without a rebuild).
    def set_task_param(self, name: str, value) -> None:
        """Change a live task parameter (``task.live_params``, e.g. 'delay' to (low, high) within
        the range the env was made with); it applies from each row's next episode on."""
        self.task.set_param(name, value)

    @property
    def max_episode_steps(self) -> int:
        """Longest episode in steps (including the extra delay of a delay range)."""
        return self.task.max_steps


class MemoryEnv(TaskControls, gym.Env):
    """One episode at a time of a MemoryGym task (``gym.make("MemoryGym/<Task>-v0")``).

    ``reset(seed=s)`` gives the same episodes as row i of a vector env reset with seed s - i;
    ``reset()`` continues the random stream (fresh OS entropy if never seeded). The final step's
    info holds ``is_success``. ``render_mode`` "rgb_array" or "ansi": see :mod:`memory_gym_envs.render`.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS}

    def __init__(self, task: Any, difficulty: str | None = "easy", render_mode: str | None = None, **params):
        self.render_mode = check_render_mode(render_mode)
        self.task = build_task(task, 1, difficulty, params)
        self._renderer = Renderer(self.task, render_mode) if render_mode else None
        self.difficulty = difficulty or "easy"
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.task.obs_size,), np.float32)
        self.action_space = gym.spaces.Discrete(self.task.num_actions)
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = None if seed is None else check_seed(seed)  # before gymnasium's own, narrower check
        super().reset(seed=seed)
        if seed is not None:
            self.task.seed(_ROW0, np.array([seed], dtype=np.uint64))
        elif not self.task.rng.seeded:
            self.task.seed(_ROW0, np.array([fresh_seed()], dtype=np.uint64))
        self.task.reset(_ROW0)
        if self._renderer is not None:
            self._renderer.reset(_ROW0)
        self._needs_reset = False
        return self.task.observe()[0], {}

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError(f"{self.task.name}: call reset() before step() (episode ended or not started)")
        a = np.asarray(action)
        if a.shape not in ((), (1,)):
            raise ValueError(f"{self.task.name}: action must be a scalar int, got shape {a.shape}")
        actions = self.task.check_actions(a.reshape(1))
        reward, terminated, truncated = self.task.step(actions)
        if self._renderer is not None:
            self._renderer.record(actions, reward)
        obs = self.task.observe()[0]
        info = {}
        if terminated[0] or truncated[0]:
            info["is_success"] = bool(self.task.success()[0])
            self._needs_reset = True
        return obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render(self):
        """The current frame: an (H, W, 3) uint8 image ("rgb_array") or one line of text ("ansi")."""
        if self._renderer is None:
            return warn_no_render_mode(self.task.name)
        return self._renderer.frames()[0]

    # Policies that read the hidden state / current observation (for tests, tables, baselines).
    def oracle_action(self) -> int:
        return int(self.task.oracle_action()[0])

    def memoryless_action(self, obs) -> int:
        return int(self.task.memoryless_action(np.asarray(obs, dtype=np.float32)[None])[0])
